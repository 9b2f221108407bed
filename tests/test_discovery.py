"""Finding a transition without being told it: confusion, level statistics, the whole run."""

import dataclasses
import json
import logging
import math

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from qpt.config import typed
from qpt.data.ensemble import grid_ensemble
from qpt.data.generation import generate_range
from qpt.discovery import cached_ensembles, discover, grid_states
from qpt.evaluation.confusion import confusion_curve, draws_curve, interior_peak
from qpt.evaluation.locators import bott_samples, gap_ratio_means
from qpt.physics import get_model, levels_near
from qpt.physics.observables import R_POISSON, gap_ratios
from qpt.reporting import interval_text
from tests.conftest import compose_cfg, run_script


def test_interior_peak_of_a_w_shaped_curve():
    trials = np.linspace(1.0, 9.0, 17)
    accuracy = 0.75 + 0.05 * np.abs(np.abs(trials - 5.3) - 2.5)  # W shape, peak at 5.3
    assert interior_peak(trials, accuracy) == pytest.approx(5.3, abs=0.1)
    assert math.isnan(interior_peak(trials, trials))  # rising to the end: no interior peak


def test_confusion_interval_covers_the_boundary():
    """Networks that err more the farther the trial boundary is from 5.3, on random states."""
    rng = np.random.default_rng(0)
    trials = np.linspace(3.0, 8.0, 21)
    error = 0.05 + 0.04 * np.abs(trials - 5.3)
    correct = rng.random((2, len(trials), 800)) > error[None, :, None]
    c = confusion_curve(trials, correct, n_bootstrap=100, seed=1)
    assert c.peak_ci[0] <= 5.3 <= c.peak_ci[1] and c.peak_ci[1] - c.peak_ci[0] < 1.0
    assert c.accuracy.shape == (21,) and np.all(c.sem > 0)
    assert c.maximum_z > 4


def test_discovery_figure_says_when_no_route_measures_nu(tmp_path, monkeypatch):
    """A confusion run alone (no nu): the nu panel says so instead of an empty frame."""
    from qpt.evaluation import plots
    from qpt.reporting import RouteResult

    rng = np.random.default_rng(0)
    trials = np.linspace(3.0, 8.0, 11)
    error = 0.05 + 0.04 * np.abs(trials - 5.3)
    c = confusion_curve(
        trials, rng.random((2, 11, 400)) > error[None, :, None], n_bootstrap=20, seed=1
    )
    result = RouteResult("confusion", c.peak, c.peak_ci, confusion=c, signature="maximum")
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, dpi: figures.append(fig))
    plots.discovery(
        [result], tmp_path / "d.png", model="su2", energy=0.0, reference_wc=6.2, reference_nu=2.73
    )
    (fig,) = figures
    texts = {ax: [t.get_text() for t in ax.texts] for ax in fig.axes}
    ax_wc, ax_nu = fig.axes[-2:]
    assert texts[ax_nu] == ["no route here measures nu"] and texts[ax_wc] == []
    assert [t.get_text() for t in ax_wc.get_yticklabels()] == ["confusion"]


def test_a_model_without_a_tabulated_critical_disorder_says_so_in_the_table(tmp_path):
    """The Ando model has no literature W_c: its table says so, not "None"; its class's nu
    stays beside the routes."""
    from qpt.reporting import RouteResult, write_discovery

    rng = np.random.default_rng(0)
    trials = np.linspace(3.0, 8.0, 11)
    correct = rng.random((2, 11, 200)) > (0.05 + 0.04 * np.abs(trials - 5.6))[None, :, None]
    c = confusion_curve(trials, correct, n_bootstrap=20, seed=1)
    result = RouteResult("confusion", c.peak, c.peak_ci, confusion=c, signature="maximum")
    write_discovery([result], "ando", {}, 0.0, tmp_path)
    table = (tmp_path / "discovery.md").read_text()
    assert "| literature | not tabulated | 2.73 |" in table and "None" not in table
    assert json.loads((tmp_path / "discovery.json").read_text())["reference_wc"] is None


def test_confusion_interval_covers_when_the_networks_differ():
    """Each network errs by its own amount at each trial (how it trained), as much as the
    states' noise moves the accuracy between neighbouring trials: the bootstrap over networks
    and states covers the boundary about 95% of the time; over the states alone (the networks'
    mean per state fixed) it is too narrow and covers it in under two thirds of the studies."""
    trials = np.linspace(3.0, 8.0, 21)
    error = 0.05 + 0.04 * np.abs(trials - 5.3)
    covered = {"networks and states": 0, "states only": 0}
    for study in range(40):
        rng = np.random.default_rng(100 + study)
        noisy = error + rng.normal(0, 0.03, (8, len(trials)))
        correct = rng.random((8, len(trials), 800)) > noisy[:, :, None]
        for label, c in (
            ("networks and states", correct),
            ("states only", correct.mean(axis=0, keepdims=True)),
        ):
            lo, hi = confusion_curve(trials, c, n_bootstrap=200, seed=study).peak_ci
            covered[label] += lo <= 5.3 <= hi
    assert covered["networks and states"] >= 34 and covered["states only"] <= 26, covered


def test_a_plateau_is_no_clear_interior_maximum():
    """Networks that read W from the states learn every interior boundary alike: the curve
    has arms at the ends and a flat floor, on which noise puts a "peak" that is no result."""
    rng = np.random.default_rng(0)
    trials = np.linspace(4.25, 8.75, 10)
    error = np.where((trials > 4.5) & (trials < 8.5), 0.14, 0.08)
    correct = rng.random((2, len(trials), 1300)) > error[None, :, None]
    c = confusion_curve(trials, correct, n_bootstrap=50, seed=1)
    assert 4.5 < c.peak < 8.5 and c.maximum_z < 2
    same = np.repeat(correct[:, :1], len(trials), axis=1)  # every trial judges alike
    assert confusion_curve(trials, same, n_bootstrap=5, seed=1).maximum_z == 0.0


def test_a_flat_top_is_reported_as_the_trials_it_spans():
    """A W shape whose top is a plateau (errors 0.06 from 5.0 to 6.5, rising outside) has a
    clear maximum, and its top spans the plateau: the data bracket the boundary there. A
    sharp V has a top of one or two trials beside its point."""
    rng = np.random.default_rng(3)
    trials = np.linspace(3.0, 8.0, 21)
    plateau = 0.06 + 0.04 * np.clip(np.abs(trials - 5.75) - 0.75, 0, None)
    correct = rng.random((2, len(trials), 4000)) > plateau[None, :, None]
    c = confusion_curve(trials, correct, n_bootstrap=20, seed=1)
    assert c.maximum_z > 4
    assert c.top[0] <= 5.25 and c.top[1] >= 6.25 and 4.5 <= c.top[0] and c.top[1] <= 7.0
    sharp = 0.03 + 0.08 * np.abs(trials - 5.3)
    correct = rng.random((2, len(trials), 4000)) > sharp[None, :, None]
    c = confusion_curve(trials, correct, n_bootstrap=20, seed=1)
    assert 5.0 <= c.top[0] <= c.top[1] <= 5.5 and c.top[1] - c.top[0] <= 0.25
    floor = rng.random((2, len(trials), 100)) > 0.1
    floor[:, 1:-1] = floor[:, :1]  # every interior trial alike: no interior maximum
    assert np.isnan(confusion_curve(trials, floor, n_bootstrap=5, seed=1).top).all()


def test_an_interval_over_draws_covers_where_one_draws_bootstrap_does_not():
    """A flat top (errors 0.07 within 0.9 of 6.2, rising outside) whose trials each draw of
    training states tilts by its own amount (0.012), 8 networks of 0.003 more, 1320 held-out
    states: one draw's bootstrap, blind to the draw, covers 6.2 in about half the studies;
    the Student-t interval over 6 draws' maxima in about 95%
    (docs/studies/confusion_draws.py scans the settings)."""
    trials = np.arange(4.25, 9.0, 0.5)
    error = 0.07 + 0.04 * np.clip(np.abs(trials - 6.2) - 0.9, 0, None)

    def draw(rng):
        tilt = error + rng.normal(0, 0.012, len(trials)) + rng.normal(0, 0.003, (8, len(trials)))
        return rng.random((8, len(trials), 1320)) > tilt[:, :, None]

    covered = {"one draw's bootstrap": 0, "over draws": 0}
    for study in range(40):
        rng = np.random.default_rng(1000 + study)
        draws = [draw(rng) for _ in range(6)]
        lo, hi = confusion_curve(trials, draws[0], n_bootstrap=200, seed=study).peak_ci
        covered["one draw's bootstrap"] += lo <= 6.2 <= hi
        pooled = draws_curve(trials, draws)
        covered["over draws"] += pooled.peak_ci[0] <= 6.2 <= pooled.peak_ci[1]
        assert pooled.peak == pytest.approx(np.mean(pooled.draws)) and len(pooled.draws) == 6
        # each draw's own curve is kept: its maximum is that draw's, and with equal held-out
        # counts the draws' curves average to the pooled one
        for curve, peak in zip(pooled.draw_accuracy, pooled.draws, strict=True):
            assert interior_peak(trials, np.array(curve)) == peak
        np.testing.assert_allclose(np.mean(pooled.draw_accuracy, axis=0), pooled.accuracy)
    assert covered["over draws"] >= 35 and covered["one draw's bootstrap"] <= 28, covered
    with pytest.raises(ValueError, match="draws: 1"):
        draws_curve(trials, draws[:1])


@pytest.mark.parametrize(
    ("model", "W", "L"),
    [("su2", 6.0, 20), ("chern", 3.0, 20), ("ando", 8.0, 20), ("anderson3d", 16.5, 8)],
)
def test_levels_near_agrees_with_dense_and_counts_kramers_pairs_once(model, W, L):
    H = get_model(model, boundary="periodic").hamiltonian(L, W, np.random.SeedSequence(4))
    sparse, dense = levels_near(H, 0.0, 24), levels_near(H, 0.0, 24, method="dense")
    np.testing.assert_allclose(sparse, dense, atol=1e-10)
    assert np.all(np.diff(sparse) > 1e-6)  # distinct: a Kramers pair is one level
    assert np.all(np.abs(sparse) <= np.sort(np.abs(np.linalg.eigvalsh(H.toarray())))[-1])


def test_level_ensembles_cache_and_give_poisson_deep_in_the_insulator(tmp_path):
    ens = grid_ensemble("su2", 16, 0.0, [2.0, 40.0], seed=3, params={}, stream="levels")
    ens = dataclasses.replace(ens, levels=16)
    levels, info = generate_range(ens, 0, 40)
    assert levels.shape == (40, 16) and levels.dtype == np.float64
    r = gap_ratio_means(levels)
    np.testing.assert_allclose(r, [gap_ratios(row).mean() for row in levels])
    metal, insulator = r[info[:, 0] == 2.0].mean(), r[info[:, 0] == 40.0].mean()
    assert metal > 0.6 and abs(insulator - R_POISSON) < 0.05
    assert (
        "levels" in ens.describe() and "levels" not in dataclasses.replace(ens, levels=0).describe()
    )


def test_r_route_realisations_by_size():
    """A costly size may get fewer realisations: its W points get that many each, the first
    states of the same ensemble (so a later, larger count extends them)."""
    routes = ["discover.network=null", "discover.confusion=null", "discover.transfer_matrix=null"]
    sizes = ["discover.r.sizes=[8,12]", "discover.r.realisations_by_size=[6,3]"]
    conf = typed(compose_cfg(["experiment=discover_su2", *routes, *sizes]))
    n_w = len(conf.discover.grid.values())
    wanted = cached_ensembles(conf)
    assert [(ens.L, n) for ens, n in wanted] == [(8, 6 * n_w), (12, 3 * n_w)]
    ens = wanted[1][0]
    W = np.array([ens.state(i)[0] for i in range(3 * n_w)])
    assert np.array_equal(np.unique(W, return_counts=True)[1], np.full(n_w, 3))


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_r_route_levels_are_those_of_its_boundary(boundary):
    """The <r> route diagonalises lattices with its own boundary conditions (they move the
    critical <r>), whatever the model's images use: the levels are those of that lattice."""
    cfg = compose_cfg(["experiment=discover_su2", f"discover.r.boundary={boundary}"])
    conf = typed(cfg)
    ens, n = grid_states(conf, 8, 1, conf.discover.r)
    assert n == len(conf.discover.grid.values()) and dict(ens.params)["boundary"] == boundary
    levels, info = generate_range(dataclasses.replace(ens, levels=6), 0, 1)
    W, _, seed = ens.state(0)
    assert info[0, 0] == W
    for bc in ("periodic", "open"):
        H = get_model("su2", boundary=bc).hamiltonian(8, W, seed)
        expected = levels_near(H, 0.0, 6)
        assert np.allclose(levels[0], expected) == (bc == boundary)


@pytest.mark.parametrize(
    "experiment, per_w",
    [
        ("discover_su2", {32: 600, 48: 600, 64: 600, 96: 400}),
        ("discover_chern", {16: 600, 24: 600, 32: 600, 48: 600}),
        ("discover_su2_large", dict.fromkeys([24, 32, 48, 64, 96, 128], 2000)),
        ("discover_anderson3d", dict.fromkeys([8, 12, 16, 20], 300)),
    ],
)
def test_network_grid_states_per_size(experiment, per_w):
    """discover_su2 gives its largest size 400 grid states a W (the first 400 of the same
    ensemble; they were a third of the command's minutes); the experiments built on it, with
    sizes of their own, keep one count for every size, and the cache fills what is read."""
    conf = typed(compose_cfg([f"experiment={experiment}"]))
    d = conf.discover
    assert {L: d.network.states_at(d.sizes, L) for L in d.sizes} == per_w
    wanted = cached_ensembles(conf)
    for L, n in per_w.items():
        assert grid_states(conf, L, n) in wanted


def test_cluster_variant_fills_the_open_level_caches_its_analysis_reads():
    """discover_su2_large's job array caches <r>'s levels on open lattices up to L = 128 (on
    periodic ones the curves do not cross resolvably), the very ensembles its analysis job
    loads; the networks' states keep the model's own boundary."""
    conf = typed(compose_cfg(["experiment=discover_su2_large"]))
    n_w = len(conf.discover.grid.values())
    wanted = cached_ensembles(conf)
    levels = [(ens, n) for ens, n in wanted if ens.levels]
    assert [ens.L for ens, _ in levels] == [24, 32, 48, 64, 96, 128]
    assert {n for _, n in levels} == {1000 * n_w}
    assert {dict(ens.params)["boundary"] for ens, _ in levels} == {"open"}
    for ens, n in levels:
        read = grid_states(conf, ens.L, conf.discover.r.realisations_at(ens.L), conf.discover.r)
        assert read == (ens, n)
    images = [ens for ens, _ in wanted if not ens.levels]
    model_boundary = conf.model.params.get("boundary", "periodic")
    assert images and {dict(e.params).get("boundary", model_boundary) for e in images} == {
        model_boundary
    }


def test_bott_samples_count_the_topology_per_size_whatever_the_workers():
    """|Bott| is 1 in the weakly disordered Chern insulator and 0 deep in the Anderson
    insulator, at every size; the samples do not depend on how many processes drew them."""
    sampling = {"sizes": [8, 10], "realisations": 3, "seed": 2, "params": {}, "progress": False}
    here = bott_samples([0.5, 12.0], workers=1, **sampling)
    pooled = bott_samples([0.5, 12.0], workers=2, **sampling)
    assert list(here) == [8, 10]
    for L, (W, values) in here.items():
        np.testing.assert_array_equal(W, pooled[L][0])
        np.testing.assert_array_equal(values, pooled[L][1])
        assert values.shape == (1, 6)
        np.testing.assert_array_equal(values[0], (W == 0.5).astype(float))


def test_chern_discovery_reads_a_peak_and_a_bott_crossing(tmp_run_dir):
    """A miniature discover_chern with the network-free routes: <r> is read as a peak that
    narrows, the Bott index as curves that cross, each with its z in the table and MLflow."""
    from qpt.discovery import discover

    overrides = [
        "experiment=discover_chern",
        "discover.network=null",
        "discover.confusion=null",
        "discover.n_bootstrap=5",
        "discover.r.realisations=6",
        "discover.r.levels=8",
        "discover.r.sizes=[8,12]",
        "discover.bott.sizes=[8,10]",
        "discover.bott.realisations=6",
        "discover.grid.n_w=7",
        "data.gen_workers=1",
        "data.progress=false",
    ]
    cfg = compose_cfg(overrides)
    summary = discover(cfg)
    r, bott = summary["routes"]["r"], summary["routes"]["bott"]
    assert (r.signature, bott.signature) == ("peak", "crossing")
    assert bott.nu is not None and set(bott.samples) == {8, 10}
    out = tmp_run_dir / cfg.hydra.runtime.output_dir
    table = (out / "discovery.md").read_text()
    assert "| r |" in table and f"peak: {'yes' if r.shown else '**no**'}" in table
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("qpt-chern").experiment_id])
    assert {"discover/r/peak_z", "discover/bott/crossing_z", "discover/bott/nu"} <= set(
        run.data.metrics
    )


#: bars of experiment=mobility_edge_anderson3d small enough for a test (seconds)
TINY_BARS = ("widths=[4,6]", "length=640", "blocks=4", "grid.n_w=5")


def test_mobility_edge_run_end_to_end(tmp_run_dir):
    """experiment=mobility_edge_anderson3d at E = 2: the transfer-matrix route alone, its
    table headed by the energy, its per-piece samples, its metrics in one MLflow run."""
    from qpt.discovery import discover

    overrides = [
        "experiment=mobility_edge_anderson3d",
        "disorder.train.energy=2",
        *[f"discover.transfer_matrix.{k}" for k in TINY_BARS],
        "discover.n_bootstrap=10",
        "data.gen_workers=1",
        "data.progress=false",
    ]
    cfg = compose_cfg(overrides)
    summary = discover(cfg)
    assert list(summary["routes"]) == ["transfer_matrix"]
    result = summary["routes"]["transfer_matrix"]
    assert 12.0 <= result.wc <= 21.0 and result.wc_ci[0] <= result.wc_ci[1]
    out = tmp_run_dir / cfg.hydra.runtime.output_dir
    assert "anderson3d, E = 2:" in (out / "discovery.md").read_text()
    with np.load(out / "transfer_matrix_samples.npz", allow_pickle=False) as samples:
        assert samples["values_L6"].shape == (1, 5 * 4)
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("qpt-anderson3d").experiment_id])
    assert {"discover/transfer_matrix/W_c", "discover/transfer_matrix/nu_lo"} <= set(
        run.data.metrics
    )


# the network route in miniature: two sizes, two networks, a 5-point W grid
TINY_NETWORK = [
    "discover.sizes=[8,12]",
    "discover.n_bootstrap=5",
    "discover.network.states_per_w=8",
    "discover.network.states_per_w_by_size=null",
    "discover.network.replicas=2",
    "disorder.train.states_per_phase=24",
    "discover.grid.n_w=5",
    "trainer.max_epochs=1",
    "trainer.min_epochs=1",
    "trainer.accelerator=cpu",
    "data.shard_size=16",
    "data.gen_workers=1",
    "data.progress=false",
]


@pytest.mark.parametrize(
    "model",
    ["su2", pytest.param("anderson3d", marks=pytest.mark.slow)],  # 3D: keeps make test < 10 min
)
def test_discovery_run_end_to_end(tmp_run_dir, model):
    """A miniature discover_su2 (discover_anderson3d: the same on cubes, 4 x 4 x 4 box
    weights): every route runs, one MLflow run holds the routes' metrics."""
    from qpt.discovery import discover

    overrides = [
        f"experiment=discover_{model}",
        *TINY_NETWORK,
        # the largest size fewer, as discover_su2 (3D: too few states then for nu's interval)
        *(["discover.network.states_per_w_by_size=[8,6]"] if model == "su2" else []),
        "discover.confusion.sizes=[8]",
        # its own box size, as in discover_su2 (there 16 x 16 at L = 32), here every site
        *(["discover.confusion.coarse_grain=8"] if model == "su2" else []),
        "discover.confusion.states_per_w=4",
        "discover.confusion.replicas=1",
        "discover.confusion.epochs=1",
        "discover.r.realisations=4",
        "discover.r.levels=8",
        "discover.r.sizes=null",
    ]
    overrides += [f"discover.transfer_matrix.{k}" for k in TINY_BARS]
    routes = ["network", "confusion", "r", "transfer_matrix"]
    cfg = compose_cfg(overrides)
    summary = discover(cfg)
    assert list(summary["routes"]) == routes
    W, _ = summary["routes"]["network"].samples[12]
    assert np.array_equal(
        np.unique(W, return_counts=True)[1], np.full(5, 6 if model == "su2" else 8)
    )
    assert summary["run_name"].startswith(f"discover-{model}-")
    out = tmp_run_dir / cfg.hydra.runtime.output_dir
    record = json.loads((out / "discovery.json").read_text())
    assert [r["route"] for r in record["routes"]] == routes
    table = (out / "discovery.md").read_text()
    assert (out / "discovery.png").stat().st_size > 10_000 and "| network |" in table
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name(f"qpt-{model}").experiment_id])
    assert run.info.run_name == summary["run_name"] and run.info.status == "FINISHED"
    metrics = {"discover/network/W_c", "discover/network/nu_hi", "discover/confusion/maximum_z"}
    assert metrics <= set(run.data.metrics)


# the confusion route alone, in miniature
CONFUSION_ALONE = [
    "experiment=discover_su2",
    *TINY_NETWORK,
    "discover.confusion.coarse_grain=4",
    "discover.confusion.states_per_w=4",
    "discover.confusion.epochs=1",
    "discover.confusion.workers=1",  # in this process: a pool's start would cost seconds
    *(f"discover.{route}=null" for route in ("network", "r", "transfer_matrix")),
]


def _spy_on_learning(monkeypatch) -> list[dict]:
    """What each call of the confusion route's training is given (inputs, W, seed)."""
    import qpt.discovery as discovery

    seen, learn = [], discovery.learn_boundaries

    def spy(conf, x, W, trials, meta, *, seed=None, judged=None, **kwargs):
        correct = learn(conf, x, W, trials, meta, seed=seed, judged=judged, **kwargs)
        seen.append(
            {"x": x, "W": W, "meta": meta, "seed": seed, "judged": judged, "correct": correct}
        )
        return correct

    monkeypatch.setattr(discovery, "learn_boundaries", spy)
    return seen


def test_confusion_learns_several_sizes_together(tmp_run_dir, monkeypatch):
    """``discover.confusion.sizes`` with two sizes: one network per trial learns both sizes'
    grid states, as box weights of the same shape, each state once with its own W."""
    calls = _spy_on_learning(monkeypatch)
    overrides = [*CONFUSION_ALONE, "discover.confusion.sizes=[8,12]"]
    result = discover(compose_cfg([*overrides, "discover.confusion.replicas=1"]))
    result, (seen,) = result["routes"]["confusion"], calls
    assert seen["x"].shape == (2 * 5 * 4, 1, 4, 4)
    W, counts = np.unique(seen["W"], return_counts=True)
    assert len(W) == 5 and set(counts) == {8}
    # each state's box weights average to one (times the inputs' scale), whatever its size
    means = seen["x"].mean(dim=(1, 2, 3))
    assert torch.allclose(means, means[0].expand_as(means), rtol=1e-5)
    assert seen["meta"]["sizes"] == [8, 12] and seen["meta"]["coarse_grain"] == 4
    assert np.allclose(result.confusion.trials, (W[1:] + W[:-1]) / 2)


def test_confusion_draws_are_disjoint_blocks_of_one_ensemble(tmp_run_dir, monkeypatch):
    """``discover.confusion.draws=2``: the route learns twice, on consecutive blocks of one
    grid ensemble (every W alike in each), with network seeds and held-out fifths of its own;
    the first draw is the single route's, and W_c is the mean of the two maxima."""
    seen = _spy_on_learning(monkeypatch)
    overrides = [*CONFUSION_ALONE, "discover.confusion.sizes=[8]", "discover.confusion.replicas=2"]
    cfg = compose_cfg([*overrides, "discover.confusion.draws=2"])
    found = discover(cfg)["routes"]["confusion"]
    first, second = seen
    assert [first["seed"], second["seed"]] == [cfg.seed, cfg.seed + 2]
    assert first["x"].shape == second["x"].shape == (5 * 4, 1, 4, 4)
    assert not torch.equal(first["x"], second["x"])
    for s in seen:
        assert set(np.unique(s["W"], return_counts=True)[1]) == {4}
    assert found.confusion.draws and len(found.confusion.draws) == 2
    assert found.wc == pytest.approx(np.mean(found.confusion.draws), nan_ok=True)
    assert found.confusion.accuracy.shape == (4,)
    table = (tmp_run_dir / cfg.hydra.runtime.output_dir / "discovery.md").read_text()
    assert "each independent draw" in table
    sd = np.std(found.confusion.draws, ddof=1)
    assert (f"(one draw's sd {sd:.3f})" in table) == bool(np.isfinite(sd))
    seen.clear()
    discover(compose_cfg(overrides))  # one draw: the first block, the same seed
    assert torch.equal(seen[0]["x"], first["x"]) and seen[0]["seed"] == cfg.seed


def test_confusion_judging_blocks_are_fresh_states_after_every_draws_own(tmp_run_dir, monkeypatch):
    """``discover.confusion.judging_blocks=1``: each draw's networks are judged on their
    held-out fifth, as without it (the same outcomes), then on a block of grid states that
    follows every draw's own, one per draw, every W alike; no training state among them."""
    seen = _spy_on_learning(monkeypatch)
    overrides = [*CONFUSION_ALONE, "discover.confusion.sizes=[8]", "discover.confusion.replicas=2"]
    overrides.append("discover.confusion.draws=2")
    discover(compose_cfg(overrides))
    plain = [dict(s) for s in seen]
    seen.clear()
    discover(compose_cfg([*overrides, "discover.confusion.judging_blocks=1"]))
    fifth = len(plain[0]["W"]) // 5
    trained = [s["x"] for s in seen]
    for before, after in zip(plain, seen, strict=True):
        assert torch.equal(before["x"], after["x"]) and before["seed"] == after["seed"]
        x, W = after["judged"]
        assert x.shape == after["x"].shape and set(np.unique(W, return_counts=True)[1]) == {4}
        assert not any(torch.equal(x, t) for t in trained)
        assert after["correct"].shape[2] == fifth + len(W)
        np.testing.assert_array_equal(after["correct"][:, :, :fifth], before["correct"])
    assert not torch.equal(seen[0]["judged"][0], seen[1]["judged"][0])


def test_confusion_trials_learn_alike_in_worker_processes(tmp_run_dir, monkeypatch):
    """``discover.confusion.workers=2``: the trial boundaries are learned in two processes,
    and every network's outcome is the same to the last bit as in this process, since every
    network trains on one torch thread wherever it runs (with more, its weights depend on
    how many); this process's threads are as they were afterwards."""
    import qpt.discovery as discovery

    threads, trainer = [], discovery._quiet_trainer

    def counting_trainer(*args, **kwargs):
        threads.append(torch.get_num_threads())
        return trainer(*args, **kwargs)

    monkeypatch.setattr(discovery, "_quiet_trainer", counting_trainer)
    seen, before = _spy_on_learning(monkeypatch), torch.get_num_threads()
    torch.set_num_threads(2)  # a process with more than one thread, whatever the machine
    try:
        overrides = [*CONFUSION_ALONE, "discover.confusion.sizes=[8]"]
        overrides.append("discover.confusion.replicas=2")
        alone = discover(compose_cfg(overrides))["routes"]["confusion"]
        assert threads == [1] * 8 and torch.get_num_threads() == 2
        pooled = discover(compose_cfg([*overrides, "discover.confusion.workers=2"]))
    finally:
        torch.set_num_threads(before)
    here, there = seen
    assert there["correct"].shape == here["correct"].shape == (2, 4, len(here["W"]) // 5)
    np.testing.assert_array_equal(there["correct"], here["correct"])
    accuracy = pooled["routes"]["confusion"].confusion.accuracy
    np.testing.assert_array_equal(accuracy, alone.confusion.accuracy)


def test_network_route_read_at_its_peak_reports_every_size(tmp_run_dir):
    """discover_chern's network route (``estimator: peak_position``, periodic lattices): W_c
    is the largest size's peak, with its interval; every size's peak goes to the table and
    the metrics."""
    from qpt.discovery import discover

    overrides = ["experiment=discover_chern", *TINY_NETWORK, "discover.grid.n_w=7"]
    overrides += [f"discover.{route}=null" for route in ("confusion", "r", "bott")]
    cfg = compose_cfg(overrides)
    assert cfg.model.params.boundary == "periodic"
    assert cfg.discover.network.estimator == "peak_position"
    result = discover(cfg)["routes"]["network"]
    assert sorted(result.peaks) == [8, 12] and result.nu is None and result.estimate is None
    top = result.peaks[12]
    assert (result.wc, result.wc_ci, result.signature_z) == (top.position, top.ci, top.maximum_z)
    assert result.signature == "maximum"
    table = (tmp_run_dir / cfg.hydra.runtime.output_dir / "discovery.md").read_text()
    assert "network, the maximum of each size's curve: L = 8: " in table
    metrics = result.metrics()
    assert {"discover/network/peak_L8_lo", "discover/network/peak_L12_hi"} <= set(metrics)


def test_an_estimate_outside_its_own_interval_says_so():
    assert interval_text(6.2, (6.0, 6.4), 2) == "6.20 [6.00, 6.40]"
    assert interval_text(4.53, (6.45, 6.54), 2) == "4.53 [6.45, 6.54] (outside its interval)"
    assert interval_text(None, None, 2) == ""
    assert interval_text(math.nan, (math.nan, math.nan), 1) == "nan [nan, nan]"  # no result


def test_confusion_networks_train_without_lightning_chatter(caplog):
    """Each of the confusion route's hundreds of networks printed Lightning's accelerator and
    "max_epochs reached" lines (four a network: 1920 at L = 64); inside the route's block
    they are muted, and Lightning speaks again after it."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    from qpt.discovery import _lightning_silent

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 2)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.layer(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = DataLoader(TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,))), batch_size=4)
    options = {"logger": False, "enable_progress_bar": False, "enable_checkpointing": False}

    def fit():
        caplog.clear()
        with caplog.at_level(logging.INFO):
            pl.Trainer(max_epochs=1, enable_model_summary=False, **options).fit(Tiny(), data)
        return " ".join(caplog.messages)

    with _lightning_silent():
        assert "max_epochs=1" not in fit() and "GPU available" not in fit()
    assert "max_epochs=1" in fit()
    # every network's block installs quiet()'s filters again: once is enough
    from qpt.console import _NoTips, quiet

    quiet()
    rank_zero = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    assert sum(isinstance(f, _NoTips) for f in rank_zero.filters) == 1


def test_a_sweep_over_seeds_is_pooled_by_qpt_pool(tmp_path, capsys):
    """The cluster recipe for an interval that holds every draw: a Hydra sweep over seeds of
    one discovery setting, then qpt-pool over its job directories. The jobs' configs differ
    only in what qpt-pool lets differ; a job with other settings is refused."""
    from qpt.pool import main as pool_main

    tiny = [*TINY_NETWORK, "discover.confusion=null", "discover.r=null"]
    tiny += ["discover.transfer_matrix=null", "hydra.sweep.dir=sweep"]
    done = run_script("train.py", ["-m", "experiment=discover_su2", *tiny, "seed=1,2"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    jobs = sorted(str(p) for p in (tmp_path / "sweep").glob("*/") if p.is_dir())
    assert len(jobs) == 2
    assert pool_main(jobs) == 0
    out = capsys.readouterr().out
    assert "network over 2 independent runs" in out and "not recorded" not in out
    assert "settings and seeds not checked" not in out
    other = run_script(
        "train.py",
        [
            "experiment=discover_su2",
            *tiny[:-1],
            "seed=3",
            "discover.network.replicas=1",
            "hydra.run.dir=other",
        ],
        tmp_path,
    )
    assert other.returncode == 0, other.stderr[-2000:]
    assert pool_main([*jobs, str(tmp_path / "other")]) == 2
    assert "discover.network.replicas=1, but" in capsys.readouterr().err

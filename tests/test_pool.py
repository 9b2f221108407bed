"""qpt-pool: one route's estimate over independent runs, checked where the answer is known,
and its refusal of runs that are not independent draws of one setting."""

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from scipy import stats

from qpt.evaluation.draws import scatter_against_intervals, t_interval
from qpt.pool import RunEstimate, main, pool, pool_metrics, read_run, smallest_size_dropped

Z95 = stats.norm.ppf(0.975)


def test_scatter_against_intervals_by_hand():
    s = scatter_against_intervals([1.0, 2.0, 4.0], [(0.0, 2.0), (1.5, 2.5), (3.0, 5.0)])
    sd = np.array([2.0, 1.0, 2.0]) / (2 * Z95)
    w = 1 / sd**2
    centre = (w @ [1.0, 2.0, 4.0]) / w.sum()
    assert s.chi2 == pytest.approx(w @ (np.array([1.0, 2.0, 4.0]) - centre) ** 2)
    assert s.dof == 2 and s.p == pytest.approx(stats.chi2.sf(s.chi2, 2))
    assert s.implied == pytest.approx(np.sqrt(np.mean(sd**2)))
    assert s.sd == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1)) and s.held < 1
    with pytest.raises(ValueError, match="without width"):
        scatter_against_intervals([1.0, 2.0], [(1.0, 1.0), (1.0, 3.0)])


def _runs(rng, offset_sd, n_runs, sd=0.2, truth=2.73):
    """Runs whose estimate scatters by ``sd`` (what their intervals say) plus an offset of
    ``offset_sd`` drawn afresh by every run and left out of its interval."""
    values = truth + rng.normal(0, offset_sd, n_runs) + rng.normal(0, sd, n_runs)
    return values, [(v - Z95 * sd, v + Z95 * sd) for v in values]


def test_pooled_interval_holds_what_each_run_leaves_out():
    """An offset of sd 0.15 a run, which no run's interval holds (sd 0.2): single runs cover
    2.73 in about 87% of studies, the Student-t interval over 5 runs in 93 to 97%, and the
    scatter check says the intervals hold about 0.8 of the scatter."""
    rng = np.random.default_rng(12)
    single, pooled, held, rejected = [], [], [], []
    for _ in range(2000):
        values, intervals = _runs(rng, 0.15, 5)
        single.append(intervals[0][0] <= 2.73 <= intervals[0][1])
        _, lo, hi = t_interval(values)
        pooled.append(lo <= 2.73 <= hi)
        s = scatter_against_intervals(values, intervals)
        held.append(s.implied / np.sqrt(0.2**2 + 0.15**2))
        rejected.append(s.p < 0.05)
    assert 0.84 <= np.mean(single) <= 0.90
    assert 0.93 <= np.mean(pooled) <= 0.97
    assert np.mean(rejected) > 0.1  # honest intervals would be refused in 5%
    honest = [scatter_against_intervals(*_runs(rng, 0.0, 5)).p < 0.05 for _ in range(2000)]
    assert 0.035 <= np.mean(honest) <= 0.065


def _write_run(
    root, seed, wc, nu, *, model="su2", route="network", replicas=3, extra=None, dropped=None
):
    """A run directory as train.py leaves it: discovery.json and .hydra/config.yaml;
    ``dropped``: (W_c, nu) of its fit without the smallest size (nu None: no interval)."""
    run = root / f"run{seed}"
    (run / ".hydra").mkdir(parents=True)
    entry = {"route": route, "wc": wc, "wc_ci": [wc - 0.2, wc + 0.25], "nu": nu}
    entry["nu_ci"] = None if nu is None else [nu - 0.3, nu + 0.4]
    if dropped is not None:
        fit = {"wc": dropped[0], "nu": dropped[1], "chi2": 9.0, "dof": 10}
        ci = {"wc_ci": [dropped[0] - 0.3, dropped[0] + 0.3], "nu_ci": [2.0, 3.0]}
        entry["dropped"] = {"fit": fit} | (ci if dropped[1] is not None else {"wc_ci": None})
    record = {"model": model, "energy": 0.0, "reference_wc": 6.2, "reference_nu": 2.73}
    (run / "discovery.json").write_text(json.dumps(record | {"routes": [entry]}))
    config = {
        "seed": seed,
        "output_dir": str(run),
        "model": {"name": model},
        "data": {"cache_dir": f"/cache{seed}", "gen_workers": seed % 3},
        "discover": {
            "sizes": [32, 48],
            "network": {"replicas": replicas},
            "confusion": {"draws": seed},
        },
    } | (extra or {})
    OmegaConf.save(OmegaConf.create(config), run / ".hydra" / "config.yaml")
    return str(run)


def test_pool_prints_each_run_and_the_pooled_interval(tmp_path, capsys):
    runs = [
        _write_run(tmp_path, s, wc, nu)
        for s, wc, nu in ((1, 6.1, 2.6), (2, 6.3, 2.4), (3, 6.2, 2.9), (4, 6.25, 2.7))
    ]
    plot = tmp_path / "pooled.png"
    assert main([*runs, "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    mean, lo, hi = t_interval([6.1, 6.3, 6.2, 6.25])
    assert f"pooled W_c: {mean:.3f} [{lo:.3f}, {hi:.3f}] (+0.2% from the literature's 6.2)" in out
    mean, lo, hi = t_interval([2.6, 2.4, 2.9, 2.7])
    assert f"pooled nu: {mean:.2f} [{lo:.2f}, {hi:.2f}]" in out and "(3 dof)" in out
    assert "network over 4 independent runs [95%]" in out and "not recorded" not in out
    assert plot.stat().st_size > 10_000  # a figure, drawn


def test_pool_of_a_route_without_nu_pools_w_c_alone(tmp_path, capsys):
    same = {"discover": {"sizes": [32], "confusion": {"draws": 6}}}
    runs = [
        _write_run(tmp_path, s, 6.0 + s / 10, None, route="confusion", extra=same) for s in (1, 2)
    ]
    assert main([*runs, "--route", "confusion"]) == 0
    out = capsys.readouterr().out
    assert "pooled W_c: 6.150" in out and "pooled nu" not in out


@pytest.mark.parametrize(
    "second, message",
    [
        (dict(seed=1), "the same seed 1 as"),
        (dict(seed=2, model="ando"), "model 'ando', but"),
        (dict(seed=2, replicas=5), "discover.network.replicas=5, but"),
        (dict(seed=2, extra={"discover": {"sizes": [32, 64]}}), "discover.sizes=[32, 64]"),
        (dict(seed=2, route="r"), "no 'network' route (it has: r)"),
        (dict(seed=2, dropped=(6.3, None)), "without its smallest size's wc has no interval"),
    ],
)
def test_pool_refuses_runs_not_of_one_setting(tmp_path, capsys, second, message):
    first = _write_run(tmp_path / "a", 1, 6.1, 2.6)
    other = _write_run(tmp_path / "b", second.pop("seed"), 6.3, 2.4, **second)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main([first, other, "--plot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_pool_refuses_bad_input_in_one_line(tmp_path, capsys):
    good = _write_run(tmp_path, 1, 6.1, 2.6)
    bad = tmp_path / "run2" / "discovery.json"
    cases = [
        ([good], "1 run given; pooling needs at least two"),
        ([good, str(tmp_path / "none")], "none: No such file"),
        ([good, good, "--confidence", "1.5"], "--confidence 1.5"),
        ([good, good, "--plot", str(tmp_path / "p.txt")], "give a .png, .pdf or .svg"),
    ]
    _write_run(tmp_path, 2, 6.3, 2.4)
    record = json.loads(bad.read_text())
    record["routes"][0]["nu"] = float("nan")
    bad.write_text(json.dumps(record))
    cases.append(([good, str(bad.parent)], "the 'network' route has no nu estimate: nan"))
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)


def test_pool_lets_runs_differ_where_they_ran_and_in_other_routes(tmp_path, capsys):
    """Seeds, output and cache places, generation workers and the other routes' sections
    (confusion draws here) differ between these runs: one setting for the network route. A
    setting one run does not record (older than it) is named, not compared."""
    a = _write_run(tmp_path, 1, 6.1, 2.6)
    b = _write_run(
        tmp_path,
        2,
        6.3,
        2.4,
        extra={"discover": {"network": {"replicas": 3, "split": 1}, "sizes": [32, 48]}},
    )
    assert main([a, b]) == 0
    assert (
        "not recorded by every run (not compared): discover.network.split"
        in capsys.readouterr().out
    )


def test_pool_of_runs_without_their_config_says_so(tmp_path, capsys):
    runs = [_write_run(tmp_path, s, 6.0 + s / 10, 2.5 + s / 10) for s in (1, 2)]
    for r in runs:
        (tmp_path / r / ".hydra" / "config.yaml").unlink()
    assert main(runs) == 0
    assert "settings and seeds not checked for" in capsys.readouterr().out
    assert main([runs[0], runs[0]]) == 2  # the same estimates twice: one draw, not two
    assert "the same estimates as" in capsys.readouterr().err


def test_pool_function_skips_nu_unless_every_run_has_it(tmp_path):
    runs = [
        RunEstimate(tmp_path, 1, 6.1, (6.0, 6.2), 2.6, (2.3, 2.9)),
        RunEstimate(tmp_path, 2, 6.2, (6.1, 6.3), None, None),
    ]
    assert [p.name for p in pool(runs, {})] == ["W_c"]
    assert [p.name for p in pool(runs[:1] * 2, {"nu": 2.73})][1] == "nu"


def test_pool_names_a_run_that_alone_is_no_measurement_and_keeps_it(tmp_path, capsys):
    """A run whose fit misfits (chi2/dof 2.5), whose sizes barely show W_c (z 1.5) or whose
    W_c moves without its smallest size is named, and pooled all the same: dropping a run
    for its value would bias the pool."""
    runs = [_write_run(tmp_path, s, 6.0 + s / 10, 2.5 + s / 10) for s in (1, 2, 3)]
    record_path = tmp_path / "run2" / "discovery.json"
    record = json.loads(record_path.read_text())
    entry = record["routes"][0]
    entry |= {"signature_z": 1.5, "estimate": {"fit": {"chi2": 25.0, "dof": 10}}}
    fit = {"wc": 6.2 + 0.3, "nu": 2.6}  # W_c moves by 0.3, its half-interval 0.225
    entry["dropped"] = {"fit": fit, "wc_ci": [6.2, 6.8], "nu_ci": [2.2, 3.0]}
    record_path.write_text(json.dumps(record))
    assert main(runs) == 0
    out = capsys.readouterr().out
    line = "seed 2: alone not a measurement (z 1.5 < 2; chi2/dof 2.50 > 2; without the smallest"
    assert line in out and "pooled all the same" in out
    assert "seed 1: alone" not in out and "pooled W_c: 6.200" in out


def test_pool_is_recorded_as_one_mlflow_run(tmp_run_dir, capsys):
    from mlflow.tracking import MlflowClient

    runs = [_write_run(tmp_run_dir, s, 6.0 + s / 10, 2.5 + s / 10) for s in (1, 2, 3)]
    assert main([*runs, "--log"]) == 0
    out = capsys.readouterr().out
    assert "MLflow run: pool-su2-network-" in out
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    metrics = run.data.metrics
    mean, lo, hi = t_interval([6.1, 6.2, 6.3])
    assert metrics["pool/network/W_c"] == pytest.approx(mean)
    assert (metrics["pool/network/W_c_lo"], metrics["pool/network/W_c_hi"]) == pytest.approx(
        (lo, hi)
    )
    assert metrics["pool/network/nu"] == pytest.approx(2.7) and metrics["pool/network/runs"] == 3
    assert run.data.params["seeds"] == "1,2,3" and run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "pool")}
    assert artifacts == {"pool/pool.md", "pool/pool.png"}


def test_a_run_without_its_own_interval_pools_and_is_named(tmp_path, capsys):
    """A run whose bootstrap refits all failed (NaN interval) still has its estimate: it is
    pooled, named, and left out of the scatter check only."""
    runs = [_write_run(tmp_path, s, 6.0 + s / 10, 2.5 + s / 10) for s in (1, 2, 3)]
    path = tmp_path / "run3" / "discovery.json"
    record = json.loads(path.read_text())
    record["routes"][0]["wc_ci"] = [float("nan"), float("nan")]
    path.write_text(json.dumps(record))
    assert main([*runs, "--plot", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "seed 3: alone not a measurement (its bootstrap gave no interval)" in out
    assert "pooled W_c: 6.200" in out and "W_c: the scatter check below holds the 2 runs" in out
    assert main(runs[1:]) == 0  # one run with an interval left: no check, still a pool
    assert "W_c: fewer than two runs have an interval; no scatter check" in capsys.readouterr().out


def test_pool_of_the_fits_without_the_smallest_size_and_the_paired_shift(tmp_path, capsys):
    """Dropping the smallest size lowers nu by 0.10 in every run, while the runs' own nu
    scatter by 0.2: the paired shift resolves it, [-0.1, -0.1] exactly here."""
    runs = [
        _write_run(tmp_path, s, 6.1 + s / 20, nu, dropped=(6.05 + s / 20, nu - 0.1))
        for s, nu in ((1, 2.5), (2, 2.9), (3, 2.6), (4, 2.8))
    ]
    assert main(runs) == 0
    out = capsys.readouterr().out
    mean, lo, hi = t_interval([2.4, 2.8, 2.5, 2.7])
    assert f"pooled nu: {mean:.2f} [{lo:.2f}, {hi:.2f}]" in out.split("without the smallest")[1]
    assert "moves nu by -0.100 [-0.100, -0.100] (paired, resolved)" in out
    assert "moves W_c by -0.0500 [-0.0500, -0.0500] (paired, resolved)" in out
    read = [read_run(Path(r), "network")[0] for r in runs]
    metrics = pool_metrics("network", pool(read, {}), smallest_size_dropped(read, {}))
    assert metrics["pool/network/nu_shift_without_smallest_hi"] == pytest.approx(-0.1)
    assert metrics["pool/network/nu_without_smallest"] == pytest.approx(mean)
    partial = [runs[0], _write_run(tmp_path / "b", 9, 6.0, 2.7)]  # one run without that fit
    assert main(partial) == 0 and "without the smallest" not in capsys.readouterr().out


def test_pool_of_the_fits_without_the_smallest_size_as_the_reading(tmp_run_dir, capsys):
    """``--without-smallest``: each run's second fit is the reading, listed, pooled, and
    recorded as its own route; a run without that fit is refused, nothing recorded."""
    from mlflow.tracking import MlflowClient

    runs = [
        _write_run(tmp_run_dir, s, 6.3, nu, dropped=(6.1 + s / 20, nu + 0.1))
        for s, nu in ((1, 2.5), (2, 2.9), (3, 2.6))
    ]
    assert main([*runs, "--without-smallest", "--log"]) == 0
    out = capsys.readouterr().out
    assert "network_without_smallest over 3 independent runs [95%]" in out
    assert "6.150 [5.850, 6.450]" in out  # seed 1's second fit, in the runs' table
    mean, lo, hi = t_interval([6.15, 6.2, 6.25])
    assert f"pooled W_c: {mean:.3f} [{lo:.3f}, {hi:.3f}]" in out and "dropping it" not in out
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    assert run.data.metrics["pool/network_without_smallest/nu"] == pytest.approx(2.767, abs=1e-3)
    assert "pool/network/W_c" not in run.data.metrics
    partial = [runs[0], _write_run(tmp_run_dir / "b", 9, 6.0, 2.7)]
    assert main([*partial, "--without-smallest", "--log"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "run9" in err and "\n" not in err
    assert len(client.search_runs([run.info.experiment_id])) == 1

"""Transition curves, the crossing estimator, and evaluate.py end to end."""

import json
import math

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from qpt.config import typed
from qpt.evaluation.curves import crossing_with_ci, curve, fit_crossing
from qpt.training import train
from tests.conftest import compose_cfg, run_script, tiny_overrides


def logistic(W, a, b, W0, s):
    return b + (a - b) / (1.0 + np.exp((W - W0) / s))


def synthetic(
    W_star: float, width: float, seed: int, n_w: int = 60, per_w: int = 5, noise: float = 0.15
):
    """Per-state probabilities scattered around a logistic that crosses 1/2 at W_star."""
    rng = np.random.default_rng(seed)
    W = np.repeat(np.linspace(0.1, 12.4, n_w), per_w)
    p = np.clip(logistic(W, 1.0, 0.0, W_star, width) + rng.normal(0, noise, W.size), 0, 1)
    return W, p


def test_curve_mean_and_standard_error():
    W = np.array([1, 1, 1, 2, 2], float)
    p = np.array([0.0, 0.5, 1.0, 0.2, 0.4])
    c = curve(W, p)
    np.testing.assert_allclose(c.mean, [0.5, 0.3])
    np.testing.assert_allclose(c.sem, [0.5 / math.sqrt(3), math.sqrt(0.02) / math.sqrt(2)])
    assert c.count.tolist() == [3, 2]


def test_known_crossing_is_recovered_and_covered():
    W, p = synthetic(6.2, 0.5, seed=1)
    cross = crossing_with_ci(W, p, n_bootstrap=200, seed=0)
    assert cross.W == pytest.approx(6.2, abs=0.15)
    assert cross.lo < 6.2 < cross.hi and cross.hi - cross.lo < 1.0
    assert cross.n_failed == 0


def test_asymmetric_plateaus_still_cross_at_one_half():
    # P never reaches 1 or 0 (like a network near the band edge): the 50% point is not W0
    rng = np.random.default_rng(3)
    W = np.repeat(np.linspace(0.1, 12.4, 60), 5)
    p = np.clip(logistic(W, 0.9, 0.2, 5.0, 0.6) + rng.normal(0, 0.05, W.size), 0, 1)
    expected = 5.0 + 0.6 * math.log((0.9 - 0.2) / (0.5 - 0.2) - 1)
    assert fit_crossing(W, p) == pytest.approx(expected, abs=0.15)


def test_interval_coverage_over_repeated_experiments():
    covered = 0
    for seed in range(12):
        W, p = synthetic(3.25, 0.4, seed=100 + seed, n_w=40, per_w=5, noise=0.25)
        cross = crossing_with_ci(W, p, n_bootstrap=80, seed=seed)
        covered += cross.lo <= 3.25 <= cross.hi
    assert covered >= 9  # nominal 95%: at least 9 of 12 (fails for a badly biased estimator)


def test_crossing_does_not_depend_on_the_tested_range():
    """A long plateau just above 1/2 then a drop at W = 3.5 (like the Chern net at L = 40):
    a wide and a narrow W grid must give the same crossing."""
    rng = np.random.default_rng(7)

    def shape(W):
        return np.where(W < 2.2, 1.0, np.where(W < 3.5, 0.62, 0.1 * np.exp(-(W - 3.5))))

    crossings = []
    for lo, hi in ((0.06, 6.5), (1.9, 4.6)):
        W = np.repeat(np.linspace(lo, hi, 60), 10)
        p = np.clip(shape(W) + rng.normal(0, 0.1, W.size), 0, 1)
        crossings.append(fit_crossing(W, p))
    assert crossings[0] == pytest.approx(3.5, abs=0.12) and crossings[1] == pytest.approx(
        3.5, abs=0.12
    )


def test_no_crossing_gives_nan():
    W = np.repeat(np.linspace(0.1, 5, 20), 3)
    assert math.isnan(fit_crossing(W, np.full(W.size, 0.9)))
    cross = crossing_with_ci(W, np.full(W.size, 0.9), n_bootstrap=10)
    assert math.isnan(cross.W) and cross.n_failed == 10


@pytest.fixture
def trained(tmp_run_dir):
    cfg = compose_cfg(
        [
            *tiny_overrides(tmp_run_dir),
            "evaluate_after_training=false",
            "disorder.train.states_per_phase=40",
            "trainer.max_epochs=3",
        ]
    )
    return tmp_run_dir, train(cfg)


def eval_overrides(tmp):
    return [
        "disorder.test.n_w=6",
        "disorder.test.states_per_w=3",
        "data.shard_size=8",
        "data.gen_workers=1",
        "data.progress=false",
        "evaluation.n_bootstrap=20",
        f"hydra.run.dir={tmp}/eval",
    ]


def test_evaluate_script_end_to_end(trained):
    tmp, summary = trained
    result = run_script(
        "evaluate.py",
        [f"ckpt={summary['checkpoint']}", "evaluation.energies=[0.0,1.0]", *eval_overrides(tmp)],
        tmp,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "W* E0.0:" in result.stdout and "== qpt: run finished ==" in result.stdout
    out = tmp / "eval"
    rows = np.loadtxt(out / "curve_su2_E1.0.csv", delimiter=",", skiprows=1)
    assert (
        rows.shape == (6, 4)
        and np.all((rows[:, 1] >= 0) & (rows[:, 1] <= 1))
        and np.all(rows[:, 3] == 3)
    )
    assert (out / "transition_su2.png").stat().st_size > 1000
    report = json.loads((out / "evaluation.json").read_text())
    assert set(report["curves"]) == {"su2_E0.0", "su2_E1.0"}
    assert report["curves"]["su2_E1.0"]["reference_wc"] == 5.953
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    (run,) = client.search_runs(
        [client.get_experiment_by_name("qpt-su2").experiment_id],
        filter_string="attributes.run_name LIKE 'evaluate-su2-L16-%'",
    )
    finite = {
        f"crossing_W/E{e}"
        for e in ("0.0", "1.0")
        if math.isfinite(report["curves"][f"su2_E{e}"]["crossing"]["W"])
    }
    assert finite <= set(run.data.metrics)  # NaN crossings (no 50% point) are not logged
    assert run.info.status == "FINISHED"


def test_evaluate_transfer_and_into_training_run(tmp_run_dir):
    cfg = compose_cfg(
        [
            *tiny_overrides(tmp_run_dir),
            "evaluate_after_training=false",
            "disorder.train.states_per_phase=40",
            "trainer.max_epochs=3",
        ]
    )
    summary = train(cfg)
    result = run_script(
        "evaluate.py",
        [f"run_id={summary['run_id']}", "target_model=ando", *eval_overrides(tmp_run_dir)],
        tmp_run_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    artifacts = {a.path for a in client.list_artifacts(summary["run_id"], "evaluation")}
    assert "evaluation/curve_ando_E0.0.csv" in artifacts


def test_edge_weight_marks_boundary_states():
    from qpt.evaluation.evaluate import edge_weight

    L = 20
    bulk = np.full((1, L, L), 1.0 / L**2)
    edge = np.zeros((1, L, L))
    edge[0, 0, :] = 1.0 / L
    w = edge_weight(np.concatenate([bulk, edge]))
    assert w[0] == pytest.approx(1 - (L - 6) ** 2 / L**2) and w[1] == pytest.approx(1.0)


def test_size_agnostic_network_judges_other_sizes(tmp_run_dir):
    from qpt.data.testsets import TestSets
    from qpt.evaluation.evaluate import transition_curves
    from qpt.models.checkpoint import load_classifier

    base = [*tiny_overrides(tmp_run_dir), "evaluate_after_training=false", "logger=none"]
    cfg = compose_cfg([*base, "net=global_pool"])
    conf = typed(cfg)
    clf = load_classifier(train(cfg)["checkpoint"], L=20)  # trained at L = 16
    sets = TestSets(20, 1, conf.data)
    args = {"models": ["su2"], "energies": [0.0], "n_bootstrap": 5, "accelerator": "cpu"}
    (t,) = transition_curves(clf, sets, conf.disorder.test, **args)
    assert t.L == 20 and len(t.curve.W) == 4 and np.all(t.curve.count == 2)
    fixed = load_classifier(train(compose_cfg(base))["checkpoint"])
    with pytest.raises(ValueError, match="not size-agnostic"):
        transition_curves(fixed, sets, conf.disorder.test, **args)

"""Phase diagrams: the (E, W) map stacked from transition curves, its P = 1/2 contour, the
files and metrics, after training and from evaluate.py."""

import math

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from qpt.evaluation.curves import crossing_with_ci, curve
from qpt.evaluation.evaluate import TransitionCurve
from qpt.evaluation.phase_diagram import stack
from qpt.physics import get_model
from qpt.reporting import write_phase_diagram
from qpt.training import train
from tests.conftest import compose_cfg, run_script, tiny_overrides

ENERGIES = (0.0, 1.0, 2.0, 3.0)


def boundary(E: float) -> float:
    """A known phase boundary W_b(E), falling with |E| as the SU(2) model's does."""
    return 6.0 - 0.3 * E**2


def synthetic_curves(seed: int = 0, per_w: int = 8) -> list[TransitionCurve]:
    """Per-state P scattered around a logistic in W that falls through 1/2 at W_b(E)."""
    rng = np.random.default_rng(seed)
    W = np.repeat(np.linspace(1.0, 10.0, 37), per_w)
    curves = []
    for E in ENERGIES:
        p = 1 / (1 + np.exp((W - boundary(E)) / 0.4)) + rng.normal(0, 0.15, W.size)
        p = np.clip(p, 0, 1)
        cross = crossing_with_ci(W, p, n_bootstrap=100, seed=seed)
        curves.append(TransitionCurve("su2", E, 40, "delocalized", curve(W, p), cross, None, 0.0))
    return curves


def test_contour_of_a_synthetic_map_is_its_boundary():
    d = stack(synthetic_curves()[::-1], get_model("su2"), "su2", 0.0)  # any order of energies
    assert d.p.shape == d.sem.shape == d.count.shape == (len(ENERGIES), 37)
    assert d.energies.tolist() == list(ENERGIES) and np.all(d.count == 8)
    covered = 0
    for E, w, lo, hi in zip(d.energies, d.W_half, d.lo, d.hi, strict=True):
        assert w == pytest.approx(boundary(E), abs=0.15) and lo <= w <= hi and hi - lo < 0.8
        covered += lo <= boundary(E) <= hi
    assert covered >= 3  # 95% intervals: all four but for bad luck
    # the rows are the curves: P falls with W at every energy
    assert np.all(d.p[:, 0] > 0.8) and np.all(d.p[:, -1] < 0.2)
    assert d.reference_at(2.0) == 5.165 and d.reference_at(0.5) is None
    assert "Asada" in d.reference_source


def test_stack_refuses_different_w_grids():
    a, b = synthetic_curves()[:2]
    shorter = TransitionCurve(
        b.model, b.energy, b.L, b.phase, curve(b.curve.W[:-1], b.curve.mean[:-1]), b.crossing,
        None, 0.0,
    )  # fmt: skip
    with pytest.raises(ValueError, match="same W grid"):
        stack([a, shorter], get_model("su2"), "su2", 0.0)


def test_files_and_metrics_of_a_phase_diagram(tmp_path):
    d = stack(synthetic_curves(), get_model("su2"), "su2", 0.0)
    metrics, files = write_phase_diagram(d, tmp_path)
    names = {p.name for p, artifact_dir in files if artifact_dir == "phase_diagram"}
    assert names == {
        "phase_diagram_su2.png",
        "phase_diagram_su2.npz",
        "phase_diagram_su2.csv",
        "phase_diagram_su2_contour.csv",
    }
    assert (tmp_path / "phase_diagram_su2.png").stat().st_size > 10_000
    saved = np.load(tmp_path / "phase_diagram_su2.npz")
    np.testing.assert_array_equal(saved["p"], d.p)
    np.testing.assert_array_equal(saved["W_half"], d.W_half)
    rows = np.loadtxt(tmp_path / "phase_diagram_su2.csv", delimiter=",", skiprows=1)
    assert rows.shape == (len(ENERGIES) * 37, 5)
    assert metrics["phase_diagram/W_half/E2.0"] == d.W_half[2]
    assert (
        metrics["phase_diagram/W_half_lo/E2.0"]
        <= d.W_half[2]
        <= metrics["phase_diagram/W_half_hi/E2.0"]
    )
    assert metrics["phase_diagram/deviation/E0.0"] == pytest.approx((d.W_half[0] - 6.2) / 6.2)


def test_compared_points_are_drawn_and_compared_apart_from_the_literature(tmp_path):
    """Points measured by other means (here: the synthetic boundary at E = 1 and 3, with
    intervals) sit beside the literature's: their own CSV columns and metrics."""
    points = [[E, boundary(E), boundary(E) - 0.1, boundary(E) + 0.1] for E in (1.0, 3.0)]
    d = stack(synthetic_curves(), get_model("su2"), "su2", 0.0, points, "a known boundary")
    assert d.compared_at(3.0) == tuple(points[1][1:]) and d.compared_at(2.0) is None
    assert d.reference_at(2.0) == 5.165  # the literature stays as it was
    metrics, _ = write_phase_diagram(d, tmp_path)
    deviation = metrics["phase_diagram/compared_deviation/E3.0"]
    assert deviation == pytest.approx((d.W_half[3] - boundary(3.0)) / boundary(3.0))
    assert abs(deviation) < 0.05 and "phase_diagram/compared_deviation/E2.0" not in metrics
    with open(tmp_path / "phase_diagram_su2_contour.csv") as f:
        header, *rows = [line.rstrip("\n").split(",") for line in f]
    assert header[-4:] == [
        "compared_W_c",
        "compared_lo",
        "compared_hi",
        "compared_relative_deviation",
    ]
    assert float(rows[1][-4]) == boundary(1.0) and rows[2][-4] == ""


def test_compared_points_must_be_rows_of_four_with_an_interval(tmp_run_dir):
    from qpt.config import typed

    bad = "evaluation.phase_diagram.compare_points=[[0.0,16.5,17.0,18.0]]"
    source = "evaluation.phase_diagram.compare_source=x"
    with pytest.raises(ValueError, match=r"compare_points: row \[0.0"):
        typed(compose_cfg([*tiny_overrides(tmp_run_dir), *DIAGRAM, bad, source]))
    unsourced = "evaluation.phase_diagram.compare_points=[[0.0,16.5,16.0,17.0]]"
    with pytest.raises(ValueError, match=r"compare_source"):
        typed(compose_cfg([*tiny_overrides(tmp_run_dir), *DIAGRAM, unsourced]))


DIAGRAM = [
    "evaluation.phase_diagram.energies=[0.0,1.0]",
    "evaluation.phase_diagram.w_min=1.0",
    "evaluation.phase_diagram.w_max=9.0",
    "evaluation.phase_diagram.n_w=4",
    "evaluation.phase_diagram.states_per_point=2",
]


def test_phase_diagram_after_training_and_from_evaluate(tmp_run_dir):
    tmp = tmp_run_dir
    cfg = compose_cfg([*tiny_overrides(tmp), "evaluation.n_bootstrap=10", *DIAGRAM])
    summary = train(cfg)
    out = tmp / cfg.output_dir / "evaluation"
    saved = np.load(out / "phase_diagram_su2.npz")
    assert saved["p"].shape == (2, 4) and np.all(saved["count"] == 2)
    np.testing.assert_allclose(saved["W"], [1.0, 11 / 3, 19 / 3, 9.0])
    assert np.all((saved["p"] >= 0) & (saved["p"] <= 1))
    assert {"phase_diagram/W_half/E0.0", "phase_diagram/W_half_hi/E1.0"} <= set(
        summary["evaluation"]
    )
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    artifacts = {a.path for a in client.list_artifacts(summary["run_id"], "phase_diagram")}
    assert "phase_diagram/phase_diagram_su2.png" in artifacts
    logged = client.get_run(summary["run_id"]).data.metrics
    finite = {k for k, v in summary["evaluation"].items() if math.isfinite(v)}
    assert {k for k in finite if k.startswith("phase_diagram/")} <= set(logged)

    # the same map from evaluate.py on the checkpoint (its cached states: the same values)
    result = run_script(
        "evaluate.py",
        [
            f"ckpt={summary['checkpoint']}",
            *DIAGRAM,
            "evaluation.n_bootstrap=10",
            "disorder.test.n_w=4",
            "disorder.test.states_per_w=2",
            "data.shard_size=8",
            "data.gen_workers=1",
            "data.progress=false",
            f"hydra.run.dir={tmp}/eval",
        ],
        tmp,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    again = np.load(tmp / "eval" / "phase_diagram_su2.npz")
    np.testing.assert_allclose(again["p"], saved["p"], atol=1e-6)


def test_phase_diagram_energy_outside_the_spectrum_is_bad_input(tmp_run_dir):
    from qpt.config import typed

    bad = [*DIAGRAM, "evaluation.phase_diagram.energies=[0.0,40.0]"]
    with pytest.raises(ValueError, match=r"evaluation\.phase_diagram\.energies"):
        typed(compose_cfg([*tiny_overrides(tmp_run_dir), *bad]))

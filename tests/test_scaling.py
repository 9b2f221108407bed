"""Finite-size scaling fit on synthetic data with a known W_c and nu."""

import numpy as np
import pytest

from qpt.evaluation.curves import Crossing
from qpt.evaluation.evaluate import TransitionCurve
from qpt.evaluation.scaling import fit_scaling


def synthetic_curves(wc=6.2, nu=2.7, sizes=(24, 32, 40, 48, 64), noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    W = np.linspace(4.0, 8.5, 40)
    rows = []
    for L in sizes:
        x = (W - wc) * L ** (1 / nu)
        P = 1 / (1 + np.exp(x / 3.0)) + rng.normal(0, noise, W.size)
        rows += [(w, L, p, noise) for w, p in zip(W, P, strict=True)]
    return np.array(rows).T


def test_known_wc_and_nu_are_recovered():
    W, L, P, sem = synthetic_curves()
    fit = fit_scaling(W, L, P, sem, wc0=6.0, nu0=2.0, order=3)
    assert fit.wc == pytest.approx(6.2, abs=0.05)
    assert fit.wc_ci[0] < 6.2 < fit.wc_ci[1]
    assert fit.nu == pytest.approx(2.7, rel=0.15)
    assert fit.nu_ci[0] < 2.7 < fit.nu_ci[1]
    assert 0.5 < fit.reduced_chi2 < 2.0
    assert fit.sizes == [24, 32, 40, 48, 64]
    # f(0) = 1/2 holds for these curves, so the anchored fit must agree
    anchored = fit_scaling(W, L, P, sem, wc0=6.0, nu0=2.0, order=3, anchored=True)
    assert anchored.wc == pytest.approx(6.2, abs=0.05)
    assert anchored.nu_ci[0] < 2.7 < anchored.nu_ci[1]


def test_wrong_data_is_refused():
    W, L, P, sem = synthetic_curves(sizes=(40,))
    with pytest.raises(ValueError, match="2 sizes"):
        fit_scaling(W, L, P, sem, wc0=6.0)


def test_fss_study_on_a_synthetic_sweep(tmp_run_dir):
    """Jobs' evaluation.json files in, the study (fit, locators, figures, fss.json) out."""
    import json

    from qpt.config import typed
    from qpt.evaluation.curves import Curve
    from qpt.reporting import write_evaluation
    from qpt.studies import run_study, sweep_curves
    from tests.conftest import compose_cfg

    W, L, P, sem = synthetic_curves(sizes=(8, 10, 12), noise=0.01)
    for j, size in enumerate((8, 10, 12)):
        mine = L == size
        c = Curve(W[mine], P[mine], sem[mine], np.full(mine.sum(), 20))
        crossing = Crossing(6.2, 6.1, 6.3, 0, 0)
        t = TransitionCurve("su2", 0.0, size, "delocalized", c, crossing, 6.2, 0.0)
        write_evaluation([t], [], tmp_run_dir / str(j) / "evaluation", trained_on="su2")
    curves = sweep_curves(tmp_run_dir, "su2", 0.0)
    assert sorted(curves) == [8, 10, 12] and np.array_equal(curves[10].mean, P[L == 10])
    overrides = ["experiment=fss_su2", "fss.locators.realisations=2", "fss.locators.n_w=3"]
    conf = typed(compose_cfg([*overrides, "data.progress=false"]))
    study = run_study(conf, curves, tmp_run_dir, [])
    assert study.fit.sizes == [8, 10, 12] and abs(study.fit.wc - 6.2) < 0.1
    assert set(study.locator_summary()) >= {"r_crossings", "tau2_at_wc"}
    for name in ("fss_collapse.png", "fss_collapse_anchored.png", "fss_locators.png"):
        assert (tmp_run_dir / name).exists()
    assert json.loads((tmp_run_dir / "fss.json").read_text())["model"] == "su2"


@pytest.mark.slow
def test_fss_experiment_end_to_end(tmp_path):
    from mlflow.tracking import MlflowClient

    from tests.conftest import run_script, tiny_overrides

    args = [
        "experiment=fss_su2",
        *[o for o in tiny_overrides(tmp_path) if not o.startswith("L=")],  # L is what is swept
        "hydra.sweeper.params.L='16,20'",
        "disorder.test.n_w=12",
        "disorder.test.states_per_w=4",
        "fss.locators.realisations=2",
        "fss.locators.n_w=4",
        "fss.order=2",
        "fss.window=0.49",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    result = run_script("train.py", args, tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "sweep" / "fss.json").exists()
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs(
        [client.get_experiment_by_name("qpt-su2").experiment_id],
        filter_string="attributes.run_name = 'fss-su2-deep'",
    )
    assert len(runs) == 1 and "fss/W_c" in runs[0].data.metrics


def test_anchored_fit_recovers_wc_when_curves_barely_sharpen():
    """Curves that hardly change with L (nu large, as the Chern networks give) leave the free
    fit's W_c poorly determined; pinning f(0) = 1/2 recovers it from the half points."""
    W, L, P, sem = synthetic_curves(nu=20.0, noise=0.02)
    anchored = fit_scaling(W, L, P, sem, wc0=6.0, nu0=2.5, order=3, anchored=True)
    assert anchored.anchored and anchored.coefficients[0] == 0.5
    assert anchored.wc == pytest.approx(6.2, abs=0.05)
    assert anchored.wc_ci[0] < 6.2 < anchored.wc_ci[1]
    free = fit_scaling(W, L, P, sem, wc0=6.0, nu0=2.5, order=3)
    assert free.wc_ci[1] - free.wc_ci[0] > 3 * (anchored.wc_ci[1] - anchored.wc_ci[0])

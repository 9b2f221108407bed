"""Finite-size scaling fit on synthetic data with a known W_c and nu."""

import numpy as np
import pytest

from qpt.evaluation.curves import Crossing
from qpt.evaluation.evaluate import TransitionCurve
from qpt.evaluation.scaling import (
    bootstrap_scaling,
    crossing_z,
    curve_points,
    fit_scaling,
    peak_z,
    signature_z,
)


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


def test_bounded_link_draws_a_plateau_to_floor_curve_that_a_polynomial_cannot():
    """<r>-like curves from the metal's plateau 0.667 to Poisson's 0.3863 over a grid whose
    range of x widens as L^(1/nu) (to -12 ... +15 at L = 96): a quartic must bend to both
    ends at once and misfits, the bounded link (a cubic inside) recovers W_c, nu and h."""
    from scipy.special import erfc

    rng, W, rows = np.random.default_rng(0), np.linspace(4.0, 9.0, 11), []
    for L in (16, 24, 32, 48, 64, 96):
        x = (W - 6.2) * L ** (1 / 2.73)
        Y = 0.3863 + (0.667 - 0.3863) * 0.5 * erfc(x / 5)  # not of the fitted family
        rows += [(w, L, y + rng.normal(0, 0.002), 0.002) for w, y in zip(W, Y, strict=True)]
    W, L, Y, sem = np.array(rows).T
    start = {"wc0": 6.5, "nu0": 2.0, "window": None}
    bounded = fit_scaling(W, L, Y, sem, **start, order=3, link="bounded", floor=0.3863)
    assert bounded.wc_ci[0] < 6.2 < bounded.wc_ci[1] and bounded.nu_ci[0] < 2.73 < bounded.nu_ci[1]
    assert bounded.reduced_chi2 < 1.5 and bounded.plateau == pytest.approx(0.667, abs=0.002)
    assert bounded.scaling_function(np.array([-50.0, 50.0])) == pytest.approx(
        [bounded.plateau, 0.3863], abs=1e-6
    )
    quartic = fit_scaling(W, L, Y, sem, **start, order=4)
    assert quartic.reduced_chi2 > 10 * bounded.reduced_chi2
    with pytest.raises(ValueError, match="floor=None goes with link='bounded'"):
        fit_scaling(W, L, Y, sem, **start, link="bounded")


def test_a_floor_without_the_bounded_link_is_refused_in_the_config():
    from qpt.evaluation.config import ScalingFormConfig
    from qpt.schema import check

    form = ScalingFormConfig(3, "identity", 0.3863, False, None, "crossing", None)
    with pytest.raises(ValueError, match=r"^discover.r.scaling.floor=0.3863: .*link=identity"):
        check(form, "discover.r.scaling.")
    alone = ScalingFormConfig(3, "identity", None, False, 1.0, "crossing", None)
    with pytest.raises(ValueError, match=r"^discover.r.scaling.exponent=1.0: .*irrelevant=true"):
        check(alone, "discover.r.scaling.")


def test_wrong_data_is_refused():
    W, L, P, sem = synthetic_curves(sizes=(40,))
    with pytest.raises(ValueError, match="2 sizes"):
        fit_scaling(W, L, P, sem, wc0=6.0)


def test_fss_study_on_a_synthetic_sweep(tmp_run_dir):
    """Jobs' evaluation.json files in, the study (fits, figures, fss.json) out."""
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
    conf = typed(compose_cfg(["experiment=fss_su2", "data.progress=false"]))
    study = run_study(conf, curves, tmp_run_dir, [])
    assert study.fit.sizes == [8, 10, 12] and abs(study.fit.wc - 6.2) < 0.1
    assert set(study.summary()["network_half_crossings"]) == {"L8", "L10", "L12"}
    for name in ("fss_collapse.png", "fss_collapse_anchored.png"):
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
        filter_string="attributes.run_name LIKE 'fss-su2-deep-%'",
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


def per_state_synthetic(seed, wc=6.2, nu=2.73, sizes=(16, 24, 32, 48), n=60, replicas=1):
    """Per-state values whose mean obeys one-parameter scaling exactly (any function of
    x = (W - W_c) L^(1/nu) does), spread like a network's outputs."""
    rng = np.random.default_rng(seed)
    W = np.repeat(np.linspace(wc - 2, wc + 2, 11), n)
    samples = {}
    for L in sizes:
        x = (W - wc) * L ** (1 / nu)
        noise = rng.normal(0, 1.5, (replicas, W.size))
        samples[L] = (W, 1 / (1 + np.exp(0.8 * x + 0.05 * x**3 + noise)))
    return samples


def test_bootstrap_intervals_cover_a_known_transition():
    """The intervals qpt quotes, checked where the answer is known: 20 synthetic studies."""
    covered_wc = covered_nu = 0
    for seed in range(20):
        est = bootstrap_scaling(
            per_state_synthetic(seed),
            n_bootstrap=60,
            seed=seed,
            wc0=6.0,
            nu0=2.0,
            order=5,
            window=None,
            link="logit",
        )
        covered_wc += est.wc_ci[0] <= 6.2 <= est.wc_ci[1]
        covered_nu += est.nu_ci[0] <= 2.73 <= est.nu_ci[1]
        assert est.n_failed <= 3
    assert covered_wc >= 18 and covered_nu >= 16  # nominal 95%: measured 20/20 and 18/20


def test_replicas_are_averaged_per_state_and_resampled():
    samples = per_state_synthetic(0, n=20, replicas=3)
    W, L, mean, _ = curve_points(samples)
    W16, values16 = samples[16]
    first = np.isclose(W, W16[0]) & (L == 16)
    assert mean[first][0] == pytest.approx(values16.mean(axis=0)[W16 == W16[0]].mean())
    est = bootstrap_scaling(
        samples, n_bootstrap=10, seed=0, wc0=6.0, nu0=2.0, order=3, window=None, link="logit"
    )
    assert est.n_bootstrap == 10 and est.wc_ci[0] < est.wc < est.wc_ci[1]


def test_irrelevant_correction_is_recovered():
    """Curves shifted by b L^-y do not cross at one point; the corrected fit finds W_c."""
    W = np.linspace(5.0, 7.5, 21)
    rows = []
    for L in (8, 12, 16, 24, 32, 48):
        x = (W - 6.2) * L ** (1 / 2.73)
        rows += [
            (w, L, p, 1e-3)
            for w, p in zip(W, 0.6 - 0.1 * x + 0.004 * x**2 + 0.3 * L**-1.0, strict=True)
        ]
    W_, L_, P_, s_ = np.array(rows).T
    start_at = {"wc0": 6.0, "nu0": 2.0, "order": 2, "window": None}
    plain = fit_scaling(W_, L_, P_, s_, **start_at)
    corrected = fit_scaling(W_, L_, P_, s_, **start_at, irrelevant=True)
    assert abs(corrected.wc - 6.2) < 0.01 and abs(corrected.nu - 2.73) < 0.05
    assert corrected.y == pytest.approx(1.0, abs=0.05) and corrected.b == pytest.approx(
        0.3, abs=0.02
    )
    assert abs(plain.wc - 6.2) > 5 * abs(corrected.wc - 6.2)
    # the same correction with its exponent known (an open edge's 1/L): one parameter fewer
    fixed = fit_scaling(W_, L_, P_, s_, **start_at, irrelevant=True, exponent=1.0)
    assert abs(fixed.wc - 6.2) < 0.01 and abs(fixed.nu - 2.73) < 0.05
    assert fixed.y == 1.0 and fixed.b == pytest.approx(0.3, abs=0.02)
    assert fixed.dof == corrected.dof + 1
    wrong = fit_scaling(W_, L_, P_, s_, **start_at, irrelevant=True, exponent=2.0)
    assert wrong.reduced_chi2 > 100 * fixed.reduced_chi2  # a wrong y does not fit
    with pytest.raises(ValueError, match=r"exponent=1\.0: .*irrelevant=True only"):
        fit_scaling(W_, L_, P_, s_, **start_at, exponent=1.0)


def test_logistic_link_keeps_the_scaling_function_monotone():
    W, L, P, sem = synthetic_curves()
    fit = fit_scaling(W, L, P, sem, wc0=6.0, nu0=2.0, order=3, window=0.45, link="logit")
    assert fit.wc == pytest.approx(6.2, abs=0.05) and fit.nu_ci[0] < 2.7 < fit.nu_ci[1]
    f = fit.scaling_function(np.linspace(-20, 20, 401))
    assert np.all((f > 0) & (f < 1)) and np.all(np.diff(f) < 0)


def test_crossing_z_tells_a_crossing_from_curves_meeting_at_a_floor():
    crossing = per_state_synthetic(seed=3, n=200)
    assert crossing_z(crossing, 6.2) > 4
    assert crossing_z(crossing, 20.0) == 0.0  # outside the grid: nothing crosses there
    # curves that only shift with L and meet at P ~ 0 beyond their fitted "W_c" (the 3D
    # network route at L <= 20): separated on one side, overlapping on the other
    rng = np.random.default_rng(4)
    W = np.repeat(np.linspace(4.2, 8.2, 11), 200)
    drifting = {
        L: (W, 1 / (1 + np.exp(3 * (W - 5 - L / 40) + rng.normal(0, 1.5, (1, W.size)))))
        for L in (16, 48)
    }
    assert crossing_z(drifting, 7.9) < 2


def narrowing_peak(seed, wc=3.25, nu=2.59, sizes=(16, 32), n=300, shift=0.0):
    """Per-realisation <r>-like values of a transition between two insulators: peaked at the
    critical 0.60 at W_c, falling towards Poisson's 0.39 on both sides as L grows
    (``shift``: the largest size's curve moved down everywhere)."""
    rng = np.random.default_rng(seed)
    W = np.repeat(np.linspace(wc - 1, wc + 1, 11), n)
    samples = {}
    for L in sizes:
        x = (W - wc) * L ** (1 / nu)
        mean = 0.39 + 0.21 / (1 + 0.05 * x**2) - (shift if L == max(sizes) else 0.0)
        samples[L] = (W, (mean + rng.normal(0, 0.05, W.size))[None, :])
    return samples


def test_peak_z_tells_a_narrowing_peak_from_a_crossing_and_from_shifted_curves():
    peak = narrowing_peak(seed=5)
    assert peak_z(peak, 3.25) > 4 and crossing_z(peak, 3.25) < 2
    assert signature_z(peak, 3.25, "peak") == peak_z(peak, 3.25)
    assert peak_z(peak, 9.0) == 0.0  # outside the grid
    # a dip (e.g. ln IPR) is the same signature upside down
    dip = {L: (W, -v) for L, (W, v) in peak.items()}
    assert peak_z(dip, 3.25) == pytest.approx(peak_z(peak, 3.25))
    # curves that cross do not narrow a peak, and curves apart everywhere do not meet at W_c
    assert peak_z(per_state_synthetic(seed=3, n=200), 6.2) < 2
    assert peak_z(narrowing_peak(seed=5, shift=0.05), 3.25) == 0.0
    with pytest.raises(ValueError, match="'bump'"):
        signature_z(peak, 3.25, "bump")


def test_a_peak_collapses_with_the_right_transition():
    """The fit of a narrowing peak (no crossing) still recovers W_c: the scaling form does not
    need curves that cross, only the order to draw a peak."""
    est = bootstrap_scaling(
        narrowing_peak(seed=6, sizes=(16, 24, 32)),
        n_bootstrap=20,
        seed=0,
        wc0=3.0,
        nu0=2.0,
        order=4,
        window=None,
    )
    assert est.wc_ci[0] <= 3.25 <= est.wc_ci[1] and est.wc_ci[1] - est.wc_ci[0] < 0.3


def test_a_degenerate_fit_returns_instead_of_failing():
    """Flat, noisy curves of two sizes (a miniature discovery run) once left a rounding-
    negative variance in the fit's covariance, and the whole run failed on its square root."""
    W = np.tile([12.0, 14.25, 16.5, 18.75, 21.0], 2)
    L = np.repeat([8.0, 12.0], 5)
    P = np.array([0.608, 0.543, 0.463, 0.523, 0.478, 0.496, 0.519, 0.546, 0.512, 0.479])
    sem = np.array([0.054, 0.035, 0.077, 0.022, 0.031, 0.053, 0.054, 0.068, 0.039, 0.056])
    fit = fit_scaling(W, L, P, sem, wc0=16.5, nu0=2.0, order=3, window=None)
    assert np.isfinite(fit.wc) and len(fit.wc_ci) == 2


def test_keeping_a_peaks_top_lets_a_polynomial_fit_it_at_every_size():
    """A flat-topped, asymmetric peak with power-law tails (the Chern <r> shape,
    docs/studies/chern_r_peak_coverage.py) spans a range of x that widens as L^(1/nu): a
    polynomial F over all of it misfits and biases nu; over the points above 0.5 (the same x
    range at every L) it recovers both."""
    rng = np.random.default_rng(3)
    W = np.repeat(np.linspace(2.4, 4.6, 12), 600)
    samples = {}
    for L in (16, 24, 32, 48, 64):
        x = (W - 3.25) * L ** (1 / 2.593)
        u = (np.abs(x) / np.where(x < 0, 2.76, 7.51)) ** 3.4
        samples[L] = (W, (0.386 + 0.211 / (1 + u) + rng.normal(0, 0.053, W.size))[None, :])
    W, L, Y, sem = curve_points(samples)
    fit = {"wc0": 3.5, "nu0": 2.0, "order": 6, "window": None}
    everything = fit_scaling(W, L, Y, sem, **fit)
    top = fit_scaling(W, L, Y, sem, **fit, keep_above=0.5)
    assert everything.reduced_chi2 > 2 and everything.nu > 2.7
    assert top.n_points < everything.n_points and top.reduced_chi2 < 2
    assert abs(top.nu - 2.593) < 0.15 and abs(top.wc - 3.25) < 0.06
    assert np.array_equal(top.fitted(Y), Y > 0.5)

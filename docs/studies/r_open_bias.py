"""Is the open-lattice <r> fit biased at its own run's statistics (docs/DISCOVERY.md, the
twenty-third session's bias study)?

The truth is built from a measured run so that it looks like it:

* the run's sizes, W grid and realisations per point (its cached levels, loaded by the route's
  own :func:`qpt.discovery.level_samples`; trailing arguments are the run's train.py overrides);
* the mean <r>(W, L) = F((W - W_c) L^(1/nu)) with W_c = 6.2 and nu = 2.73, and
  F(x) = R_POISSON + (h - R_POISSON) g(c0 + c1 x + c2 x^2 + c3 x^3), a shape that
  flattens towards a plateau h on the metal side and towards Poisson's 0.3863 on the
  insulator's, with h and c fitted to the run's means at W_c and nu fixed; g is the logistic
  function (``--truth-link logit``, the family of the fit's bounded link) or the normal
  distribution's (``probit``: Gaussian tails, a family the fit does not contain); with
  ``--truth-exponent y`` the truth adds a correction b L^-y (the open edge's: y = 1), b fitted
  with h and c;
* each realisation's value: the truth at its (L, W) plus a residual drawn, with replacement,
  from that point's real residuals (each realisation's <r> minus the point's mean).

Each study is refitted with the route's bootstrap and settings (``scaling_settings``); the
output gives the truth shape's own chi2/dof (at the references, and with W_c and nu free, a
diagnostic), then the estimates' mean and spread, the 95% intervals' coverage and the median
chi2/dof. Studies run in parallel, one BLAS thread each.

    QPT_CACHE_DIR=... .venv/bin/python docs/studies/r_open_bias.py --studies 40 -- \\
        experiment=discover_su2 discover.network=null discover.confusion=null \\
        discover.transfer_matrix=null discover.r.boundary=open \\
        'discover.r.sizes=[16,24,32,48,64,96]' \\
        'discover.r.realisations_by_size=[600,600,600,600,600,200]'
"""

from __future__ import annotations

import argparse
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from r_scaling_trend import load_config  # this folder (the script's) is on sys.path
from scipy.optimize import least_squares
from scipy.special import expit, ndtr
from threadpoolctl import threadpool_limits

from qpt.discovery import level_samples, scaling_settings
from qpt.evaluation.scaling import bootstrap_scaling
from qpt.physics.observables import R_POISSON

WC, NU = 6.2, 2.73


SIGMOIDS = {"logit": expit, "probit": ndtr}


def truth_shape(
    theta: np.ndarray, W: np.ndarray, L: np.ndarray, wc: float, nu: float, link: str, exponent
) -> np.ndarray:
    """theta: the plateau h, the cubic's coefficients, then b where ``exponent`` is a y."""
    plateau, coeffs = theta[0], theta[1:5]
    x = (W - wc) * L ** (1 / nu)
    g = SIGMOIDS[link](np.polynomial.polynomial.polyval(x, coeffs))
    correction = 0.0 if exponent is None else theta[5] * L ** (-exponent)
    return R_POISSON + (plateau - R_POISSON) * g + correction


def point_means(samples: dict) -> tuple[np.ndarray, ...]:
    """W, L, mean and standard error of every (L, W) point."""
    rows = []
    for L, (W, r) in samples.items():
        for w in np.unique(W):
            v = r[0, W == w]
            rows.append((w, L, v.mean(), v.std(ddof=1) / np.sqrt(v.size)))
    return tuple(np.array(column) for column in zip(*rows, strict=True))


def fit_truth(
    samples: dict, link: str, exponent: float | None, free: bool
) -> tuple[np.ndarray, float, float, float]:
    """The shape's parameters, W_c, nu and chi2/dof, with W_c and nu fixed or ``free``."""
    W, L, mean, sem = point_means(samples)
    start = np.array([0.67, 0.0, -1.0, 0.0, 0.0] + ([0.0] if exponent is not None else []))

    def residuals(p: np.ndarray) -> np.ndarray:
        wc, nu, theta = (p[0], p[1], p[2:]) if free else (WC, NU, p)
        return (truth_shape(theta, W, L, wc, nu, link, exponent) - mean) / sem

    p0 = np.concatenate([[WC, NU], start]) if free else start
    res = least_squares(residuals, p0, method="lm", max_nfev=20000)
    wc, nu, theta = (res.x[0], res.x[1], res.x[2:]) if free else (WC, NU, res.x)
    return theta, float(wc), float(nu), float(np.sum(res.fun**2) / (len(W) - len(p0)))


def synthetic(samples: dict, theta: np.ndarray, link: str, exponent, seed: int) -> dict:
    rng, drawn = np.random.default_rng(seed), {}
    for L, (W, r) in samples.items():
        values = truth_shape(theta, W, np.full(W.shape, float(L)), WC, NU, link, exponent)
        for w in np.unique(W):
            at = W == w
            residuals = r[0, at] - r[0, at].mean()
            values[at] += rng.choice(residuals, size=at.sum(), replace=True)
        drawn[L] = (W, values[None, :])
    return drawn


def one_study(args: tuple) -> tuple[float, ...]:
    samples, theta, link, exponent, fit, study = args
    with threadpool_limits(1):
        est = bootstrap_scaling(synthetic(samples, theta, link, exponent, 5000 + study), **fit)
    (wlo, whi), (nlo, nhi) = est.wc_ci, est.nu_ci
    return est.wc, est.nu, wlo <= WC <= whi, nlo <= NU <= nhi, est.fit.reduced_chi2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--truth-link", choices=sorted(SIGMOIDS), default="logit")
    parser.add_argument("--truth-exponent", type=float, default=None, help="adds b L^-y")
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of the <r> run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        conf = load_config(args.overrides, out)
        samples = level_samples(conf)
    link, exponent = args.truth_link, args.truth_exponent
    theta, *_, chi2_fixed = fit_truth(samples, link, exponent, free=False)
    _, wc_free, nu_free, chi2_free = fit_truth(samples, link, exponent, free=True)
    print(f"truth shape ({link}): plateau {theta[0]:.4f}, cubic {np.round(theta[1:5], 4).tolist()}")
    if exponent is not None:
        print(f"  plus b L^-{exponent:g}, b = {theta[5]:.4f}")
    print(f"  its chi2/dof on the run's means at W_c {WC}, nu {NU}: {chi2_fixed:.2f}")
    print(
        f"  with W_c, nu free (a diagnostic): W_c {wc_free:.3f}, nu {nu_free:.2f}, "
        f"chi2/dof {chi2_free:.2f}"
    )
    form = conf.discover.r.scaling
    fit = scaling_settings(conf, form, float(np.mean(conf.discover.grid.values())))
    jobs = [
        (samples, theta, link, exponent, fit | {"seed": study}, study)
        for study in range(args.studies)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        found = np.array(list(pool.map(one_study, jobs)))
    n = args.studies
    print(
        f"{n} studies, order {form.order}, link {form.link}, keep_above {form.keep_above}, "
        f"correction {form.irrelevant} (y {form.exponent}), {fit['n_bootstrap']} resamples each"
    )
    print("| | truth | mean (its sem) | spread | covered | median chi2/dof |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, truth, column, hits in (
        ("W_c", WC, found[:, 0], found[:, 2]),
        ("nu", NU, found[:, 1], found[:, 3]),
    ):
        print(
            f"| {name} | {truth} | {column.mean():.3f} ({column.std() / np.sqrt(n):.3f}) | "
            f"{column.std():.3f} | {int(hits.sum())}/{n} | {np.median(found[:, 4]):.2f} |"
        )


if __name__ == "__main__":
    main()

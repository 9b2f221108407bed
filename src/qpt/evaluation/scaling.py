"""Finite-size scaling of transition curves: P(W, L) = f((W - W_c) L^(1/nu)).

f is a polynomial of order ``order`` in the scaling variable x = (W - W_c) L^(1/nu),
fitted by weighted least squares (weights 1/sem) to the points of every L inside a window
|P - 1/2| < ``window`` around the crossing, where a low-order polynomial can describe f.

Confidence intervals: from the fit's covariance (scaled by chi^2/dof when that exceeds 1).

``anchored=True`` fixes f(0) = 1/2: every size's curve passes through 1/2 at W_c, so W_c
is pinned by where the curves cross 1/2 and nu by how their slopes grow with L. The free
fit needs the curves to sharpen with L. If they barely do (nu large), W_c trades off
against f's coefficients and is poorly determined. A network trained with its labels
switching at W_c is built to put its half point there, so anchoring assumes little beyond
what training already imposes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import norm

SEM_FLOOR = 1e-3  # points whose states all agree have sem 0: keep them finite-weighted


@dataclass(frozen=True)
class ScalingFit:
    wc: float
    nu: float
    wc_ci: tuple[float, float]
    nu_ci: tuple[float, float]
    coefficients: list[float]
    chi2: float
    dof: int
    n_points: int
    sizes: list[int]
    window: float
    anchored: bool = False

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else math.nan

    def as_dict(self) -> dict:
        return asdict(self) | {"reduced_chi2": self.reduced_chi2}


def _residuals(theta: np.ndarray, W, L, P, sigma, anchored: bool) -> np.ndarray:
    wc, inv_nu, coeffs = theta[0], theta[1], theta[2:]
    if anchored:
        coeffs = np.concatenate([[0.5], coeffs])
    x = (W - wc) * L**inv_nu
    return (np.polynomial.polynomial.polyval(x, coeffs) - P) / sigma


def fit_scaling(
    W: np.ndarray,
    L: np.ndarray,
    P: np.ndarray,
    sem: np.ndarray,
    *,
    wc0: float,
    nu0: float = 2.5,
    order: int = 3,
    window: float = 0.4,
    confidence: float = 0.95,
    anchored: bool = False,
) -> ScalingFit:
    """Fit W_c and nu (and f's coefficients) to curves of several sizes."""
    W, L, P, sem = (np.asarray(a, float) for a in (W, L, P, sem))
    keep = np.abs(P - 0.5) < window
    W, L, P, sigma = W[keep], L[keep], P[keep], np.maximum(sem[keep], SEM_FLOOR)
    sizes = sorted({int(v) for v in L})
    n_params = order + 3 - int(anchored)
    if len(sizes) < 2 or len(W) <= n_params:
        raise ValueError(
            f"finite-size scaling needs >= 2 sizes and > {n_params} points near P = 1/2; "
            f"got sizes {sizes} and {len(W)} points"
        )
    coeffs0 = np.concatenate([[0.5, -0.5], np.zeros(order - 1)])[int(anchored) :]
    theta0 = np.concatenate([[wc0, 1 / nu0], coeffs0])
    res = least_squares(
        _residuals, theta0, args=(W, L, P, sigma, anchored), method="lm", max_nfev=20000
    )
    chi2, dof = float(np.sum(res.fun**2)), len(W) - n_params
    cov = np.linalg.pinv(res.jac.T @ res.jac) * max(1.0, chi2 / max(dof, 1))
    z = norm.ppf(0.5 + confidence / 2)
    wc, inv_nu = res.x[0], res.x[1]
    s_wc, s_inv = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    nu = 1 / inv_nu
    nu_lo, nu_hi = (
        1 / (inv_nu + z * s_inv),
        (1 / (inv_nu - z * s_inv) if inv_nu > z * s_inv else math.inf),
    )
    return ScalingFit(
        float(wc),
        float(nu),
        (float(wc - z * s_wc), float(wc + z * s_wc)),
        (float(nu_lo), float(nu_hi)),
        ([0.5] if anchored else []) + res.x[2:].tolist(),
        chi2,
        dof,
        len(W),
        sizes,
        window,
        anchored,
    )


def scaling_function(fit: ScalingFit, x: np.ndarray) -> np.ndarray:
    return np.polynomial.polynomial.polyval(x, fit.coefficients)

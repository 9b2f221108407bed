"""Finite-size scaling: Y(W, L) = F(x) with x = (W - W_c) L^(1/nu), optionally + b L^(-y).

F is a polynomial of order ``order`` in x. For a probability (a network's output) it is taken
through the logistic link, Y = 1 / (1 + exp(-F)), which keeps Y in (0, 1) and monotone where
a bare polynomial turns back at the ends of the data. The bounded link does the same for an
observable that runs from a plateau h in one phase to a known ``floor`` in the other (<r>: the
metal's value to Poisson's 0.3863): Y = floor + (h - floor) / (1 + exp(-F)), h fitted; over a
grid whose range of x widens as L^(1/nu), a bare polynomial must bend to both ends at once.
``anchored`` fixes the curves' common value at W_c: Y = 1/2 (F(0) = 0 with the logistic link,
F(0) = 1/2 without; with the bounded link, halfway between floor and h). ``irrelevant``
adds the leading correction to scaling, b L^(-y) with y > 0 fitted (or fixed at ``exponent``
where the correction's origin gives it, e.g. y = 1 for an open lattice's edge, whose share of
the sites is ~1/L), for small sizes whose curves do not yet cross at one point. The fit is
weighted least squares over the points with |Y - 1/2| < ``window`` (None: all points) and,
for a peak, Y > ``keep_above`` (None: all): either keeps a fixed range of x at every L, where
a polynomial F can hold, instead of a range that widens as L^(1/nu) with the largest size.

Intervals. The fit's covariance (scaled by chi^2/dof when that exceeds 1) assumes the model is
right and the errors Gaussian; :func:`bootstrap_scaling` instead refits resampled data (states
within each (L, W), and replicas such as independently trained networks) and takes
percentiles. That is the interval qpt reports; ``tests/test_scaling.py`` checks its coverage on
synthetic data with a known W_c and nu.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit
from scipy.stats import norm

from qpt.evaluation.curves import mean_sem, percentile_interval

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
    window: float | None
    anchored: bool = False
    link: str = "identity"
    y: float | None = None  # irrelevant exponent, with its amplitude b
    b: float | None = None
    keep_above: float | None = None
    floor: float | None = None  # the bounded link's fixed end, with its fitted plateau
    plateau: float | None = None

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else math.nan

    def as_dict(self) -> dict:
        return asdict(self) | {"reduced_chi2": self.reduced_chi2}

    def fitted(self, Y: np.ndarray) -> np.ndarray:
        """Which of the points with means ``Y`` the fit uses."""
        return fitted_points(Y, self.window, self.keep_above)

    def scaling_function(self, x: np.ndarray) -> np.ndarray:
        """F at the scaling variable x, through the link (the large-L curve)."""
        f = np.polynomial.polynomial.polyval(x, self.coefficients)
        return _linked(f, self.link, self.floor, self.plateau)


def fitted_points(Y: np.ndarray, window: float | None, keep_above: float | None) -> np.ndarray:
    """The points a fit uses: |Y - 1/2| < ``window`` and Y > ``keep_above`` (None: no limit)."""
    keep = np.ones(np.shape(Y), bool)
    if window is not None:
        keep &= np.abs(Y - 0.5) < window
    if keep_above is not None:
        keep &= Y > keep_above
    return keep


LINKS = ("identity", "logit", "bounded")


def _linked(f: np.ndarray, link: str, floor: float | None, plateau: float | None) -> np.ndarray:
    if link == "logit":
        return expit(f)
    if link == "bounded":
        return floor + (plateau - floor) * expit(f)
    return f


def _model(
    theta: np.ndarray,
    W: np.ndarray,
    L: np.ndarray,
    order: int,
    link: str,
    anchored: bool,
    irrelevant: bool,
    floor: float | None,
    exponent: float | None,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    # theta: W_c, 1/nu, F's free coefficients, then the plateau (bounded), then b and y (y
    # only where ``exponent`` is None)
    wc, inv_nu, rest = theta[0], theta[1], theta[2:]
    n_coef = order + 1 - anchored
    coeffs = rest[:n_coef]
    if anchored:
        coeffs = np.concatenate([[0.5 if link == "identity" else 0.0], coeffs])
    plateau = rest[n_coef] if link == "bounded" else None
    f = np.polynomial.polynomial.polyval((W - wc) * L**inv_nu, coeffs)
    y = _linked(f, link, floor, plateau)
    if irrelevant:
        b, y_corr = (rest[-2], abs(rest[-1])) if exponent is None else (rest[-1], exponent)
        y = y + b * L ** (-y_corr)
    return y, coeffs, plateau


def fit_scaling(
    W: np.ndarray,
    L: np.ndarray,
    P: np.ndarray,
    sem: np.ndarray,
    *,
    wc0: float,
    nu0: float = 2.5,
    order: int = 3,
    window: float | None = 0.4,
    confidence: float = 0.95,
    anchored: bool = False,
    link: str = "identity",
    irrelevant: bool = False,
    keep_above: float | None = None,
    floor: float | None = None,
    exponent: float | None = None,
) -> ScalingFit:
    """Fit W_c and nu (and F's coefficients, and the correction) to curves of several sizes."""
    if link not in LINKS:
        raise ValueError(f"unknown link {link!r}: one of {LINKS}")
    if (link == "bounded") != (floor is not None):
        raise ValueError(f"floor={floor} goes with link='bounded' only (link={link!r})")
    if exponent is not None and not (irrelevant and exponent > 0):
        raise ValueError(f"exponent={exponent}: the fixed y > 0 of irrelevant=True only")
    W, L, P, sem = (np.asarray(a, float) for a in (W, L, P, sem))
    keep = fitted_points(P, window, keep_above)
    W, L, P, sigma = W[keep], L[keep], P[keep], np.maximum(sem[keep], SEM_FLOOR)
    sizes = sorted({int(v) for v in L})
    bounded = link == "bounded"
    n_correction = (1 if exponent is not None else 2) if irrelevant else 0
    n_params = order + 3 - int(anchored) + int(bounded) + n_correction
    if len(sizes) < 2 or len(W) <= n_params:
        raise ValueError(
            f"finite-size scaling needs >= 2 sizes and > {n_params} points in the window; "
            f"got sizes {sizes} and {len(W)} points"
        )
    # start from a decreasing curve through 1/2 at W_c (logistic, or a line)
    sigmoid = [0.0, -1.0] if link != "identity" else [0.5, -0.5]
    coeffs0 = np.concatenate([sigmoid, np.zeros(order - 1)])
    plateau0, correction0 = [P.max()] if bounded else [], [0.0, 1.0][:n_correction]
    theta0 = np.concatenate([[wc0, 1 / nu0], coeffs0[int(anchored) :], plateau0, correction0])
    args = (order, link, anchored, irrelevant, floor, exponent)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return (_model(theta, W, L, *args)[0] - P) / sigma

    res = least_squares(residuals, theta0, method="lm", max_nfev=20000)
    chi2, dof = float(np.sum(res.fun**2)), len(W) - n_params
    cov = np.linalg.pinv(res.jac.T @ res.jac) * max(1.0, chi2 / max(dof, 1))
    z = norm.ppf(0.5 + confidence / 2)
    wc, inv_nu = res.x[0], res.x[1]
    # a degenerate fit (flat data) can leave a rounding-negative variance: no interval then
    s_wc, s_inv = (math.sqrt(v) if v >= 0 else math.nan for v in np.diag(cov)[:2])
    nu_hi = 1 / (inv_nu - z * s_inv) if inv_nu > z * s_inv else math.inf
    wc_ci = (float(wc - z * s_wc), float(wc + z * s_wc))
    nu_ci = (float(1 / (inv_nu + z * s_inv)), float(nu_hi))
    _, coefficients, plateau = _model(res.x, W[:1], L[:1], *args)
    y = b = None
    if irrelevant:  # b is the last parameter where y is fixed, else y is
        y = float(exponent) if exponent is not None else float(abs(res.x[-1]))
        b = float(res.x[-1] if exponent is not None else res.x[-2])
    plateau = float(plateau) if bounded else None
    fitted = (float(wc), float(1 / inv_nu), wc_ci, nu_ci, coefficients.tolist(), chi2, dof)
    form = (window, anchored, link, y, b, keep_above, floor, plateau)
    return ScalingFit(*fitted, len(W), sizes, *form)


@dataclass(frozen=True)
class ScalingEstimate:
    """W_c and nu from the fit to all data, with bootstrap percentile intervals."""

    fit: ScalingFit
    wc_ci: tuple[float, float]
    nu_ci: tuple[float, float]
    n_bootstrap: int
    n_failed: int

    @property
    def wc(self) -> float:
        return self.fit.wc

    @property
    def nu(self) -> float:
        return self.fit.nu


def curve_points(
    samples: dict[int, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(W, L, mean, sem) per (L, W) of per-state values. ``samples[L] = (W, values)`` with W
    per state and values of shape (replicas, states); replicas (e.g. networks judging the
    same states) are averaged per state first, so the sem is that of independent states."""
    rows = []
    for L, (W, values) in sorted(samples.items()):
        per_state = np.asarray(values, float).reshape(-1, len(W)).mean(axis=0)
        rows += [(w, L, *mean_sem(per_state[W == w])) for w in np.unique(W)]
    return tuple(np.array(c, float) for c in zip(*rows, strict=True))


def states_within_w(W: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of states drawn with replacement within each W value: a bootstrap draw."""
    return np.concatenate(
        [rng.choice(np.flatnonzero(W == w), size=(W == w).sum()) for w in np.unique(W)]
    )


def bootstrap_scaling(
    samples: dict[int, tuple[np.ndarray, np.ndarray]],
    *,
    n_bootstrap: int,
    seed: int,
    confidence: float = 0.95,
    **fit: object,
) -> ScalingEstimate:
    """Fit ``samples`` (see :func:`curve_points`) and bootstrap the fit: each resample draws
    the replicas and, within each (L, W), the states with replacement. ``fit`` are the
    keyword arguments of :func:`fit_scaling`; resamples whose fit fails are counted."""
    full = fit_scaling(*curve_points(samples), **fit)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_bootstrap):
        resampled = {}
        for L, (W, values) in samples.items():
            values = np.asarray(values, float).reshape(-1, len(W))
            replicas = values[rng.integers(len(values), size=len(values))]
            idx = states_within_w(W, rng)
            resampled[L] = (W[idx], replicas[:, idx])
        try:
            f = fit_scaling(*curve_points(resampled), **fit)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(f.wc) and np.isfinite(f.nu) and f.nu > 0:
            draws.append((f.wc, f.nu))
    draws = np.array(draws).reshape(-1, 2)  # (W_c, nu) per successful resample
    wc_ci, nu_ci = (percentile_interval(column, confidence) for column in draws.T)
    return ScalingEstimate(full, wc_ci, nu_ci, n_bootstrap, n_bootstrap - len(draws))


SIGNATURES = ("crossing", "peak")


def _size_contrast(
    samples: dict[int, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """(W, z): the largest size's mean minus the smallest's, in standard errors, per W."""
    W, L, mean, sem = curve_points({L: samples[L] for L in (min(samples), max(samples))})
    small, large = L == L.min(), L == L.max()
    if not np.array_equal(W[small], W[large]):
        raise ValueError("the smallest and largest size need the same W grid")
    z = (mean[large] - mean[small]) / np.maximum(np.hypot(sem[large], sem[small]), SEM_FLOOR)
    return W[small], z


def crossing_z(samples: dict[int, tuple[np.ndarray, np.ndarray]], wc: float) -> float:
    """How clearly the curves of the smallest and largest size cross at ``wc``: the number of
    standard errors z by which their difference has one sign somewhere below ``wc`` and the
    other sign somewhere above it (the smaller of the two sides' largest |difference| / se).

    Curves that overlap within their error bars on one side (z < 2), e.g. both at a floor of
    P ~ 0 beyond the fitted W_c, do not cross there: such a W_c is noise, not a result,
    however good the collapse looks. 0 where ``wc`` is not inside the W grid."""
    w, z = _size_contrast(samples)
    below, above = z[w < wc], z[w > wc]
    if not (len(below) and len(above)):
        return 0.0
    return float(max(min(below.max(), -above.min()), min(-below.min(), above.max())))


def peak_z(samples: dict[int, tuple[np.ndarray, np.ndarray]], wc: float) -> float:
    """How clearly a peak (or dip) at ``wc`` narrows with size: the observable of a transition
    between two insulators (e.g. <r> of the Chern model at E = 0) moves away from its critical
    value on both sides as L grows, so the largest size's curve leaves the smallest's to the
    same side below and above ``wc`` and meets it at ``wc``. z: the smaller of the two sides'
    largest separation (in standard errors) to that common side; 0 where the curves do not
    meet at ``wc`` (they differ there by 2 standard errors or more, interpolated between grid
    points: curves that only shift apart everywhere) or ``wc`` is not inside the grid."""
    w, z = _size_contrast(samples)
    below, above = z[w < wc], z[w > wc]
    if not (len(below) and len(above)) or abs(np.interp(wc, w, z)) >= 2:
        return 0.0
    return float(max(min(-below.min(), -above.min()), min(below.max(), above.max()), 0.0))


def signature_z(
    samples: dict[int, tuple[np.ndarray, np.ndarray]], wc: float, signature: str
) -> float:
    """The z of :func:`crossing_z` or :func:`peak_z`: how clearly the finite sizes show the
    ``signature`` of a transition at ``wc``."""
    if signature not in SIGNATURES:
        raise ValueError(f"signature {signature!r} is not one of {SIGNATURES}")
    return (crossing_z if signature == "crossing" else peak_z)(samples, wc)

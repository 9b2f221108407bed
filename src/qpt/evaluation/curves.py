"""Transition curves and their 50% crossings with bootstrap confidence intervals.

P(W) is the network's probability of the weak-disorder phase (delocalized / topological),
averaged over independent eigenstates at each W. The crossing W* solves P(W*) = 1/2 for a
four-parameter logistic fitted to all states,

    P(W) = b + (a - b) / (1 + exp((W - W0) / s)),

which tolerates plateaus that do not reach 0 or 1. Its confidence interval comes from a
stratified bootstrap: states are resampled with replacement within each W and refitted.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit


def logistic(W: np.ndarray, a: float, b: float, W0: float, s: float) -> np.ndarray:
    return b + (a - b) / (1.0 + np.exp(np.clip((W - W0) / s, -50, 50)))


@dataclass(frozen=True)
class Curve:
    """Mean and standard error of P at each distinct W."""

    W: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    count: np.ndarray

    def rows(self) -> list[tuple[float, float, float, int]]:
        return list(
            zip(
                self.W.tolist(),
                self.mean.tolist(),
                self.sem.tolist(),
                self.count.tolist(),
                strict=True,
            )
        )


def curve(W: np.ndarray, p: np.ndarray) -> Curve:
    W, p = np.asarray(W, float), np.asarray(p, float)
    grid, inverse, count = np.unique(W, return_inverse=True, return_counts=True)
    mean = np.bincount(inverse, p) / count
    sq = np.bincount(inverse, p * p) / count
    var = np.maximum(sq - mean**2, 0) * count / np.maximum(count - 1, 1)
    return Curve(grid, mean, np.sqrt(var / count), count)


def fit_crossing(W: np.ndarray, p: np.ndarray, level: float = 0.5) -> float:
    """W where the fitted logistic crosses ``level``; NaN if the data never cross it."""
    W, p = np.asarray(W, float), np.asarray(p, float)
    c = curve(W, p)
    if not (c.mean.max() > level > c.mean.min()):
        return math.nan
    # start: the first grid point where the mean curve falls below the level
    below = np.flatnonzero(c.mean < level)
    W0 = c.W[below[0]] if len(below) else np.median(c.W)
    span = max(c.W.max() - c.W.min(), 1e-9)
    p0 = (max(c.mean.max(), level + 1e-3), min(c.mean.min(), level - 1e-3), W0, 0.05 * span)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, b, W0, s), _ = curve_fit(
                logistic,
                W,
                p,
                p0=p0,
                maxfev=5000,
                bounds=([level, -0.5, c.W.min(), 1e-4 * span], [1.5, level, c.W.max(), span]),
            )
    except (RuntimeError, ValueError):
        return math.nan
    ratio = (a - b) / (level - b) - 1.0
    if ratio <= 0:
        return math.nan
    return float(W0 + s * math.log(ratio))


@dataclass(frozen=True)
class Crossing:
    W: float
    lo: float
    hi: float
    n_bootstrap: int
    n_failed: int

    def as_dict(self) -> dict[str, float]:
        return {
            "W": self.W,
            "lo": self.lo,
            "hi": self.hi,
            "n_bootstrap": self.n_bootstrap,
            "n_failed": self.n_failed,
        }


def crossing_with_ci(
    W: np.ndarray,
    p: np.ndarray,
    *,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    level: float = 0.5,
) -> Crossing:
    """50% crossing and a percentile bootstrap interval (resampling states within each W)."""
    W, p = np.asarray(W, float), np.asarray(p, float)
    estimate = fit_crossing(W, p, level)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(W == w) for w in np.unique(W)]
    samples = []
    for _ in range(n_bootstrap):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        samples.append(fit_crossing(W[idx], p[idx], level))
    samples = np.array(samples)
    ok = samples[np.isfinite(samples)]
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(ok, [alpha, 1 - alpha]) if len(ok) else (math.nan, math.nan)
    return Crossing(estimate, float(lo), float(hi), n_bootstrap, int(n_bootstrap - len(ok)))

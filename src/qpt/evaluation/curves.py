"""Transition curves and their 50% crossings with bootstrap confidence intervals.

P(W) is the network's probability of the weak-disorder phase (delocalized / topological),
averaged over independent eigenstates at each W. The crossing W* is where the best
non-increasing fit to P(W) (``scipy.optimize.isotonic_regression``, weighted by the number
of states) falls through 1/2, by linear interpolation. No shape is assumed: a
symmetric logistic fit was tried first and found biased by up to 0.25 in W on curves with a
long plateau near 1/2 (the Chern model at L = 40), its answer moving with the W range
tested. The confidence interval comes from a stratified bootstrap: states are resampled with
replacement within each W and the crossing recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import isotonic_regression


@dataclass(frozen=True)
class Curve:
    """Mean and standard error of P at each distinct W."""

    W: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    count: np.ndarray

    def rows(self) -> list[tuple[float, float, float, int]]:
        columns = (self.W, self.mean, self.sem, self.count)
        return list(zip(*(c.tolist() for c in columns), strict=True))


def curve(W: np.ndarray, p: np.ndarray) -> Curve:
    W, p = np.asarray(W, float), np.asarray(p, float)
    grid, inverse, count = np.unique(W, return_inverse=True, return_counts=True)
    mean = np.bincount(inverse, p) / count
    sq = np.bincount(inverse, p * p) / count
    var = np.maximum(sq - mean**2, 0) * count / np.maximum(count - 1, 1)
    return Curve(grid, mean, np.sqrt(var / count), count)


def first_fall(x: np.ndarray, y: np.ndarray, level: float = 0.5) -> float:
    """x where y first falls through ``level`` (linear interpolation); NaN if it never does."""
    below = np.flatnonzero((y[:-1] >= level) & (y[1:] < level))
    if not len(below):
        return math.nan
    i = below[0]
    return float(x[i] + (level - y[i]) * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))


def mean_sem(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    values = np.asarray(values, float)
    sem = np.std(values, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(np.mean(values)), float(sem)


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of the finite bootstrap ``draws``; NaN if none."""
    ok = draws[np.isfinite(draws)]
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(ok, [alpha, 1 - alpha]) if len(ok) else (math.nan, math.nan)
    return float(lo), float(hi)


def fit_crossing(W: np.ndarray, p: np.ndarray, level: float = 0.5) -> float:
    """W where the monotone fit of P(W) first falls through ``level``; NaN if it never does."""
    c = curve(W, p)
    fitted = isotonic_regression(c.mean, weights=c.count, increasing=False).x
    return first_fall(c.W, fitted, level)


def parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """x of the vertex of the parabola through three points (x increasing), kept within them;
    the middle x where the parabola opens upwards or is a line (no maximum between them)."""
    (x0, x1, x2), (y0, y1, y2) = x, y
    denominator = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denominator
    vertex = -b / (2 * a) if a < 0 else x1
    return float(np.clip(vertex, x0, x2))


@dataclass(frozen=True)
class Crossing:
    W: float
    lo: float
    hi: float
    n_bootstrap: int
    n_failed: int


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
    failed = int(np.sum(~np.isfinite(samples)))
    return Crossing(estimate, *percentile_interval(samples, confidence), n_bootstrap, failed)

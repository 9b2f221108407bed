"""Where a curve peaks: the pseudo-critical point of each size, with a bootstrap interval.

Between two insulators (the Chern model's two phases at E = 0 on periodic lattices, where no
edge states exist) an observable that tells extended states from localized ones has a
maximum where the localization length is largest: at a pseudo-critical point W_p(L), which
approaches W_c as L grows (W_p - W_c ~ L^(-1/nu)). Where the curves' shape does not obey one
scaling function (a network's output, trained at small and large W, can narrow on one side of
the peak only), its position is still read without a model of the shape.

The position: the highest grid point, refined by the parabola through it and its two
neighbours; NaN where the highest point is an end of the grid (no interior maximum). The
interval: percentiles over resamples that draw the replicas (independently trained networks
judging the same states) and, within each W, the states, with replacement. ``maximum_z``
says how clearly the maximum is there: its rise above the lowest point on each side, in
standard errors of independent states (the weaker side counts). A position is a finite-size
estimate: how the positions of the sizes move with L is part of the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qpt.evaluation.curves import curve, parabola_vertex, percentile_interval


@dataclass(frozen=True)
class PeakPosition:
    """The maximum of one size's curve: position, interval and how clearly it is one."""

    L: int
    position: float
    ci: tuple[float, float]
    maximum_z: float
    n_bootstrap: int
    n_failed: int  # resamples whose highest point was an end of the grid


def grid_peak(W: np.ndarray, mean: np.ndarray) -> float:
    """The position of the maximum of ``mean`` on the increasing grid ``W`` (refined by a
    parabola through its neighbours); NaN where the highest point is an end of the grid."""
    i = int(np.argmax(mean))
    if i == 0 or i == len(mean) - 1:
        return math.nan
    return parabola_vertex(W[i - 1 : i + 2], mean[i - 1 : i + 2])


def maximum_z(mean: np.ndarray, sem: np.ndarray) -> float:
    """How clearly ``mean`` has an interior maximum: its rise above the lowest point on each
    side, in standard errors of the difference; the weaker side counts, 0 without one."""
    i = int(np.argmax(mean))
    if i == 0 or i == len(mean) - 1:
        return 0.0
    rises = []
    for side in (slice(0, i), slice(i + 1, None)):
        j = np.arange(len(mean))[side][np.argmin(mean[side])]
        rises.append((mean[i] - mean[j]) / max(math.hypot(sem[i], sem[j]), 1e-12))
    return float(min(rises))


def peak_position(
    L: int,
    W: np.ndarray,
    values: np.ndarray,
    *,
    n_bootstrap: int,
    seed: int,
    confidence: float = 0.95,
) -> PeakPosition:
    """The peak of one size's curve. ``W`` per state, ``values`` (replicas, states): e.g. the
    outputs of several networks judging the same states, averaged per state."""
    W = np.asarray(W, float)
    values = np.asarray(values, float).reshape(-1, len(W))
    c = curve(W, values.mean(axis=0))
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(W == w) for w in c.W]
    draws = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        replicas = values[rng.integers(len(values), size=len(values))].mean(axis=0)
        means = [replicas[rng.choice(g, size=len(g))].mean() for g in groups]
        draws[b] = grid_peak(c.W, np.array(means))
    interval = percentile_interval(draws, confidence)
    failed = int(np.sum(~np.isfinite(draws)))
    return PeakPosition(
        L, grid_peak(c.W, c.mean), interval, maximum_z(c.mean, c.sem), n_bootstrap, failed
    )


def peak_positions(
    samples: dict[int, tuple[np.ndarray, np.ndarray]], *, n_bootstrap: int, seed: int
) -> dict[int, PeakPosition]:
    """:func:`peak_position` of every size of ``samples[L] = (W, values)``."""
    return {
        L: peak_position(L, W, values, n_bootstrap=n_bootstrap, seed=seed + i)
        for i, (L, (W, values)) in enumerate(sorted(samples.items()))
    }

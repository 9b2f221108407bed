"""Independent draws of an estimate: their interval, and whether two sets of them differ.

A route repeated on independent draws (the confusion route's ``draws``: fresh training
states, networks and held-out states each time) gives one estimate a draw. Their mean has a
Student-t interval; two sets of draws (two sizes, say) differ by a Welch interval, which
assumes neither equal scatter nor equal counts. Both are checked for coverage on normal draws
in tests/test_draws.py. Independent runs that each carry their own interval can also be held
against those intervals (:func:`scatter_against_intervals`): does a run's interval hold the
scatter between runs?
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2 as chi_square
from scipy.stats import norm
from scipy.stats import t as student_t


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` and its Student-t interval: (mean, lo, hi); NaN if one is."""
    x = np.asarray(values, float)
    if len(x) < 2:
        raise ValueError(f"{len(x)} draw(s); an interval over draws needs at least two")
    mean, spread = float(x.mean()), float(x.std(ddof=1)) / math.sqrt(len(x))
    half = float(student_t.ppf((1 + confidence) / 2, len(x) - 1)) * spread
    return mean, mean - half, mean + half


def pooled_sd(groups: Sequence[Sequence[float]]) -> float:
    """The sd of the draws about their own group's mean, pooled over the groups (seeds): the
    scatter of one draw, free of the groups' offsets."""
    residuals = [np.asarray(g, float) - np.mean(g) for g in groups]
    dof = sum(len(r) - 1 for r in residuals)
    if dof < 1:
        raise ValueError("a pooled sd needs a group of at least two draws")
    return math.sqrt(sum(float(r @ r) for r in residuals) / dof)


@dataclass(frozen=True)
class Difference:
    """``new`` minus ``base``: the difference of their means with a Welch interval."""

    value: float
    lo: float
    hi: float
    dof: float

    @property
    def reading(self) -> str:
        if self.lo > 0:
            return "above 0"
        if self.hi < 0:
            return "below 0"
        return "its interval holds 0: not resolved"


def welch_difference(
    new: Sequence[float], base: Sequence[float], confidence: float = 0.95
) -> Difference:
    """mean(new) - mean(base) with a Welch-Satterthwaite interval."""
    a, b = np.asarray(new, float), np.asarray(base, float)
    if min(len(a), len(b)) < 2:
        raise ValueError("a difference of draws needs at least two on each side")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    value, se = float(a.mean() - b.mean()), math.sqrt(va + vb)
    if se == 0:  # every draw alike on both sides: nothing to weigh, no spread either
        return Difference(value, value, value, float(len(a) + len(b) - 2))
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(student_t.ppf((1 + confidence) / 2, dof)) * se
    return Difference(value, value - half, value + half, float(dof))


@dataclass(frozen=True)
class Scatter:
    """Independent estimates against their own intervals. ``held``: the sd their intervals
    imply (the rms over runs) over the sd between them, about 1 when the intervals are
    honest, below 1 when they leave out something a fresh run draws again; ``p``: the upper
    tail of ``chi2`` (the estimates about their inverse-variance mean, in units of their
    own sd) with ``dof`` degrees of freedom, small when they scatter more than they say."""

    sd: float
    implied: float
    chi2: float
    dof: int
    p: float

    @property
    def held(self) -> float:
        return self.implied / self.sd if self.sd > 0 else math.inf


def scatter_against_intervals(
    values: Sequence[float], intervals: Sequence[tuple[float, float]], confidence: float = 0.95
) -> Scatter:
    """How ``values`` (independent estimates) scatter against their own ``confidence``
    intervals, each read as a normal sd of width / (2 z) (a percentile interval need not be
    symmetric about its estimate)."""
    x = np.asarray(values, float)
    bounds = np.asarray(intervals, float).reshape(-1, 2)
    if len(x) < 2 or len(bounds) != len(x):
        raise ValueError(
            f"{len(x)} estimate(s), {len(bounds)} interval(s): need two or more of each, alike"
        )
    sd_each = (bounds[:, 1] - bounds[:, 0]) / (2 * float(norm.ppf((1 + confidence) / 2)))
    if not (sd_each > 0).all():
        raise ValueError(f"an interval without width: {bounds.tolist()}")
    weights = 1 / sd_each**2
    centre = float(weights @ x / weights.sum())
    chi2 = float(weights @ (x - centre) ** 2)
    dof = len(x) - 1
    implied = float(np.sqrt(np.mean(sd_each**2)))
    return Scatter(float(x.std(ddof=1)), implied, chi2, dof, float(chi_square.sf(chi2, dof)))

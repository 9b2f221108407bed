"""Learning by confusion (van Nieuwenburg, Liu & Huber, Nat. Phys. 13, 435 (2017)).

Relabel states of all W at a trial boundary W' (label W > W'), train a network on each
labelling, and record its validation accuracy. A boundary at the true transition agrees
with what the states show, so the accuracy has an interior maximum there; boundaries inside
one phase contradict the states and confuse the network. Nothing about W_c is assumed.

The trial boundaries are the midpoints between the W values of the states (a boundary
between two values splits them as any other there would). The accuracy of each trial is
averaged over its networks (replicas); the peak is the highest point between the two arms
that fall from the ends, refined by a parabola. Its interval comes from a bootstrap over the
networks and the validation states jointly (each a whole unit across the trials: a network
seed trains every trial, and every trial judges the same states). Where the top of the curve
is flat, which of its trials wins depends on how the networks trained as much as on the
states judged, so a bootstrap over the states alone would understate the spread.

An interior maximum is always found somewhere on a noisy curve, so the curve also reports how
clearly it has one (``maximum_z``): the number of paired standard errors by which the peak's
accuracy rises above the lowest trial between it and each end (the weaker side counts). A
network that reads W itself from the states (as well as the phase) learns every boundary
about equally well, and the curve is a plateau with a "peak" anywhere along it.

A clear maximum may still have a flat top: the curve also reports it (``top``), the trials
around the peak whose accuracy lies within 2 paired standard errors of it. Where the top
spans several trials the data bracket the transition there and do not say where in it; the
bootstrap interval, which resamples only the networks and the states judged, can be
narrower than such a top.

What neither bootstrap resamples is the draw of the training states: a network trained on
other states of the same W may prefer another trial of a flat top. ``draws_curve`` takes
that in by repeating the whole route on independent draws of states (each with its own
networks and held-out states): W_c is the mean of the draws' maxima, with a Student-t
interval over them. On a flat top, where each draw's maximum lands anywhere on it, that
mean estimates the top's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from qpt.evaluation.curves import parabola_vertex, percentile_interval
from qpt.evaluation.draws import t_interval


@dataclass(frozen=True)
class ConfusionCurve:
    trials: np.ndarray  # trial boundaries W'
    accuracy: np.ndarray  # validation accuracy per trial, averaged over replicas
    sem: np.ndarray
    peak: float
    peak_ci: tuple[float, float]
    n_bootstrap: int
    maximum_z: float  # paired standard errors from the peak down to the higher of its dips
    top: tuple[float, float]  # the trials within TOP_Z paired errors of the peak (nan: none)
    draws: tuple[float, ...] = ()  # each independent draw's maximum (draws_curve), else none
    # each draw's accuracy per trial (draws_curve): how a trial moves, with an interval over
    # draws, which the pooled ``sem`` (held-out states only) does not hold
    draw_accuracy: tuple[tuple[float, ...], ...] = ()


def _interior_index(accuracy: np.ndarray) -> int | None:
    """The highest trial past the two arms that fall from the ends (a boundary near an end of
    the data is trivially learned), or None if the arms meet."""
    n, left, right = len(accuracy), 0, len(accuracy) - 1
    while left + 1 < n and accuracy[left + 1] <= accuracy[left]:
        left += 1
    while right > 0 and accuracy[right - 1] <= accuracy[right]:
        right -= 1
    if right - left < 2:
        return None
    return left + 1 + int(np.argmax(accuracy[left + 1 : right]))


def interior_peak(trials: np.ndarray, accuracy: np.ndarray) -> float:
    """W' of the interior maximum of a W-shaped accuracy curve (``_interior_index``), refined
    by the parabola through it and its neighbours; NaN if there is none."""
    i = _interior_index(accuracy)
    if i is None:
        return math.nan
    return parabola_vertex(trials[i - 1 : i + 2], accuracy[i - 1 : i + 2])


def maximum_z(per_state: np.ndarray) -> float:
    """How clearly the accuracy ``per_state.mean(axis=1)`` (trials x validation states) has an
    interior maximum: the peak's rise above the lowest trial on each side of it, in standard
    errors of the per-state difference (every trial judges the same states, so the pair is
    compared state by state); the weaker side counts, 0 without an interior maximum."""
    accuracy = per_state.mean(axis=1)
    i = _interior_index(accuracy)
    if i is None:
        return 0.0
    dips = int(np.argmin(accuracy[:i])), i + 1 + int(np.argmin(accuracy[i + 1 :]))
    return float(min(_paired_z(per_state[i] - per_state[j]) for j in dips))


#: how many paired standard errors below the peak a trial may lie and still be on its top
TOP_Z = 2.0


def flat_top(trials: np.ndarray, per_state: np.ndarray) -> tuple[float, float]:
    """The first and last trial of the run around the interior maximum of
    ``per_state.mean(axis=1)`` (trials x validation states) whose accuracy the states do not
    tell from the peak's: less than ``TOP_Z`` paired standard errors below it. (nan, nan)
    without an interior maximum."""
    accuracy = per_state.mean(axis=1)
    i = _interior_index(accuracy)
    if i is None:
        return math.nan, math.nan

    def on_top(j: int) -> bool:
        return 0 <= j < len(trials) and _paired_z(per_state[i] - per_state[j]) < TOP_Z

    lo, hi = i, i
    while on_top(lo - 1):
        lo -= 1
    while on_top(hi + 1):
        hi += 1
    return float(trials[lo]), float(trials[hi])


def _paired_z(difference: np.ndarray) -> float:
    """The mean of per-state differences in units of its standard error."""
    mean, error = difference.mean(), difference.std(ddof=1) / math.sqrt(len(difference))
    if error == 0:  # every state judged alike by both trials
        return 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return mean / error


def confusion_curve(
    trials: np.ndarray,
    correct: np.ndarray,
    *,
    n_bootstrap: int,
    seed: int,
    confidence: float = 0.95,
) -> ConfusionCurve:
    """``correct[r, t, i]``: whether replica r's network for trial t got validation state i
    right. The peak of the replica-averaged accuracy, with a bootstrap interval over the
    replicas and the states jointly."""
    trials = np.asarray(trials, float)
    correct = np.asarray(correct, float)
    per_state = correct.mean(axis=0)  # (trials, states)
    replicas, n = correct.shape[0], correct.shape[2]
    rng = np.random.default_rng(seed)

    def resampled_accuracy() -> np.ndarray:
        networks, states = rng.integers(replicas, size=replicas), rng.integers(n, size=n)
        return correct[networks].mean(axis=0) @ np.bincount(states, minlength=n) / n

    peaks = np.array([interior_peak(trials, resampled_accuracy()) for _ in range(n_bootstrap)])
    peak = interior_peak(trials, per_state.mean(axis=1))
    return _curve(trials, per_state, peak, percentile_interval(peaks, confidence), n_bootstrap)


def draws_curve(
    trials: np.ndarray, corrects: list[np.ndarray], *, confidence: float = 0.95
) -> ConfusionCurve:
    """``corrects[d][r, t, i]``: ``confusion_curve``'s ``correct`` for each of several
    independent draws d (its own training states, networks and held-out states). The mean of
    the draws' maxima, with a Student-t interval over them (NaN if a draw has none); the
    curve, ``maximum_z`` and top are those of every draw's held-out states pooled, and each
    draw's own curve is kept beside them."""
    if len(corrects) < 2:
        raise ValueError(f"draws: {len(corrects)}; an interval over draws needs at least two")
    trials = np.asarray(trials, float)
    per_draw = [np.asarray(c, float).mean(axis=0) for c in corrects]  # (trials, states) each
    curves = [p.mean(axis=1) for p in per_draw]
    peaks = np.array([interior_peak(trials, c) for c in curves])
    mean, lo, hi = t_interval(peaks, confidence)
    pooled = np.concatenate(per_draw, axis=1)
    found = _curve(trials, pooled, mean, (lo, hi), 0, tuple(map(float, peaks)))
    return replace(found, draw_accuracy=tuple(tuple(map(float, c)) for c in curves))


def _curve(
    trials: np.ndarray,
    per_state: np.ndarray,
    peak: float,
    interval: tuple[float, float],
    n_bootstrap: int,
    draws: tuple[float, ...] = (),
) -> ConfusionCurve:
    """The curve of ``per_state`` (trials x held-out states) with its estimate: the accuracy,
    its standard error, ``maximum_z`` and the top all come from the same states."""
    accuracy, n = per_state.mean(axis=1), per_state.shape[1]
    sem = per_state.std(axis=1, ddof=1) / math.sqrt(n)
    z, top = maximum_z(per_state), flat_top(trials, per_state)
    return ConfusionCurve(trials, accuracy, sem, peak, interval, n_bootstrap, z, top, draws)

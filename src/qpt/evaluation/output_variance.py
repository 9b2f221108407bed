"""nu from the width of the peak of the networks' output variance.

Chertenkov, Burovski & Shchur, Phys. Rev. E 108, L032102 (2023) (arXiv:2305.03342): across
the states at one (W, L), the variance of a trained network's output has a peak in the
critical region, where the states' phases mix, and the peak's width shrinks as L^(-1/nu).
Here that holds if the output is a fixed function of an observable whose distribution
depends on (W - W_c) L^(1/nu) alone (box weights at a fixed ratio of box to system size; the
network route's assumption): then v(W, L) = G((W - W_c) L^(1/nu)) for some G, and any width
of the peak measured in W scales as L^(-1/nu).

The variance is taken of each state's output averaged over the networks (as the network
route's curves are), with its standard error from the fourth moment. The width of a size is
the sigma of a Gaussian on a constant, A exp(-(W - c)^2 / 2 sigma^2) + B, fitted by weighted
least squares; the details of the recipe (this width, the baseline) are qpt's. Then
log sigma = const - (1/nu) log L by least squares over the sizes. The interval: percentiles
over resamples that draw the networks (once for every size: one network judges them all) and,
within each (L, W), the states, refitting every width and the slope. The slope's interval is
inverted into nu's, which is open above where the widths may not shrink at all. The centres
c(L) are pseudo-critical points (they move with L towards W_c), not a W_c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from qpt.evaluation.curves import percentile_interval
from qpt.evaluation.scaling import SEM_FLOOR, states_within_w

#: a peak needs this many grid points to fit its four parameters with a residual left over
MIN_POINTS = 5


@dataclass(frozen=True)
class VariancePeak:
    """One size's output variance per W and the Gaussian fitted to it."""

    L: int
    W: np.ndarray
    variance: np.ndarray
    sem: np.ndarray
    centre: float
    width: float  # the Gaussian's sigma, in units of W
    height: float
    baseline: float
    reduced_chi2: float

    def fitted(self, W: np.ndarray) -> np.ndarray:
        """The fitted Gaussian on its constant at ``W``."""
        return self.height * np.exp(-0.5 * ((W - self.centre) / self.width) ** 2) + self.baseline


@dataclass(frozen=True)
class WidthExponent:
    """nu from how the peaks' widths shrink with L, with 95% (``confidence``) intervals."""

    nu: float
    nu_ci: tuple[float, float]
    peaks: dict[int, VariancePeak]
    width_ci: dict[int, tuple[float, float]]
    centre_ci: dict[int, tuple[float, float]]
    n_bootstrap: int
    n_failed: int  # resamples where some size's peak could not be fitted


def output_variance(W: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct W: the variance across states of the outputs (``values`` of shape
    (networks, states), averaged over the networks first) and its standard error."""
    W = np.asarray(W, float)
    p = np.asarray(values, float).reshape(-1, len(W)).mean(axis=0)
    grid = np.unique(W)
    variance, sem = np.empty(len(grid)), np.empty(len(grid))
    for i, w in enumerate(grid):
        x = p[W == w]
        n, d = len(x), x - x.mean()
        variance[i] = d @ d / max(n - 1, 1)
        m4 = np.mean(d**4)
        sem[i] = math.sqrt(max(m4 - np.mean(d**2) ** 2, 0.0) / n)
    # deep in a phase every state's output agrees (variance and sem ~0): keep such points
    # finite-weighted, relative to the peak, so they do not pin the baseline alone
    return grid, variance, np.maximum(sem, SEM_FLOOR * variance.max())


def fit_variance_peak(L: int, W: np.ndarray, variance: np.ndarray, sem: np.ndarray) -> VariancePeak:
    """The Gaussian on a constant through one size's variance; ValueError where its centre
    leaves the grid or its width exceeds the grid's span (no peak to measure)."""
    if len(W) < MIN_POINTS:
        raise ValueError(f"a variance peak needs {MIN_POINTS} values of W, got {len(W)}")
    span = float(W[-1] - W[0])

    def residuals(q: np.ndarray) -> np.ndarray:
        height, centre, log_width, baseline = q
        # np.exp, not math.exp: a trial step to a huge width gives inf, not OverflowError
        model = height * np.exp(-0.5 * ((W - centre) / np.exp(log_width)) ** 2) + baseline
        return (model - variance) / sem

    start = [
        float(variance.max() - variance.min()),
        float(W[np.argmax(variance)]),
        math.log(span / 6),
        float(variance.min()),
    ]
    fit = least_squares(residuals, start, method="lm")
    height, centre, log_width, baseline = fit.x
    width = float(np.exp(log_width))
    if not (W[0] < centre < W[-1] and width < span and height > 0):
        raise ValueError(f"no variance peak inside the grid at L = {L}")
    chi2 = float(np.sum(fit.fun**2)) / (len(W) - 4)
    return VariancePeak(L, W, variance, sem, centre, width, height, baseline, chi2)


def variance_peaks(samples: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, VariancePeak]:
    """:func:`fit_variance_peak` of every size of ``samples[L] = (W, values)``."""
    return {
        L: fit_variance_peak(L, *output_variance(W, v)) for L, (W, v) in sorted(samples.items())
    }


def inverse_nu(peaks: dict[int, VariancePeak]) -> float:
    """1/nu: minus the least-squares slope of log width against log L."""
    sizes = sorted(peaks)
    slope = np.polyfit(np.log(sizes), np.log([peaks[L].width for L in sizes]), 1)[0]
    return float(-slope)


def width_exponent(
    samples: dict[int, tuple[np.ndarray, np.ndarray]],
    *,
    n_bootstrap: int,
    seed: int,
    confidence: float = 0.95,
) -> WidthExponent:
    """nu from the variance peaks of ``samples[L] = (W, values)`` (values: (networks, states),
    the same networks at every L), at least two sizes, with bootstrap intervals."""
    if len(samples) < 2:
        raise ValueError(f"the width's scaling needs two sizes or more, got {sorted(samples)}")
    samples = {
        L: (np.asarray(W, float), np.asarray(v, float).reshape(-1, len(W)))
        for L, (W, v) in samples.items()
    }
    counts = {len(v) for _, v in samples.values()}
    if len(counts) != 1:
        raise ValueError(f"every size needs the same networks, got counts {sorted(counts)}")
    (n_networks,) = counts
    peaks = variance_peaks(samples)
    slope = inverse_nu(peaks)
    rng = np.random.default_rng(seed)
    slopes, widths, centres = [], {L: [] for L in peaks}, {L: [] for L in peaks}
    for _ in range(n_bootstrap):
        networks = rng.integers(n_networks, size=n_networks)  # one draw for every size
        resampled = {}
        for L, (W, values) in samples.items():
            idx = states_within_w(W, rng)
            resampled[L] = (W[idx], values[networks][:, idx])
        try:
            drawn = variance_peaks(resampled)
        except ValueError:
            continue
        slopes.append(inverse_nu(drawn))
        for L, peak in drawn.items():
            widths[L].append(peak.width)
            centres[L].append(peak.centre)
    lo, hi = percentile_interval(np.array(slopes), confidence)
    nu_ci = (1 / hi if hi > 0 else math.inf, 1 / lo if lo > 0 else math.inf)
    return WidthExponent(
        1 / slope if slope > 0 else math.inf,
        nu_ci,
        peaks,
        {L: percentile_interval(np.array(w), confidence) for L, w in widths.items()},
        {L: percentile_interval(np.array(c), confidence) for L, c in centres.items()},
        n_bootstrap,
        n_bootstrap - len(slopes),
    )

"""Figures: sample eigenfunctions (letter Figs. 1, 4), training curves, transition curves."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: works headless and in worker processes
import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:  # only for the hints: the results' modules draw with this one
    from qpt.evaluation.curves import Curve
    from qpt.evaluation.evaluate import GapSweep, TransitionCurve
    from qpt.evaluation.output_variance import WidthExponent
    from qpt.evaluation.peak import PeakPosition
    from qpt.evaluation.phase_diagram import PhaseDiagram
    from qpt.evaluation.scaling import ScalingFit
    from qpt.pool import Pooled, RunEstimate
    from qpt.reporting import RouteResult

P_LIMITS = (-0.03, 1.03)  # a probability axis, with room for markers at 0 and 1


def _save(fig: plt.Figure, path: str | os.PathLike, dpi: int) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _legend_and_grid(ax: plt.Axes, **legend: object) -> None:
    ax.legend(**legend)
    ax.grid(alpha=0.3)


def _half_line(ax: plt.Axes) -> None:
    ax.axhline(0.5, color="gray", ls=":", lw=1)


def _literature_line(ax: plt.Axes, value: float) -> None:
    """A literature value, gray and dotted: drawn for comparison, never used."""
    ax.axvline(value, color="gray", ls=":", lw=1.5, label=f"literature {value}")


def sample_panel(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    path: str | os.PathLike,
    ncols: int = 4,
    suptitle: str = "",
) -> None:
    """A grid of |psi(x, y)|^2 images with their titles."""
    nrows = max(1, math.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 3 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles, strict=False):
        shown = ax.imshow(img, cmap="viridis", origin="lower")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="|psi|^2")
        ax.set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    _save(fig, path, dpi=90)


def training_curves(
    history: Sequence[dict[str, float]], path: str | os.PathLike, best_epoch: int | None = None
) -> None:
    """Loss and accuracy per epoch, train and validation; the epoch kept, marked."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [h["epoch"] for h in history]
    for stage, style in (("train", "-"), ("val", "--")):
        for ax, name in ((ax_loss, "loss"), (ax_acc, "acc")):
            values = [h.get(f"{stage}/{name}", np.nan) for h in history]
            ax.plot(epochs, values, style, marker="o", ms=3, label=stage)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        if best_epoch is not None:
            ax.axvline(best_epoch, color="k", ls=":", lw=1, label=f"kept: epoch {best_epoch}")
        _legend_and_grid(ax)
    _save(fig, path, dpi=90)


def transition_curves(
    curves: Sequence[TransitionCurve], path: str | os.PathLike, *, title: str = ""
) -> None:
    """P(phase) against W for several energies (letter Figs. 3 and 5a): mean +- standard
    error over states, the 50% line, each reference W_c dashed, each crossing with its CI."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, t in enumerate(curves):
        color, c, cross = colors[i % len(colors)], t.curve, t.crossing
        label = f"E = {t.energy:g}: W* = {cross.W:.2f} [{cross.lo:.2f}, {cross.hi:.2f}]"
        ax.errorbar(
            c.W, c.mean, yerr=c.sem, fmt="-o", ms=2.5, lw=1, color=color, capsize=0, label=label
        )
        if (wc := t.reference_wc) is not None:
            ax.axvline(wc, color=color, ls="--", lw=1, label=f"literature W_c = {wc}")
        if np.isfinite(cross.W):
            label = f"W* (E = {t.energy:g})"
            ax.plot(
                [cross.W], [0.5], marker="D", ms=7, color=color, mec="k", ls="none", label=label
            )
        if np.isfinite(cross.lo) and np.isfinite(cross.hi):
            ax.axvspan(cross.lo, cross.hi, color=color, alpha=0.15, label="95% interval of W*")
    _half_line(ax)
    ax.set(xlabel="disorder W", ylabel=f"P({curves[0].phase})", ylim=P_LIMITS, title=title)
    _legend_and_grid(ax, fontsize=8, loc="upper right")
    _save(fig, path, dpi=110)


def gap_sweep(
    sweeps: Sequence[GapSweep],
    path: str | os.PathLike,
    *,
    phase: str,
    emin: float,
    emax: float,
    title: str = "",
) -> None:
    """P(phase) against eigenenergy at fixed W (letter Fig. 5b): every state as a faint point,
    the mean in energy bins with its standard error as a line."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for sweep, marker, color in zip(sweeps, "x+os", colors, strict=False):
        ax.plot(sweep.energies, sweep.p, marker, ms=3, alpha=0.2, color=color)
        b, label = sweep.binned, f"W = {sweep.W:g} ({len(sweep.p)} states)"
        ax.errorbar(
            b.W, b.mean, yerr=b.sem, fmt="-", marker=marker, ms=6, lw=1.5, color=color, label=label
        )
    _half_line(ax)
    ax.set(xlabel="eigenenergy E", ylabel=f"P({phase})", xlim=(emin, emax), ylim=P_LIMITS)
    ax.set_title(title)
    _legend_and_grid(ax, loc="center right", fontsize=8)
    _save(fig, path, dpi=110)


def collapse_axes(
    ax_raw: plt.Axes,
    ax_col: plt.Axes,
    curves: Mapping[int, Curve],
    fit: ScalingFit,
    *,
    ylabel: str,
    reference_wc: float | None = None,
    size: str = "L",
) -> None:
    """Left: Y(W) of each L with the fitted W_c (and a literature W_c, dotted); right: Y
    (less the fitted correction b L^-y) against x = (W - W_c) L^(1/nu), with F drawn only
    over the x it was fitted to. ``size``: the symbol of the size (M: a bar's width)."""
    xs = []
    for L, c in sorted(curves.items()):
        ax_raw.errorbar(c.W, c.mean, yerr=c.sem, fmt="-o", ms=2.5, lw=1, label=f"{size} = {L}")
        x = (c.W - fit.wc) * L ** (1 / fit.nu)
        y = c.mean - (fit.b * L**-fit.y if fit.y is not None else 0.0)
        xs.append(x[fit.fitted(c.mean)])
        ax_col.errorbar(x, y, yerr=c.sem, fmt="o", ms=2.5, label=f"{size} = {L}")
    x_fit = np.concatenate(xs)
    if len(x_fit):
        grid = np.linspace(x_fit.min(), x_fit.max(), 200)
        ax_col.plot(grid, fit.scaling_function(grid), "k-", lw=1.5, label="fitted F(x)")
    ax_raw.axvline(fit.wc, color="k", ls="--", lw=1, label=f"fit W_c = {fit.wc:.2f}")
    if reference_wc is not None:
        _literature_line(ax_raw, reference_wc)
    ax_raw.set(xlabel="disorder W", ylabel=ylabel)
    ax_col.set(xlabel=f"(W - W_c) {size}^(1/nu)", ylabel=ylabel)
    for ax in (ax_raw, ax_col):
        _legend_and_grid(ax, fontsize=7)


def scaling_collapse(
    curves: Mapping[int, Curve], fit: ScalingFit, path: str | os.PathLike, *, title: str = ""
) -> None:
    """A finite-size-scaling fit of P(W, L): the curves and their collapse."""
    fig, (ax_raw, ax_col) = plt.subplots(1, 2, figsize=(11, 4.2))
    collapse_axes(ax_raw, ax_col, curves, fit, ylabel="P")
    for ax in (ax_raw, ax_col):
        _half_line(ax)
        ax.set_ylim(*P_LIMITS)
    fig.suptitle(title)
    _save(fig, path, dpi=110)


YLABELS = {
    "network": "P (network)",
    "r": "<r>",
    "bott": "<|Bott index|>",
    "transfer_matrix": "M / localization length",
}


def discovery(
    results: Sequence[RouteResult],
    path: str | os.PathLike,
    *,
    model: str,
    energy: float,
    reference_wc: float | None,
    reference_nu: float | None,
) -> None:
    """Every route of a discovery run, a row each (its data and, for the scaling routes, the
    collapse), then W_c and nu of all routes side by side with their 95% intervals and the
    literature values (gray: shown for comparison, never used)."""
    rows = len(results) + 1
    fig, axes = plt.subplots(rows, 2, figsize=(11, 3.6 * rows), squeeze=False)
    for (ax_a, ax_b), r in zip(axes, results, strict=False):
        if r.estimate is not None:
            ylabel, fit = YLABELS[r.route], r.estimate.fit
            size = "M" if r.route == "transfer_matrix" else "L"  # bar widths
            collapse_axes(
                ax_a, ax_b, r.curves, fit, ylabel=ylabel, reference_wc=reference_wc, size=size
            )
        elif r.confusion is not None:
            c = r.confusion
            ax_a.errorbar(
                c.trials, c.accuracy, yerr=c.sem, fmt="-o", ms=3, label="validation accuracy"
            )
            if np.isfinite(c.top[0]):
                ax_a.axvspan(*c.top, color="0.5", alpha=0.15, label="its top (within 2 errors)")
            for i, p in enumerate(c.draws):  # an interval over draws: where each peaked
                ax_a.axvline(
                    p, color="C1", lw=0.8, alpha=0.6, label=None if i else "each draw's maximum"
                )
            ax_a.set(xlabel="trial boundary W'", ylabel="accuracy")
        else:
            for L, c in r.curves.items():
                ax_a.errorbar(c.W, c.mean, yerr=c.sem, fmt="-o", ms=3, label=f"L = {L}")
            _half_line(ax_a)
            ax_a.set(xlabel="disorder W", ylabel=YLABELS[r.route])
        if r.peaks:  # a finite size's maximum moves with L: show how
            _peak_drift(ax_b, r.peaks, reference_wc)
        elif r.estimate is None:
            ax_b.axis("off")
        if r.estimate is None:
            ax_a.axvspan(*r.wc_ci, color="C3", alpha=0.15)
            ax_a.axvline(r.wc, color="C3", lw=1.5, label=f"W_c = {r.wc:.2f}")
            if reference_wc is not None:
                _literature_line(ax_a, reference_wc)
            _legend_and_grid(ax_a, fontsize=7)
        ax_a.set_title(r.line(wrap=True), fontsize=9)
    ax_wc, ax_nu = axes[-1]
    for ax, name, key, ref in (
        (ax_wc, "W_c", "wc", reference_wc),
        (ax_nu, "nu", "nu", reference_nu),
    ):
        shown = [r for r in results if getattr(r, key) is not None]
        if not shown:  # e.g. confusion or Bott alone: say so, not an empty frame
            ax.text(
                0.5,
                0.5,
                f"no route here measures {name}",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="0.4",
            )
            ax.set(xticks=[], yticks=[])
            continue
        values = [getattr(r, key) for r in shown]
        cis = np.array([getattr(r, f"{key}_ci") for r in shown]).reshape(-1, 2)
        y = np.arange(len(shown))
        ax.errorbar(values, y, xerr=np.abs(cis.T - values), fmt="o", capsize=4, color="C0")
        ax.set_yticks(
            y, [r.route if r.shown else f"{r.route}\n(no clear {r.signature})" for r in shown]
        )
        if ref is not None:
            _literature_line(ax, ref)
            ax.legend(fontsize=7)
        ax.set(xlabel=f"{name} (95% interval)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{model}, E = {energy:g}: the transition from two W ranges alone")
    _save(fig, path, dpi=100)


def _peak_drift(
    ax: plt.Axes, peaks: Mapping[int, PeakPosition], reference_wc: float | None
) -> None:
    """Each size's peak position with its 95% interval against L."""
    sizes = sorted(peaks)
    positions = np.array([peaks[L].position for L in sizes])
    cis = np.array([peaks[L].ci for L in sizes]).reshape(-1, 2)
    ax.errorbar(sizes, positions, yerr=np.abs(cis.T - positions), fmt="o", capsize=4)
    if reference_wc is not None:
        ax.axhline(reference_wc, color="gray", ls=":", label=f"literature {reference_wc:g}")
        ax.legend(fontsize=7)
    ax.set(xlabel="L", ylabel="peak position (95% interval)", xticks=sizes)
    ax.grid(alpha=0.3)


def phase_diagram(
    diagram: PhaseDiagram, path: str | os.PathLike, *, title: str = "", caption: str = ""
) -> None:
    """P(phase) over (E, W) as a map (E across, W up), the network's P = 1/2 contour (its
    crossing at each energy with the 95% interval as a band) and the literature critical
    points as labelled markers; the training energy marked."""
    d = diagram
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    mesh = ax.pcolormesh(
        _cell_edges(d.energies),
        _cell_edges(d.W),
        d.p.T,
        cmap="RdBu",
        vmin=0,
        vmax=1,
        shading="flat",
    )
    fig.colorbar(mesh, ax=ax, label=f"P({d.phase})")
    found = np.isfinite(d.W_half)
    band = found & np.isfinite(d.lo) & np.isfinite(d.hi)
    if band.sum() > 1:
        ax.fill_between(
            d.energies[band], d.lo[band], d.hi[band], color="k", alpha=0.25, lw=0,
            label="95% interval of the contour",
        )  # fmt: skip
    ax.plot(
        d.energies[found], d.W_half[found], "k-o", ms=4, lw=1.5,
        label="network: P = 1/2 (crossing of P(W))",
    )  # fmt: skip
    if d.reference:
        e_lit, w_lit = zip(*d.reference, strict=True)
        ax.plot(
            e_lit, w_lit, ls="none", marker="*", ms=14, color="gold", mec="k",
            label="literature W_c(E) (source below)",
        )  # fmt: skip
        middle = (d.energies[0] + d.energies[-1]) / 2
        for e, w in d.reference:  # labels point inwards, so that none leaves the axes
            right = e > middle
            ax.annotate(
                f"W_c = {w:g}", (e, w), xytext=(-8 if right else 8, 8), textcoords="offset points",
                ha="right" if right else "left", fontsize=8,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8, "lw": 0},
            )  # fmt: skip
    if d.compared:
        e_c, w_c, lo_c, hi_c = np.array(d.compared).T
        ax.errorbar(
            e_c, w_c, yerr=[w_c - lo_c, hi_c - w_c], ls="none", marker="D", ms=6, color="w",
            mec="k", ecolor="k", capsize=3, label="compared W_c(E) (source below)",
        )  # fmt: skip
    ax.axvline(
        d.train_energy, color="k", ls=":", lw=1, label=f"training energy E = {d.train_energy:g}"
    )
    ax.set(
        xlabel="energy E (units of the hopping t)", ylabel="disorder W (units of t)", title=title
    )
    ax.set_xlim(_cell_edges(d.energies)[[0, -1]])
    ax.set_ylim(_cell_edges(d.W)[[0, -1]])
    ax.legend(fontsize=8, loc="upper right", framealpha=0.85)
    # the caption (the literature's source) below the axes: tight_layout leaves room for it
    fig.text(0.01, 0.01, caption, fontsize=7, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.06 if caption else 0, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of the cells around grid ``centres`` (midpoints; the ends mirrored), so that each
    map cell is centred on the point it shows."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[:-1] + c[1:]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def output_variance_peaks(
    estimate: WidthExponent,
    path: str | os.PathLike,
    *,
    reference_nu: float | None = None,
    title: str = "",
) -> None:
    """Left: the variance of the outputs across states at each (W, L), with each size's
    fitted Gaussian; right: the widths against L on log axes, with the fitted L^(-1/nu) (and
    a literature nu, dotted). ``estimate``: a
    :class:`qpt.evaluation.output_variance.WidthExponent`."""
    fig, (ax_v, ax_w) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = sorted(estimate.peaks)
    for L in sizes:
        p = estimate.peaks[L]
        shown = ax_v.errorbar(p.W, p.variance, yerr=p.sem, fmt="o", ms=3, label=f"L = {L}")
        w = np.linspace(p.W[0], p.W[-1], 200)
        ax_v.plot(w, p.fitted(w), "-", lw=1, color=shown[0].get_color())
    ax_v.set(xlabel="disorder W", ylabel="variance of the output across states")
    widths = np.array([estimate.peaks[L].width for L in sizes])
    lo, hi = np.array([estimate.width_ci[L] for L in sizes]).T
    # a percentile interval need not hold its estimate (a fit's bias): clip, never negative
    yerr = np.maximum([widths - lo, hi - widths], 0)
    ax_w.errorbar(sizes, widths, yerr=yerr, fmt="o", label="fitted width")
    line = np.geomspace(sizes[0], sizes[-1], 50)
    anchor = np.exp(np.mean(np.log(widths) + np.log(sizes) / estimate.nu))
    nlo, nhi = estimate.nu_ci
    label = f"L^(-1/nu), nu = {estimate.nu:.2f} [{nlo:.2f}, {nhi:.2f}]"
    ax_w.plot(line, anchor * line ** (-1 / estimate.nu), "k-", lw=1.5, label=label)
    if reference_nu is not None:
        ref = np.exp(np.mean(np.log(widths) + np.log(sizes) / reference_nu))
        ax_w.plot(
            line,
            ref * line ** (-1 / reference_nu),
            color="gray",
            ls=":",
            lw=1.5,
            label=f"literature nu = {reference_nu}",
        )
    ax_w.set(xscale="log", yscale="log", xlabel="L", ylabel="width of the peak (sigma, in W)")
    ax_w.set_xticks(sizes, [str(L) for L in sizes], minor=False)
    ax_w.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax_w.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax_w.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    for ax in (ax_v, ax_w):
        _legend_and_grid(ax, fontsize=7)
    fig.suptitle(title)
    _save(fig, path, dpi=110)


def pooled_runs(
    route: str, runs: Sequence[RunEstimate], pooled: Sequence[Pooled], path: str | os.PathLike
) -> None:
    """One panel a quantity (W_c, nu): each run's estimate with its own interval, the pooled
    mean with its Student-t interval (a band), and the literature value (dotted)."""
    fig, axes = plt.subplots(1, len(pooled), figsize=(5 * len(pooled), 0.5 * len(runs) + 2.2))
    for ax, p in zip(np.atleast_1d(axes), pooled, strict=True):
        pairs = [(r.wc, r.wc_ci) if p.name == "W_c" else (r.nu, r.nu_ci) for r in runs]
        values = np.array([v for v, _ in pairs])
        lo, hi = np.array([ci for _, ci in pairs]).T
        rows = np.arange(len(runs))
        # a percentile interval need not hold its estimate (a fit's bias): clip, never negative
        xerr = np.nan_to_num(np.maximum([values - lo, hi - values], 0))  # NaN: no interval
        ax.errorbar(values, rows, xerr=xerr, fmt="o", capsize=3, label="each run (its interval)")
        ax.axvspan(p.lo, p.hi, color="C1", alpha=0.25, label=f"pooled, {p.runs} runs (Student-t)")
        ax.axvline(p.mean, color="C1", lw=1.5)
        if p.reference:
            _literature_line(ax, p.reference)
        names = [f"seed {r.seed}" if r.seed is not None else r.path.parent.name for r in runs]
        ax.set_yticks(rows, names)
        ax.invert_yaxis()
        d = 3 if p.name == "W_c" else 2
        ax.set(
            xlabel=p.name, title=f"{route}: {p.name} = {p.mean:.{d}f} [{p.lo:.{d}f}, {p.hi:.{d}f}]"
        )
        _legend_and_grid(ax, fontsize=7)
    _save(fig, path, dpi=110)

"""Figures: sample eigenfunctions (letter Figs. 1, 4), training curves, transition curves."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only: works headless and in worker processes
import matplotlib.pyplot as plt
import numpy as np


def _save(fig: plt.Figure, path: str | os.PathLike, dpi: int) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def sample_panel(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    path: str | os.PathLike,
    ncols: int = 4,
    suptitle: str = "",
) -> None:
    """A grid of |psi(x, y)|^2 images with their titles."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 3 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles, strict=False):
        ax.imshow(img, cmap="viridis", origin="lower")
        ax.set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    _save(fig, path, dpi=90)


def training_curves(history: Sequence[dict[str, float]], path: str | os.PathLike) -> None:
    """Loss and accuracy per epoch, train and validation."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [h["epoch"] for h in history]
    for stage, style in (("train", "-"), ("val", "--")):
        for ax, name in ((ax_loss, "loss"), (ax_acc, "acc")):
            values = [h.get(f"{stage}/{name}", np.nan) for h in history]
            ax.plot(epochs, values, style, marker="o", ms=3, label=stage)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    _save(fig, path, dpi=90)


def transition_curves(curves, path: str | os.PathLike, *, title: str = "") -> None:
    """P(phase) against W for several energies (letter Figs. 3 and 5a): mean +- standard
    error over states, the 50% line, each reference W_c dashed, each crossing with its CI."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, t in enumerate(curves):
        color, c, cross = colors[i % len(colors)], t.curve, t.crossing
        ax.errorbar(
            c.W,
            c.mean,
            yerr=c.sem,
            fmt="-o",
            ms=2.5,
            lw=1,
            color=color,
            capsize=0,
            label=f"E = {t.energy:g}: W* = {cross.W:.2f} [{cross.lo:.2f}, {cross.hi:.2f}]",
        )
        if t.reference_wc is not None:
            ax.axvline(t.reference_wc, color=color, ls="--", lw=1)
        if np.isfinite(cross.lo) and np.isfinite(cross.hi):
            ax.axvspan(cross.lo, cross.hi, color=color, alpha=0.15)
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set(xlabel="disorder W", ylabel=f"P({curves[0].phase})", ylim=(-0.03, 1.03), title=title)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    _save(fig, path, dpi=110)


def gap_sweep(
    sweeps, path: str | os.PathLike, *, phase: str, emin: float, emax: float, title: str = ""
) -> None:
    """P(phase) against eigenenergy at fixed W (letter Fig. 5b): every state as a faint point,
    the mean in energy bins with its standard error as a line."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for sweep, marker, color in zip(sweeps, "x+os", colors, strict=False):
        ax.plot(sweep.energies, sweep.p, marker, ms=3, alpha=0.2, color=color)
        ax.errorbar(
            sweep.binned.W,
            sweep.binned.mean,
            yerr=sweep.binned.sem,
            fmt="-",
            marker=marker,
            ms=6,
            lw=1.5,
            color=color,
            label=f"W = {sweep.W:g} ({len(sweep.p)} states)",
        )
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set(
        xlabel="eigenenergy E",
        ylabel=f"P({phase})",
        xlim=(emin, emax),
        ylim=(-0.03, 1.03),
        title=title,
    )
    ax.legend(loc="center right", fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path, dpi=110)


def scaling_collapse(curves, fit, path: str | os.PathLike, *, title: str = "") -> None:
    """Left: P(W) for each L; right: P against (W - W_c) L^(1/nu) with the fitted f."""
    from qpt.evaluation.scaling import scaling_function

    fig, (ax_raw, ax_col) = plt.subplots(1, 2, figsize=(11, 4.2))
    for L, c in sorted(curves.items()):
        ax_raw.errorbar(c.W, c.mean, yerr=c.sem, fmt="-o", ms=2.5, lw=1, label=f"L = {L}")
        x = (c.W - fit.wc) * L ** (1 / fit.nu)
        ax_col.errorbar(x, c.mean, yerr=c.sem, fmt="o", ms=2.5, label=f"L = {L}")
    # draw f only where it was fitted (a polynomial is meaningless outside that window)
    x_fit = np.concatenate([(c.W - fit.wc) * L ** (1 / fit.nu) for L, c in curves.items()])
    p_fit = np.concatenate([c.mean for c in curves.values()])
    inside = np.abs(p_fit - 0.5) < fit.window
    if inside.any():
        xs = np.linspace(x_fit[inside].min(), x_fit[inside].max(), 200)
        ax_col.plot(xs, scaling_function(fit, xs), "k-", lw=1.5, label="fit f(x)")
    ax_raw.axvline(fit.wc, color="gray", ls="--", lw=1)
    ax_raw.set(xlabel="disorder W", ylabel="P", ylim=(-0.03, 1.03))
    ax_col.set(xlabel="(W - W_c) L^(1/nu)", ylabel="P", ylim=(-0.03, 1.03))
    for ax in (ax_raw, ax_col):
        ax.axhline(0.5, color="gray", ls=":", lw=1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    _save(fig, path, dpi=110)


def locators(curves, spectral, bott, path: str | os.PathLike, *, wc: float, model: str) -> None:
    """The network's P(W, L) beside <r>(W, L), ln IPR(W, L) and (Chern) the Bott index."""
    n = 3 + (bott is not None)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8))
    for L, c in sorted(curves.items()):
        axes[0].plot(c.W, c.mean, "-", lw=1, label=f"L = {L}")
    for L, s in sorted(spectral.items()):
        axes[1].errorbar(s["W"], s["r"], yerr=s["r_sem"], fmt="-o", ms=2.5, lw=1, label=f"L = {L}")
        axes[2].errorbar(
            s["W"], s["log_ipr"], yerr=s["log_ipr_sem"], fmt="-o", ms=2.5, lw=1, label=f"L = {L}"
        )
    any_s = next(iter(spectral.values()))
    axes[1].axhline(any_s["r_metal"], color="k", ls=":", lw=1, label="metal (RMT)")
    axes[1].axhline(any_s["r_poisson"], color="k", ls="--", lw=1, label="Poisson")
    axes[0].set(xlabel="W", ylabel="P (network)", xlim=(any_s["W"][0], any_s["W"][-1]))
    axes[1].set(xlabel="W", ylabel="<r>")
    axes[2].set(xlabel="W", ylabel="ln IPR")
    if bott is not None:
        axes[3].errorbar(bott["W"], bott["bott"], yerr=bott["bott_sem"], fmt="-o", ms=3, lw=1)
        axes[3].set(xlabel="W", ylabel="<|Bott index|>", ylim=(-0.05, 1.05))
    for ax in axes:
        ax.axvline(wc, color="gray", ls="--", lw=1)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.suptitle(f"{model}: network against non-ML locators (dashed: literature W_c = {wc})")
    _save(fig, path, dpi=100)

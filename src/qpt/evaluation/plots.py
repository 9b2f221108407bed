"""Figures: sample eigenfunctions (letter Figs. 1, 4), training curves, transition curves."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only: works headless and in worker processes
import matplotlib.pyplot as plt
import numpy as np


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
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


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
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def transition_curves(panel, path: str | os.PathLike, *, phase: str, title: str = "") -> None:
    """P(phase) against W for several energies (letter Figs. 3 and 5a): mean +- standard
    error over states, the 50% line, each reference W_c dashed, each crossing with its CI."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (energy, c, cross, wc) in enumerate(panel):
        color = colors[i % len(colors)]
        ax.errorbar(
            c.W,
            c.mean,
            yerr=c.sem,
            fmt="-o",
            ms=2.5,
            lw=1,
            color=color,
            capsize=0,
            label=f"E = {energy:g}: W* = {cross.W:.2f} [{cross.lo:.2f}, {cross.hi:.2f}]",
        )
        if wc is not None:
            ax.axvline(wc, color=color, ls="--", lw=1)
        if np.isfinite(cross.lo) and np.isfinite(cross.hi):
            ax.axvspan(cross.lo, cross.hi, color=color, alpha=0.15)
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set(xlabel="disorder W", ylabel=f"P({phase})", ylim=(-0.03, 1.03), title=title)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gap_sweep(
    series, path: str | os.PathLike, *, phase: str, emin: float, emax: float, title: str = ""
) -> None:
    """P(phase) against eigenenergy at fixed W (letter Fig. 5b)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (W, energies, p), marker in zip(series, ["x", "+", "o", "s"], strict=False):
        order = np.argsort(energies)
        ax.plot(energies[order], p[order], marker=marker, ls="-", lw=0.8, ms=5, label=f"W = {W:g}")
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set(
        xlabel="eigenenergy E",
        ylabel=f"P({phase})",
        xlim=(emin, emax),
        ylim=(-0.03, 1.03),
        title=title,
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

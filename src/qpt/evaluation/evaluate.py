"""A trained classifier judges test states: transition curves, crossings, the gap sweep.

Computation only: the results come back as objects, and :mod:`qpt.reporting` writes, draws
and logs them. Every judgement goes through :func:`predict` (Lightning's ``trainer.predict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import MisconfigurationException
from torch.utils.data import DataLoader

from qpt.data.cache import LoadedEnsemble
from qpt.data.config import TestGrid, input_scale
from qpt.data.datamodule import ImageDataset
from qpt.data.testsets import TestSets
from qpt.evaluation.config import GapSweepConfig
from qpt.evaluation.curves import Crossing, Curve, crossing_with_ci, curve
from qpt.models.module import PhaseClassifier
from qpt.physics import get_model

PREDICT_BATCH = 512
#: sites from the boundary counted as "edge" in the gap sweep
EDGE_WIDTH = 3


def predict(classifier: PhaseClassifier, data: LoadedEnsemble, accelerator: str) -> np.ndarray:
    """P(weak-disorder phase) of every state in ``data``, its images scaled as in training."""
    if len(data) == 0:
        return np.empty(0)
    coarse, image = classifier.meta.get("coarse_grain"), data.image(0)
    # the side of what the network sees: n boxes, or the image's L, along each lattice axis
    size = coarse or image.shape[-1]
    scale = input_scale(size, classifier.meta["input_scale"], image.ndim)
    dataset = ImageDataset(data, np.arange(len(data)), scale, coarse)
    loader = DataLoader(dataset, batch_size=PREDICT_BATCH)
    return torch.cat(predictor(accelerator).predict(classifier, loader))[:, 0].cpu().numpy()


def predictor(accelerator: str) -> pl.Trainer:
    """The Trainer that judges, on one device of ``accelerator``; a ``ValueError`` where this
    machine has none (evaluate.py asks before it draws a state or records a run)."""
    try:
        return pl.Trainer(
            accelerator=accelerator,
            devices=1,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
        )
    except (MisconfigurationException, ImportError, ValueError) as err:
        reason = str(err).splitlines()[0]
        raise ValueError(f"accelerator={accelerator!r} cannot run here: {reason}") from None


def energy_tag(energy: float) -> str:
    return f"E{float(energy)}"


@dataclass(frozen=True)
class TransitionCurve:
    """P(phase) against W for one model at one energy, with its 50% crossing."""

    model: str
    energy: float
    L: int
    phase: str
    curve: Curve
    crossing: Crossing
    reference_wc: float | None
    mean_abs_eigenenergy_offset: float

    @property
    def tag(self) -> str:
        return f"{self.model}_{energy_tag(self.energy)}"


def transition_curves(
    classifier: PhaseClassifier,
    sets: TestSets,
    grid: TestGrid,
    *,
    models: Sequence[str],
    energies: Sequence[float],
    n_bootstrap: int,
    accelerator: str,
) -> list[TransitionCurve]:
    """The classifier's P(W) on fresh test grids, for each model and energy. The training
    model keeps its parameters; a transfer target is judged with its defaults."""
    meta = classifier.meta
    classifier.check_fits(models, sets.L)
    w_values = grid.values(meta["critical_disorder"])
    curves = []
    for model in models:
        params = meta["model_params"] if model == meta["model"] else {}
        physics = get_model(model, **params)
        for energy in map(float, energies):
            data = sets.grid(model, energy, w_values, grid.states_per_w, params)
            p = predict(classifier, data, accelerator)
            curves.append(
                TransitionCurve(
                    model,
                    energy,
                    sets.L,
                    meta["phases"][0],
                    curve(data.W, p),
                    crossing_with_ci(data.W, p, n_bootstrap=n_bootstrap, seed=sets.seed),
                    physics.reference_critical_disorder(energy),
                    float(np.mean(np.abs(data.energies - energy))),
                )
            )
    return curves


def edge_weight(images: np.ndarray, width: int = EDGE_WIDTH) -> np.ndarray:
    """Fraction of |psi|^2 within ``width`` sites of an open boundary, per image: a
    network-free marker of chiral edge states (a bulk state spreads it ~ 4 width / L).
    Square images (n, L, L) only: chiral edges are a 2D notion."""
    if images.ndim != 3:
        raise ValueError(
            f"edge weight: images of shape {images.shape[1:]} are not square (n, L, L) images"
        )
    inner = images[:, width:-width, width:-width].sum(axis=(1, 2))
    return 1.0 - inner / images.sum(axis=(1, 2))


@dataclass(frozen=True)
class GapSweep:
    """Every state in an energy window at one W: its energy, P and edge weight, and P
    averaged in energy bins (``binned.W`` holds the bin centres)."""

    W: float
    energies: np.ndarray
    p: np.ndarray
    edge: np.ndarray
    binned: Curve
    median_edge: np.ndarray
    bulk_edge_weight: float  # the edge weight of a state spread uniformly over the lattice


def gap_sweep(
    classifier: PhaseClassifier, sets: TestSets, cfg: GapSweepConfig, accelerator: str
) -> list[GapSweep]:
    """The letter's Fig. 5b: every state with emin <= E <= emax at a few W, judged by the
    network and, independently, by its weight on the boundary."""
    meta = classifier.meta
    edges = np.linspace(cfg.emin, cfg.emax, cfg.bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    sweeps = []
    for W in map(float, cfg.disorders):
        data = sets.window(
            meta["model"], W, cfg.emin, cfg.emax, cfg.realisations, meta["model_params"]
        )
        images = data.images()
        p, edge = predict(classifier, data, accelerator), edge_weight(images)
        which = np.clip(np.digitize(data.energies, edges) - 1, 0, cfg.bins - 1)
        binned = curve(which, p)
        bins = binned.W.astype(int)
        sweeps.append(
            GapSweep(
                W,
                data.energies,
                p,
                edge,
                Curve(centres[bins], binned.mean, binned.sem, binned.count),
                np.array([np.median(edge[which == b]) for b in bins]),
                1.0 - (sets.L - 2 * EDGE_WIDTH) ** 2 / sets.L**2,
            )
        )
    return sweeps

"""Phase diagrams (Ohtsuki & Mano, JPSJ 89, 022001 (2020)): the network's P(weak-disorder
phase) over an (E, W) grid, and its P = 1/2 contour.

The map is the stack of transition curves P(W), one per energy, on one absolute W grid: the
states at each energy are :func:`qpt.evaluation.evaluate.transition_curves`' (a W grid of
the test sets, cached like any other), and the contour at each energy is that curve's 50%
crossing with its bootstrap interval (:func:`qpt.evaluation.curves.crossing_with_ci`), not a
contour of the raw map: the crossing estimator is the one every other result of qpt uses.
Beside it, the model's literature critical points, and optionally points measured by other
means (``compare_points``: qpt's transfer-matrix mobility edge for the 3D model), each set
kept apart. Computation only; :mod:`qpt.reporting` writes, draws and logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qpt.data.config import TestGrid
from qpt.data.testsets import TestSets
from qpt.evaluation.config import PhaseDiagramConfig
from qpt.evaluation.evaluate import TransitionCurve, transition_curves
from qpt.models.module import PhaseClassifier
from qpt.physics import LatticeModel, get_model


@dataclass(frozen=True)
class PhaseDiagram:
    """P on an (energy, W) grid: arrays of shape (len(energies), len(W)); the contour W_half
    (with its 95% interval lo, hi) per energy, NaN where P never falls through 1/2."""

    model: str
    L: int
    phase: str
    trained_on: str
    train_energy: float
    energies: np.ndarray
    W: np.ndarray
    p: np.ndarray
    sem: np.ndarray
    count: np.ndarray
    W_half: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    #: literature critical points (E, W_c) of the model, all of them (also outside the grid)
    reference: tuple[tuple[float, float], ...]
    reference_source: str
    #: critical points measured by other means, (E, W_c, lo, hi), and how (empty: none)
    compared: tuple[tuple[float, float, float, float], ...] = ()
    compared_source: str = ""

    def reference_at(self, energy: float) -> float | None:
        """The literature W_c at a grid energy, if the model tabulates one there."""
        return next((wc for e, wc in self.reference if np.isclose(e, energy)), None)

    def compared_at(self, energy: float) -> tuple[float, float, float] | None:
        """The compared (W_c, lo, hi) at a grid energy, if there is one."""
        return next((tuple(p[1:]) for p in self.compared if np.isclose(p[0], energy)), None)


def grid_of(cfg: PhaseDiagramConfig) -> TestGrid:
    """The diagram's states as a test grid: absolute W, the same at every energy."""
    return TestGrid(
        energies=list(cfg.energies),
        w_min=cfg.w_min,
        w_max=cfg.w_max,
        relative=False,
        n_w=cfg.n_w,
        states_per_w=cfg.states_per_point,
    )


def stack(
    curves: Sequence[TransitionCurve],
    physics: LatticeModel,
    trained_on: str,
    train_energy: float,
    compared: Sequence[Sequence[float]] = (),
    compared_source: str = "",
) -> PhaseDiagram:
    """The transition curves of one model at several energies (same W grid) as one diagram,
    with the model's literature critical points and the ``compared`` (E, W_c, lo, hi) beside."""
    curves = sorted(curves, key=lambda t: t.energy)
    W = curves[0].curve.W
    if any(len(t.curve.W) != len(W) or not np.allclose(t.curve.W, W) for t in curves):
        raise ValueError("a phase diagram needs the same W grid at every energy")
    if len({t.model for t in curves}) != 1:
        raise ValueError("a phase diagram is of one model")
    rows = {k: np.array([getattr(t.curve, k) for t in curves]) for k in ("mean", "sem", "count")}
    cross = {k: np.array([getattr(t.crossing, k) for t in curves]) for k in ("W", "lo", "hi")}
    return PhaseDiagram(
        model=curves[0].model,
        L=curves[0].L,
        phase=curves[0].phase,
        trained_on=trained_on,
        train_energy=float(train_energy),
        energies=np.array([t.energy for t in curves]),
        W=np.asarray(W, float),
        p=rows["mean"],
        sem=rows["sem"],
        count=rows["count"],
        W_half=cross["W"],
        lo=cross["lo"],
        hi=cross["hi"],
        reference=tuple(
            sorted((float(e), float(w)) for e, w in physics.critical_disorders.items())
        ),
        reference_source=physics.critical_disorder_source,
        compared=tuple(sorted(tuple(map(float, p)) for p in compared)),
        compared_source=compared_source,
    )


def phase_diagram(
    classifier: PhaseClassifier,
    sets: TestSets,
    cfg: PhaseDiagramConfig,
    *,
    model: str,
    n_bootstrap: int,
    accelerator: str,
) -> PhaseDiagram:
    """The classifier's P over ``cfg``'s (E, W) grid for ``model``, with the model's literature
    critical points and ``cfg.compare_points`` beside (drawn for comparison, never used)."""
    curves = transition_curves(
        classifier,
        sets,
        grid_of(cfg),
        models=[model],
        energies=cfg.energies,
        n_bootstrap=n_bootstrap,
        accelerator=accelerator,
    )
    meta = classifier.meta
    # the table of critical points is the model class's, whatever its parameters
    compared = (cfg.compare_points, cfg.compare_source)
    return stack(curves, get_model(model), meta["model"], meta["train_energy"], *compared)

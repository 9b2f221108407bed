"""The states a trained network judges: W grids for transition curves, energy windows for the
letter's gap sweep. Both use seed streams of their own ("test", "window"), disjoint from
training, and grid states are cached like training states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qpt.data.cache import LoadedEnsemble
from qpt.data.config import DataConfig
from qpt.data.ensemble import grid_ensemble
from qpt.data.generation import generate_window


@dataclass(frozen=True)
class TestSets:
    """Test states of L x L lattices drawn from ``seed``, cached as ``data`` says."""

    __test__ = False  # not a pytest class

    L: int
    seed: int
    data: DataConfig

    def grid(
        self,
        model: str,
        energy: float,
        w_values: Sequence[float],
        states_per_w: int,
        params: dict[str, Any],
    ) -> LoadedEnsemble:
        """``states_per_w`` eigenstates nearest ``energy`` at each W (labelled by the model's
        literature W_c where it has one, -1 elsewhere)."""
        ensemble = grid_ensemble(
            model, self.L, energy, [float(w) for w in w_values], seed=self.seed, params=params
        )
        return self.data.load(ensemble, states_per_w * ensemble.n_slots)

    def window(
        self,
        model: str,
        W: float,
        emin: float,
        emax: float,
        realisations: int,
        params: dict[str, Any],
    ) -> LoadedEnsemble:
        """Every eigenstate with emin <= E <= emax of ``realisations`` samples at disorder W."""
        ensemble = grid_ensemble(
            model, self.L, (emin + emax) / 2, [W], seed=self.seed, params=params, stream="window"
        )
        images, info = generate_window(ensemble, emin, emax, realisations)
        return LoadedEnsemble([images], info, max(1, len(info)))

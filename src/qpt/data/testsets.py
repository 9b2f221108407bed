"""The states a trained network judges, and the spectra of the network-free routes: W grids
for transition curves, energy windows for the letter's gap sweep, levels for level
statistics. Each uses a seed stream of its own ("test", "window", "levels"), disjoint from
training; grids and levels are cached like training states."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qpt.data.cache import LoadedEnsemble
from qpt.data.config import DataConfig
from qpt.data.ensemble import Ensemble, grid_ensemble
from qpt.data.generation import generate_window


@dataclass(frozen=True)
class TestSets:
    """Test states of lattices of side L (square or cubic, as the model) drawn from
    ``seed``, cached as ``data`` says."""

    __test__ = False  # not a pytest class

    L: int
    seed: int
    data: DataConfig

    def grid_ensemble(
        self,
        model: str,
        energy: float,
        w_values: Sequence[float],
        params: dict[str, Any],
        levels: int = 0,
    ) -> Ensemble:
        """A W grid of this size: eigenstates nearest ``energy`` (seed stream "test"; labelled
        by the model's literature W_c where it has one, -1 elsewhere), or with ``levels`` the
        distinct eigenvalues nearest it (seed stream "levels")."""
        stream = "levels" if levels else "test"
        ensemble = grid_ensemble(
            model, self.L, energy, w_values, seed=self.seed, params=params, stream=stream
        )
        return dataclasses.replace(ensemble, levels=levels)

    def grid(
        self,
        model: str,
        energy: float,
        w_values: Sequence[float],
        states_per_w: int,
        params: dict[str, Any],
    ) -> LoadedEnsemble:
        """``states_per_w`` eigenstates nearest ``energy`` at each W."""
        return self.data.load(
            self.grid_ensemble(model, energy, w_values, params), states_per_w * len(w_values)
        )

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

"""Data layer: reproducible eigenstate ensembles, their generation and disk cache.

This package imports no torch; the Lightning pieces live in :mod:`qpt.data.datamodule`.
"""

from qpt.data.cache import EnsembleCache, LoadedEnsemble, clear_caches, list_caches
from qpt.data.ensemble import Ensemble, grid_ensemble, training_ensemble
from qpt.data.generation import generate_range, generate_state

__all__ = [
    "Ensemble",
    "EnsembleCache",
    "LoadedEnsemble",
    "clear_caches",
    "generate_range",
    "generate_state",
    "grid_ensemble",
    "list_caches",
    "training_ensemble",
]

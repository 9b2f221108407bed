"""Reproducible, indexable eigenstate ensembles.

An :class:`Ensemble` maps a state index i to everything that determines state i: its
disorder W (drawn uniformly from the range of slot ``i % n_slots``), its label and its
Hamiltonian seed. Seeds come from ``SeedSequence(base_seed, spawn_key=(model, stream, i))``,
so state i never depends on how many states are requested: a larger dataset contains the
smaller one unchanged, and the same ensemble and seed give bit-identical states.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from qpt.physics import PHYSICS_VERSION, get_model

#: bump when the layout of generated data changes (part of every cache key)
DATA_FORMAT_VERSION = "1"
UNKNOWN_LABEL = -1


def _stable_int(text: str) -> int:
    return zlib.crc32(text.encode())


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """State i: W uniform on ``w_ranges[i % n]``, label ``labels[i % n]``, its own seed."""

    model: str
    L: int
    energy: float
    w_ranges: tuple[tuple[float, float], ...]
    labels: tuple[int, ...]
    seed: int
    stream: str = "train"
    params: tuple[tuple[str, Any], ...] = ()
    #: 0: a state is the eigenfunction image nearest ``energy``; k > 0: the k distinct
    #: eigenvalues nearest it (level statistics), no image
    levels: int = 0

    def __post_init__(self) -> None:
        if len(self.w_ranges) != len(self.labels) or not self.w_ranges:
            raise ValueError("an ensemble needs one label per disorder range")
        for lo, hi in self.w_ranges:
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or lo > hi:
                raise ValueError(f"disorder range [{lo}, {hi}] is invalid (need 0 <= min <= max)")
        # fail fast on unknown models/parameters
        get_model(self.model, **dict(self.params))

    @property
    def n_slots(self) -> int:
        return len(self.w_ranges)

    def state_seed(self, index: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(
            self.seed, spawn_key=(_stable_int(self.model), _stable_int(self.stream), int(index))
        )

    def state(self, index: int) -> tuple[float, int, np.random.SeedSequence]:
        """(W, label, Hamiltonian seed) of state ``index``."""
        w_seed, h_seed = self.state_seed(index).spawn(2)
        lo, hi = self.w_ranges[index % self.n_slots]
        W = lo if lo == hi else float(np.random.default_rng(w_seed).uniform(lo, hi))
        return W, self.labels[index % self.n_slots], h_seed

    @property
    def dimension(self) -> int:
        """The model's lattice dimension (from the registry: not part of the key, which the
        model's name already fixes)."""
        return get_model(self.model, **dict(self.params)).dimension

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """(levels,), or the image: (L, L), or (L, L, L) for a cubic lattice."""
        return (self.levels,) if self.levels else (self.L,) * self.dimension

    @property
    def sample_dtype(self) -> type:
        return np.float64 if self.levels else np.float32

    def describe(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        if not self.levels:  # image ensembles keep the keys they had before levels existed
            del fields["levels"]
        versions = {"physics_version": PHYSICS_VERSION, "data_format_version": DATA_FORMAT_VERSION}
        return fields | {"params": dict(self.params)} | versions

    def key(self) -> str:
        """Hash of everything that determines the data (the count is not part of it)."""
        blob = json.dumps(self.describe(), sort_keys=True, default=float)
        return hashlib.sha256(blob.encode()).hexdigest()


def freeze_params(model: str, params: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """The model's complete parameter set (defaults filled in), so that spelling a default
    out or leaving it implicit gives the same data and the same cache key."""
    return tuple(sorted(get_model(model, **(params or {})).params().items()))


def training_ensemble(
    model: str,
    L: int,
    energy: float,
    phases: Sequence[Sequence[float]],
    *,
    seed: int,
    params: dict[str, Any] | None = None,
    stream: str = "train",
) -> Ensemble:
    """Two phases, alternating: even indices W uniform on ``phases[0]`` (label 0, the
    weak-disorder phase), odd ones on ``phases[1]`` (label 1). Absolute W: nothing here
    needs the model's critical disorder (:func:`relative_phases` scales ranges by it)."""
    (lo0, hi0), (lo1, hi1) = phases
    if not 0 <= lo0 <= hi0 <= lo1 <= hi1:
        raise ValueError(
            f"training disorder: phases {[list(p) for p in phases]} must be two ranges "
            "0 <= min <= max, the weak-disorder one first, not overlapping"
        )
    ranges = ((float(lo0), float(hi0)), (float(lo1), float(hi1)))
    frozen = freeze_params(model, params)
    return Ensemble(model, L, float(energy), ranges, (0, 1), seed, stream, frozen)


def relative_phases(phases: Sequence[Sequence[float]], wc: float) -> list[list[float]]:
    """Ranges given in units of W_c (the letter: [[1/50, 1], [1, 2]]) as absolute W."""
    return [[lo * wc, hi * wc] for lo, hi in phases]


def grid_ensemble(
    model: str,
    L: int,
    energy: float,
    w_values: Sequence[float],
    *,
    seed: int,
    params: dict[str, Any] | None = None,
    stream: str = "test",
) -> Ensemble:
    """A W grid for transition curves: state i has W = w_values[i % n]. Labels follow the
    model's literature W_c at ``energy``, -1 where it has none."""
    if len(w_values) == 0:
        raise ValueError("test grid: need at least one disorder value")
    wc = get_model(model, **(params or {})).reference_critical_disorder(energy)
    labels = tuple(UNKNOWN_LABEL if wc is None else int(w > wc) for w in w_values)
    ranges, frozen = tuple((float(w), float(w)) for w in w_values), freeze_params(model, params)
    return Ensemble(model, L, float(energy), ranges, labels, seed, stream, frozen)

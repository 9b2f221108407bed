"""Typed configs of the data layer (``conf/data``, ``conf/disorder``); ranges in :mod:`qpt.schema`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qpt.data.cache import EnsembleCache, LoadedEnsemble
from qpt.data.ensemble import Ensemble
from qpt.schema import above, at_least, between, nonempty, one_of, writable_dir


@dataclass
class TrainDisorder:
    """Training states at ``energy``: W uniform on ``phases[0]`` (label 0, the weak-disorder
    phase) and on ``phases[1]`` (label 1). With ``relative`` the ranges are multiples of the
    model's literature W_c there (the letter's setup); otherwise absolute W, and no W_c is
    needed: the way to train on a transition nobody has tabulated."""

    energy: float
    phases: list[list[float]]
    relative: bool
    states_per_phase: int = at_least(1)

    def validate(self, prefix: str = "") -> None:
        ok = len(self.phases) == 2 and all(len(p) == 2 for p in self.phases)
        if (
            not ok
            or not 0
            <= self.phases[0][0]
            <= self.phases[0][1]
            <= self.phases[1][0]
            <= self.phases[1][1]
        ):
            raise ValueError(
                f"{prefix}phases={self.phases} must be two ranges [min, max] >= 0, the "
                "weak-disorder phase first, not overlapping"
            )


@dataclass
class TestGrid:
    """Transition curves: ``n_w`` values of W from ``w_min`` to ``w_max`` (multiples of the
    training W_c when ``relative``), ``states_per_w`` eigenstates at each, per energy."""

    __test__ = False  # not a pytest class

    energies: list[float] = nonempty()
    w_min: float = at_least(0)
    w_max: float = above(0)
    relative: bool
    n_w: int = at_least(2)
    states_per_w: int = at_least(1)

    def validate(self, prefix: str = "") -> None:
        if self.w_min >= self.w_max:
            raise ValueError(f"{prefix}w_min={self.w_min} must be < {prefix}w_max={self.w_max}")

    def values(self, wc_train: float | None) -> np.ndarray:
        """The W values; a relative grid needs the W_c its network was trained around."""
        if self.relative and wc_train is None:
            raise ValueError(
                "a relative test grid (disorder.test.relative=true) needs the training W_c; "
                "this network was trained without one: give absolute W (disorder=ranges)"
            )
        scale = wc_train if self.relative else 1.0
        return np.linspace(self.w_min * scale, self.w_max * scale, self.n_w)


@dataclass
class DisorderConfig:
    train: TrainDisorder
    test: TestGrid


INPUT_SCALES = ("area", "none")


def input_scale(L: int, mode: str, dimension: int) -> float:
    """|psi|^2 averages 1/L^d over the L^d sites, far below image scale. The letter scaled the
    first layer's initial weights by 100; multiplying the image by the number of sites L^d
    ("area": L^2 for a square image, L^3 for a cube; mean 1) is the input-side equivalent and
    is independent of L."""
    if mode not in INPUT_SCALES:
        raise ValueError(f"unknown input_scale {mode!r}; expected one of {INPUT_SCALES}")
    return float(L**dimension) if mode == "area" else 1.0


@dataclass
class DataConfig:
    """Where states come from (disk cache or generated on the fly) and how they are served."""

    mode: str = one_of(("cache", "on_the_fly"))
    cache_dir: str = writable_dir()
    shard_size: int = at_least(1)  # part of the cache layout
    gen_workers: int | None = at_least(1)  # None: one generation process per core
    shard_index: int = at_least(0)  # generate only shards s with s % shard_count == index
    shard_count: int = at_least(1)
    generate_only: bool
    progress: bool
    batch_size: int = at_least(1)
    num_workers: int = at_least(0)
    val_fraction: float = between(0, 1)
    input_scale: str = one_of(INPUT_SCALES)
    coarse_grain: int | None = at_least(1)  # n: the network sees n^d box weights

    def validate(self, prefix: str = "") -> None:
        if self.shard_index >= self.shard_count:
            raise ValueError(
                f"{prefix}shard_index={self.shard_index} must be < {prefix}shard_count={self.shard_count}"
            )

    def cache(self, ensemble: Ensemble) -> EnsembleCache:
        return EnsembleCache(self.cache_dir, ensemble, self.shard_size)

    def ensure(self, ensemble: Ensemble, n_states: int) -> None:
        """Generate this job's missing shards of states 0 .. n-1 (all of them, unless the job
        is one of a cluster array that splits them)."""
        self.cache(ensemble).ensure(
            n_states,
            workers=self.gen_workers,
            shard_index=self.shard_index,
            shard_count=self.shard_count,
            progress=self.progress,
        )

    def load(self, ensemble: Ensemble, n_states: int) -> LoadedEnsemble:
        """States 0 .. n-1, generated first where the cache lacks them."""
        return self.cache(ensemble).get(n_states, workers=self.gen_workers, progress=self.progress)

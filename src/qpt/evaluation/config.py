"""Typed configs of the evaluation layer (``evaluation:`` and ``fss:``); ranges in :mod:`qpt.schema`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qpt.evaluation.scaling import LINKS
from qpt.physics.lattice import BOUNDARIES
from qpt.schema import above, at_least, between, each_at_least, nonempty, one_of


@dataclass
class GapSweepConfig:
    """The letter's Fig. 5b: every state with emin <= E <= emax at each W (none: no sweep),
    P averaged in ``bins`` energy bins."""

    disorders: list[float] = each_at_least(0)
    emin: float
    emax: float
    realisations: int = at_least(1)
    bins: int = at_least(1)

    def validate(self, prefix: str = "") -> None:
        if not self.emin < self.emax:
            raise ValueError(f"{prefix}emin={self.emin} must be < {prefix}emax={self.emax}")


@dataclass
class WGrid:
    """``n_w`` absolute values of W from ``w_min`` to ``w_max``."""

    w_min: float = at_least(0)
    w_max: float = above(0)
    n_w: int = at_least(2)

    def validate(self, prefix: str = "") -> None:
        if self.w_min >= self.w_max:
            raise ValueError(f"{prefix}w_min={self.w_min} must be < {prefix}w_max={self.w_max}")

    def values(self) -> list[float]:
        return [float(w) for w in np.linspace(self.w_min, self.w_max, self.n_w)]


@dataclass
class PhaseDiagramConfig(WGrid):
    """P(weak-disorder phase) over an (E, W) grid (:mod:`qpt.evaluation.phase_diagram`): at
    each energy the W grid (``n_w`` absolute W from ``w_min`` to ``w_max``),
    ``states_per_point`` each; no energies, no map."""

    energies: list[float]
    states_per_point: int = at_least(1)
    #: critical points measured by other means, [E, W_c, lo, hi] rows, drawn on the map and
    #: compared with its contour beside the literature's (e.g. qpt's transfer-matrix mobility
    #: edge where the literature has none to quote); ``compare_source`` says how they were had
    compare_points: list[list[float]]
    compare_source: str

    def validate(self, prefix: str = "") -> None:
        super().validate(prefix)
        if sorted(set(self.energies)) != self.energies:
            raise ValueError(f"{prefix}energies={self.energies} must increase (the map's axis)")
        for row in self.compare_points:
            if len(row) != 4 or not row[2] <= row[1] <= row[3]:
                raise ValueError(
                    f"{prefix}compare_points: row {row} is not [E, W_c, lo, hi], lo <= W_c <= hi"
                )
        if self.compare_points and not self.compare_source:
            raise ValueError(f"{prefix}compare_points need a {prefix}compare_source")


@dataclass
class EvaluationConfig:
    """What a trained network is asked after training (or by evaluate.py)."""

    energies: list[float] | None = nonempty()  # None: the test grid's energies
    transfer_models: list[str]  # other models of the training model's class to judge
    n_bootstrap: int = at_least(1)  # resamples for each crossing's interval
    gap_sweep: GapSweepConfig
    sizes: list[int] | None = each_at_least(8)  # size-agnostic nets: judge these L, fit FSS
    sample_images: int = at_least(0)  # training eigenfunctions drawn per phase
    phase_diagram: PhaseDiagramConfig  # energies [] (the default): no (E, W) map


@dataclass
class FSSConfig:
    """Finite-size scaling P(W, L) = f((W - W_c) L^(1/nu)), f a polynomial of ``order``
    (through the logistic link with ``link: logit``), fitted to |P - 1/2| < ``window``."""

    order: int = at_least(1)
    window: float = between(0, 0.5)
    nu0: float = above(0)
    link: str = one_of(("identity", "logit"))


@dataclass
class ScalingFormConfig:
    """The scaling form fitted (:mod:`qpt.evaluation.scaling`)."""

    order: int = at_least(1)
    # logit: a probability; bounded: from a fitted plateau to ``floor`` (<r>: Poisson's 0.3863)
    link: str = one_of(LINKS)
    floor: float | None  # the bounded link's fixed end; None with the other links
    irrelevant: bool  # fit the leading correction b L^(-y) too
    exponent: float | None  # that correction's y, fixed (an open edge: 1); None: fitted
    # what the sizes show at W_c (scaling.signature_z): curves that cross, or a peak that
    # narrows (a transition between two insulators, e.g. <r> of the Chern model at E = 0)
    signature: str = one_of(("crossing", "peak"))
    # fit only the points whose mean lies above this (a peak's top: the same range of the
    # scaling variable at every L, where a polynomial F holds); None: every point
    keep_above: float | None

    def validate(self, prefix: str = "") -> None:
        if (self.link == "bounded") != (self.floor is not None):
            raise ValueError(
                f"{prefix}floor={self.floor}: the fixed end of link=bounded, and only of it "
                f"({prefix}link={self.link})"
            )
        if self.exponent is not None and not (self.irrelevant and self.exponent > 0):
            raise ValueError(
                f"{prefix}exponent={self.exponent}: the fixed y > 0 of the correction, with "
                f"{prefix}irrelevant=true only (irrelevant={self.irrelevant})"
            )


@dataclass
class NetworkRoute:
    """One network judges every size (box weights, ``data.coarse_grain``), trained on the
    ranges ``disorder.train.phases`` of all sizes; ``replicas`` networks (seeds) averaged.
    W_c: the ``scaling`` fit to all sizes, or the ``peak_position`` of the largest size's
    curve (:mod:`qpt.evaluation.peak`: no nu; for curves that peak but do not scale)."""

    states_per_w: int = at_least(2)
    replicas: int = at_least(1)
    # shared: every replica learns all training states; split: replica r learns the training
    # states r, r + replicas, ... of each size, so the replicas are independent draws of
    # training states and the bootstrap over them holds that draw; on the Ando model a cubic
    # F misfits such networks, so the default stays shared (docs/DISCOVERY.md, Ando)
    replica_states: str = one_of(("shared", "split"))
    estimator: str = one_of(("scaling", "peak_position"))
    scaling: ScalingFormConfig
    # one per size of ``discover.sizes``, in place of ``states_per_w``: the largest size's
    # states cost most (L = 96's grid was a third of discover_su2), so it may get fewer, the
    # first of the same ensemble; None: ``states_per_w`` at every size
    states_per_w_by_size: list[int] | None = each_at_least(2)

    def states_at(self, sizes: list[int], L: int) -> int:
        """The states a W point of the grid gets at size L (one of ``sizes``)."""
        if self.states_per_w_by_size is None:
            return self.states_per_w
        return self.states_per_w_by_size[sizes.index(L)]


@dataclass
class ConfusionRoute:
    """Learning by confusion on the grid's states: ``replicas`` networks per trial boundary
    (the midpoints between grid values), each trained ``epochs`` epochs. With several
    ``sizes`` one network per trial learns the states of all of them together (box weights
    only), on the hope that only a boundary at W_c suits every size, as the network route's
    curves cross there; on SU(2) that pull proved too weak to set the maximum
    (docs/DISCOVERY.md). With ``draws`` > 1 the route is repeated on that many independent
    draws of ``states_per_w`` states (the first is the single route's) and W_c is the mean of
    their maxima, with a Student-t interval over them (``qpt.evaluation.confusion``). With
    ``judging_blocks`` > 0 every draw's networks are also judged on that many independent
    blocks of fresh grid states: a sharper pooled curve, though not a smaller scatter of the
    draws' maxima, which their training states set (docs/DISCOVERY.md). The trials are
    learned side by side in ``workers`` processes, with the same outcome as in one."""

    sizes: list[int] = each_at_least(8)
    states_per_w: int = at_least(1)  # states at each W of the discovery grid, at every size
    replicas: int = at_least(1)
    epochs: int = at_least(1)
    coarse_grain: int | None = at_least(1)  # n: its networks see n^d box weights; None: images
    draws: int = at_least(1)  # independent draws of states, networks and held-out states
    # blocks of states_per_w fresh states a W that each draw's networks judge besides their
    # held-out fifth: trained alike, judged on (1 + 5 x judging_blocks) x the states
    judging_blocks: int = at_least(0)
    # processes training the trial boundaries side by side (None: one per core), each
    # single-threaded; the outcome is the same to the last bit with any number
    workers: int | None = at_least(1)

    def validate(self, prefix: str = "") -> None:
        if not self.sizes:
            raise ValueError(f"{prefix}sizes: empty; give at least one lattice size")
        if len(set(self.sizes)) != len(self.sizes):
            raise ValueError(f"{prefix}sizes={self.sizes}: a size appears twice")
        if self.coarse_grain is None and len(self.sizes) > 1:
            raise ValueError(
                f"{prefix}sizes={self.sizes}: one network judges several sizes only on box "
                "weights; set coarse_grain"
            )
        for L in self.sizes:
            if self.coarse_grain and L % self.coarse_grain:
                raise ValueError(
                    f"{prefix}coarse_grain={self.coarse_grain}: L={L} is no multiple of it"
                )


@dataclass
class LevelRoute:
    """Level statistics: the mean gap ratio <r> of the ``levels`` levels nearest E, on
    lattices with ``boundary`` conditions (the critical <r> depends on them, W_c does not)."""

    levels: int = at_least(3)
    realisations: int = at_least(2)
    boundary: str = one_of(BOUNDARIES)
    scaling: ScalingFormConfig
    sizes: list[int] | None = each_at_least(4)  # None: discover.sizes
    # one per size of ``sizes``, in place of ``realisations``: a large size costs more a level
    # set, so it may get fewer (its W points then weigh less in the fit); None: ``realisations``
    realisations_by_size: list[int] | None = each_at_least(2)

    def validate(self, prefix: str = "") -> None:
        by_size = self.realisations_by_size
        if by_size is not None and (self.sizes is None or len(by_size) != len(self.sizes)):
            raise ValueError(
                f"{prefix}realisations_by_size={by_size} needs one count per size of "
                f"{prefix}sizes={self.sizes}"
            )

    def realisations_at(self, L: int) -> int:
        """The realisations a W point gets at size L."""
        if self.realisations_by_size is None:
            return self.realisations
        return self.realisations_by_size[self.sizes.index(L)]


@dataclass
class BottRoute:
    """The disorder-averaged |Bott index| of the occupied states (Chern model) on periodic
    L x L lattices of each of ``sizes`` (dense: L up to ~24), fitted with one-parameter
    scaling like <r>."""

    sizes: list[int] = each_at_least(4)
    realisations: int = at_least(2)
    scaling: ScalingFormConfig
    grid: WGrid | None  # None: discover.grid (the index is 0 or 1 away from W_c: sample there)

    def validate(self, prefix: str = "") -> None:
        if len(self.sizes) < 2 or sorted(set(self.sizes)) != self.sizes:
            raise ValueError(f"{prefix}sizes={self.sizes} must be >= 2 increasing lattice sizes")


@dataclass
class TransferMatrixRoute:
    """Transfer-matrix Lyapunov exponents (3D Anderson, SU(2) and Ando models): one bar of
    ``length`` slices per width M and W of ``grid``, its Gamma = M gamma estimated on
    ``blocks`` pieces."""

    widths: list[int] = each_at_least(3)
    length: int = at_least(16)
    blocks: int = at_least(2)
    scaling: ScalingFormConfig
    grid: WGrid | None  # None: discover.grid (a narrower one keeps the scaling form adequate)

    def validate(self, prefix: str = "") -> None:
        if len(self.widths) < 2 or sorted(set(self.widths)) != self.widths:
            raise ValueError(f"{prefix}widths={self.widths} must be >= 2 increasing bar widths")
        if self.length // self.blocks < 8:
            raise ValueError(
                f"{prefix}length={self.length} is too short for {self.blocks} blocks "
                "(>= 8 slices each)"
            )


@dataclass
class DiscoverConfig:
    """Find a transition from the two W ranges of ``disorder.train.phases`` only: its W_c and
    nu by several independent routes (None: a route is skipped)."""

    sizes: list[int] = each_at_least(8)
    grid: WGrid  # where the scaling routes sample W (absolute)
    n_bootstrap: int = at_least(2)
    network: NetworkRoute | None
    confusion: ConfusionRoute | None
    r: LevelRoute | None
    bott: BottRoute | None
    transfer_matrix: TransferMatrixRoute | None

    def validate(self, prefix: str = "") -> None:
        if len(self.sizes) < 2 or sorted(set(self.sizes)) != self.sizes:
            raise ValueError(f"{prefix}sizes={self.sizes} must be >= 2 increasing lattice sizes")
        by_size = self.network.states_per_w_by_size if self.network else None
        if by_size is not None and len(by_size) != len(self.sizes):
            raise ValueError(
                f"{prefix}network.states_per_w_by_size={by_size} needs one count per size of "
                f"{prefix}sizes={self.sizes}"
            )

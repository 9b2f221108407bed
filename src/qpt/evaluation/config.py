"""Typed configs of the evaluation layer (``evaluation:`` and ``fss:``); ranges in :mod:`qpt.schema`."""

from __future__ import annotations

from dataclasses import dataclass

from qpt.schema import above, at_least, between, each_at_least, nonempty


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
class EvaluationConfig:
    """What a trained network is asked after training (or by evaluate.py)."""

    energies: list[float] | None = nonempty()  # None: the test grid's energies
    transfer_models: list[str]  # other models of the training model's class to judge
    n_bootstrap: int = at_least(1)  # resamples for each crossing's interval
    gap_sweep: GapSweepConfig
    sizes: list[int] | None = each_at_least(8)  # size-agnostic nets: judge these L, fit FSS
    sample_images: int = at_least(0)  # training eigenfunctions drawn per phase


@dataclass
class LocatorConfig:
    """Non-ML locators at the same sizes: <r> and IPR on a W grid (multiples of W_c), and the
    Chern model's Bott index on a periodic ``bott_L`` lattice (None: not computed)."""

    w_min: float = at_least(0)
    w_max: float = above(0)
    n_w: int = at_least(2)
    realisations: int = at_least(0)  # 0: no locators
    levels: int = at_least(3)
    bott_L: int | None = at_least(4)
    bott_realisations: int = at_least(0)


@dataclass
class FSSConfig:
    """Finite-size scaling P(W, L) = f((W - W_c) L^(1/nu)), f a polynomial of ``order``,
    fitted to the points with |P - 1/2| < ``window``."""

    order: int = at_least(1)
    window: float = between(0, 0.5)
    nu0: float = above(0)
    reference_nu: float | None
    locators: LocatorConfig

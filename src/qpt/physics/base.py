"""The interface every lattice model implements, and the model registry.

A model is a frozen dataclass whose fields are its physical parameters (with the letter's
values as defaults), plus class-level metadata: symmetry class, the names of its two phases
and the literature critical disorder by energy. Adding a model is one new module that
subclasses :class:`LatticeModel` and decorates it with :func:`register`.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from qpt.physics.eigensolver import spectral_bounds
from qpt.physics.lattice import MIN_L, check_boundary

_REGISTRY: dict[str, type[LatticeModel]] = {}
#: the localization-length exponent nu by symmetry class and dimension (a property of the
#: universality class, not of a model), with its source: for comparison only
CRITICAL_EXPONENTS: dict[tuple[str, int], tuple[float, str]] = {
    ("AII", 2): (2.73, "Asada, Slevin & Ohtsuki, PRB 70, 035115 (2004): nu = 2.73 +- 0.02"),
    ("A", 2): (2.593, "Slevin & Ohtsuki, PRB 80, 041304(R) (2009): nu = 2.593 [2.587, 2.598]"),
    ("AI", 3): (
        1.572,
        "Slevin & Ohtsuki, New J. Phys. 16, 015012 (2014): nu = 1.572 [1.563, 1.579]",
    ),
}


@dataclasses.dataclass(frozen=True)
class LatticeModel(ABC):
    """A random lattice Hamiltonian on an L x L square lattice (basis ``2*(x + L*y) + a``), or
    on an L x L x L cubic one (``dimension = 3``, one state per site: ``x + L*y + L^2*z``)."""

    name: ClassVar[str]
    symmetry_class: ClassVar[str]
    #: spatial dimension: 2 (square lattice) or 3 (cubic lattice)
    dimension: ClassVar[int] = 2
    #: internal states (spin, orbital) per site
    orbitals: ClassVar[int] = 2
    #: (phase for W < W_c, phase for W > W_c); label 0 is the first, label 1 the second.
    phases: ClassVar[tuple[str, str]]
    #: literature critical disorder W_c by energy E (empty if unknown)
    critical_disorders: ClassVar[Mapping[float, float]] = {}
    #: where the critical disorders come from
    critical_disorder_source: ClassVar[str] = ""

    boundary: str = "periodic"

    def __post_init__(self) -> None:
        check_boundary(self.boundary)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{self.name}: parameter {f.name}={value!r} is not finite")

    @abstractmethod
    def _build(self, L: int, W: float, rng: np.random.Generator) -> sp.csr_matrix:
        """Assemble the matrix; inputs are already validated."""

    def hamiltonian(self, L: int, W: float, seed: int | np.random.SeedSequence) -> sp.csr_matrix:
        """The Hamiltonian for one disorder realisation (``seed`` fixes it completely), of
        dimension ``orbitals * L**dimension``."""
        L, W = check_size(L), check_disorder(W)
        return self._build(L, W, np.random.default_rng(seed))

    def check_energy(self, energy: float, L: int, W: float, name: str) -> None:
        """Refuse a target ``energy`` (the config key ``name``) that has no eigenstates at
        disorder ``W`` on an L x L lattice: outside the Gershgorin bounds of one realisation
        (seed 0), the bounds the eigensolver holds every realisation's target to. Checked
        before any state is drawn; only the few extreme sites of a realisation move them."""
        lo, hi = spectral_bounds(self.hamiltonian(L, W, 0))
        if not (math.isfinite(energy) and lo <= energy <= hi):
            raise ValueError(
                f"{name}: E={energy!r} lies outside the {self.name} spectrum at W={W:.4g} "
                f"(L={L}: [{lo:.4g}, {hi:.4g}])"
            )

    @property
    def center_image(self) -> bool:
        """Periodic lattices have no preferred origin: images are centred on their maximum.
        With open boundaries the distance to the edge is the signal, so nothing is shifted."""
        return self.boundary == "periodic"

    def critical_disorder(self, energy: float) -> float:
        """Literature W_c at ``energy``; ``ValueError`` if the model has no value there."""
        for e, wc in self.critical_disorders.items():
            if math.isclose(e, energy, abs_tol=1e-9):
                return wc
        known = sorted(self.critical_disorders) or "none"
        raise ValueError(
            f"{self.name}: no known critical disorder at energy {energy!r} (known energies: {known})"
        )

    def reference_critical_disorder(self, energy: float) -> float | None:
        """Literature W_c at ``energy``, or None where the model has none."""
        try:
            return self.critical_disorder(energy)
        except ValueError:
            return None

    @property
    def critical_exponent(self) -> float | None:
        """Literature nu of the model's universality class, or None."""
        return CRITICAL_EXPONENTS.get((self.symmetry_class, self.dimension), (None, ""))[0]

    def phase_label(self, W: float, energy: float) -> int:
        """0 for the weak-disorder phase (W < W_c), 1 for the strong-disorder phase."""
        return int(W > self.critical_disorder(energy))

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def register(cls: type[LatticeModel]) -> type[LatticeModel]:
    """Class decorator adding a model to the registry under ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"model name {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_models() -> list[str]:
    return sorted(_REGISTRY)


def get_model(name: str, **params: Any) -> LatticeModel:
    """Instantiate a registered model by name, overriding its default parameters."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {available_models()}") from None
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for model {name!r}; known: {sorted(fields)}"
        )
    return cls(**params)


def check_size(L: Any) -> int:
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < MIN_L:
        raise ValueError(f"lattice size L={L!r} must be an integer >= {MIN_L}")
    return int(L)


def check_disorder(W: Any) -> float:
    try:
        value = float(W)
    except (TypeError, ValueError):
        raise ValueError(f"disorder W={W!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"disorder W={W!r} must be finite and >= 0")
    return value

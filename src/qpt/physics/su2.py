"""SU(2) model: 2D symplectic class (AII), Anderson metal-insulator transition.

    H = sum_{i,s} eps_i c+_{is} c_{is} - sum_{<i,j>,s,t} R(i,j)_{st} c+_{is} c_{jt}

with an independent Haar-random SU(2) matrix R on every nearest-neighbour bond and box
disorder eps_i on [-W/2, W/2] (Asada, Slevin & Ohtsuki, PRL 89, 256601 (2002)).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from qpt.physics.base import LatticeModel, register
from qpt.physics.lattice import assemble, bonds


def haar_su2(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Haar-random SU(2) matrices, shape (n, 2, 2).

    R = [[e^{ia} cos b, e^{ig} sin b], [-e^{-ig} sin b, e^{-ia} cos b]] with a, g uniform on
    [0, 2 pi) and b of density sin(2b) on [0, pi/2], sampled as b = arcsin(sqrt(u)).
    """
    alpha, gamma = rng.uniform(0.0, 2 * np.pi, size=(2, n))
    beta = np.arcsin(np.sqrt(rng.uniform(0.0, 1.0, size=n)))
    return su2_matrices(alpha, gamma, beta)


def su2_matrices(alpha: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """The SU(2) matrices of the angles above (any shape s): shape s + (2, 2)."""
    R = np.empty((*np.shape(alpha), 2, 2), dtype=complex)
    R[..., 0, 0] = np.exp(1j * alpha) * np.cos(beta)
    R[..., 0, 1] = np.exp(1j * gamma) * np.sin(beta)
    R[..., 1, 0] = -np.exp(-1j * gamma) * np.sin(beta)
    R[..., 1, 1] = np.exp(-1j * alpha) * np.cos(beta)
    return R


def spin_degenerate_onsite(rng: np.random.Generator, n_sites: int, W: float) -> np.ndarray:
    """Box disorder eps_i on [-W/2, W/2], the same for both spin states of a site."""
    return np.repeat(rng.uniform(-W / 2, W / 2, size=n_sites), 2)


@register
@dataclasses.dataclass(frozen=True)
class SU2Model(LatticeModel):
    name = "su2"
    symmetry_class = "AII"
    phases = ("delocalized", "localized")
    critical_disorders: ClassVar[Mapping[float, float]] = {
        0.0: 6.20,
        1.0: 5.953,
        2.0: 5.165,
        3.0: 3.394,
    }
    critical_disorder_source = (
        "finite-size scaling of the quasi-1D localization length: Asada, Slevin & Ohtsuki, "
        "PRL 89, 256601 (2002) and PRB 70, 035115 (2004)"
    )

    #: modulus of the hopping (the energy unit)
    hopping: float = 1.0

    def _build(self, L: int, W: float, rng: np.random.Generator) -> sp.csr_matrix:
        # Draw order (fixed, part of the reproducibility contract): on-site energies,
        # then x-bond matrices, then y-bond matrices.
        onsite = spin_degenerate_onsite(rng, L * L, W)
        hoppings = []
        for direction in ("x", "y"):
            site, neighbour = bonds(L, direction, self.boundary)
            R = haar_su2(rng, site.size)
            # <i| H |i + e_mu> = -t R(i, i + e_mu)
            hoppings.append((neighbour, site, -self.hopping * R))
        return assemble(onsite, hoppings)

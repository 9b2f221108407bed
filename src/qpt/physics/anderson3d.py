"""3D Anderson model: orthogonal class (AI), the Anderson metal-insulator transition.

    H = sum_i eps_i c+_i c_i - t sum_<i,j> (c+_i c_j + c+_j c_i)

on an L x L x L simple cubic lattice, one orbital per site (basis index x + L*y + L^2*z),
nearest-neighbour hopping <i|H|j> = -t with t = 1 (the energy unit), box disorder eps_i on
[-W/2, W/2]. The clean band is E(k) = -2t (cos kx + cos ky + cos kz), |E| <= 6t; the lattice is
bipartite, so the sign of t only mirrors the spectrum, E -> -E, and does not matter at E = 0.
H is real symmetric: the eigensolver works in real arithmetic.

Critical point at E = 0 from transfer-matrix finite-size scaling (Slevin & Ohtsuki, New J.
Phys. 16, 015012 (2014)): W_c = 16.543 [16.51, 16.57], nu = 1.572 [1.563, 1.579]. Extended
states for W < W_c, localized for W > W_c.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from qpt.physics.base import LatticeModel, register
from qpt.physics.lattice import canonical_csr, cubic_bonds


@register
@dataclasses.dataclass(frozen=True)
class Anderson3DModel(LatticeModel):
    name = "anderson3d"
    symmetry_class = "AI"
    dimension = 3
    orbitals = 1
    phases = ("delocalized", "localized")
    critical_disorders: ClassVar[Mapping[float, float]] = {0.0: 16.543}
    critical_disorder_source = (
        "transfer-matrix finite-size scaling: Slevin & Ohtsuki, New J. Phys. 16, 015012 "
        "(2014); W_c = 16.543 [16.51, 16.57]"
    )

    #: modulus of the hopping (the energy unit)
    hopping: float = 1.0

    def _build(self, L: int, W: float, rng: np.random.Generator) -> sp.csr_matrix:
        # Draw order (part of the reproducibility contract): the on-site energies, by site.
        n = L**3
        rows, cols, vals = [np.arange(n)], [np.arange(n)], [rng.uniform(-W / 2, W / 2, size=n)]
        for axis in ("x", "y", "z"):
            site, neighbour = cubic_bonds(L, axis, self.boundary)
            hop = np.full(site.size, -self.hopping)
            rows += [site, neighbour]
            cols += [neighbour, site]
            vals += [hop, hop]
        return canonical_csr(rows, cols, vals, n)

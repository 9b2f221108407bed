"""Two-orbital (s, p = px + i py) Chern insulator: class A, Chern to Anderson insulator.

    H = sum_x [(eps_s + v_s(x)) n_xs + (eps_p + v_p(x)) n_xp]
      + sum_{x, mu} (t_s c+_{x+mu,s} c_{x,s} - t_p c+_{x+mu,p} c_{x,p})
      + sum_x [t_sp (c+_{x+ex,p} - c+_{x-ex,p}) c_{x,s}
               - i t_sp (c+_{x+ey,p} - c+_{x-ey,p}) c_{x,s}] + h.c.

Hopping blocks <x + e_mu, a| H |x, b> in the basis (s, p):
    T_x = [[t_s, -t_sp], [t_sp, -t_p]],   T_y = [[t_s, -i t_sp], [-i t_sp, -t_p]].
Energy unit 4 t_s = 1. The clean bulk gap is |E| < 0.5; with open (fixed) boundaries,
the default, chiral edge states fill it in the topological phase.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from qpt.physics.base import LatticeModel, register
from qpt.physics.lattice import assemble, bonds


@register
@dataclasses.dataclass(frozen=True)
class ChernModel(LatticeModel):
    name = "chern"
    symmetry_class = "A"
    phases = ("topological", "trivial")
    critical_disorders: ClassVar[Mapping[float, float]] = {0.0: 3.25}
    critical_disorder_source = (
        "Kobayashi, Ohtsuki & Imura, PRL 110, 236803 (2013); W_c = 3.25 +- 0.1"
    )

    boundary: str = "open"
    t_s: float = 0.25
    t_p: float = 0.25
    t_sp: float = 1.0 / 3.0
    eps_s: float = -0.5
    eps_p: float = 0.5

    def bloch_hamiltonian(self, kx: float, ky: float) -> np.ndarray:
        """Clean 2x2 Bloch Hamiltonian H(k) = D + sum_mu (T_mu e^{-i k_mu} + h.c.)."""
        H = np.diag([self.eps_s, self.eps_p]).astype(complex)
        for k, T in zip((kx, ky), self.hopping_blocks().values(), strict=True):
            H += T * np.exp(-1j * k) + T.conj().T * np.exp(1j * k)
        return H

    def bulk_gap(self, n_k: int = 128) -> float:
        """Half-width E_g of the clean bulk gap, min_k |E(k)| on an n_k x n_k grid (k = 0
        included, where the default parameters have their gap edge E_g = 0.5)."""
        k = 2 * np.pi * np.arange(n_k) / n_k
        energies = [np.linalg.eigvalsh(self.bloch_hamiltonian(kx, ky)) for kx in k for ky in k]
        return float(np.min(np.abs(energies)))

    def hopping_blocks(self) -> dict[str, np.ndarray]:
        t_s, t_p, t_sp = self.t_s, self.t_p, self.t_sp
        return {
            "x": np.array([[t_s, -t_sp], [t_sp, -t_p]], dtype=complex),
            "y": np.array([[t_s, -1j * t_sp], [-1j * t_sp, -t_p]], dtype=complex),
        }

    def _build(self, L: int, W: float, rng: np.random.Generator) -> sp.csr_matrix:
        # v_s and v_p are independent; drawn as one (n_sites, 2) array, s then p per site.
        disorder = rng.uniform(-W / 2, W / 2, size=(L * L, 2))
        onsite = (np.array([self.eps_s, self.eps_p]) + disorder).ravel()
        hoppings = []
        for direction, T in self.hopping_blocks().items():
            site, neighbour = bonds(L, direction, self.boundary)
            hoppings.append((site, neighbour, np.broadcast_to(T, (site.size, 2, 2))))
        return assemble(onsite, hoppings)

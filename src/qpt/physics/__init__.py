"""Physics layer: random lattice Hamiltonians, their eigenstates and eigenfunction images.

numpy/scipy only (no torch), so it can run in lightweight worker processes.

    H = build_hamiltonian("su2", L=40, W=6.2, seed=1)
    energies, vectors = eigenstates_near(H, energy=0.0, k=1)
    image = density_image(vectors[:, 0], L=40, center=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

# Importing the model modules registers them.
from qpt.physics import anderson3d, ando, chern, su2  # noqa: F401
from qpt.physics.base import LatticeModel, available_models, get_model, register
from qpt.physics.eigensolver import (
    eigenstates_in_window,
    eigenstates_near,
    eigenstates_near_dense,
    levels_near,
    spectral_bounds,
)
from qpt.physics.images import density_image

#: Bump when anything changes the numbers a (model, L, W, seed) produces: it is part of
#: every dataset cache key, so stale caches are never reused.
PHYSICS_VERSION = "1"


def build_hamiltonian(
    model: str, L: int, W: float, seed: int | np.random.SeedSequence, **params: Any
) -> sp.csr_matrix:
    """Sparse Hamiltonian of ``model`` on an L x L lattice with box disorder of width W.

    Basis index ``2*(x + L*y) + a`` (a 3D model: L x L x L, ``x + L*y + L^2*z``); ``params``
    override the model's defaults.
    """
    return get_model(model, **params).hamiltonian(L, W, seed)


__all__ = [
    "PHYSICS_VERSION",
    "LatticeModel",
    "available_models",
    "build_hamiltonian",
    "density_image",
    "eigenstates_in_window",
    "eigenstates_near",
    "eigenstates_near_dense",
    "get_model",
    "levels_near",
    "register",
    "spectral_bounds",
]

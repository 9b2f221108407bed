"""Eigenfunction images: the spin/orbital-summed density |psi(x, y)|^2 on the lattice."""

from __future__ import annotations

import numpy as np

from qpt.physics.lattice import N_ORBITALS


def density_image(vector: np.ndarray, L: int, center: bool) -> np.ndarray:
    """|psi(x, y)|^2 summed over the internal index, as an (L, L) float32 array summing to 1.

    Row index is y, column index x (``image[y, x]`` for basis index ``2*(x + L*y) + a``).
    With ``center=True`` (periodic lattices) the image is rolled so that its maximum sits at
    ``(L // 2, L // 2)``; the spin-summed density is the same for both vectors of a Kramers
    pair, so it is well defined for the symplectic models.
    """
    vector = np.asarray(vector).ravel()
    if vector.size != N_ORBITALS * L * L:
        raise ValueError(
            f"vector of length {vector.size} does not fit an L={L} lattice "
            f"(expected {N_ORBITALS * L * L})"
        )
    density = (np.abs(vector) ** 2).reshape(L * L, N_ORBITALS).sum(axis=1).reshape(L, L)
    total = density.sum()
    if not total > 0:
        raise ValueError("cannot make an image of a zero vector")
    density /= total
    if center:
        y, x = np.unravel_index(np.argmax(density), density.shape)
        density = np.roll(density, (L // 2 - y, L // 2 - x), axis=(0, 1))
    return density.astype(np.float32)

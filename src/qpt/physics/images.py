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


def coarse_grain(images: np.ndarray, n: int) -> np.ndarray:
    """The weight of each of n x n equal boxes of (a batch of) L x L images, L divisible by n.

    At a critical point the statistics of box weights at a fixed ratio of box to system size
    do not depend on L (multifractal finite-size scaling), so n x n images of every size can
    be judged by one network."""
    *batch, L, L2 = images.shape
    if L != L2 or n < 1 or L % n:
        raise ValueError(f"cannot coarse-grain {L} x {L2} images into {n} x {n} equal boxes")
    b = L // n
    return images.reshape(*batch, n, b, n, b).sum(axis=(-3, -1))

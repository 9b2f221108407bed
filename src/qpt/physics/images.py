"""Eigenfunction images: the spin/orbital-summed density |psi|^2 on the lattice."""

from __future__ import annotations

import numpy as np

from qpt.physics.lattice import N_ORBITALS


def density_image(vector: np.ndarray, L: int, center: bool) -> np.ndarray:
    """|psi(x, y)|^2 summed over the internal index, as an (L, L) float32 array summing to 1.

    Row index is y, column index x (``image[y, x]`` for basis index ``2*(x + L*y) + a``).
    With ``center=True`` (periodic lattices) the image is rolled so that its maximum sits at
    ``(L // 2, L // 2)``; the spin-summed density is the same for both vectors of a Kramers
    pair, so it is well defined for the symplectic models.

    A vector of length L^3 is a state of a cubic lattice (one state per site, basis index
    ``x + L*y + L^2*z``): its image is the (L, L, L) array ``image[z, y, x]``, centred on
    ``(L // 2,) * 3`` likewise. (2 L^2 = L^3 only for L = 2, below the smallest lattice.)
    """
    vector = np.asarray(vector).ravel()
    if vector.size == N_ORBITALS * L * L:
        shape = (L, L, N_ORBITALS)
    elif vector.size == L**3:
        shape = (L, L, L, 1)
    else:
        raise ValueError(
            f"vector of length {vector.size} does not fit an L={L} lattice "
            f"(expected {N_ORBITALS * L * L}, or {L**3} for a cubic one)"
        )
    density = (np.abs(vector) ** 2).reshape(shape).sum(axis=-1)
    total = density.sum()
    if not total > 0:
        raise ValueError("cannot make an image of a zero vector")
    density /= total
    if center:
        peak = np.unravel_index(np.argmax(density), density.shape)
        density = np.roll(density, [L // 2 - i for i in peak], axis=tuple(range(density.ndim)))
    return density.astype(np.float32)


def coarse_grain(images: np.ndarray, n: int) -> np.ndarray:
    """The weight of each of n x n equal boxes of (a batch of) L x L images, L divisible by n.
    Square images only: a batch of them has the shape of one cube, so callers refuse 3D models
    (``EigenstateDataModule``) before any image gets here.

    At a critical point the statistics of box weights at a fixed ratio of box to system size
    do not depend on L (multifractal finite-size scaling), so n x n images of every size can
    be judged by one network."""
    *batch, L, L2 = images.shape
    if L != L2 or n < 1 or L % n:
        raise ValueError(f"cannot coarse-grain {L} x {L2} images into {n} x {n} equal boxes")
    b = L // n
    return images.reshape(*batch, n, b, n, b).sum(axis=(-3, -1))

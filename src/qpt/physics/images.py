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


def coarse_grain(images: np.ndarray, n: int, dimension: int = 2) -> np.ndarray:
    """The weight of each of n^d equal boxes of (a batch of) images with ``dimension`` = d
    lattice axes (L x L, or L x L x L), L divisible by n. The last d axes are the lattice:
    ``dimension`` is needed because a batch of square images has the shape of one cube.

    At a critical point the statistics of box weights at a fixed ratio of box to system size
    do not depend on L (multifractal finite-size scaling), so the n^d box weights of every
    size can be judged by one network."""
    if dimension not in (2, 3) or images.ndim < dimension:
        raise ValueError(f"cannot coarse-grain an array of shape {images.shape} in {dimension}D")
    batch, sides = images.shape[:-dimension], images.shape[-dimension:]
    L = sides[0]
    if any(side != L for side in sides) or n < 1 or L % n:
        raise ValueError(
            f"cannot coarse-grain {' x '.join(map(str, sides))} images into "
            f"{' x '.join([str(n)] * dimension)} equal boxes"
        )
    blocks = images.reshape(*batch, *(n, L // n) * dimension)
    return blocks.sum(axis=tuple(range(-1, -2 * dimension, -2)))

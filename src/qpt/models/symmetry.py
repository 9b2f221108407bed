"""The square's point group D4 acting on eigenfunction images.

Every model in qpt is D4 symmetric in distribution. Rotating or reflecting the disorder
realisation of a Chern or Ando lattice (open or periodic) gives a Hamiltonian with the same
spectrum whose eigenfunction images are exactly the rotated or reflected images (the orbital
or spin basis absorbs the transformation; ``tests/test_symmetry.py`` checks this state by
state). SU(2) holds in distribution, because its hoppings are Haar-random. The on-site
disorder is i.i.d., so the transformed realisation is as likely as the original.
P(phase | image) must therefore be invariant under the 8 group elements. qpt uses that twice:

* training: each image in a batch is replaced by a random one of its 8 images. This is
  exact data augmentation: 8 times more distinct samples of the same distribution;
* validation and evaluation: the class probabilities are averaged over all 8 images, which
  makes the classifier exactly D4 invariant and averages out part of its variance.
"""

from __future__ import annotations

import torch

SYMMETRIES = ("none", "dihedral")
GROUP_ORDER = 8


def check_symmetry(symmetry: str) -> str:
    if symmetry not in SYMMETRIES:
        raise ValueError(f"unknown symmetry {symmetry!r}; expected one of {SYMMETRIES}")
    return symmetry


def dihedral(x: torch.Tensor, g: int) -> torch.Tensor:
    """Group element ``g`` (0..7) acting on the last two (square) axes of ``x``: rotation by
    ``g % 4`` quarter turns, followed by a transposition (a reflection) if ``g >= 4``."""
    if not 0 <= g < GROUP_ORDER:
        raise ValueError(f"D4 element g={g} must be in 0..{GROUP_ORDER - 1}")
    out = torch.rot90(x, g % 4, dims=(-2, -1))
    return out.transpose(-2, -1) if g >= 4 else out


def random_dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each item of the batch ``x`` (B, ..., L, L) transformed by its own random element."""
    g = torch.randint(0, GROUP_ORDER, (len(x),), generator=generator).to(x.device)
    out = torch.empty_like(x)
    for element in range(GROUP_ORDER):
        mask = g == element
        if mask.any():
            out[mask] = dihedral(x[mask], element)
    return out


def orbit(x: torch.Tensor) -> torch.Tensor:
    """All 8 images of every item: shape (8 * B, ...), element-major."""
    return torch.cat([dihedral(x, g) for g in range(GROUP_ORDER)])


def orbit_mean(values: torch.Tensor, batch: int) -> torch.Tensor:
    """Average per-image values computed on ``orbit(x)`` back to one per item of ``x``."""
    return values.reshape(GROUP_ORDER, batch, *values.shape[1:]).mean(dim=0)

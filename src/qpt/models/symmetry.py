"""Point groups of the lattice acting on eigenfunction images: the square's D4 (``dihedral``,
8 elements) and the cube's O_h (``cubic``, 48 elements).

Every model in qpt is symmetric in distribution under its lattice's point group. Rotating or
reflecting the disorder realisation of a Chern or Ando lattice (open or periodic) gives a
Hamiltonian with the same spectrum whose eigenfunction images are exactly the rotated or
reflected images (the orbital or spin basis absorbs the transformation;
``tests/test_symmetry.py`` checks this state by state). SU(2) holds in distribution, because
its hoppings are Haar-random. The 3D Anderson model has one orbital and isotropic hopping, so
any permutation or reversal of the cube's axes maps a realisation to an equally likely one
(periodic boundaries and centred images: no axis or corner is special). The on-site disorder
is i.i.d., so the transformed realisation is as likely as the original. P(phase | image) must
therefore be invariant under the group. qpt uses that twice:

* training: each image in a batch is replaced by a random one of its images under the group.
  This is exact data augmentation: 8 (48) times more distinct samples of the same distribution;
* validation and evaluation: the class probabilities are averaged over the whole orbit, which
  makes the classifier exactly invariant and averages out part of its variance. Validation
  may average over a subgroup instead (``val_orbit="subgroup"``): the first ``chunk``
  elements, for O_h the 8 axis reversals. A 3D network judges 48 images of every validation
  state, 2.5x the work of its training epoch; the subgroup costs a sixth of that.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

SYMMETRIES = ("none", "dihedral", "cubic")
#: what validation averages the probabilities over: the whole orbit, or the subgroup of the
#: group's first ``chunk`` elements (D4: all of it; O_h: the 8 axis reversals)
VAL_ORBITS = ("full", "subgroup")
GROUP_ORDER = 8  # D4
#: the cube's axis permutations (identity first); O_h = 6 permutations x 8 axis reversals
CUBE_PERMUTATIONS = tuple(itertools.permutations(range(3)))
CUBIC_ORDER = len(CUBE_PERMUTATIONS) * 8


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


def cubic(x: torch.Tensor, g: int) -> torch.Tensor:
    """O_h element ``g`` (0..47) acting on the last three (cube) axes of ``x``: the axis
    permutation ``g // 8``, then a reversal of each axis a whose bit ``a`` of ``g % 8`` is set.
    Element 0 is the identity."""
    if not 0 <= g < CUBIC_ORDER:
        raise ValueError(f"O_h element g={g} must be in 0..{CUBIC_ORDER - 1}")
    first = x.ndim - 3
    perm = CUBE_PERMUTATIONS[g // 8]
    out = x.permute(*range(first), *(first + p for p in perm))
    reversed_axes = [first + a for a in range(3) if (g % 8) >> a & 1]
    return out.flip(reversed_axes) if reversed_axes else out


@dataclass(frozen=True)
class PointGroup:
    """A point group acting on the last ``dimension`` axes of image tensors."""

    name: str
    dimension: int  # the lattice axes it acts on: 2 (square images) or 3 (cubes)
    order: int
    act: Callable[[torch.Tensor, int], torch.Tensor]
    #: elements judged in one batch by :meth:`orbit_mean_of`: the orbit of a batch is
    #: ``order`` times the batch, too large in memory for 3D images all at once. Elements
    #: 0 .. chunk-1 form a subgroup (``tests/test_symmetry.py`` checks the closure).
    chunk: int

    def random(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Each item of the batch ``x`` transformed by its own random element."""
        g = torch.randint(0, self.order, (len(x),), generator=generator).to(x.device)
        out = torch.empty_like(x)
        for element in range(self.order):
            mask = g == element
            if mask.any():
                out[mask] = self.act(x[mask], element)
        return out

    def orbit(self, x: torch.Tensor, elements: range | None = None) -> torch.Tensor:
        """The images of every item under ``elements`` (all): (len(elements) * B, ...),
        element-major."""
        elements = range(self.order) if elements is None else elements
        return torch.cat([self.act(x, g) for g in elements])

    def orbit_mean_of(
        self, f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, order: int | None = None
    ) -> torch.Tensor:
        """``f`` (per-item values) averaged over the orbit of each item of ``x`` under the first
        ``order`` elements (all; ``chunk``: the subgroup), evaluated ``chunk`` elements at a
        time. One chunk (D4) is exactly ``orbit_mean(f(orbit(x)))``."""
        order = self.order if order is None else order
        means = []
        for start in range(0, order, self.chunk):
            elements = range(start, min(start + self.chunk, order))
            values = f(self.orbit(x, elements))
            means.append(values.reshape(len(elements), len(x), *values.shape[1:]).mean(dim=0))
        return torch.stack(means).mean(dim=0)


GROUPS = {
    "dihedral": PointGroup("dihedral", 2, GROUP_ORDER, dihedral, chunk=GROUP_ORDER),
    "cubic": PointGroup("cubic", 3, CUBIC_ORDER, cubic, chunk=8),
}


def point_group(symmetry: str) -> PointGroup | None:
    """The group of ``symmetry``; None for ``"none"``."""
    return GROUPS[symmetry] if check_symmetry(symmetry) != "none" else None


def random_dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each item of the batch ``x`` (B, ..., L, L) transformed by its own random D4 element."""
    return GROUPS["dihedral"].random(x, generator)


def orbit(x: torch.Tensor) -> torch.Tensor:
    """All 8 D4 images of every item: shape (8 * B, ...), element-major."""
    return GROUPS["dihedral"].orbit(x)


def orbit_mean(values: torch.Tensor, batch: int) -> torch.Tensor:
    """Average per-image values computed on ``orbit(x)`` back to one per item of ``x``."""
    return values.reshape(GROUP_ORDER, batch, *values.shape[1:]).mean(dim=0)

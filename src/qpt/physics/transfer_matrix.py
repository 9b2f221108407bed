"""Transfer-matrix Lyapunov exponents of the Anderson model on a long bar (MacKinnon & Kramer,
Z. Phys. B 53, 1 (1983)): the method behind the literature's critical points of
:mod:`qpt.physics.anderson3d`, here as a network-free locator of the transition.

A bar of cross-section M^(d-1) (periodic across) and length n: slice k holds the amplitudes
psi_k of its N = M^(d-1) sites. With hopping t = 1 between neighbours, H psi = E psi reads

    psi_{k+1} = (V_k + H_perp - E) psi_k - psi_{k-1},

V_k the slice's box disorder on [-W/2, W/2] and H_perp its transverse hopping. N vectors
(psi_k, psi_{k-1}) are carried along the bar and re-orthonormalised by a QR decomposition
every ``QR_EVERY`` slices (before rounding merges them); the log of R's last diagonal entry,
summed over the bar and divided by its length, is the smallest positive Lyapunov exponent
gamma. Its inverse is the bar's localization length, and Lambda = 1 / (M gamma) is
dimensionless: it grows with M in the metal, falls in the insulator and is M-independent at
the critical point, so Gamma = M gamma (Lambda's inverse) obeys one-parameter scaling like
<r>.

Errors: the bar is cut into ``blocks`` equal pieces after a warm-up; each piece's gamma is an
independent estimate (pieces far longer than the localization length), so their spread gives
the error, and a bootstrap over pieces gives intervals. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: slices between re-orthonormalisations: near the 3D transition the largest exponent is
#: ~2.6 per slice above the smallest, a factor ~1e9 in 8 slices, well inside double precision
#: (the QR is most of the cost: every 8 slices halves it against every 4)
QR_EVERY = 8
#: QR periods of random potential drawn per random-number call, per bar
_DRAW_PERIODS = 128


def transverse_hopping(cross_section: tuple[int, ...]) -> np.ndarray:
    """H_perp of one slice as a dense N x N matrix (N = M^(d-1) sites, index ``x + M*y``):
    hopping -1 between transverse neighbours, periodic. Dense on purpose: one matrix product
    per slice for all bars is 4x faster than sparse or stencil updates at N <= 144."""
    n = int(np.prod(cross_section, dtype=int))
    grid = np.arange(n).reshape(cross_section[::-1])
    hop = np.zeros((n, n))
    for axis in range(len(cross_section)):
        for shift in (1, -1):
            hop[grid.ravel(), np.roll(grid, shift, axis=axis).ravel()] -= 1.0
    return hop


def lyapunov_blocks(
    energy: float,
    disorders: Sequence[float],
    width: int,
    *,
    dimension: int,
    length: int,
    blocks: int,
    seeds: Sequence[int | np.random.SeedSequence],
    warmup: int | None = None,
) -> np.ndarray:
    """The smallest positive Lyapunov exponent (per slice) of bars of cross-section
    ``width``^(dimension-1) at ``energy``, one bar per disorder W (its random potential drawn
    from its own seed, so a bar's result does not depend on the others), estimated on each
    of ``blocks`` consecutive pieces of ``length // blocks`` slices after ``warmup`` slices
    (default: one piece). Returns shape (len(disorders), blocks)."""
    if dimension not in (1, 2, 3):
        raise ValueError(f"transfer matrix: dimension must be 1, 2 or 3, got {dimension}")
    if dimension > 1 and width < 3:
        raise ValueError(f"transfer matrix: bar width M={width} is too small (need M >= 3)")
    if len(seeds) != len(disorders):
        raise ValueError(f"transfer matrix: {len(disorders)} disorders but {len(seeds)} seeds")
    if any(not np.isfinite(w) or w < 0 for w in disorders):
        raise ValueError(f"transfer matrix: disorder must be finite and >= 0, got {disorders}")
    piece = length // blocks
    if blocks < 2 or piece < QR_EVERY:
        raise ValueError(f"transfer matrix: need >= 2 blocks of >= {QR_EVERY} slices")
    piece -= piece % QR_EVERY  # whole QR periods per block
    warmup = piece if warmup is None else warmup - warmup % QR_EVERY
    cross_section = (width,) * (dimension - 1)
    hop = transverse_hopping(cross_section)
    n = len(hop)
    W = np.asarray(disorders, float)[:, None]
    rngs = [np.random.default_rng(s) for s in seeds]
    # (psi_k, psi_{k-1}) of N independent solutions per bar, started at (1, 0)
    current = np.repeat(np.eye(n)[None], len(W), axis=0)
    previous = np.zeros_like(current)
    total = warmup + blocks * piece
    sums = np.zeros((len(W), blocks))
    potential = np.empty((len(W), 0, n))
    for start in range(0, total, QR_EVERY):
        if potential.shape[1] == 0:
            draws = np.stack([rng.random((_DRAW_PERIODS * QR_EVERY, n)) for rng in rngs])
            potential = W[:, None, :] * (draws - 0.5)
        for k in range(QR_EVERY):
            onsite = potential[:, k, :, None] - energy
            step = onsite * current + hop @ current - previous
            previous, current = current, step
        potential = potential[:, QR_EVERY:]
        q, r = np.linalg.qr(np.concatenate([current, previous], axis=1))
        current, previous = q[:, :n], q[:, n:]
        if start >= warmup:
            sums[:, (start - warmup) // piece] += np.log(np.abs(r[:, -1, -1]))
    return sums / piece

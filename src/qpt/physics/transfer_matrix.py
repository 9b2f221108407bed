"""Transfer-matrix Lyapunov exponents on a long bar (MacKinnon & Kramer, Z. Phys. B 53, 1
(1983)): the method behind the literature's critical points of :mod:`qpt.physics.anderson3d`
and :mod:`qpt.physics.su2`, here as a network-free locator of the transition. The Anderson
model's bars (:func:`lyapunov_blocks`, below) and 2D strips of spin-1/2 models with 2 x 2 bond
matrices (:func:`spin_strip_lyapunov_blocks`: SU(2), Ando) share the method.

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

from qpt.physics.su2 import su2_matrices

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


def _require_width(width: int) -> None:
    if width < 3:
        raise ValueError(f"transfer matrix: bar width M={width} is too small (need M >= 3)")


def _pieces(
    disorders: Sequence[float],
    length: int,
    blocks: int,
    seeds: Sequence[int | np.random.SeedSequence],
    warmup: int | None,
) -> tuple[int, int]:
    """Check a batch of bars; returns (slices per piece, warm-up slices), whole QR periods."""
    if len(seeds) != len(disorders):
        raise ValueError(f"transfer matrix: {len(disorders)} disorders but {len(seeds)} seeds")
    if any(not np.isfinite(w) or w < 0 for w in disorders):
        raise ValueError(f"transfer matrix: disorder must be finite and >= 0, got {disorders}")
    piece = length // blocks
    if blocks < 2 or piece < QR_EVERY:
        raise ValueError(f"transfer matrix: need >= 2 blocks of >= {QR_EVERY} slices")
    piece -= piece % QR_EVERY  # whole QR periods per block
    return piece, piece if warmup is None else warmup - warmup % QR_EVERY


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
    if dimension > 1:  # a chain has no cross-section
        _require_width(width)
    piece, warmup = _pieces(disorders, length, blocks, seeds, warmup)
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


def _haar_su2(u: np.ndarray) -> np.ndarray:
    """Haar-random SU(2) matrices from uniforms u[..., 0:3] on [0, 1), parametrised as
    :func:`qpt.physics.su2.haar_su2` does: shape u.shape[:-1] + (2, 2)."""
    angles = 2 * np.pi * u[..., 0], 2 * np.pi * u[..., 1], np.arcsin(np.sqrt(u[..., 2]))
    return su2_matrices(*angles)


def _bond_products(r_x: np.ndarray, r_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R_y, R_y(y - 1)*, R_x*) site by site (* the complex conjugate), for bonds of shape
    (..., width, 2, 2): transposed by :func:`_operands`, the last two are the R_y(y - 1)^+
    and R_x^+ the recursion multiplies. Built for a QR period's slices at once: slice by
    slice it was a third of the cost at width 8."""
    return r_y, np.roll(r_y, 1, axis=-3).conj(), r_x.conj()


def _operands(
    r_y: np.ndarray, r_y_below: np.ndarray, r_x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One slice of :func:`_bond_products` as the recursion's operands: R_y as it is, the
    other two as transposed views, the layout numpy's matmul always saw here (a layout picks
    its code path, and so the last bits of the result)."""
    return r_y, r_y_below.swapaxes(-1, -2), r_x.swapaxes(-1, -2)


def spin_strip_lyapunov_blocks(
    energy: float,
    disorders: Sequence[float],
    width: int,
    *,
    bonds: tuple[np.ndarray, np.ndarray] | None,
    length: int,
    blocks: int,
    seeds: Sequence[int | np.random.SeedSequence],
    warmup: int | None = None,
) -> np.ndarray:
    """:func:`lyapunov_blocks` for a 2D strip of spin-1/2 electrons with a unitary 2 x 2
    hopping matrix R on every bond (hopping -R, on-site box disorder the same for both
    spins): the SU(2) model (``bonds=None``: Haar-random R on every bond) and the Ando model
    (``bonds=(R_x, R_y)``, the same on every bond along x (the bar) and y (across, periodic)).
    Slice k holds the 2M amplitudes psi_k of its M sites; H psi = E psi reads, site by site,

        psi_{k+1} = R_x(k)^+ [(eps_k - E) psi_k - R_y psi_k(y+1) - R_y(y-1)^+ psi_k(y-1)
                              - R_x(k-1)^+ psi_{k-1}],

    and the 2M vectors (psi_k, R_x(k-1)^+ psi_{k-1}) are carried (a unitary change of the
    second half: the exponents are the same). The smallest positive exponent is Kramers-
    degenerate in both models. Returns shape (len(disorders), blocks)."""
    _require_width(width)
    piece, warmup = _pieces(disorders, length, blocks, seeds, warmup)
    W = np.asarray(disorders, float)[:, None]
    if bonds is not None:  # the same on every bond: built once, not every slice
        fixed = [np.asarray(R, complex) for R in bonds]
        if any(R.shape != (2, 2) or not np.allclose(R @ R.conj().T, np.eye(2)) for R in fixed):
            raise ValueError("transfer matrix: the bond matrices must be unitary 2 x 2")
        fixed_bonds = _operands(
            *_bond_products(*(np.broadcast_to(R, (len(W), width, 2, 2)) for R in fixed))
        )
    n = 2 * width
    rngs = [np.random.default_rng(s) for s in seeds]
    current = np.repeat(np.eye(n, dtype=complex).reshape(1, width, 2, n), len(W), axis=0)
    previous = np.zeros_like(current)
    total = warmup + blocks * piece
    sums = np.zeros((len(W), blocks))
    draws = np.empty((len(W), 0, width, 7))
    for start in range(0, total, QR_EVERY):
        if draws.shape[1] == 0:  # per slice and site: eps, then R_x and R_y (3 each)
            draws = np.stack([rng.random((_DRAW_PERIODS * QR_EVERY, width, 7)) for rng in rngs])
        if bonds is None:  # the period's bonds at once: (slices, bars, width, 2, 2)
            u = draws[:, :QR_EVERY].swapaxes(0, 1)
            period_bonds = _bond_products(_haar_su2(u[..., 1:4]), _haar_su2(u[..., 4:7]))
        for k in range(QR_EVERY):
            u = draws[:, k]
            r_y, r_y_below, r_x_dagger = (
                _operands(*(p[k] for p in period_bonds)) if bonds is None else fixed_bonds
            )
            onsite = (W * (u[..., 0] - 0.5) - energy)[..., None, None]
            across = r_y @ np.roll(current, -1, axis=1) + r_y_below @ np.roll(current, 1, axis=1)
            # one product for both halves: R_x^+ [new amplitudes | psi_k]
            both = r_x_dagger @ np.concatenate([onsite * current - across - previous, current], -1)
            current, previous = both[..., :n], both[..., n:]
        draws = draws[:, QR_EVERY:]
        q, r = np.linalg.qr(np.concatenate([current, previous], axis=1).reshape(len(W), 2 * n, n))
        q = q.reshape(len(W), 2 * width, 2, n)
        current, previous = q[:, :width], q[:, width:]
        if start >= warmup:
            sums[:, (start - warmup) // piece] += np.log(np.abs(r[:, -1, -1]))
    return sums / piece

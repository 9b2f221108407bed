"""Eigenstates near a target energy: sparse shift-invert with a dense cross-check.

Only a few eigenpairs near E are needed, so the matrix H - sigma is LU-factorised once
(SuperLU, COLAMD ordering) and ARPACK runs Lanczos on (H - sigma)^-1, whose largest
eigenvalues belong to the levels nearest sigma. Matrices of a lattice are factorised along its
nested-dissection order: SuperLU for the square lattice, a multifrontal LU with dense fronts for
the cubic one (in real arithmetic when H is real). sigma is nudged off the target energy by a
tiny fixed amount so that it never sits exactly on an eigenvalue (a singular factorisation).
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from qpt.physics.lattice import (
    MIN_L,
    fits_cubic_lattice,
    nested_dissection_order,
    nested_dissection_tree_3d,
)
from qpt.physics.multifrontal import MultifrontalLU

Method = Literal["auto", "sparse", "dense"]
log = logging.getLogger(__name__)

#: below this dimension "auto" diagonalises densely (LAPACK beats ARPACK's setup there)
DENSE_MAX_DIM = 200
#: relative offset of the shift from the target energy (irrational-looking on purpose:
#: exact eigenvalues of clean lattices are often simple rationals)
SHIFT_NUDGE = 1.234567e-9
#: ARPACK convergence tolerance on the Ritz values of (H - sigma)^-1
ARPACK_TOL = 1e-8
#: a residual |H v - E v| above this means an unstable factorisation: redo on the safe path
#: (a converged pair has <= ~1e-9)
RESIDUAL_TOL = 1e-6
#: eigenstates_in_window("auto") goes dense once it would need more than dim / this states
WINDOW_DENSE_FRACTION = 8


def spectral_bounds(H: sp.spmatrix) -> tuple[float, float]:
    """Gershgorin bounds: every eigenvalue of the Hermitian H lies in [lo, hi]."""
    H = sp.csr_matrix(H)
    diag = H.diagonal().real
    radius = np.asarray(abs(H).sum(axis=1)).ravel() - np.abs(diag)
    return float(np.min(diag - radius)), float(np.max(diag + radius))


def _check_energy(H: sp.spmatrix, energy: float) -> float:
    try:
        energy = float(energy)
    except (TypeError, ValueError):
        raise ValueError(f"target energy {energy!r} is not a number") from None
    lo, hi = spectral_bounds(H)
    if not math.isfinite(energy) or not lo <= energy <= hi:
        raise ValueError(
            f"target energy {energy!r} is outside the spectral bounds [{lo:.4g}, {hi:.4g}]"
        )
    return energy


def _check_k(k: int, dim: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= dim:
        raise ValueError(f"number of eigenstates k={k!r} must be an integer in [1, {dim}]")
    return int(k)


def _lattice_order(dim: int) -> np.ndarray | None:
    """Nested-dissection order if ``dim`` is that of an L x L two-component lattice."""
    L = math.isqrt(dim // 2)
    return nested_dissection_order(L) if 2 * L * L == dim and L >= 4 else None


def _cubic_lattice_size(H: sp.spmatrix) -> int | None:
    """L if H is a one-state-per-site matrix of an L x L x L cubic lattice (dimension L^3 and
    only nearest-neighbour couplings: the 3D dissection then separates its graph)."""
    L = round(H.shape[0] ** (1 / 3))
    return L if L**3 == H.shape[0] and L >= MIN_L and fits_cubic_lattice(H, L) else None


def _shift_invert_operator(
    H: sp.spmatrix, sigma: float, *, safe: bool = False
) -> sla.LinearOperator:
    """(H - sigma)^-1 as a LinearOperator backed by one sparse LU factorisation.

    Fast path: the lattice's nested-dissection order with a tiny diagonal pivot threshold
    (H is Hermitian, so diagonal pivots are almost always acceptable and keep the order's
    low fill; 2x faster than COLAMD at L = 40); for a cubic lattice, a multifrontal LU along
    its 3D dissection (3x faster than SuperLU on that order at L = 20). ``safe=True`` is
    SuperLU's default partial pivoting with COLAMD, used when the fast path's result fails
    its residual check.
    """
    dim = H.shape[0]
    A = sp.csr_matrix(H - sigma * sp.identity(dim, dtype=H.dtype, format="csr"))
    cubic = None if safe else _cubic_lattice_size(H)
    if cubic is not None:
        lu = MultifrontalLU(A, nested_dissection_tree_3d(cubic))
        return sla.LinearOperator(A.shape, matvec=lu.solve, dtype=A.dtype)
    order = None if safe else _lattice_order(dim)
    if order is None:
        lu = sla.splu(
            A.tocsc(),
            permc_spec="COLAMD",
            diag_pivot_thresh=1.0 if safe else 0.01,
            options={"SymmetricMode": not safe},
        )

        def solve(b: np.ndarray) -> np.ndarray:
            return lu.solve(b)
    else:
        lu = sla.splu(
            A[order][:, order].tocsc(),
            permc_spec="NATURAL",
            diag_pivot_thresh=1e-3,
            options={"SymmetricMode": True},
        )
        inverse = np.empty_like(order)
        inverse[order] = np.arange(dim)

        def solve(b: np.ndarray) -> np.ndarray:
            return lu.solve(b[order])[inverse]

    return sla.LinearOperator(A.shape, matvec=solve, dtype=A.dtype)


def time_reversal(vectors: np.ndarray) -> np.ndarray:
    """Apply T = (1 x i sigma_y) K site by site: (T v)_up = v_down*, (T v)_down = -v_up*."""
    out = np.empty_like(vectors)
    out[0::2] = vectors[1::2].conj()
    out[1::2] = -vectors[0::2].conj()
    return out


def has_kramers_symmetry(H: sp.spmatrix) -> bool:
    """True if T H T^-1 = H for the spin-1/2 time reversal T (then every level is a Kramers
    pair). Checked on a fixed random vector: T H v == H T v. An odd dimension (a cubic
    lattice of odd L, one state per site) has no spin pairs."""
    if H.shape[0] % 2:
        return False
    rng = np.random.default_rng(0)
    v = rng.normal(size=H.shape[0]) + 1j * rng.normal(size=H.shape[0])
    lhs, rhs = time_reversal(H @ v), H @ time_reversal(v)
    return bool(np.linalg.norm(lhs - rhs) <= 1e-12 * max(1.0, np.linalg.norm(lhs)))


def _kramers_completed(H: sp.spmatrix, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rayleigh-Ritz on span{V, T V}.

    Lanczos sees a degenerate level once (the Krylov space holds one vector of each Kramers
    pair), so asking ARPACK for k states can return k distinct levels instead of k/2 pairs.
    Closing the subspace under T adds the missing partners exactly.
    """
    basis = _orthonormal_basis(np.hstack([vectors, time_reversal(vectors)]), rcond=1e-8)
    energies, coeffs = la.eigh(basis.conj().T @ (H @ basis))
    return energies, basis @ coeffs


def _orthonormal_basis(a: np.ndarray, rcond: float) -> np.ndarray:
    """``scipy.linalg.orth``, but where LAPACK's divide-and-conquer SVD (gesdd) does not
    converge, as it can on an ordinary finite matrix, the slower QR-iteration one (gesvd)."""
    try:
        u, s, _ = la.svd(a, full_matrices=False, lapack_driver="gesdd")
    except la.LinAlgError:
        u, s, _ = la.svd(a, full_matrices=False, lapack_driver="gesvd")
    return u[:, s > rcond * s.max()]


def _sorted_by_distance(
    energies: np.ndarray, vectors: np.ndarray, energy: float, k: int
) -> tuple[np.ndarray, np.ndarray]:
    # lexsort: distance first, then energy, so that ties (exact degeneracy) are deterministic
    order = np.lexsort((energies, np.abs(energies - energy)))[:k]
    return energies[order], vectors[:, order]


def _normalise_phase(vectors: np.ndarray) -> np.ndarray:
    """Unit norm, and the largest component made real positive (a deterministic gauge)."""
    vectors = vectors / np.linalg.norm(vectors, axis=0, keepdims=True)
    idx = np.argmax(np.abs(vectors), axis=0)
    phase = vectors[idx, np.arange(vectors.shape[1])]
    return vectors * (np.abs(phase) / phase)[None, :]


def eigenstates_near_dense(
    H: sp.spmatrix, energy: float, k: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Reference route: full LAPACK diagonalisation, then the k levels nearest ``energy``."""
    energies, vectors = la.eigh(H.toarray() if sp.issparse(H) else np.asarray(H))
    energies, vectors = _sorted_by_distance(energies, vectors, energy, k)
    return energies, _normalise_phase(vectors)


def eigenstates_near(
    H: sp.spmatrix, energy: float, k: int = 1, *, method: Method = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` eigenpairs of the Hermitian ``H`` nearest to ``energy``.

    Returns energies of shape (k,) sorted by distance to ``energy`` and unit-norm vectors of
    shape (dim, k). ``method="sparse"`` uses shift-invert Lanczos, ``"dense"`` full LAPACK
    diagonalisation, ``"auto"`` picks dense only for tiny matrices.
    """
    dim = H.shape[0]
    k = _check_k(k, dim)
    energy = _check_energy(H, energy)
    if method not in ("auto", "sparse", "dense"):
        raise ValueError(f"unknown eigensolver method {method!r}; expected auto, sparse or dense")
    # ARPACK needs k < dim - 1; beyond that the dense route is the right tool anyway.
    if method == "dense" or (method == "auto" and dim <= DENSE_MAX_DIM) or k >= dim - 1:
        return eigenstates_near_dense(H, energy, k)
    try:
        energies, vectors = _shift_invert(H, energy, k, safe=False)
        if _max_residual(H, energies, vectors) > RESIDUAL_TOL:
            energies, vectors = _shift_invert(H, energy, k, safe=True)
    except (la.LinAlgError, sla.ArpackError, RuntimeError) as err:
        # a study of thousands of realisations must not die on one: LAPACK's dense route
        log.warning(
            "sparse eigensolver failed (%s) on a %d x %d matrix; solving it densely", err, *H.shape
        )
        return eigenstates_near_dense(H, energy, k)
    return energies, _normalise_phase(vectors)


def _max_residual(H: sp.spmatrix, energies: np.ndarray, vectors: np.ndarray) -> float:
    return float(np.max(np.linalg.norm(H @ vectors - vectors * energies[None, :], axis=0)))


def _shift_invert(
    H: sp.spmatrix, energy: float, k: int, *, safe: bool, complete: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    dim = H.shape[0]
    nudge = SHIFT_NUDGE * max(1.0, abs(energy))
    for attempt in range(3):
        sigma = energy + nudge * 1000**attempt
        try:
            op = _shift_invert_operator(H, sigma, safe=safe)
            break
        except RuntimeError:  # "Factor is exactly singular": sigma hit an eigenvalue
            continue
    else:
        raise RuntimeError(f"could not factorise H - sigma near energy {energy}")
    kramers = complete and k > 1 and has_kramers_symmetry(H)
    n_wanted = min(dim - 2, k + 2) if kramers else k
    ncv = min(dim - 1, max(2 * n_wanted + 2, 4))
    # A fixed start vector makes the result independent of ARPACK's internal RNG.
    v0 = np.ones(dim, dtype=H.dtype)
    energies, vectors = sla.eigsh(
        H, k=n_wanted, sigma=sigma, OPinv=op, ncv=ncv, tol=ARPACK_TOL, v0=v0, which="LM"
    )
    if kramers:
        energies, vectors = _kramers_completed(H, vectors)
    return _sorted_by_distance(energies.real, vectors, energy, k)


def levels_near(H: sp.spmatrix, energy: float, k: int, *, method: Method = "auto") -> np.ndarray:
    """The ``k`` distinct eigenvalues of ``H`` nearest ``energy``, ascending; a Kramers pair
    counts once. Level statistics need no Kramers completion (no partner vectors): shift-
    invert returns each degenerate level once or twice, repeats are dropped, and the search
    is widened until k distinct levels remain."""
    dim = H.shape[0]
    energy = _check_energy(H, energy)
    step = 2 if has_kramers_symmetry(H) else 1
    k = _check_k(k, dim // step)
    dense = method == "dense" or (method == "auto" and dim <= DENSE_MAX_DIM) or k >= dim // step - 2
    if not dense:
        try:
            levels = _distinct_levels(H, energy, k, step)
        except (la.LinAlgError, sla.ArpackError, RuntimeError) as err:
            log.warning(
                "sparse eigensolver failed (%s) on a %d x %d matrix; solving it densely",
                err,
                *H.shape,
            )
            dense = True
    if dense:
        levels = la.eigvalsh(H.toarray())[::step]
    nearest = np.argsort(np.abs(levels - energy), kind="stable")[:k]
    return np.sort(levels[nearest])


def _distinct_levels(H: sp.spmatrix, energy: float, k: int, step: int) -> np.ndarray:
    """At least k distinct levels near ``energy`` by shift-invert (``step`` 2: Kramers)."""
    dim = H.shape[0]
    # ARPACK's restarts let the partner of a Kramers pair in now and then: ask for room
    levels, wanted = np.empty(0), min(dim - 2, step * k + 2)
    while len(levels) < k:
        for safe in (False, True):
            energies, vectors = _shift_invert(H, energy, wanted, safe=safe, complete=False)
            if _max_residual(H, energies, vectors) <= RESIDUAL_TOL:
                break
        levels = np.sort(energies)
        levels = levels[np.concatenate([[True], np.diff(levels) > 1e-8 * max(1.0, abs(energy))])]
        wanted = min(dim - 2, wanted + step * (k - len(levels)) + 2)
    return levels


def eigenstates_in_window(
    H: sp.spmatrix, emin: float, emax: float, *, method: Method = "auto", k_start: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """All eigenpairs with ``emin <= E <= emax``, sorted by energy.

    The sparse route asks for the k levels nearest the window's centre and doubles k until
    the farthest of them lies outside the window: then nothing inside can have been missed.
    """
    if not (math.isfinite(emin) and math.isfinite(emax)) or emin >= emax:
        raise ValueError(f"energy window [{emin!r}, {emax!r}] is empty or not finite")
    lo, hi = spectral_bounds(H)
    if emax < lo or emin > hi:
        raise ValueError(
            f"energy window [{emin}, {emax}] is outside the spectral bounds [{lo:.4g}, {hi:.4g}]"
        )
    dim = H.shape[0]
    centre, half = (emin + emax) / 2, (emax - emin) / 2
    dense = method == "dense" or (method == "auto" and dim <= DENSE_MAX_DIM)
    if not dense:
        k = min(k_start, dim)
        while True:
            energies, vectors = eigenstates_near(H, centre, k, method=method)
            if k == dim or np.abs(energies[-1] - centre) > half:
                break
            if method == "auto" and 2 * k > dim // WINDOW_DENSE_FRACTION:
                # a window holding a sizeable part of the spectrum (e.g. a gap filled by
                # disorder): LAPACK by value beats Lanczos with thousands of vectors
                dense = True
                break
            k = min(2 * k, dim)
    if dense:
        energies, vectors = la.eigh(H.toarray(), subset_by_value=(emin, emax))
    else:
        inside = (energies >= emin) & (energies <= emax)
        energies, vectors = energies[inside], vectors[:, inside]
    order = np.argsort(energies, kind="stable")
    return energies[order], _normalise_phase(vectors[:, order]) if len(order) else vectors

"""Sparse LU of a Hermitian matrix along a nested-dissection tree, with dense fronts.

The separators of a 3D lattice are planes of ~L^2 sites, so most of the work of factorising
H - sigma is dense linear algebra on a few large blocks. SuperLU's supernodal kernels do it at
a few GFLOP/s; organised as one dense frontal matrix per tree node (multifrontal), the same
elimination runs in LAPACK/BLAS-3. At L = 20 (8000 sites) that is ~0.2 s instead of ~0.6 s for
SuperLU on the same order.

Node i eliminates its pivots P against its boundary B, the sites not yet eliminated that its
subtree couples to (ancestors' separators). Its front F = [[F_PP, F_PB], [F_BP, F_BB]] holds
the entries of A in rows or columns P plus the updates of its children; after F_PP = LU and
X = F_PP^-1 F_PB, the update F_BB - F_BP X goes to the parent. Pivoting stays inside F_PP: a
nearly singular front costs accuracy, which the eigensolver's residual check catches.

Run it with one BLAS thread per process, as qpt's callers do (``threadpool_limits(1)``): on a
shared 2-core machine OpenBLAS's threads made the fronts ten times slower.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from qpt.physics.lattice import DissectionNode


class MultifrontalLU:
    """LU factorisation of the Hermitian ``A`` along ``tree`` (nodes in postorder, e.g.
    :func:`qpt.physics.lattice.nested_dissection_tree_3d`); every separator of the tree must
    separate A's graph. ``solve(b)`` returns A^-1 b."""

    def __init__(self, A: sp.spmatrix, tree: Sequence[DissectionNode]) -> None:
        self.order = np.concatenate([pivots for pivots, _ in tree])
        # in elimination order, node i eliminates the rows start[i]:start[i + 1]
        A = sp.csr_matrix(A)[self.order][:, self.order]
        start = np.cumsum([0] + [len(pivots) for pivots, _ in tree])
        self.dtype = A.dtype
        getrf, self._getrs = la.lapack.get_lapack_funcs(("getrf", "getrs"), (A.data,))
        self._fronts = []
        updates: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i, (_, children) in enumerate(tree):
            s, e = start[i], start[i + 1]
            boundary, F = _front(A, s, e, [updates.pop(c) for c in children])
            k = e - s
            lu, piv, info = getrf(F[:k, :k])
            X = self._getrs(lu, piv, F[:k, k:])[0] if boundary.size else F[:k, k:]
            # a singular front: the caller retries with another shift (as for SuperLU's
            # "exactly singular"); an overflow must not reach ARPACK as NaNs
            if info > 0 or not (np.isfinite(lu).all() and np.isfinite(X).all()):
                raise RuntimeError(f"front {i} of the multifrontal LU is singular")
            if boundary.size:
                updates[i] = (boundary, F[k:, k:] - F[k:, :k] @ X)
            # F_BP F_PP^-1 = X^H for a Hermitian front: the forward sweep needs no F_BP
            self._fronts.append((s, e, boundary, lu, piv, X, X.conj().T))

    def solve(self, b: np.ndarray) -> np.ndarray:
        """A^-1 b: forward sweep up the tree, backward sweep down."""
        b = np.asarray(b)
        if np.iscomplexobj(b) and not np.issubdtype(self.dtype, np.complexfloating):
            return self.solve(b.real) + 1j * self.solve(b.imag)
        y = b[self.order].astype(self.dtype, copy=False)
        for s, e, boundary, lu, piv, _, XH in self._fronts:
            if boundary.size:
                y[boundary] -= XH @ y[s:e]
            y[s:e] = self._getrs(lu, piv, y[s:e])[0]
        for s, e, boundary, _, _, X, _ in reversed(self._fronts):
            if boundary.size:
                y[s:e] -= X @ y[boundary]
        x = np.empty_like(y)
        x[self.order] = y
        return x


def _front(
    A: sp.csr_matrix, s: int, e: int, child_updates: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Boundary (sorted indices >= e) and dense front of the node eliminating rows s:e of
    ``A`` (in elimination order), with its children's ``(boundary, update)`` added in."""
    lo, hi = A.indptr[s], A.indptr[e]
    cols, vals = A.indices[lo:hi], A.data[lo:hi]
    rows = np.repeat(np.arange(e - s), np.diff(A.indptr[s : e + 1]))
    boundary = np.unique(np.concatenate([cols] + [b for b, _ in child_updates]))
    boundary = boundary[boundary >= e]
    k = e - s
    n = k + boundary.size

    def local(j: np.ndarray) -> np.ndarray:
        return np.where(j < e, j - s, k + np.searchsorted(boundary, j))

    F = np.zeros((n, n), A.dtype)
    alive = cols >= s  # columns before s belong to descendants, already eliminated
    r, c, v = rows[alive], local(cols[alive]), vals[alive]
    F[r, c] = v
    out = c >= k
    F[c[out], r[out]] = v[out].conj()  # rows B of columns P, by hermiticity
    for b, update in child_updates:
        p = local(b)
        # a flat scatter-add: half the time of F[np.ix_(p, p)] += update
        F.reshape(-1)[(p[:, None] * n + p).ravel()] += update.ravel()
    return boundary, F

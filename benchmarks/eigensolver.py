"""Dense LAPACK against sparse shift-invert: time to get the state nearest E.

    python benchmarks/eigensolver.py [--sizes 24 40 80 160] [--model su2] [--repeats 5]
    python benchmarks/eigensolver.py --model anderson3d [--sizes 12 16 20] [--disorder 16.5]

For each L the same disorder realisations go through
  * sparse: build the matrix + qpt.physics.eigenstates_near (SuperLU shift-invert + ARPACK);
  * dense (best LAPACK route): eigh with driver "evr" computing one eigenvector by index
    (the letter's "1600th of 3200" state), skipped where it would take over a minute;
  * dense full: every eigenpair (what a naive script does), only for small L.
A 3D model (L x L x L) compares sparse routes on the same prebuilt matrices instead:
  * scipy: ``eigsh(H, k=1, sigma)`` with its default factorisation (SuperLU, COLAMD);
  * SuperLU on the 3D nested-dissection order, with qpt's ARPACK settings;
  * qpt: eigenstates_near (multifrontal LU along the same dissection, real arithmetic).
BLAS runs on one thread there, as in qpt's workers (SuperLU is single-threaded anyway).
Times are medians per state, taken side by side in one run so the ratio is meaningful on a
shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from threadpoolctl import threadpool_limits

from qpt.physics import build_hamiltonian, eigenstates_near, get_model
from qpt.physics.eigensolver import ARPACK_TOL, SHIFT_NUDGE
from qpt.physics.lattice import nested_dissection_order_3d

DENSE_LIMIT_S = 60.0


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def superlu_on_order(H: sp.spmatrix, sigma: float, order: np.ndarray) -> np.ndarray:
    """Shift-invert with SuperLU on a given order, as qpt does it on the square lattice."""
    A = sp.csr_matrix(H - sigma * sp.identity(H.shape[0]))[order][:, order].tocsc()
    lu = sla.splu(A, permc_spec="NATURAL", diag_pivot_thresh=1e-3, options={"SymmetricMode": True})
    inverse = np.argsort(order)
    op = sla.LinearOperator(A.shape, matvec=lambda b: lu.solve(b[order])[inverse], dtype=A.dtype)
    v0 = np.ones(H.shape[0])
    return sla.eigsh(H, k=1, sigma=sigma, OPinv=op, ncv=4, tol=ARPACK_TOL, v0=v0)[0]


def cubic(args: argparse.Namespace) -> None:
    """scipy's default shift-invert, SuperLU on the 3D order and qpt, on the same matrices."""
    sizes, W = args.sizes or [12, 16, 20], 16.5 if args.disorder is None else args.disorder
    sigma = args.energy + SHIFT_NUDGE * max(1.0, abs(args.energy))  # the shift qpt uses
    print(f"model={args.model} W={W} E={args.energy} (median of {args.repeats}, 1 BLAS thread)")
    header = (
        f"{'L':>4} {'dim':>6} {'scipy eigsh [ms]':>17} {'SuperLU+ND [ms]':>16} "
        f"{'qpt [ms]':>9} {'scipy/qpt':>10} {'SuperLU+ND/qpt':>15}"
    )
    print(header)
    print("-" * len(header))
    routes = {
        "scipy": lambda H, L: sla.eigsh(H, k=1, sigma=sigma)[0],
        "superlu": lambda H, L: superlu_on_order(H, sigma, nested_dissection_order_3d(L)),
        "qpt": lambda H, L: eigenstates_near(H, args.energy, 1, method="sparse")[0],
    }
    for L in sizes:
        times: dict[str, list[float]] = {name: [] for name in routes}
        for i in range(args.repeats):  # the routes alternate on each realisation
            H = build_hamiltonian(args.model, L, W, seed=i)
            energies = []
            for name, solve in routes.items():
                t0 = time.perf_counter()
                energies.append(solve(H, L)[0])
                times[name].append(time.perf_counter() - t0)
            assert np.ptp(energies) < 1e-8, f"the routes found different states: {energies}"
        a, c, b = (1e3 * statistics.median(times[n]) for n in ("scipy", "superlu", "qpt"))
        print(
            f"{L:>4} {L**3:>6} {a:>17.1f} {c:>16.1f} {b:>9.1f} {a / b:>10.1f} {c / b:>15.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--model", default="su2")
    parser.add_argument("--disorder", type=float)
    parser.add_argument("--energy", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if get_model(args.model).dimension == 3:
        with threadpool_limits(1):
            cubic(args)
        return
    args.sizes = args.sizes or [24, 40, 80, 160]
    args.disorder = 6.2 if args.disorder is None else args.disorder

    print(f"model={args.model} W={args.disorder} E={args.energy} (median of {args.repeats})")
    header = f"{'L':>5} {'dim':>6} {'sparse [ms]':>12} {'dense evr 1 vec [ms]':>21} {'dense full [ms]':>16} {'ratio evr/sparse':>17}"
    print(header)
    print("-" * len(header))
    dense_estimate = 0.0
    for L in args.sizes:
        dim = 2 * L * L

        def sparse(i: int, L: int = L) -> None:
            H = build_hamiltonian(args.model, L, args.disorder, seed=i)
            eigenstates_near(H, args.energy, 1, method="sparse")

        t_sparse = median_time(sparse, args.repeats)
        matrices = (
            [
                build_hamiltonian(args.model, L, args.disorder, seed=i).toarray()
                for i in range(min(args.repeats, 3))
            ]
            if dense_estimate < DENSE_LIMIT_S
            else []
        )
        t_evr = t_full = float("nan")
        if matrices:
            t_evr = median_time(
                lambda i, m=matrices, d=dim: la.eigh(
                    m[i], subset_by_index=[d // 2] * 2, driver="evr"
                ),
                len(matrices),
            )
            if t_evr < 5:
                t_full = median_time(lambda i, m=matrices: la.eigh(m[i]), len(matrices))
            # dense cost grows as dim^3; skip sizes that would exceed the limit
            dense_estimate = t_evr * (2 * 2) ** 3  # next L doubles: dim x4, time x64
        ratio = t_evr / t_sparse
        print(
            f"{L:>5} {dim:>6} {1e3 * t_sparse:>12.1f} {1e3 * t_evr:>21.1f} {1e3 * t_full:>16.1f} "
            f"{ratio:>17.1f}",
            flush=True,
        )
    print(
        f"\nnumpy {np.__version__}; threads: dense LAPACK uses all BLAS threads, sparse runs on one core"
    )


if __name__ == "__main__":
    main()

"""Dense LAPACK against sparse shift-invert: time to get the state nearest E.

    python benchmarks/eigensolver.py [--sizes 24 40 80 160] [--model su2] [--repeats 5]

For each L the same disorder realisations go through
  * sparse: build the matrix + qpt.physics.eigenstates_near (SuperLU shift-invert + ARPACK);
  * dense (best LAPACK route): eigh with driver "evr" computing one eigenvector by index
    (the letter's "1600th of 3200" state), skipped where it would take over a minute;
  * dense full: every eigenpair (what a naive script does), only for small L.
Times are medians per state, taken side by side in one run so the ratio is meaningful on a
shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.linalg as la

from qpt.physics import build_hamiltonian, eigenstates_near

DENSE_LIMIT_S = 60.0


def median_time(fn, repeats: int) -> float:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[24, 40, 80, 160])
    parser.add_argument("--model", default="su2")
    parser.add_argument("--disorder", type=float, default=6.2)
    parser.add_argument("--energy", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

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

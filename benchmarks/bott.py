"""Bott index of a Chern sample: single against double precision, side by side.

    python benchmarks/bott.py [--sizes 16 24 32] [--disorders 3.0 3.4 3.8] [--samples 3]

For each L the same periodic Chern samples (the route's grid W = 3.0 ... 4.0, where the index
varies between samples) go through ``qpt.physics.observables.bott_index`` with
``precision="double"`` (complex128 LAPACK) and ``"single"`` (complex64, the default, which
falls back to double when its sum lands off an integer). Times are medians per sample on one
BLAS thread, as in qpt's workers, taken in alternation so that their ratio is meaningful on a
shared machine; "identical" counts the samples whose indices agree.
"""

from __future__ import annotations

import argparse
import statistics
import time

from threadpoolctl import threadpool_limits

from qpt.physics import build_hamiltonian
from qpt.physics.observables import bott_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32])
    parser.add_argument("--disorders", type=float, nargs="+", default=[3.0, 3.4, 3.8])
    parser.add_argument("--samples", type=int, default=3, help="per disorder")
    args = parser.parse_args()
    print("Chern model, periodic L x L, states below E = 0, 1 BLAS thread")
    header = (
        f"{'L':>3} {'samples':>7} {'double [s]':>11} {'single [s]':>11} "
        f"{'speed-up':>9} {'identical':>9}"
    )
    print(header)
    print("-" * len(header))
    with threadpool_limits(1):
        for L in args.sizes:
            times = {"double": [], "single": []}
            same = 0
            samples = [(w, s) for w in args.disorders for s in range(args.samples)]
            for w, s in samples:
                H = build_hamiltonian("chern", L, w, s, boundary="periodic")
                index = {}
                for precision in ("double", "single"):
                    t0 = time.perf_counter()
                    index[precision] = bott_index(H, L, precision=precision)
                    times[precision].append(time.perf_counter() - t0)
                same += index["double"] == index["single"]
            double, single = (statistics.median(times[p]) for p in ("double", "single"))
            print(
                f"{L:>3} {len(samples):>7} {double:>11.3f} {single:>11.3f} "
                f"{double / single:>8.2f}x {same:>5}/{len(samples)}"
            )


if __name__ == "__main__":
    main()

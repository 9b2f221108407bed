"""Transfer-matrix strips: time per slice of the SU(2) kernel, against an earlier revision.

    python benchmarks/transfer_matrix.py [--widths 8 12 16 24] [--bars 4 3] [--slices 8192]
    python benchmarks/transfer_matrix.py --baseline 8c3ba0d    # the same tasks, old kernel

Each row is one task of ``experiment=discover_su2``'s transfer-matrix route: a strip of width
M carrying ``bars`` bars (disorders) at once, as its two workers share them (7 W values: 4 and
3 per task). ``--baseline REV`` loads ``src/qpt/physics/transfer_matrix.py`` of git revision
REV beside the working tree's, runs both on the same seeds in alternation (best of
``--repeats``, one BLAS thread, as in qpt's workers) and checks that their Lyapunov exponents
are bit-identical: a speed-up here must not move a single digit of the route's result.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

from qpt.physics import transfer_matrix

MODULE = "src/qpt/physics/transfer_matrix.py"
#: the discover_su2 grid of the route (conf/experiment/discover_su2.yaml)
DISORDERS = (5.3, 5.6, 5.9, 6.2, 6.5, 6.8, 7.1)


def load_revision(rev: str) -> ModuleType:
    """The transfer-matrix module as it was at git revision ``rev``."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{rev}:{MODULE}"], cwd=root, capture_output=True, text=True
    )
    if source.returncode:
        sys.exit(f"benchmark: cannot read {MODULE} at revision {rev!r}: {source.stderr.strip()}")
    path = Path(tempfile.mkdtemp()) / f"transfer_matrix_{rev}.py"
    path.write_text(source.stdout)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_task(module: ModuleType, width: int, bars: int, slices: int) -> tuple[float, np.ndarray]:
    seeds = [np.random.SeedSequence([width, i]) for i in range(bars)]
    t0 = time.perf_counter()
    gamma = module.spin_strip_lyapunov_blocks(
        0.0, DISORDERS[:bars], width, bonds=None, length=slices, blocks=2, seeds=seeds
    )
    return time.perf_counter() - t0, gamma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 12, 16, 24])
    parser.add_argument("--bars", type=int, nargs="+", default=[4, 3])
    parser.add_argument("--slices", type=int, default=8192, help="per run (after a warm-up)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", help="git revision whose kernel runs beside this one")
    args = parser.parse_args()
    if any(not 1 <= b <= len(DISORDERS) for b in args.bars):
        sys.exit(f"benchmark: --bars must be in [1, {len(DISORDERS)}], got {args.bars}")
    kernels = {"this": transfer_matrix}
    if args.baseline:
        kernels = {args.baseline: load_revision(args.baseline)} | kernels
    print(f"SU(2) strips, E = 0, {args.slices} slices per run, best of {args.repeats}, 1 thread")
    header = f"{'M':>3} {'bars':>4}" + "".join(f" {name + ' [us/slice]':>20}" for name in kernels)
    if args.baseline:
        header += f" {'speed-up':>9} {'identical':>9}"
    print(header)
    print("-" * len(header))
    totals = dict.fromkeys(kernels, 0.0)
    with threadpool_limits(1):
        for width in args.widths:
            for bars in args.bars:
                best, results = dict.fromkeys(kernels, np.inf), {}
                for _ in range(args.repeats):  # alternate: both see the same machine load
                    for name, module in kernels.items():
                        seconds, results[name] = time_task(module, width, bars, args.slices)
                        best[name] = min(best[name], seconds)
                row = f"{width:>3} {bars:>4}" + "".join(
                    f" {1e6 * best[name] / args.slices:>20.1f}" for name in kernels
                )
                if args.baseline:
                    same = np.array_equal(*results.values())
                    row += f" {best[args.baseline] / best['this']:>9.2f} {same!s:>9}"
                print(row)
                for name in kernels:
                    totals[name] += best[name]
    if args.baseline:
        ratio = totals[args.baseline] / totals["this"]
        print(f"all tasks: {ratio:.2f}x the speed of {args.baseline}")


if __name__ == "__main__":
    main()

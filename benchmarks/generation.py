"""Eigenstate generation throughput: states/s per model with 1 and 2 workers, cached reload.

    python benchmarks/generation.py [--L 40] [--states 256] [--models su2 ando chern] \
        [--allocators tuned glibc]

Each row generates the same training states into a fresh temporary cache (so the runs are
side by side in one process tree) and then reloads them from the cache. ``--allocators
tuned glibc`` gives each model a row per name, its workers started with
``WORKER_MALLOC_ENV``'s allocator thresholds (the default) or glibc's own; every row's
states are compared with its model's first row's, to the last bit.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
from allocators import ALLOCATORS, allocator

from qpt.data import EnsembleCache, training_ensemble
from qpt.data.ensemble import Ensemble, grid_ensemble, relative_phases
from qpt.physics import get_model


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def ensemble_for(model: str, L: int) -> Ensemble:
    if model == "ando":  # no tabulated W_c: a W grid over the same range as SU(2)
        return grid_ensemble("ando", L, 0.0, [0.124 + 12.276 * i / 99 for i in range(100)], seed=1)
    wc = get_model(model).critical_disorder(0.0)
    return training_ensemble(model, L, 0.0, relative_phases([[0.02, 1.0], [1.0, 2.0]], wc), seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, default=40)
    parser.add_argument("--states", type=int, default=256)
    parser.add_argument("--models", nargs="+", default=["su2", "ando", "chern"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--allocators", nargs="+", default=["tuned"], choices=ALLOCATORS)
    args = parser.parse_args()
    print(f"L={args.L}, {args.states} states per run, E=0, letter's training disorder")
    header = f"{'model':<7}{'allocator':>10}" + "".join(
        f"{f'{w} worker(s) [st/s]':>22}" for w in args.workers
    )
    header += f"{'speed-up':>10}{'reload [ms]':>13}{'same':>6}"
    print(header)
    print("-" * len(header))
    for model in args.models:
        ens, first = ensemble_for(model, args.L), None
        for name in args.allocators:
            rates = []
            with tempfile.TemporaryDirectory() as tmp, allocator(name):
                for w in args.workers:
                    cache = EnsembleCache(f"{tmp}/w{w}", ens, shard_size=64)
                    t0 = time.perf_counter()
                    cache.ensure(args.states, workers=w, progress=False)
                    rates.append(args.states / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                data = cache.load(args.states, checksum=True)
                images = data.images().copy()  # touches every page
                reload_ms = 1e3 * (time.perf_counter() - t0)
            first = images if first is None else first
            same = "yes" if np.array_equal(images, first) else "NO"
            row = f"{model:<7}{name:>10}" + "".join(f"{r:>22.1f}" for r in rates)
            print(row + f"{rates[-1] / rates[0]:>10.2f}{reload_ms:>13.1f}{same:>6}", flush=True)
    own, children = peak_rss_mb()
    print(f"\npeak RSS: this process {own:.0f} MB, largest worker {children:.0f} MB")


if __name__ == "__main__":
    main()

"""Confusion's networks in this process or side by side in worker processes.

    QPT_CACHE_DIR=... python benchmarks/confusion.py [--workers 1 2] [--replicas 2] \
        [--allocators tuned glibc] [-- overrides]

The confusion route trains ``replicas`` networks for each trial boundary
(``qpt.discovery.learn_boundaries``), each on one torch thread; ``discover.confusion.workers``
spreads the trials over that many processes, where ``1`` trains them in this one. This
times one draw of ``experiment=discover_su2``'s route (its first block of grid states,
generated first where missing) with each worker count, side by side in one run, and checks
that every count gives the same outcomes to the last bit. Networks a second and the
ratio to the first count are printed; the pool's start (importing torch in each worker) is
in the time, as in a run. ``--allocators tuned glibc`` runs each worker count twice, its
workers started with ``WORKER_MALLOC_ENV``'s allocator thresholds (the default) and with
glibc's own; each row shows the share of the CPU time spent in the kernel and the minor
page faults.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
from allocators import ALLOCATORS, allocator, cpu_usage
from hydra import compose, initialize_config_dir

import qpt.config  # noqa: F401  (registers the config schema)
from qpt.config import typed
from qpt.discovery import (
    block_inputs,
    confusion_grids,
    confusion_trials,
    grid_meta,
    learn_boundaries,
)

CONF = Path(__file__).resolve().parents[1] / "conf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replicas", type=int, default=2, help="networks per trial")
    parser.add_argument("--allocators", nargs="+", default=["tuned"], choices=ALLOCATORS)
    parser.add_argument("overrides", nargs="*", help="train.py's overrides")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        # nothing is written: the output directory only has to be a string
        overrides = ["experiment=discover_su2", "output_dir=unused", *args.overrides]
        overrides.append(f"discover.confusion.replicas={args.replicas}")
        conf = typed(compose(config_name="config", overrides=overrides))
    for name in ("pytorch_lightning", "lightning.pytorch"):  # a Trainer per network
        logging.getLogger(name).setLevel(logging.ERROR)
    route, trials = conf.discover.confusion, confusion_trials(conf)
    meta = grid_meta(conf, max(route.sizes), route.coarse_grain) | {"sizes": route.sizes}
    x, W = block_inputs(conf, confusion_grids(conf), 0)
    networks = len(trials) * route.replicas
    print(
        f"L={route.sizes}, {route.coarse_grain} x {route.coarse_grain} boxes, {len(W)} states, "
        f"{networks} networks of {route.epochs} epochs, one torch thread each"
    )
    print(
        f"{'workers':>8}{'allocator':>10}{'seconds':>10}{'networks/s':>12}{'ratio':>8}"
        f"{'kernel %':>10}{'faults (M)':>12}{'same':>6}"
    )
    first, outcome = None, None
    for workers in args.workers:
        for name in args.allocators:
            route.workers = workers
            before = cpu_usage()
            start = time.perf_counter()
            with allocator(name):
                correct = learn_boundaries(conf, x, W, trials, meta)
            seconds = time.perf_counter() - start
            kernel, cpu, faults = (a - b for a, b in zip(cpu_usage(), before, strict=True))
            first = first or seconds
            outcome = correct if outcome is None else outcome
            same = "yes" if np.array_equal(correct, outcome) else "NO"
            print(
                f"{workers:>8}{name:>10}{seconds:>10.1f}{networks / seconds:>12.2f}"
                f"{first / seconds:>8.2f}{100 * kernel / cpu:>10.1f}{faults / 1e6:>12.2f}"
                f"{same:>6}",
                flush=True,
            )


if __name__ == "__main__":
    main()

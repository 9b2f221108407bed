"""Which half of a confusion draw sets its maximum: the states or the networks?
(docs/DISCOVERY.md, "Why one seed's draws agreed").

A draw of the confusion route has its own block of grid states (drawn by ``seed``) and its
own networks: initial weights, batch order and held-out fifth, from ``seed + draw x
replicas``. This script crosses the two: the states of run seed S with the networks of run
seed N, draw by draw, exactly as the route pairs them when S = N (``qpt.discovery``'s own
``confusion_grids``, ``block_inputs`` and ``learn_boundaries``). For each pair it prints every
draw's maximum and their spread, and saves every draw's ``correct[replica, trial, state]``.

    QPT_CACHE_DIR=... .venv/bin/python docs/studies/confusion_exchange.py \\
        --pairs 5678:1234 1234:5678 --draws 6 --save exchange.npz [overrides of train.py ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from r_scaling_trend import load_config  # this folder (the script's) is on sys.path

from qpt.discovery import (
    block_inputs,
    confusion_grids,
    confusion_trials,
    grid_meta,
    learn_boundaries,
)
from qpt.evaluation.confusion import interior_peak


def pair(text: str) -> tuple[int, int]:
    states, networks = text.split(":")
    return int(states), int(networks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=pair, nargs="+", required=True, help="STATES:NETWORKS")
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--save", required=True, help="an .npz of every draw's correct")
    parser.add_argument("overrides", nargs="*", help="train.py's overrides")
    args = parser.parse_args()
    saved = {}
    for states, networks in args.pairs:
        overrides = ["experiment=discover_su2", f"seed={states}", *args.overrides]
        overrides.append(f"discover.confusion.draws={args.draws}")
        with tempfile.TemporaryDirectory() as out:
            conf = load_config(overrides, out)
        route, trials = conf.discover.confusion, confusion_trials(conf)
        meta = grid_meta(conf, max(route.sizes), route.coarse_grain) | {"sizes": route.sizes}
        grids, maxima = confusion_grids(conf), []
        for draw in range(args.draws):
            start = time.perf_counter()
            x, W = block_inputs(conf, grids, draw)
            seed = networks + draw * route.replicas
            correct = learn_boundaries(conf, x, W, trials, meta, seed=seed)
            saved[f"s{states}_n{networks}_d{draw}"] = correct
            accuracy = correct.mean(axis=(0, 2))
            maxima.append(interior_peak(trials, accuracy))
            print(
                f"states {states} networks {networks} draw {draw}: maximum {maxima[-1]:.3f}  "
                f"accuracy {' '.join(f'{a:.4f}' for a in accuracy)}  "
                f"({(time.perf_counter() - start) / 60:.1f} min)",
                flush=True,
            )
            # rewritten after every draw: a stopped study keeps what it measured
            np.savez_compressed(args.save, trials=trials, **saved)
        m = np.array(maxima)
        print(
            f"states {states} networks {networks}: mean {m.mean():.3f}  "
            f"spread (sd) {m.std(ddof=1):.3f}  maxima {' '.join(f'{v:.3f}' for v in m)}",
            flush=True,
        )


if __name__ == "__main__":
    main()

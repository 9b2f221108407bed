"""Reading and judging cached states: the discovery analysis job's per-state cost at each L.

    QPT_CACHE_DIR=... python benchmarks/judging.py [--sizes 8 24 64 128] [--states 1000]

The analysis job of ``experiment=discover_su2_large`` (all states cached) reads each grid
state once per network (``predict``: memory-mapped L x L image -> 4 x 4 box weights -> the
boxes net), each training state once per epoch (the same read and coarse-graining), and the
confusion size's images into memory at once. Only reading and coarse-graining the image grows
with L; the network sees 4 x 4 at every size. This times, side by side in one run on the
real cache (the first ``--states`` states of each size's discovery grid, generated first where
missing: about 0.4 s a state on one core at L = 128), with torch's default threads as in the
job, per state:

* ``verify``: ``data.load``, which checks every shard's checksum before memory-mapping it;
* ``read``: the training loader's path (``ImageDataset`` through a ``DataLoader``);
* ``judge``: ``predict``, the network route's path (read + network);
* ``in memory``: ``images()`` + ``coarse_grain`` of all states, the confusion route's path.

Each is timed at ``--states`` and at a fifth of it: the slope is the cost per state, the
intercept the cost per call (a Trainer, a loader). Warm page cache: the states were just
read or written; a cluster's file system adds its own read time (the bytes are printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader

import qpt.config  # noqa: F401  (registers the config schema)
from qpt.config import TrainConfig, typed
from qpt.data.datamodule import ImageDataset
from qpt.discovery import grid_meta, grid_states
from qpt.evaluation.evaluate import predict
from qpt.models.module import PhaseClassifier
from qpt.physics.images import coarse_grain

CONF = Path(__file__).resolve().parents[1] / "conf"


def timed(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``fn()``, seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def per_state(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """(seconds per state, seconds per call) from ``fn(n)`` and ``fn(n // 5)``."""
    small = max(1, n // 5)
    t_n, t_small = timed(lambda: fn(n)), timed(lambda: fn(small))
    slope = (t_n - t_small) / (n - small)
    return slope, t_n - slope * n


def measure(conf: TrainConfig, L: int, n: int) -> dict[str, float]:
    """Seconds per state to verify, read, judge and take in memory the first ``n`` states
    of L's grid, the seconds per judging call, and the kB of an image."""
    ensemble, total = grid_states(conf, L, conf.discover.network.states_per_w)
    if n > total:
        raise SystemExit(f"--states={n} exceeds the {total} states of L={L}'s grid")
    conf.data.ensure(ensemble, n)
    states = conf.data.cache(ensemble).load(n)
    boxes = conf.data.coarse_grain
    meta = grid_meta(conf, L, boxes)
    clf = PhaseClassifier(
        conf.net, dataclasses.asdict(conf.optim), conf.symmetry, meta, conf.val_orbit
    )

    def read(k: int) -> None:
        dataset = ImageDataset(states, np.arange(k), 1.0, boxes)
        for _ in DataLoader(dataset, batch_size=conf.data.batch_size):
            pass

    def judge(k: int) -> None:
        predict(clf, dataclasses.replace(states, info=states.info[:k]), "cpu")

    cost = {"kB/state": states.image(0).nbytes / 1024}
    cost["verify [us]"] = timed(lambda: conf.data.load(ensemble, n)) / n * 1e6
    cost["read [us]"] = per_state(read, n)[0] * 1e6
    judge_s, judge_call = per_state(judge, n)
    cost["judge [us]"], cost["judge/call [s]"] = judge_s * 1e6, judge_call
    memory = timed(lambda: coarse_grain(states.images(), boxes, 2)) / n  # no per-call cost
    cost["in memory [us]"] = memory * 1e6
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 24, 64, 128])
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--experiment", default="discover_su2_large")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        # nothing is written: the output directory only has to be a string
        overrides = [f"experiment={args.experiment}", "output_dir=unused"]
        cfg = compose(config_name="config", overrides=overrides)
    conf = typed(cfg)
    n = args.states
    for name in ("pytorch_lightning", "lightning.pytorch"):  # a Trainer per predict call
        logging.getLogger(name).setLevel(logging.ERROR)
    threads = torch.get_num_threads()
    print(f"experiment={args.experiment}, first {n} grid states of each size, {threads} threads")
    rows = {}
    for L in args.sizes:
        rows[L] = measure(conf, L, n)
        if len(rows) == 1:
            print(f"{'L':>4}" + "".join(f"{k:>16}" for k in rows[L]))
        print(f"{L:>4}" + "".join(f"{v:>16.2f}" for v in rows[L].values()))
    first = args.sizes[0]
    ratios = "  ".join(
        f"L={L}: {rows[L]['judge [us]'] / rows[first]['judge [us]']:.2f}" for L in args.sizes
    )
    print(f"judge per state / L={first}'s: {ratios}")


if __name__ == "__main__":
    main()

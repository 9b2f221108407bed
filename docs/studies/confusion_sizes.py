"""Learning by confusion with one size or several together, where the answer is known
(docs/DISCOVERY.md, "Confusion across sizes").

Synthetic box weights that obey one-parameter scaling: a state at disorder W on an L x L
lattice is n x n box weights drawn log-normal with a log-spread that depends on
x = (W - W_c) L^(1/nu) alone (small in the metal, large in the insulator, as the
multifractal spectrum widens), each state normalised to mean weight 1. At one size a network
reads the spread, and so W, equally well everywhere, and the confusion curve is a plateau
between its arms (as qpt's L = 32 ... 64 states in 4 x 4 boxes gave one size at a time); with several sizes one boundary in W must agree with every size's
states, which it does only at x = 0, W_c.

Each study runs the discovery route's own training (``qpt.discovery.learn_boundaries``, the
command's network, optimiser and epochs) and estimator (``confusion_curve``), and the script
prints per study the peak, its 95% interval and ``maximum_z``, then their mean and spread and
how often the interval covers W_c.

    .venv/bin/python docs/studies/confusion_sizes.py --sizes 32 48 64 96 --studies 5 \\
        [--states-per-w 200] [overrides of train.py ...]
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch
from r_scaling_trend import load_config  # this folder (the script's) is on sys.path

from qpt.config import TrainConfig
from qpt.discovery import learn_boundaries
from qpt.evaluation.confusion import ConfusionCurve, confusion_curve

TRUTH_WC, TRUTH_NU = 6.2, 2.73


def synthetic_boxes(rng: np.random.Generator, W: np.ndarray, L: int, *, boxes: int) -> np.ndarray:
    """(states, 1, boxes, boxes) log-normal box weights of mean 1 per state, whose log-spread
    0.5 exp(x / 15) grows through the transition (x the scaling variable): a
    state's spread is read to a fixed fraction of itself, so equally well in x everywhere."""
    x = (W - TRUTH_WC) * L ** (1 / TRUTH_NU)
    spread = 0.5 * np.exp(x / 15)
    logs = spread[:, None, None] * rng.standard_normal((len(W), boxes, boxes))
    weights = np.exp(logs - logs.max(axis=(1, 2), keepdims=True))
    weights /= weights.mean(axis=(1, 2), keepdims=True)
    return weights[:, None].astype(np.float32)


def study(conf: TrainConfig, sizes: list[int], states_per_w: int, seed: int) -> ConfusionCurve:
    rng = np.random.default_rng(seed)
    w_values = np.array(conf.discover.grid.values())
    boxes = conf.data.coarse_grain
    W = np.repeat(w_values, states_per_w)
    inputs = [synthetic_boxes(rng, W, L, boxes=boxes) for L in sizes]
    x = torch.from_numpy(np.concatenate(inputs))
    trials = (w_values[1:] + w_values[:-1]) / 2
    meta = {"model": conf.model.name, "model_params": conf.model.params, "L": max(sizes)}
    meta |= {"input_scale": conf.data.input_scale, "coarse_grain": boxes, "sizes": sizes}
    correct = learn_boundaries(conf, x, np.tile(W, len(sizes)), trials, meta)
    return confusion_curve(trials, correct, n_bootstrap=conf.discover.n_bootstrap, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64, 96])
    parser.add_argument("--studies", type=int, default=5)
    parser.add_argument("--states-per-w", type=int, default=200)
    parser.add_argument("overrides", nargs="*", help="train.py's overrides")
    args = parser.parse_args()
    overrides = ["experiment=discover_su2", "data.coarse_grain=4", *args.overrides]
    with tempfile.TemporaryDirectory() as out:
        conf = load_config(overrides, out)
        rows = []
        for k in range(args.studies):
            found = study(conf, args.sizes, args.states_per_w, seed=1000 + k)
            lo, hi = found.peak_ci
            rows.append((found.peak, lo <= TRUTH_WC <= hi, found.maximum_z))
            accuracy = " ".join(f"{a:.3f}" for a in found.accuracy)
            print(
                f"study {k}: peak {found.peak:.3f} [{lo:.3f}, {hi:.3f}]  "
                f"z {found.maximum_z:.1f}  accuracy {accuracy}",
                flush=True,
            )
    peaks = np.array([r[0] for r in rows])
    found = np.isfinite(peaks)
    print(
        f"sizes {args.sizes}: a peak in {found.sum()} of {len(rows)}; "
        f"mean {np.nanmean(peaks):.3f}, spread {np.nanstd(peaks, ddof=1):.3f} (truth "
        f"{TRUTH_WC}); covered {sum(r[1] for r in rows)}; z >= 2 in "
        f"{sum(r[2] >= 2 for r in rows)}"
    )


if __name__ == "__main__":
    main()

"""Do the cluster variant's <r> intervals cover a known W_c and nu? (docs/DISCOVERY.md)

`experiment=discover_su2_large` fits <r> on open lattices at L = 24 ... 128, 13 W from 5 to
8, 1000 realisations a point, with no irrelevant term. This study draws synthetic
per-realisation <r> values on the variant's own sizes, grid and realisations, whose mean
obeys one-parameter scaling exactly in x = (W - 6.2) L^(1/2.73), with a spread of one
realisation's mean of 0.05 (the L = 96 run's: a standard error of 0.005 from 100
realisations). The mean's shape (``--shape``) is ``tanh``, 0.60 - 0.06 tanh(x / 6), or
``open``, the shape measured on open lattices: 0.3863 + (0.6671 - 0.3863) expit(1.2481 -
0.2906 x + 0.0111 x^2 - 0.0004 x^3), the fit of docs/studies/r_open_bias.py to seed 1234's
levels at L = 16 ... 96 with W_c and nu held at 6.2 and 2.73, which runs from the metal's
plateau towards Poisson's value as the real curves do. Each study is fitted with the variant's settings (`scaling_settings` of its
composed config; trailing arguments are train.py overrides), and the table gives how often
the 95% intervals cover W_c = 6.2 and nu = 2.73, the estimates' mean and spread, and the
seconds a fit takes. 100 studies with 100 resamples take about 2.5 min on one core.

    .venv/bin/python docs/studies/r_cluster_coverage.py [--trials 100] [--resamples 100]
        [--spread 0.05] [-- train.py overrides, e.g. discover.r.scaling.order=5]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from r_scaling_trend import load_config  # this folder's: the composed config of a run
from scipy.special import expit

from qpt.config import TrainConfig
from qpt.discovery import scaling_settings
from qpt.evaluation.scaling import bootstrap_scaling
from qpt.physics.observables import R_POISSON

WC, NU = 6.2, 2.73


OPEN_SHAPE = (0.6671, [1.2481, -0.2906, 0.0111, -0.0004])  # plateau, cubic inside the expit
SHAPES = {
    "tanh": lambda x: 0.60 - 0.06 * np.tanh(x / 6),
    "open": lambda x: (
        R_POISSON
        + (OPEN_SHAPE[0] - R_POISSON) * expit(np.polynomial.polynomial.polyval(x, OPEN_SHAPE[1]))
    ),
}


def synthetic(conf: TrainConfig, seed: int, spread: float, shape: str) -> dict:
    """Per size of the <r> route: each realisation's W and <r> (1 x n), the route's samples."""
    rng, route, grid = np.random.default_rng(seed), conf.discover.r, conf.discover.grid.values()
    samples = {}
    for L in route.sizes or conf.discover.sizes:
        W = np.tile(np.asarray(grid, float), route.realisations_at(L))
        x = (W - WC) * L ** (1 / NU)
        r = SHAPES[shape](x) + rng.normal(0, spread, W.size)
        samples[L] = (W, r[None, :])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=100)
    parser.add_argument("--spread", type=float, default=0.05)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tanh")
    parser.add_argument("overrides", nargs="*", help="train.py overrides of the variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        conf = load_config(["experiment=discover_su2_large", *args.overrides], out)
    form = conf.discover.r.scaling
    fit = scaling_settings(conf, form, float(np.mean(conf.discover.grid.values())))
    fit["n_bootstrap"] = args.resamples
    found, covered, seconds = [], np.zeros(2, int), []
    for trial in range(args.trials):
        samples = synthetic(conf, 1000 + trial, args.spread, args.shape)
        start = time.perf_counter()
        est = bootstrap_scaling(samples, **(fit | {"seed": trial}))
        seconds.append(time.perf_counter() - start)
        found.append((est.wc, est.nu))
        covered += [est.wc_ci[0] <= WC <= est.wc_ci[1], est.nu_ci[0] <= NU <= est.nu_ci[1]]
    found = np.array(found)
    print(
        f"{args.trials} studies, {args.resamples} resamples each, spread {args.spread}, "
        f"order {form.order}, link {form.link}, shape {args.shape}: {np.mean(seconds):.1f} s a fit"
    )
    print("| | truth | covered | mean | spread |\n|---|---:|---:|---:|---:|")
    for name, truth, hits, column in zip(("W_c", "nu"), (WC, NU), covered, found.T, strict=True):
        print(
            f"| {name} | {truth} | {hits}/{args.trials} | {column.mean():.3f} | "
            f"{column.std():.3f} |"
        )


if __name__ == "__main__":
    main()

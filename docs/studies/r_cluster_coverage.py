"""Do the cluster variant's <r> intervals cover a known W_c and nu? (docs/DISCOVERY.md)

`experiment=discover_su2_large` fits <r> on open lattices at L = 24 ... 128, 13 W from 5 to
8, 1000 realisations a point, with a quartic F and no irrelevant term. This study draws
synthetic per-realisation <r> values of that shape whose mean obeys one-parameter scaling
exactly, 0.60 - 0.06 tanh(x / 6) with x = (W - 6.2) L^(1/2.73) (no polynomial, so the
quartic has to approximate it), and a spread of one realisation's mean of 0.05 (the L = 96
run's: a standard error of 0.005 from 100 realisations). Each study is fitted with the
variant's settings, and the table gives how often the 95% intervals cover W_c = 6.2 and
nu = 2.73, the estimates' mean and spread, and the seconds a fit takes.

    .venv/bin/python docs/studies/r_cluster_coverage.py [--trials 100] [--resamples 100]
        [--spread 0.05] [--order 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from qpt.evaluation.scaling import bootstrap_scaling

SIZES = (24, 32, 48, 64, 96, 128)
GRID = np.linspace(5.0, 8.0, 13)
WC, NU = 6.2, 2.73


def synthetic(seed: int, realisations: int, spread: float) -> dict:
    """Per size: each realisation's W and <r> (1 x n), the route's samples."""
    rng = np.random.default_rng(seed)
    samples = {}
    for L in SIZES:
        W = np.tile(GRID, realisations)
        x = (W - WC) * L ** (1 / NU)
        r = 0.60 - 0.06 * np.tanh(x / 6) + rng.normal(0, spread, W.size)
        samples[L] = (W, r[None, :])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=100)
    parser.add_argument("--realisations", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.05)
    parser.add_argument("--order", type=int, default=4)
    args = parser.parse_args()
    fit = {"wc0": float(GRID.mean()), "nu0": 2.0, "order": args.order, "link": "identity"}
    fit |= {"window": None, "irrelevant": False, "keep_above": None}
    found, covered, seconds = [], np.zeros(2, int), []
    for trial in range(args.trials):
        samples = synthetic(1000 + trial, args.realisations, args.spread)
        start = time.perf_counter()
        est = bootstrap_scaling(samples, n_bootstrap=args.resamples, seed=trial, **fit)
        seconds.append(time.perf_counter() - start)
        found.append((est.wc, est.nu))
        covered += [est.wc_ci[0] <= WC <= est.wc_ci[1], est.nu_ci[0] <= NU <= est.nu_ci[1]]
    found = np.array(found)
    print(
        f"{args.trials} studies, {args.resamples} resamples each, spread {args.spread}, "
        f"order {args.order}: {np.mean(seconds):.1f} s a fit"
    )
    print("| | truth | covered | mean | spread |\n|---|---:|---:|---:|---:|")
    for name, truth, hits, column in zip(("W_c", "nu"), (WC, NU), covered, found.T, strict=True):
        print(
            f"| {name} | {truth} | {hits}/{args.trials} | {column.mean():.3f} | "
            f"{column.std():.3f} |"
        )


if __name__ == "__main__":
    main()

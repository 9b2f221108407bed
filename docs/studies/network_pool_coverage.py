"""Does the network route pooled over independent runs (``qpt-pool``) cover a known W_c and
nu, when every run's networks carry an offset in nu that its own interval leaves out
(docs/DISCOVERY.md, SU(2): the network route pooled over independent runs)?

Each synthetic run is built as in ``network_fit_coverage.py`` from a measured run's samples
(its sizes, W grid, states per W, networks, per-state spread and network jitter, and its
own fit of order ``--truth-order`` as the scaling function), with W_c = 6.2 and its own
exponent nu_run = 2.73 + N(0, ``--offset-nu``): the draw of training states, which moves a
run's nu (sd 0.11 on SU(2), 0.20 on Ando, measured) and which no run's bootstrap holds.
Every run is fitted as the route fits it (its settings, no bootstrap: pooling uses the
point estimates), and each pool of ``--runs`` runs gives the mean with its Student-t
interval. The table: how often the pooled intervals cover 6.2 and 2.73, the mean of the
pooled estimates, and the sd of a single run's estimate. With several ``--runs`` (nested
pools: a pool of k runs is the first k of the largest), a second table says how often nu
is covered by the first pool or by the pool of k: what a rule that adds runs after a first
look claims. ``--min-size`` keeps the sizes from L_min on (the run's scaling function and
spread stay those fitted on all its sizes): a pool of the runs' fits without their smallest.

    .venv/bin/python docs/studies/network_pool_coverage.py --samples RUN/network_samples.npz \\
        --runs 5 --pools 400 --offset-nu 0.11 -- experiment=discover_su2
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from network_fit_coverage import NU, WC, run_shape, synthetic_samples  # this folder
from threadpoolctl import threadpool_limits

from qpt.evaluation.draws import t_interval
from qpt.evaluation.scaling import curve_points, fit_scaling


def fit_run(job: tuple) -> tuple[float, float, float, float]:
    """One synthetic run, fitted as the route fits it: (nu_run, W_c, nu, chi2/dof)."""
    template, coefficients, kappa, jitter, seed, offset, fit = job
    nu_run = NU + np.random.default_rng([seed, 1]).normal(0.0, offset)
    samples = synthetic_samples(template, coefficients, kappa, jitter, seed, nu=nu_run)
    with threadpool_limits(1):
        f = fit_scaling(*curve_points(samples), **fit)
    return nu_run, f.wc, f.nu, f.reduced_chi2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, required=True, help="a run's network_samples.npz")
    parser.add_argument("--truth-order", type=int, default=3)
    parser.add_argument("--runs", default="5", help="runs a pool, one or several: 3,5,6")
    parser.add_argument("--pools", type=int, default=400)
    parser.add_argument("--offset-nu", type=float, default=0.11)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--min-size", type=int, default=0, help="fit only the sizes from this one on (L_min)"
    )
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of that run")
    args = parser.parse_args()
    measured, _, fit, truth, kappa, jitter = run_shape(
        args.samples, args.overrides, args.truth_order
    )
    sizes = [int(k) for k in args.runs.split(",")]
    template = {L: (W, len(values)) for L, (W, values) in measured.items() if L >= args.min_size}
    n_runs = args.pools * max(sizes)
    print(
        f"truth: W_c {WC}, nu {NU} + N(0, {args.offset_nu}) a run; F of order "
        f"{args.truth_order} from the run (its own fit: W_c {truth.wc:.3f}, nu {truth.nu:.2f}, "
        f"chi2/dof {truth.reduced_chi2:.2f}); kappa {kappa:.2f}, jitter {jitter:.2f}; "
        f"{n_runs} synthetic runs at L = {sorted(template)}, fitted as the route fits",
        flush=True,
    )
    jobs = [
        (template, truth.coefficients, kappa, jitter, 20000 + s, args.offset_nu, fit)
        for s in range(n_runs)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        fitted = np.array(list(pool.map(fit_run, jobs, chunksize=8)))
    nu_run, wc, nu, chi2 = fitted.T
    print(
        f"a single run: W_c mean {wc.mean():.3f} sd {wc.std(ddof=1):.3f}; nu mean "
        f"{nu.mean():.3f} sd {nu.std(ddof=1):.3f} (of which the offset {nu_run.std(ddof=1):.3f}"
        f"); median chi2/dof {np.median(chi2):.2f}"
    )
    print("| runs a pool | pools | W_c covered | nu covered | mean pooled W_c | mean pooled nu |")
    print("|---:|---:|---:|---:|---:|---:|")
    covered = {}
    for k in sizes:
        rows = [
            (t_interval(wc[i : i + k]), t_interval(nu[i : i + k]))
            for i in range(0, n_runs, max(sizes))
        ][: args.pools]
        covered[k] = np.array([lo <= NU <= hi for _, (_, lo, hi) in rows])
        wc_in = sum(lo <= WC <= hi for (_, lo, hi), _ in rows)
        nu_in = int(covered[k].sum())
        means = np.array([(w[0], n[0]) for w, n in rows]).mean(axis=0)
        print(
            f"| {k} | {len(rows)} | {wc_in}/{len(rows)} ({wc_in / len(rows):.1%}) "
            f"| {nu_in}/{len(rows)} ({nu_in / len(rows):.1%}) | {means[0]:.3f} | {means[1]:.3f} |"
        )
    if len(sizes) > 1:
        two_looks(covered, sizes[0])


def two_looks(covered: dict[int, np.ndarray], first: int) -> None:
    """How a second look inflates coverage: the pools are nested (a pool of k runs is the
    first k of its max(sizes)), so "nu covered by the first look or by the pool of k" is
    what a rule that adds runs after a first look that missed would claim."""
    print(f"\n| nu, looks | covered by the pool of {first} or of k | of those the pool of k adds |")
    print("|---|---:|---:|")
    for k, at_k in covered.items():
        if k == first:
            continue
        either = covered[first] | at_k
        rescued = ~covered[first] & at_k
        print(
            f"| {first} then {k} | {either.sum()}/{either.size} ({either.mean():.1%}) "
            f"| {rescued.sum()} ({rescued.mean():.1%}) |"
        )


if __name__ == "__main__":
    main()

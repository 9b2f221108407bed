"""Do the network route's intervals cover a known W_c and nu at a run's statistics, with the
scaling function F a cubic or a quartic (docs/DISCOVERY.md, the fit-order coverage study)?

Synthetic truths are built from a measured run so that they look like it:

* the run's sizes, W grid, states per W and number of networks (``--samples``);
* the mean output P(W, L) = expit(F((W - W_c) L^(1/nu))) with W_c = 6.2 and nu = 2.73 (the
  SU(2) references), F the run's own fit of order ``--truth-order`` (so one-parameter scaling
  holds exactly and the answer is known);
* per-state values spread like the run's: a state's value is Beta-distributed about P with the
  run's median concentration (its per-state variance over P(1 - P)), and each network sees it
  through its own logit jitter of the run's median spread between networks.

Each synthetic study is refitted with the route's bootstrap (:func:`bootstrap_scaling`, the
run's ``n_bootstrap`` and settings) at every order of ``--orders``; the table gives how often
the 95% intervals cover W_c and nu, the median chi2/dof, how often it exceeds 2, and how
often dropping the smallest size moves W_c by its half-interval or more (the rules).

    .venv/bin/python docs/studies/network_fit_coverage.py --samples RUN/network_samples.npz \\
        --truth-order 4 --orders 3,4 --studies 40 -- experiment=discover_su2 \\
        'discover.network.states_per_w_by_size=[600,2640,2640,1760]'
"""

from __future__ import annotations

import argparse
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from network_replicas import load_samples  # this folder (the script's) is on sys.path
from r_scaling_trend import load_config
from scipy.special import expit, logit
from threadpoolctl import threadpool_limits

from qpt.discovery import half_point, scaling_settings
from qpt.evaluation.scaling import bootstrap_scaling, curve_points, fit_scaling

WC, NU = 6.2, 2.73
CLIP = 1e-6  # Beta draws of 0 or 1 in float: keep logit finite


def spread_of(samples: dict) -> tuple[float, float]:
    """The run's median per-state concentration kappa (variance = P(1 - P) / (kappa + 1)) over
    points with 0.1 < P < 0.9, and its median sd between networks of a state's logit."""
    kappas, jitters = [], []
    for W, values in samples.values():
        per_state = values.mean(axis=0)
        for w in np.unique(W):
            p = per_state[W == w]
            mean = p.mean()
            if 0.1 < mean < 0.9:
                kappas.append(mean * (1 - mean) / p.var() - 1)
        jitters.append(np.median(logit(np.clip(values, CLIP, 1 - CLIP)).std(axis=0)))
    return float(np.median(kappas)), float(np.median(jitters))


def synthetic_samples(
    template: dict,
    coefficients: list[float],
    kappa: float,
    jitter: float,
    seed: int,
    *,
    nu: float = NU,
) -> dict:
    """A study with ``template``'s sizes, W per state and number of networks (``{L: (W,
    networks)}``), its curves scaling with ``nu``; see the module docstring."""
    rng = np.random.default_rng(seed)
    samples = {}
    for L, (W, networks) in sorted(template.items()):
        mean = expit(np.polynomial.polynomial.polyval((W - WC) * L ** (1 / nu), coefficients))
        state = np.clip(rng.beta(mean * kappa, (1 - mean) * kappa), CLIP, 1 - CLIP)
        seen = logit(state) + rng.normal(0.0, jitter, (networks, len(W)))
        samples[L] = (W, expit(seen))
    return samples


class RunShape(NamedTuple):
    """What synthetic studies copy from a measured run: its samples, the route's bootstrap
    settings and fit settings (started where the route starts), the run's own fit of the
    truth's order, and its per-state concentration and network jitter."""

    measured: dict
    settings: dict
    fit: dict
    truth: Any
    kappa: float
    jitter: float


def run_shape(samples: Path, overrides: list[str], truth_order: int) -> RunShape:
    """The :class:`RunShape` of the run that wrote ``samples`` with train.py's ``overrides``."""
    with tempfile.TemporaryDirectory() as out:
        conf = load_config(overrides, out)
    measured = load_samples(samples)
    wc0 = half_point(measured, conf.discover.grid.values())
    settings = scaling_settings(conf, conf.discover.network.scaling, wc0)
    fit = {k: v for k, v in settings.items() if k not in ("n_bootstrap", "seed")}
    truth = fit_scaling(*curve_points(measured), **(fit | {"order": truth_order}))
    return RunShape(measured, settings, fit, truth, *spread_of(measured))


class Refit(NamedTuple):
    """One synthetic study refitted with F of one order."""

    order: int
    wc: float
    wc_ci: tuple[float, float]
    nu: float
    nu_ci: tuple[float, float]
    reduced_chi2: float
    wc_without_smallest: float

    @property
    def drop_moves_wc(self) -> bool:
        """The rule's test: dropping the smallest size moves W_c by its half-interval or more."""
        return abs(self.wc_without_smallest - self.wc) >= (self.wc_ci[1] - self.wc_ci[0]) / 2


def refit(job: tuple) -> list[Refit]:
    """One synthetic study refitted at each order, with one BLAS thread (workers share cores)."""
    template, coefficients, kappa, jitter, seed, orders, settings = job
    samples = synthetic_samples(template, coefficients, kappa, jitter, seed)
    smallest = min(samples)
    rest = {L: s for L, s in samples.items() if L != smallest}
    rows = []
    with threadpool_limits(1):
        for order in orders:
            run = settings | {"order": order, "seed": seed}
            est = bootstrap_scaling(samples, **run)
            fit = {k: v for k, v in run.items() if k not in ("n_bootstrap", "seed")}
            dropped = fit_scaling(*curve_points(rest), **fit)
            chi2 = est.fit.reduced_chi2
            rows.append(Refit(order, est.wc, est.wc_ci, est.nu, est.nu_ci, chi2, dropped.wc))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, required=True, help="a run's network_samples.npz")
    parser.add_argument("--truth-order", type=int, default=4, help="order of the run's F as truth")
    parser.add_argument("--orders", default="3,4", help="orders of F to refit with")
    parser.add_argument("--studies", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of that run")
    args = parser.parse_args()
    measured, settings, _, truth, kappa, jitter = run_shape(
        args.samples, args.overrides, args.truth_order
    )
    print(
        f"truth: W_c {WC}, nu {NU}, F of order {args.truth_order} from the run "
        f"{np.round(truth.coefficients, 5).tolist()} (the run's own fit: W_c {truth.wc:.3f}, "
        f"nu {truth.nu:.2f}, chi2/dof {truth.reduced_chi2:.2f}); per-state kappa {kappa:.2f}, "
        f"network jitter {jitter:.2f} in logit; {args.studies} studies, "
        f"{settings['n_bootstrap']} resamples each",
        flush=True,
    )
    orders = [int(v) for v in args.orders.split(",")]
    template = {L: (W, len(values)) for L, (W, values) in measured.items()}
    jobs = [
        (template, truth.coefficients, kappa, jitter, 1000 + s, orders, settings)
        for s in range(args.studies)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        results = [row for rows in pool.map(refit, jobs) for row in rows]
    print(
        "| F order | W_c covered | nu covered | median W_c | median nu | median chi2/dof "
        "| chi2/dof > 2 | drop moves W_c >= half-interval |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for order in orders:
        mine = [r for r in results if r.order == order]
        n = len(mine)
        wc_in = sum(r.wc_ci[0] <= WC <= r.wc_ci[1] for r in mine)
        nu_in = sum(r.nu_ci[0] <= NU <= r.nu_ci[1] for r in mine)
        chi = np.array([r.reduced_chi2 for r in mine])
        moved = sum(r.drop_moves_wc for r in mine)
        print(
            f"| {order} | {wc_in}/{n} | {nu_in}/{n} | {np.median([r.wc for r in mine]):.3f} "
            f"| {np.median([r.nu for r in mine]):.2f} | {np.median(chi):.2f} "
            f"| {int(np.sum(chi > 2))}/{n} | {moved}/{n} |"
        )


if __name__ == "__main__":
    main()

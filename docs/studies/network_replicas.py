"""Where the network route's interval comes from: its networks or its states (docs/DISCOVERY.md,
the replicas study).

Reads a network route's per-state outputs (``network_samples.npz`` of a discovery run, one
row per network) and refits them with the route's own settings
(:func:`qpt.discovery.scaling_settings`, the fit started where the command starts it):

* the first n networks, for each n of ``--replicas`` (the route's bootstrap over networks and,
  within each (L, W), states), with the fit without the smallest size beside it;
* every network alone (no bootstrap): the spread of W_c and nu between networks;
* with all networks, the bootstrap over the states only (the networks' mean per state fixed),
  over the networks only (every state kept), and over one size's states only (the others
  fixed), to show what the interval reflects and which size's states would narrow it.

    .venv/bin/python docs/studies/network_replicas.py --samples RUN/network_samples.npz \\
        --replicas 3,6,12 -- experiment=discover_su2
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from r_scaling_trend import load_config  # this folder (the script's) is on sys.path

from qpt.discovery import half_point, scaling_settings
from qpt.evaluation.curves import percentile_interval
from qpt.evaluation.scaling import (
    ScalingEstimate,
    bootstrap_scaling,
    curve_points,
    fit_scaling,
    states_within_w,
)


def load_samples(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{L: (W per state, values of shape (networks, states))}`` as the route wrote them."""
    with np.load(path, allow_pickle=False) as data:
        sizes = sorted(int(k.removeprefix("W_L")) for k in data.files if k.startswith("W_L"))
        return {L: (data[f"W_L{L}"], data[f"values_L{L}"]) for L in sizes}


def first(samples: dict, n: int) -> dict:
    return {L: (W, values[:n]) for L, (W, values) in samples.items()}


def describe(label: str, wc: float, wc_ci: tuple, nu: float, nu_ci: tuple) -> str:
    (wlo, whi), (nlo, nhi) = wc_ci, nu_ci
    return (
        f"{label}: W_c {wc:.3f} [{wlo:.3f}, {whi:.3f}] (width {whi - wlo:.3f})  "
        f"nu {nu:.2f} [{nlo:.2f}, {nhi:.2f}] (width {nhi - nlo:.2f})"
    )


def estimate_line(label: str, estimate: ScalingEstimate) -> str:
    line = describe(label, estimate.wc, estimate.wc_ci, estimate.nu, estimate.nu_ci)
    return line + f"  chi2/dof {estimate.fit.reduced_chi2:.2f}"


Draw = Callable[[dict, np.random.Generator], dict]


def resampled_fits(samples: dict, fit: dict, draw: Draw, n_bootstrap: int, seed: int) -> np.ndarray:
    """(W_c, nu) of ``n_bootstrap`` fits, each to ``draw(samples, rng)``; failed fits dropped."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_bootstrap):
        try:
            f = fit_scaling(*curve_points(draw(samples, rng)), **fit)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(f.wc) and np.isfinite(f.nu) and f.nu > 0:
            draws.append((f.wc, f.nu))
    return np.array(draws).reshape(-1, 2)


def networks_drawn(samples: dict, rng: np.random.Generator) -> dict:
    """Networks drawn with replacement (the same draw at every size: one network judges them
    all), every state kept."""
    n = len(next(iter(samples.values()))[1])
    pick = rng.integers(n, size=n)
    return {L: (W, v[pick]) for L, (W, v) in samples.items()}


def states_drawn_at(size: int) -> Draw:
    """Within each W of ``size`` only, states drawn with replacement; other sizes kept."""

    def draw(samples: dict, rng: np.random.Generator) -> dict:
        W, v = samples[size]
        idx = states_within_w(W, rng)
        return samples | {size: (W[idx], v[:, idx])}

    return draw


def interval_line(label: str, samples: dict, fit: dict, draw: Draw, settings: dict) -> str:
    draws = resampled_fits(samples, fit, draw, settings["n_bootstrap"], settings["seed"])
    full = fit_scaling(*curve_points(samples), **fit)
    wc_ci, nu_ci = (percentile_interval(column, 0.95) for column in draws.T)
    return describe(label, full.wc, wc_ci, full.nu, nu_ci)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples", type=Path, required=True, help="a run's discovery/network_samples.npz"
    )
    parser.add_argument("--replicas", default="3,6,12", help="numbers of networks to refit")
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of that run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        conf = load_config(args.overrides, out)
    route = conf.discover.network
    samples = load_samples(args.samples)
    n_all = len(next(iter(samples.values()))[1])
    print(
        f"{n_all} networks; states a W:",
        {L: int(np.sum(W == W[0])) for L, (W, _) in samples.items()},
    )
    # the command's start (its 3 networks), so that the first 3 reproduce its row exactly
    wc0 = half_point(first(samples, 3), conf.discover.grid.values())
    settings = scaling_settings(conf, route.scaling, wc0)
    fit = {k: v for k, v in settings.items() if k not in ("n_bootstrap", "seed")}
    smallest = min(samples)
    for n in (int(v) for v in args.replicas.split(",")):
        if n > n_all:
            raise SystemExit(f"--replicas asks for {n} networks; the file has {n_all}")
        subset = first(samples, n)
        print(estimate_line(f"{n:2d} networks", bootstrap_scaling(subset, **settings)))
        rest = {L: s for L, s in subset.items() if L != smallest}
        print(estimate_line(f"   without L = {smallest}", bootstrap_scaling(rest, **settings)))
    singles = []
    for k in range(n_all):
        f = fit_scaling(
            *curve_points({L: (W, v[k : k + 1]) for L, (W, v) in samples.items()}), **fit
        )
        singles.append((f.wc, f.nu))
        print(f"network {k:2d} alone: W_c {f.wc:.3f}  nu {f.nu:.2f}  chi2/dof {f.reduced_chi2:.2f}")
    singles = np.array(singles)
    print(
        f"between networks: W_c sd {singles[:, 0].std(ddof=1):.3f}, nu sd "
        f"{singles[:, 1].std(ddof=1):.2f} (/sqrt(n) is the spread of an n-network mean)"
    )
    mean_only = {L: (W, v.mean(axis=0, keepdims=True)) for L, (W, v) in samples.items()}
    states = bootstrap_scaling(mean_only, **settings)
    print(estimate_line(f"{n_all} networks, states resampled only", states))
    print(
        interval_line(
            f"{n_all} networks, networks resampled only", samples, fit, networks_drawn, settings
        )
    )
    for L in sorted(mean_only):
        label = f"{n_all} networks, states resampled at L = {L} only"
        print(interval_line(label, mean_only, fit, states_drawn_at(L), settings), flush=True)


if __name__ == "__main__":
    main()

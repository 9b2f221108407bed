"""How the <r> route's W_c and nu move with the smallest size, the order of the scaling
function and the leading irrelevant correction (docs/DISCOVERY.md, the declared open-lattice
runs' fits (b) and (c)).

The route's own data (:func:`qpt.discovery.level_samples`: the cached levels of the run the
overrides describe, generated where missing) and its own fit settings
(:func:`qpt.discovery.scaling_settings`), with only the order and the sizes varied: the
trend keeps the overrides' correction (e.g. ``discover.r.scaling.irrelevant=true
discover.r.scaling.exponent=1``), and a form without one is fitted once more with a free
b L^-y. Prints the mean <r> per W and size, then one line per fit: sizes, W_c and nu with 95%
bootstrap intervals, chi2/dof, the crossing's z and (with the correction) y and b.

    QPT_CACHE_DIR=... .venv/bin/python docs/studies/r_scaling_trend.py --orders 3,4 -- \\
        experiment=discover_su2 discover.r.boundary=open \\
        'discover.r.sizes=[16,24,32,48,64,96]' \\
        'discover.r.realisations_by_size=[600,600,600,600,600,200]'
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from qpt.config import TrainConfig, typed
from qpt.discovery import level_samples, scaling_settings
from qpt.evaluation.scaling import bootstrap_scaling, signature_z

CONF = Path(__file__).resolve().parents[2] / "conf"
MIN_SIZES = 3  # a trend point needs three sizes: two always cross somewhere


def load_config(overrides: list[str], output_dir: str) -> TrainConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = output_dir
    HydraConfig.instance().set_config(cfg)
    return typed(cfg)


def load_r_config(overrides: list[str], output_dir: str) -> TrainConfig:
    """:func:`load_config` of a run with an <r> route; exits with a message otherwise."""
    conf = load_config(overrides, output_dir)
    if conf.discover is None or conf.discover.r is None:
        raise SystemExit("the overrides name no <r> route (experiment=discover_...)")
    return conf


def fit_line(conf: TrainConfig, samples: dict, form, wc0: float) -> str:
    estimate = bootstrap_scaling(samples, **scaling_settings(conf, form, wc0))
    fit, (wlo, whi), (nlo, nhi) = estimate.fit, estimate.wc_ci, estimate.nu_ci
    z = signature_z(samples, estimate.wc, form.signature)
    line = (
        f"order {form.order}{' + irrelevant' if form.irrelevant else ''}, L = {sorted(samples)}: "
        f"W_c {estimate.wc:.3f} [{wlo:.3f}, {whi:.3f}]  nu {estimate.nu:.2f} [{nlo:.2f}, "
        f"{nhi:.2f}]  chi2/dof {fit.reduced_chi2:.2f}  z {z:.1f}"
    )
    if form.irrelevant:
        line += f"  y {fit.y:.2f}  b {fit.b:.4f}"
    return line + (f"  ({estimate.n_failed} resamples failed)" if estimate.n_failed else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", default="3,4", help="orders of the scaling function")
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of the <r> run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        conf = load_r_config(args.overrides, out)
        samples = level_samples(conf)
    W = samples[min(samples)][0]
    grid = np.unique(W)
    print("mean <r> per W:", " ".join(f"{w:7.2f}" for w in grid))
    for L, (W, r) in samples.items():
        means = [r[0, W == w].mean() for w in grid]
        print(f"L = {L:3d} ({np.sum(W == grid[0])} a point):", " ".join(f"{m:.4f}" for m in means))
    wc0 = float(np.mean(conf.discover.grid.values()))
    sizes = sorted(samples)
    for order in (int(o) for o in args.orders.split(",")):
        form = dataclasses.replace(conf.discover.r.scaling, order=order)
        for start in range(len(sizes) - MIN_SIZES + 1):
            subset = {L: samples[L] for L in sizes[start:]}
            print(fit_line(conf, subset, form, wc0), flush=True)
        if not form.irrelevant:  # and the same with a free correction b L^-y
            free = dataclasses.replace(form, irrelevant=True, exponent=None)
            print(fit_line(conf, samples, free, wc0), flush=True)


if __name__ == "__main__":
    main()

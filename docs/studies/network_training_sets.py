"""Does the draw of training states move the network route's nu (docs/DISCOVERY.md, the
training-sets study of the Ando model)?

The route's bootstrap resamples the grid states and the replicas, but every replica of a run
learns the same training states, drawn by the run's seed. This study crosses several seeds'
cached states: the replicas trained on seed a's training states (as the command trains them,
:func:`qpt.discovery.train_networks`) judge seed b's grid states
(:func:`qpt.discovery.network_grids`), for every pair (a, b); each cell is fitted as the
route fits it (the bootstrap seeded by b, so the cells a = b are the runs themselves).

The table gives W_c and nu of every cell; below it, a two-way split of nu: the sd between
training seeds (the row means) and between grid seeds (the column means), beside the sd a
cell's own interval implies (its half-width / 1.96, averaged over the cells). Then, on each
grid, every network fitted alone and split one way by training seed (the grid's noise is
common to them all): the F ratio of between to within training seeds. ``--grid-seeds``
judges on fewer grids than there are training seeds (a grid costs most).

    QPT_CACHE_DIR=<the seeds' caches> .venv/bin/python docs/studies/network_training_sets.py \\
        --seeds 1234,8765,4242 -- experiment=discover_su2 model=ando
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from r_scaling_trend import load_config  # this folder (the script's) is on sys.path

from qpt.discovery import (
    half_point,
    judge_grids,
    network_grids,
    scaling_settings,
    train_networks,
)
from qpt.evaluation.scaling import (
    ScalingEstimate,
    bootstrap_scaling,
    curve_points,
    fit_scaling,
    signature_z,
)


class Cell(NamedTuple):
    """One (training seed, grid seed) pair read as the route reads a run."""

    estimate: ScalingEstimate
    z: float  # the sizes' crossing, in standard errors
    wc_without_smallest: float


def route_settings(conf, samples: dict) -> tuple[dict, dict]:
    """The route's bootstrap settings for ``samples``, started where the command starts it,
    and the same for one fit (no bootstrap)."""
    wc0 = half_point(samples, conf.discover.grid.values())
    settings = scaling_settings(conf, conf.discover.network.scaling, wc0)
    return settings, {k: v for k, v in settings.items() if k not in ("n_bootstrap", "seed")}


def fitted(conf, samples: dict) -> Cell:
    """The route's bootstrap scaling fit of ``samples``, with its crossing z and the fit
    without the smallest size (the route's three rules)."""
    settings, fit = route_settings(conf, samples)
    estimate = bootstrap_scaling(samples, **settings)
    rest = {L: s for L, s in samples.items() if L != min(samples)}
    dropped = fit_scaling(*curve_points(rest), **fit)
    z = signature_z(samples, estimate.wc, conf.discover.network.scaling.signature)
    return Cell(estimate, z, dropped.wc)


def two_way(table: np.ndarray) -> tuple[float, float, float]:
    """sd of the row means, of the column means, and of the residual of an additive fit (the
    F ratio of the rows is the number of columns x their sd^2 / the residual's; likewise)."""
    rows, cols = table.mean(axis=1), table.mean(axis=0)
    residual = table - rows[:, None] - cols[None, :] + table.mean()
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    return (
        float(rows.std(ddof=1)),
        float(cols.std(ddof=1)),
        float(np.sqrt((residual**2).sum() / dof)),
    )


def one_way(groups: np.ndarray) -> tuple[float, int, int]:
    """The F ratio of between-group to within-group variance of ``groups`` (one row a group),
    and its degrees of freedom."""
    k, n = groups.shape
    between = n * groups.mean(axis=1).var(ddof=1)
    within = groups.var(axis=1, ddof=1).mean()
    return float(between / within), k - 1, k * (n - 1)


def alone(conf, samples: dict) -> np.ndarray:
    """(W_c, nu) of each network's own curves, fitted as the route fits (no bootstrap)."""
    _, fit = route_settings(conf, samples)
    n = len(next(iter(samples.values()))[1])
    fits = [
        fit_scaling(*curve_points({L: (W, v[i : i + 1]) for L, (W, v) in samples.items()}), **fit)
        for i in range(n)
    ]
    return np.array([(f.wc, f.nu) for f in fits])


def cell_text(cell: Cell) -> str:
    e = cell.estimate
    return (
        f"W_c {e.wc:.3f} [{e.wc_ci[0]:.3f}, {e.wc_ci[1]:.3f}], nu {e.nu:.2f} "
        f"[{e.nu_ci[0]:.2f}, {e.nu_ci[1]:.2f}], chi2/dof {e.fit.reduced_chi2:.2f}, "
        f"z {cell.z:.1f}, W_c without L_min {cell.wc_without_smallest:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1234,8765,4242", help="seeds of the training states")
    parser.add_argument("--grid-seeds", default=None, help="seeds of the grid states (--seeds)")
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of those runs")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    grid_seeds = [int(s) for s in (args.grid_seeds or args.seeds).split(",")]
    with tempfile.TemporaryDirectory() as out:
        conf = load_config(args.overrides, out)
        by_seed = {s: dataclasses.replace(conf, seed=s) for s in {*seeds, *grid_seeds}}
        networks = {s: train_networks(by_seed[s], Path(out) / f"train{s}") for s in seeds}
    grids = {s: network_grids(by_seed[s]) for s in grid_seeds}
    samples = {(a, b): judge_grids(conf, networks[a], grids[b]) for a in seeds for b in grid_seeds}
    cells = {(a, b): fitted(by_seed[b], s) for (a, b), s in samples.items()}
    print(
        f"{len(networks[seeds[0]])} networks a training seed; rows: training states, "
        "columns: grid states"
    )
    print("| training \\ grid | " + " | ".join(str(b) for b in grid_seeds) + " |")
    print("|---|" + "---|" * len(grid_seeds))
    for a in seeds:
        print(f"| {a} | " + " | ".join(cell_text(cells[a, b]) for b in grid_seeds) + " |")
    for name, value, ci in (("W_c", "wc", "wc_ci"), ("nu", "nu", "nu_ci")):
        table = np.array(
            [[getattr(cells[a, b].estimate, value) for b in grid_seeds] for a in seeds]
        )
        widths = [getattr(c.estimate, ci)[1] - getattr(c.estimate, ci)[0] for c in cells.values()]
        implied = np.mean(widths) / 2 / 1.96
        line = f"{name}: mean {table.mean():.3f}; a cell's interval implies {implied:.3f}; "
        if len(seeds) > 1 and len(grid_seeds) > 1:
            rows, cols, rest = two_way(table)
            line += (
                f"sd between training seeds {rows:.3f}, between grid seeds {cols:.3f}, "
                f"residual {rest:.3f} (F: rows {len(grid_seeds) * rows**2 / rest**2:.0f}, "
                f"columns {len(seeds) * cols**2 / rest**2:.0f}); total "
                f"{np.sqrt(rows**2 + cols**2 + rest**2):.3f}"
            )
        else:
            line += f"sd of the cells {table.std(ddof=1):.3f}"
        print(line)
    for b in grid_seeds:  # each network alone on one grid: its grid noise common to all
        single = np.array([alone(by_seed[b], samples[a, b]) for a in seeds])
        for k, name in enumerate(("W_c", "nu")):
            groups = single[:, :, k]
            f, d1, d2 = one_way(groups)
            means = ", ".join(f"{m:.3f}" for m in groups.mean(axis=1))
            print(
                f"grid {b}, each network alone: {name} by training seed {means}; sd within a "
                f"seed {np.sqrt(groups.var(axis=1, ddof=1).mean()):.3f}; F {f:.1f} ({d1}, {d2})"
            )


if __name__ == "__main__":
    main()

"""Does <r> change across a realisation's window of levels? (docs/DISCOVERY.md, the <r>
route's assumption that W_c(E) does not vary over the levels nearest E.)

A fixed number of levels spans a window of energy that shrinks as L^-2 (|E| < 0.54 at
L = 16, < 0.03 at L = 64 on open SU(2) lattices), so if <r> depended on E within it, the
small sizes would see a different mixture of energies than the large ones: a drift with L
that a fit would read as scaling. Here each realisation's gap ratios are ranked by how far
their middle level lies from the target energy, and the mean of the innermost ``--part``
ratios is compared with the mean of the outermost ``--part``, realisation by realisation.
Prints, per size and W, the difference with its standard error, then per size the pooled
chi2 of the differences against zero (a chi2 near the number of W values: no dependence).

    QPT_CACHE_DIR=... .venv/bin/python docs/studies/r_energy_window.py -- \\
        experiment=discover_su2 seed=1357 discover.r.boundary=open \\
        'discover.r.sizes=[16,24,32,48,64]' discover.r.realisations=600
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from r_scaling_trend import load_r_config  # this folder (the script's) is on sys.path
from scipy import stats

from qpt.discovery import grid_states
from qpt.physics.observables import gap_ratios


def inner_minus_outer(levels: np.ndarray, energy: float, part: int) -> np.ndarray:
    """Per realisation (row of distinct levels), the mean of the ``part`` gap ratios whose
    middle level lies nearest ``energy`` minus the mean of the ``part`` farthest."""
    ordered = np.sort(levels, axis=-1)
    ratios = gap_ratios(ordered)
    if 2 * part > ratios.shape[-1]:
        raise SystemExit(
            f"--part {part} needs {2 * part + 2} levels, the run has {levels.shape[-1]}"
        )
    distance = np.abs(ordered[..., 1:-1] - energy)
    ranked = np.take_along_axis(ratios, np.argsort(distance, axis=-1), axis=-1)
    return ranked[..., :part].mean(axis=-1) - ranked[..., -part:].mean(axis=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, default=10, help="ratios in each of the two parts")
    parser.add_argument("overrides", nargs="*", help="train.py's overrides of the <r> run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        conf = load_r_config(args.overrides, out)
        route, energy = conf.discover.r, conf.disorder.train.energy
        for L in route.sizes or conf.discover.sizes:
            states = conf.data.load(*grid_states(conf, L, route.realisations_at(L), route))
            levels = states.images()
            span = np.median(np.abs(levels - energy).max(axis=-1))
            diff = inner_minus_outer(levels, energy, args.part)
            chi2 = 0.0
            grid = np.unique(states.W)
            print(f"L = {L} (median span |E - {energy:g}| < {span:.3f}): inner - outer <r>")
            for w in grid:
                d = diff[states.W == w]
                mean, sem = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
                chi2 += (mean / sem) ** 2
                print(f"  W = {w:5.2f}: {mean:+.4f} +- {sem:.4f} ({d.size} realisations)")
            p = stats.chi2.sf(chi2, grid.size)
            print(f"  pooled: chi2 {chi2:.1f} for {grid.size} values of W (p = {p:.2f})")


if __name__ == "__main__":
    main()

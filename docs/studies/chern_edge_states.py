"""Can a rule that picks the edge state rescue the Chern network route? (docs/DISCOVERY.md)

On the open Chern lattice the state nearest E = 0 is a chiral edge state in the topological
phase only while edge levels outnumber bulk ones near E = 0; their counts grow as L and L^2,
so at fixed W < W_c the nearest state is a bulk state ever more often as L grows. This study
picks instead, among the m L levels nearest E = 0 (a window holding about as many edge levels
at every L), the state that covers the boundary most evenly, and prints the mean of that
coverage against W and L beside the nearest state's. One-parameter scaling would make the
sizes' curves cross at W_c = 3.25.

Coverage: the boundary strip (sites within L/8 of an edge) is cut into 16 arcs by angle
around the centre; coverage = sum over arcs of min(weight in the arc, 1/16), which is 1 for a
state spread evenly round the boundary and at most 2/16 for one confined to a spot.

    .venv/bin/python docs/studies/chern_edge_states.py [realisations] [sizes] [m]
    (defaults 100 16,24,32,48 2: 5 to 6 min on 2 cores)
"""

from __future__ import annotations

import itertools
import sys
import time
from multiprocessing import Pool

import numpy as np
from threadpoolctl import threadpool_limits

from qpt.physics import density_image, eigenstates_near, get_model

W_GRID = (2.4, 2.8, 3.1, 3.4, 3.7, 4.1, 4.6)
N_ARCS = 16


def arc_labels(L: int) -> np.ndarray:
    """Arc (0 ... 15) of each site of the boundary strip, -1 inside it."""
    y, x = np.mgrid[0:L, 0:L]
    strip = np.minimum.reduce([x, y, L - 1 - x, L - 1 - y]) < max(1, L // 8)
    angle = np.arctan2(y - (L - 1) / 2, x - (L - 1) / 2)
    arc = ((angle + np.pi) / (2 * np.pi) * N_ARCS).astype(int) % N_ARCS
    return np.where(strip, arc, -1)


def coverage(image: np.ndarray, arcs: np.ndarray) -> float:
    inside = arcs >= 0
    weights = np.bincount(arcs[inside], weights=image[inside], minlength=N_ARCS)
    return float(np.minimum(weights, 1 / N_ARCS).sum())


def realisation(task: tuple[int, float, int, float]) -> tuple[float, ...]:
    """(L, W, best coverage among the m L nearest levels, among the L nearest, nearest's)."""
    L, W, index, m = task
    with threadpool_limits(1):
        seed = np.random.SeedSequence(77, spawn_key=(L, int(W * 1000), index))
        H = get_model("chern").hamiltonian(L, W, seed)
        energies, vectors = eigenstates_near(H, 1e-7, int(m * L))  # never on an eigenvalue
        arcs = arc_labels(L)
        score = np.array(
            [coverage(density_image(v, L, False), arcs) for v in vectors.T], dtype=float
        )
        order = np.argsort(np.abs(energies))
        return (L, W, score.max(), score[order[:L]].max(), score[order[0]])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    sizes = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "16,24,32,48").split(",")]
    m = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    tasks = [(L, W, i, m) for L in sizes for W in W_GRID for i in range(n)]
    start = time.time()
    with Pool(2) as pool:
        rows = np.array(pool.map(realisation, tasks, chunksize=4))
    print(f"{len(tasks)} realisations in {time.time() - start:.0f} s")
    print("W:        " + " ".join(f"{W:^11}" for W in W_GRID))
    for column, name in enumerate((f"best of {m:g} L levels", "best of L levels", "nearest")):
        print(name)
        for L in sizes:
            cells = []
            for W in W_GRID:
                x = rows[(rows[:, 0] == L) & (rows[:, 1] == W), 2 + column]
                cells.append(f"{x.mean():.3f}+-{x.std() / np.sqrt(len(x)):.3f}")
            print(f"  L = {L:3d} " + " ".join(cells))
        print("  (larger - smaller size) / standard error, consecutive sizes:")
        for small, large in itertools.pairwise(sizes):
            z = [_difference_z(rows, 2 + column, small, large, W) for W in W_GRID]
            print(f"  {small:3d}/{large:3d} " + " ".join(f"{x:^+11.1f}" for x in z))


def _difference_z(rows: np.ndarray, column: int, small: int, large: int, W: float) -> float:
    means, errors = [], []
    for L in (small, large):
        x = rows[(rows[:, 0] == L) & (rows[:, 1] == W), column]
        means.append(x.mean())
        errors.append(x.std() / np.sqrt(len(x)))
    return float((means[1] - means[0]) / np.hypot(*errors))


if __name__ == "__main__":
    main()

"""Network-free locators of a transition: level statistics and a real-space topological index.

The mean gap ratio <r> of the levels near E goes from the random-matrix value of the metal
(GSE 0.674 for SU(2) and Ando, GUE 0.600 for Chern) to Poisson's 0.386 in an insulator; at
the critical point it takes an L-independent value, so <r>(W, L) obeys one-parameter
scaling. The Bott index of the occupied states counts the Chern number in real space.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from qpt.data.ensemble import grid_ensemble
from qpt.physics import build_hamiltonian
from qpt.physics.observables import bott_index, gap_ratios


def gap_ratio_means(levels: np.ndarray) -> np.ndarray:
    """Per realisation (row of ``levels``: its distinct levels), the mean gap ratio."""
    return gap_ratios(levels).mean(axis=-1)


def bott_samples(
    w_values: list[float],
    *,
    L: int,
    realisations: int,
    seed: int,
    params: dict[str, Any],
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(W, |Bott index|) of ``realisations`` periodic L x L Chern samples at each W, the
    occupied states below E = 0 (a seed stream of its own: "bott")."""
    params = {**params, "boundary": "periodic"}
    ens = grid_ensemble("chern", L, 0.0, w_values, seed=seed, params=params, stream="bott")
    W, values = [], []
    n = len(w_values) * realisations
    with threadpool_limits(1):
        for i in tqdm(range(n), desc=f"Bott index L={L}", disable=not progress):
            w, _, h_seed = ens.state(i)
            H = build_hamiltonian("chern", L, w, h_seed, **params)
            W.append(w)
            values.append(abs(round(bott_index(H, L))))
    return np.array(W), np.array(values, float)

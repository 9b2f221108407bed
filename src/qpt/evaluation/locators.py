"""Non-ML locators computed on the same kind of states: <r>(W, L), IPR(W, L), Bott(W)."""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from qpt.data.ensemble import grid_ensemble
from qpt.evaluation.curves import interpolate_level, mean_sem
from qpt.physics import build_hamiltonian, eigenstates_near, get_model
from qpt.physics.observables import (
    R_METAL,
    R_POISSON,
    bott_index,
    gap_ratios,
    inverse_participation_ratio,
)


def spectral_locators(
    model: str,
    L: int,
    energy: float,
    w_values: np.ndarray,
    *,
    realisations: int,
    levels: int = 16,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Per W: mean and sem of the gap ratio <r> of the ``levels`` eigenvalues nearest E, and
    of ln(IPR) of the state nearest E (a seed stream of its own: "locators")."""
    m = get_model(model, **(params or {}))
    kramers = m.symmetry_class == "AII"
    ens = grid_ensemble(
        model, L, energy, list(map(float, w_values)), seed=seed, params=params, stream="locators"
    )
    r_stats, ipr_stats = [], []
    with threadpool_limits(1):
        for j, _ in enumerate(tqdm(w_values, desc=f"locators {model} L={L}", disable=not progress)):
            rs, iprs = [], []
            for rep in range(realisations):
                W, _, h_seed = ens.state(j + rep * ens.n_slots)
                H = m.hamiltonian(L, W, h_seed)
                e, v = eigenstates_near(H, energy, levels)
                rs.append(gap_ratios(e, kramers=kramers).mean())
                iprs.append(np.log(inverse_participation_ratio(v[:, 0])))
            r_stats.append(mean_sem(rs))
            ipr_stats.append(mean_sem(iprs))
    (r_mean, r_sem), (ipr_mean, ipr_sem) = np.array(r_stats).T, np.array(ipr_stats).T
    return {
        "W": np.asarray(w_values, float),
        "r": r_mean,
        "r_sem": r_sem,
        "log_ipr": ipr_mean,
        "log_ipr_sem": ipr_sem,
        "r_metal": R_METAL[m.symmetry_class],
        "r_poisson": R_POISSON,
    }


def bott_curve(
    w_values: np.ndarray,
    *,
    L: int,
    realisations: int,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Disorder-averaged |Bott index| of the Chern model on a periodic L x L lattice."""
    params = {**(params or {}), "boundary": "periodic"}
    ens = grid_ensemble(
        "chern", L, 0.0, list(map(float, w_values)), seed=seed, params=params, stream="bott"
    )
    stats = []
    with threadpool_limits(1):
        for j, _ in enumerate(tqdm(w_values, desc=f"Bott index L={L}", disable=not progress)):
            values = []
            for rep in range(realisations):
                W, _, h_seed = ens.state(j + rep * ens.n_slots)
                values.append(
                    abs(round(bott_index(build_hamiltonian("chern", L, W, h_seed, **params), L)))
                )
            stats.append(mean_sem(values))
    mean, sem = np.array(stats).T
    return {"W": np.asarray(w_values, float), "bott": mean, "bott_sem": sem}


def crossing_of_two_curves(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """W where curves a(W) and b(W) (two sizes) cross, by linear interpolation of a - b at
    its sign change nearest the middle; NaN if they do not cross."""
    d = np.asarray(a) - np.asarray(b)
    idx = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    if len(idx) == 0:
        return float("nan")
    return interpolate_level(W, d, idx[np.argmin(np.abs(idx - len(W) / 2))], 0.0)

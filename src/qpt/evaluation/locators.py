"""Network-free locators of a transition: level statistics, a real-space topological index and
the transfer matrix.

The mean gap ratio <r> of the levels near E goes from the random-matrix value of the metal
(GSE 0.674 for SU(2) and Ando, GUE 0.600 for Chern) to Poisson's 0.386 in an insulator; at
the critical point it takes an L-independent value, so <r>(W, L) obeys one-parameter
scaling. The Bott index of the occupied states counts the Chern number in real space. The
transfer matrix of long bars of width M gives Gamma = M / (localization length)
(:mod:`qpt.physics.transfer_matrix`), which obeys one-parameter scaling likewise; the method of
the literature's critical points of the 3D Anderson model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from qpt.data.ensemble import grid_ensemble
from qpt.data.generation import default_workers, pinned_imap
from qpt.physics import build_hamiltonian, get_model
from qpt.physics.anderson3d import Anderson3DModel
from qpt.physics.observables import bott_index, gap_ratios
from qpt.physics.transfer_matrix import lyapunov_blocks


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


def check_transfer_matrix(model: str, params: dict[str, Any]) -> Anderson3DModel:
    """The model, if qpt has its transfer matrix (the 3D Anderson model); else one line."""
    physics = get_model(model, **params)
    if not isinstance(physics, Anderson3DModel):
        raise ValueError(f"transfer matrix: model {model!r} has none in qpt (only anderson3d)")
    return physics


def _bars(task: tuple[float, list[float], int, dict[str, Any]]) -> np.ndarray:
    energy, disorders, width, options = task
    with threadpool_limits(1):
        return lyapunov_blocks(energy, disorders, width, dimension=3, **options)


def transfer_matrix_samples(
    model: str,
    energy: float,
    w_values: list[float],
    *,
    widths: list[int],
    length: int,
    blocks: int,
    seed: int,
    params: dict[str, Any],
    workers: int | None,
    progress: bool,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Gamma = M gamma of one bar of ``length`` slices per (width M, W), on ``blocks``
    pieces of it: ``{M: (W per piece, Gamma per piece of shape (1, pieces))}``, the samples
    of :func:`qpt.evaluation.scaling.bootstrap_scaling` (pieces are its states). Each bar's
    potential comes from its own seed (stream "transfer_matrix/M<width>"), so the result
    does not depend on ``workers`` (None: one per core); bars are shared out over them, widest
    first."""
    hopping = check_transfer_matrix(model, params).hopping
    workers = default_workers() if workers is None else workers
    groups = np.array_split(np.arange(len(w_values)), max(1, workers))
    tasks, keys = [], []
    for width in sorted(widths, reverse=True):  # the costliest first: the pool ends together
        ens = grid_ensemble(
            model,
            width,
            energy,
            w_values,
            seed=seed,
            params=params,
            stream=f"transfer_matrix/M{width}",
        )
        for group in (g for g in groups if len(g)):
            seeds = [ens.state(int(i))[2] for i in group]
            disorders = [w_values[i] / hopping for i in group]  # in units of the hopping
            options = {"length": length, "blocks": blocks, "seeds": seeds}
            tasks.append((energy / hopping, disorders, width, options))
            keys.append((width, group))
    gamma = {width: np.empty((len(w_values), blocks)) for width in widths}
    results = pinned_imap(_bars, tasks, workers)
    desc = f"transfer matrix E={energy:g}"
    for (width, group), g in tqdm(
        zip(keys, results, strict=True), total=len(tasks), desc=desc, disable=not progress
    ):
        gamma[width][group] = g
    W = np.repeat(np.asarray(w_values, float), blocks)
    return {M: (W, (M * g).reshape(1, -1)) for M, g in sorted(gamma.items())}

"""Network-free locators of a transition: level statistics, a real-space topological index and
the transfer matrix.

The mean gap ratio <r> of the levels near E goes from the random-matrix value of the metal
(GSE 0.674 for SU(2) and Ando, GUE 0.600 for Chern) to Poisson's 0.386 in an insulator; at
the critical point it takes an L-independent value, so <r>(W, L) obeys one-parameter
scaling. The Bott index of the occupied states counts the Chern number in real space. The
transfer matrix of long bars of width M gives Gamma = M / (localization length)
(:mod:`qpt.physics.transfer_matrix`), which obeys one-parameter scaling likewise; the method of
the literature's critical points of the 3D Anderson and the SU(2) models.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from qpt.data.ensemble import grid_ensemble
from qpt.data.generation import default_workers, pinned_imap
from qpt.data.progress import progress_bar
from qpt.physics import build_hamiltonian, get_model
from qpt.physics.anderson3d import Anderson3DModel
from qpt.physics.ando import SIGMA_X, SIGMA_Y, AndoModel, spin_rotation
from qpt.physics.observables import bott_index, gap_ratios
from qpt.physics.su2 import SU2Model
from qpt.physics.transfer_matrix import lyapunov_blocks, spin_strip_lyapunov_blocks


def gap_ratio_means(levels: np.ndarray) -> np.ndarray:
    """Per realisation (row of ``levels``: its distinct levels), the mean gap ratio."""
    return gap_ratios(levels).mean(axis=-1)


def _bott_values(task: tuple[int, list[tuple[float, int]], dict[str, Any]]) -> np.ndarray:
    L, samples, params = task
    with threadpool_limits(1):
        return np.array(
            [abs(bott_index(build_hamiltonian("chern", L, w, s, **params), L)) for w, s in samples],
            float,
        )


def bott_samples(
    w_values: list[float],
    *,
    sizes: list[int],
    realisations: int,
    seed: int,
    params: dict[str, Any],
    workers: int | None,
    progress: bool,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """|Bott index| of ``realisations`` periodic L x L Chern samples at each W, of the states
    below E = 0, at each L of ``sizes``: ``{L: (W per sample, values of shape (1, samples))}``,
    the samples of :func:`qpt.evaluation.scaling.bootstrap_scaling`. A seed stream of its own
    per size ("bott/L<L>"); each sample's potential comes from its own seed, so the result
    does not depend on ``workers`` (None: one per core), over which the samples are shared
    out, largest L first."""
    params = {**params, "boundary": "periodic"}
    workers = default_workers() if workers is None else workers
    n = len(w_values) * realisations
    tasks = []
    for L in sorted(sizes, reverse=True):  # the costliest first: the pool ends together
        stream = f"bott/L{L}"
        ens = grid_ensemble("chern", L, 0.0, w_values, seed=seed, params=params, stream=stream)
        drawn = [ens.state(i) for i in range(n)]
        for chunk in np.array_split(np.arange(n), max(1, 4 * workers)):
            tasks.append((L, [(drawn[i][0], drawn[i][2]) for i in chunk], params))
    results = pinned_imap(_bott_values, tasks, workers)
    desc = f"Bott index L={','.join(map(str, sizes))}"
    values = {L: [] for L in sizes}
    for (L, _, _), v in progress_bar(
        zip(tasks, results, strict=True), total=len(tasks), desc=desc, interactive=progress
    ):
        values[L].append(v)
    W = np.tile(np.asarray(w_values, float), realisations)
    return {L: (W, np.concatenate(values[L])[None, :]) for L in sorted(sizes)}


#: bars of the models qpt has a transfer matrix for: the kernel computing a batch of them
TransferKernel = Callable[..., np.ndarray]


def check_transfer_matrix(model: str, params: dict[str, Any]) -> tuple[TransferKernel, float]:
    """(the kernel computing a batch of a model's bars, its hopping: the energy unit), if qpt
    has its transfer matrix (the 3D Anderson model's cubes, the SU(2) and Ando models'
    strips); else one line."""
    physics = get_model(model, **params)
    if isinstance(physics, Anderson3DModel):
        return partial(lyapunov_blocks, dimension=3), physics.hopping
    if isinstance(physics, SU2Model):
        return partial(spin_strip_lyapunov_blocks, bonds=None), physics.hopping
    if isinstance(physics, AndoModel):
        bonds = tuple(spin_rotation(physics.theta, sigma) for sigma in (SIGMA_X, SIGMA_Y))
        return partial(spin_strip_lyapunov_blocks, bonds=bonds), physics.hopping
    raise ValueError(
        f"transfer matrix: model {model!r} has none in qpt (only anderson3d, su2 and ando)"
    )


def _bars(task: tuple[TransferKernel, float, list[float], int, dict[str, Any]]) -> np.ndarray:
    kernel, energy, disorders, width, options = task
    with threadpool_limits(1):
        return kernel(energy, disorders, width, **options)


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
    kernel, hopping = check_transfer_matrix(model, params)
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
            tasks.append((kernel, energy / hopping, disorders, width, options))
            keys.append((width, group))
    gamma = {width: np.empty((len(w_values), blocks)) for width in widths}
    results = pinned_imap(_bars, tasks, workers)
    desc = f"transfer matrix E={energy:g}"
    for (width, group), g in progress_bar(
        zip(keys, results, strict=True), total=len(tasks), desc=desc, interactive=progress
    ):
        gamma[width][group] = g
    W = np.repeat(np.asarray(w_values, float), blocks)
    return {M: (W, (M * g).reshape(1, -1)) for M, g in sorted(gamma.items())}

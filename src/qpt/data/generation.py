"""Generating eigenstate images: one state, a chunk, or many in pinned worker processes."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from qpt.data.ensemble import Ensemble
from qpt.physics import (
    density_image,
    eigenstates_in_window,
    eigenstates_near,
    get_model,
    levels_near,
)

BLAS_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: glibc's allocator in each worker, unless the user's environment sets it: keep up to 32 MB
#: blocks on the heap and up to 64 MB of freed heap, the ceilings glibc's own adaptive
#: thresholds reach once a process has freed large arrays (the parent that loaded the
#: states trained the same networks with 4% of its CPU in the kernel). A fresh worker starts
#: at 128 KB, so each training step's temporaries went back to the kernel when freed and
#: faulted in again: 10 to 20x the page faults, a fifth to a third of the CPU time in the
#: kernel, the networks 1.2 to 1.5x slower (docs/benchmarks.md, "Confusion's networks side
#: by side"). Set both: setting either one turns glibc's adaptation off.
WORKER_MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(64 << 20),
}
#: info columns stored beside each image
INFO_COLUMNS = ("W", "energy", "label")
T, R = TypeVar("T"), TypeVar("R")


def generate_state(ensemble: Ensemble, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(sample, info [W, eigenenergy nearest E, label] float64) of state ``index``: the
    sample is the image (L, L) float32 ((L, L, L) for a 3D model), or the
    ``ensemble.levels`` eigenvalues nearest E."""
    W, label, seed = ensemble.state(index)
    model = get_model(ensemble.model, **dict(ensemble.params))
    H = model.hamiltonian(ensemble.L, W, seed)
    if ensemble.levels:
        sample = levels_near(H, ensemble.energy, ensemble.levels)
        nearest = sample[np.argmin(np.abs(sample - ensemble.energy))]
    else:
        energies, vectors = eigenstates_near(H, ensemble.energy, 1)
        sample = density_image(vectors[:, 0], ensemble.L, model.center_image)
        nearest = energies[0]
    return sample, np.array([W, nearest, label], dtype=np.float64)


def generate_range(ensemble: Ensemble, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """States ``start`` .. ``stop - 1`` as (samples (n, ...), info (n, 3))."""
    n = stop - start
    images = np.empty((n, *ensemble.sample_shape), dtype=ensemble.sample_dtype)
    info = np.empty((n, len(INFO_COLUMNS)), dtype=np.float64)
    # One BLAS thread: oversubscribed OpenBLAS threads made 2 workers >30x slower, and a
    # fixed thread count keeps floating-point reductions (hence the data) bit-identical.
    with threadpool_limits(1):
        for j in range(n):
            images[j], info[j] = generate_state(ensemble, start + j)
    return images, info


def _generate_task(task: tuple[Ensemble, int, int]) -> tuple[np.ndarray, np.ndarray]:
    return generate_range(*task)


def _pin_worker() -> None:
    threadpool_limits(1)


@contextlib.contextmanager
def _worker_env() -> Iterator[None]:
    """Set the BLAS/OpenMP thread variables and, where unset, the allocator's
    (:data:`WORKER_MALLOC_ENV`) while worker processes start (they inherit them, so their
    libraries come up single-threaded and read the allocator's at start), then restore the
    parent's."""
    saved = {k: os.environ.get(k) for k in (*BLAS_ENV_VARS, *WORKER_MALLOC_ENV)}
    os.environ.update(dict.fromkeys(BLAS_ENV_VARS, "1"))
    for k, v in WORKER_MALLOC_ENV.items():
        os.environ.setdefault(k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def generate_chunks(
    ensemble: Ensemble, ranges: list[tuple[int, int]], workers: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Generate each (start, stop) range, yielding results in order (:func:`pinned_imap`)."""
    yield from pinned_imap(_generate_task, [(ensemble, a, b) for a, b in ranges], workers)


def pinned_imap(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> Iterator[R]:
    """``fn`` over ``tasks``, results in order. ``workers <= 1`` (or one task) runs here;
    otherwise a 'spawn' pool of single-threaded workers (spawn, not fork: the parent may hold
    torch/OpenMP threads; single-threaded: two workers with default BLAS threads ran >30x
    slower) with :data:`WORKER_MALLOC_ENV`'s allocator. ``fn`` must be importable by name,
    and pins its own threads when run here."""
    if workers <= 1 or len(tasks) <= 1:
        yield from map(fn, tasks)
        return
    ctx = mp.get_context("spawn")
    with _worker_env():
        pool = ctx.Pool(min(workers, len(tasks)), initializer=_pin_worker)
    try:
        yield from pool.imap(fn, tasks)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def generate_window(
    ensemble: Ensemble, emin: float, emax: float, n_realisations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every eigenstate with emin <= E <= emax, for realisations 0 .. n-1 of ``ensemble``
    (the letter's Fig. 5b gap sweep). Returns (images (m, L, L) (3D: (m, L, L, L)), info
    (m, 3))."""
    model = get_model(ensemble.model, **dict(ensemble.params))
    images, info = [], []
    with threadpool_limits(1):
        for r in range(n_realisations):
            W, label, seed = ensemble.state(r)
            H = model.hamiltonian(ensemble.L, W, seed)
            energies, vectors = eigenstates_in_window(H, emin, emax)
            for e, v in zip(energies, vectors.T, strict=True):
                images.append(density_image(v, ensemble.L, model.center_image))
                info.append((W, e, label))
    images = np.array(images, dtype=np.float32).reshape(-1, *ensemble.sample_shape)
    return images, np.array(info, dtype=np.float64).reshape(-1, len(INFO_COLUMNS))

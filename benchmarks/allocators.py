"""The worker allocator's thresholds, switchable for a side-by-side benchmark, and the CPU
time and page faults a run cost (``confusion.py``, ``generation.py``)."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator

from qpt.data import generation

ALLOCATORS = ("tuned", "glibc")


@contextlib.contextmanager
def allocator(name: str) -> Iterator[None]:
    """Workers started in the block use ``name``'s thresholds: ``tuned``
    (``WORKER_MALLOC_ENV``) or ``glibc`` (none set: glibc's adaptive defaults)."""
    tuned = generation.WORKER_MALLOC_ENV
    generation.WORKER_MALLOC_ENV = tuned if name == "tuned" else {}
    try:
        yield
    finally:
        generation.WORKER_MALLOC_ENV = tuned


def cpu_usage() -> tuple[float, float, int]:
    """(kernel seconds, CPU seconds, minor page faults) so far of this process and its
    joined workers (a pool's, once joined)."""
    own, workers = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    kernel = own.ru_stime + workers.ru_stime
    return kernel, kernel + own.ru_utime + workers.ru_utime, own.ru_minflt + workers.ru_minflt

"""Progress on long work, wherever it runs.

At a terminal a person gets a tqdm bar. In a Slurm log or a ``nohup`` file a bar is noise
(every redraw a line) and no bar is worse: an array job filling a cache for hours says
nothing until it ends. There a logged line every ``every`` seconds says how far it is, how
fast it goes and about how long is left; work shorter than that stays silent, as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm

log = logging.getLogger(__name__)

#: seconds between logged lines when no one watches a bar
LOG_EVERY = 60.0
#: weight of the latest interval in the logged rate (tqdm smooths its own likewise): a shared
#: machine that slows down, or a job paused for a while, shows in the rate and the time left
#: within a few lines instead of lingering in an average since the start
SMOOTHING = 0.3


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int,
    desc: str,
    unit: str = "it",
    interactive: bool,
) -> Any:
    """A tqdm bar (``interactive``) or a :class:`LoggedProgress` logging every
    :data:`LOG_EVERY` seconds: the same use, ``update(n)`` or iteration, in a ``with`` block
    or not."""
    if interactive:
        return tqdm(iterable, total=total, desc=desc, unit=unit, smoothing=0.1)
    return LoggedProgress(iterable, total=total, desc=desc, unit=unit, every=LOG_EVERY)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _rate(per_second: float, unit: str) -> str:
    # slow work reads better as time per unit: "31.6 s/boundary", not "0.0317 boundary/s"
    if per_second >= 1:
        return f"{per_second:.3g} {unit}/s"
    return f"{1 / per_second:.3g} s/{unit}"


class LoggedProgress:
    """Counts work done and logs ``desc: n/total unit (p%), rate, about t left``
    (the rate as ``unit/s``, or ``s/unit`` when slower than one a second; smoothed over the
    logged intervals, :data:`SMOOTHING`) at most every ``every`` seconds, never at the end
    (the caller reports what finished)."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: int,
        desc: str,
        unit: str = "it",
        every: float = LOG_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.every, self._clock = every, clock
        self.n = self._n_last = 0
        self._last = clock()
        self._rate: float | None = None  # per second, smoothed over the logged intervals

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self._clock()
        if now - self._last < self.every or self.n >= self.total or self.n == self._n_last:
            return
        latest = (self.n - self._n_last) / max(now - self._last, 1e-9)  # every=0: same tick
        rate = latest if self._rate is None else SMOOTHING * latest + (1 - SMOOTHING) * self._rate
        self._rate, self._last, self._n_last = rate, now, self.n
        log.info(
            "%s: %d/%d %s (%.0f%%), %s, about %s left",
            self.desc,
            self.n,
            self.total,
            self.unit,
            100 * self.n / self.total,
            _rate(rate, self.unit),
            _duration((self.total - self.n) / rate),
        )

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("LoggedProgress: nothing to iterate (give an iterable)")
        for item in self.iterable:
            yield item
            self.update()

    def __enter__(self) -> LoggedProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

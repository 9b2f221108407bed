"""Declared ranges for config dataclasses, and the one check that enforces them.

A config field states its type in its annotation (Hydra checks that while composing) and its
range here, beside it: ``n_w: int = at_least(2)``. :func:`check` walks a config object and
raises one ``ValueError`` naming the first value outside its range. Fields carry no default:
every default lives in the YAML files under ``conf/``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection
from typing import Any


def _rule(test: Callable[[Any], bool], text: str) -> Any:
    return dataclasses.field(metadata={"rule": (test, text)})


def at_least(lo: float) -> Any:
    return _rule(lambda v: v >= lo, f"must be >= {lo}")


def above(lo: float) -> Any:
    return _rule(lambda v: math.isfinite(v) and v > lo, f"must be > {lo}")


def between(lo: float, hi: float) -> Any:
    """Open interval (lo, hi)."""
    return _rule(lambda v: lo < v < hi, f"must lie in ({lo}, {hi})")


def one_of(choices: Collection[str]) -> Any:
    return _rule(lambda v: v in choices, f"must be one of {sorted(choices)}")


def each_at_least(lo: float) -> Any:
    return _rule(lambda v: all(x >= lo for x in v), f"must all be >= {lo}")


def check(config: Any, prefix: str = "") -> None:
    """Check every declared range of the dataclass ``config`` and of the dataclasses inside
    it; then its own ``validate()`` (relations between fields), if it has one."""
    for f in dataclasses.fields(config):
        value, name = getattr(config, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            check(value, f"{name}.")
        elif value is not None and "rule" in f.metadata:
            test, text = f.metadata["rule"]
            if not test(value):
                raise ValueError(f"{name}={value!r} {text}")
    if hasattr(config, "validate"):
        config.validate(prefix)


def nonempty() -> Any:
    return _rule(lambda v: len(v) > 0, "must not be empty")

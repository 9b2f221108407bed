"""Declared ranges for config dataclasses, and the one check that enforces them.

A config field states its type in its annotation (Hydra checks that while composing) and its
range here, beside it: ``n_w: int = at_least(2)``. :func:`check` walks a config object and
raises one ``ValueError`` naming the first value outside its range. Fields carry no default:
every default lives in the YAML files under ``conf/``.

``_target_`` nodes (``trainer``, ``callbacks``, ...) are typed ``Any`` in the schemas, so Hydra
cannot check them; :func:`check_arguments` checks their values against the annotations of the
callable they name, because Lightning, for one, takes ``max_epochs='abc'`` without a word and
fails only once fitting starts.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import tempfile
import types
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
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


def writable_dir() -> Any:
    """A directory qpt can create and write in (a bad one would fail only after the states
    are generated or the network trained)."""
    return _rule(_can_write, "is not a directory qpt can write in")


def _can_write(path: str) -> bool:
    """Whether ``path`` is, or can be made, a writable directory. Nothing is left behind: a
    probe directory comes and goes in its nearest existing ancestor (``os.access`` would
    let root "write" into /proc)."""
    try:
        existing = Path(path).absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            return False
        with tempfile.TemporaryDirectory(dir=existing, prefix=".qpt-probe-"):
            return True
    except OSError:
        return False


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


#: the scalar types a YAML value can have, as an error message names them
_SCALARS = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}
#: Internal keys of a ``_target_`` node that are not arguments of the callable
_HYDRA_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")


def check_arguments(node: Mapping[str, Any], name: str) -> None:
    """Check the scalar values of the ``_target_`` node ``name`` (and of nested ones) against
    the annotations of the callable it names; raise one ``ValueError`` naming the first value
    of the wrong type. Ranges stay the callable's to check. A null is left to the callable
    (its default, or a value qpt fills in, as the MLflow experiment name); so is a value
    whose annotation is not plain (a tensor, a list): only what is surely wrong is refused.
    """
    from hydra.utils import get_object  # imports the target: torch, Lightning

    try:
        params = inspect.signature(get_object(node["_target_"]), eval_str=True).parameters
    except (ImportError, AttributeError, NameError, TypeError, ValueError):
        return  # an unknown target: instantiating it says so, with its name
    for key, value in node.items():
        if key in _HYDRA_KEYS or key not in params:
            continue  # an unknown argument: the callable's TypeError names it
        if isinstance(value, Mapping) and "_target_" in value:
            check_arguments(value, f"{name}.{key}")
            continue
        expected = _accepted(params[key].annotation)
        if value is not None and expected is not None and not _fits(value, expected):
            raise ValueError(f"{name}.{key}={value!r} is not {_describe(expected)}")


def _accepted(annotation: Any) -> list[Any] | None:
    """What an annotation accepts of YAML values: scalar types, literal values, and other
    classes (which no scalar is an instance of); None for anything else (``Any``, a type
    variable, a generic such as ``list[int]``), which is not checked."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_accepted(a) for a in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else [x for p in parts for x in p]
    if origin is typing.Literal:
        return [("literal", v) for v in typing.get_args(annotation)]
    if annotation is type(None) or (isinstance(annotation, type) and origin is None):
        return [annotation]
    return None


def _fits(value: Any, accepted: list[Any]) -> bool:
    for kind in accepted:
        if isinstance(kind, tuple):
            if type(value) is type(kind[1]) and value == kind[1]:
                return True
        elif kind is float and isinstance(value, int) and not isinstance(value, bool):
            return True  # YAML writes 1.0 as 1
        elif kind is int and isinstance(value, bool):
            continue  # true is no count
        elif isinstance(kind, type) and isinstance(value, kind):
            return True
    return not isinstance(value, (*_SCALARS, Mapping, list, tuple))


def _describe(accepted: list[Any]) -> str:
    names = [
        repr(k[1]) if isinstance(k, tuple) else _SCALARS.get(k, f"a {k.__name__}")
        for k in accepted
        if k is not type(None)
    ]
    names = list(dict.fromkeys(names))
    return " or ".join(names) if len(names) <= 2 else "one of " + ", ".join(names)

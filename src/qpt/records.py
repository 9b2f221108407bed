"""Reading what a discovery run left on disk: its discovery.json and its settings.

The command-line readers of finished runs (``qpt-compare``, ``qpt-pool``) share these, so a
run that cannot be read is refused alike everywhere: :class:`RecordError`, whose message
names the file and what is wrong, in one line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from qpt.runs import flatten


class RecordError(ValueError):
    """A run that cannot be read or used: the message names the file and what is wrong."""


def read_discovery(path: Path) -> tuple[dict[str, Any], Path]:
    """One run's discovery.json (``path`` itself, or the run directory holding one) and the
    file's path."""
    if path.is_dir():
        path = path / "discovery.json"
    try:
        record = json.loads(path.read_text())
    except OSError as err:
        raise RecordError(f"{path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise RecordError(f"{path}: not a discovery.json ({err.msg}, line {err.lineno})") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a discovery.json (not text)") from None
    if not isinstance(record, dict) or not isinstance(record.get("routes"), list):
        raise RecordError(f"{path}: not a discovery.json (no list of routes)")
    return record, path


def route_record(record: dict[str, Any], route: str, path: Path) -> dict[str, Any]:
    """The entry of ``route`` in a discovery record read from ``path``."""
    routes = {r.get("route"): r for r in record["routes"] if isinstance(r, dict)}
    if route not in routes:
        have = ", ".join(map(str, routes)) or "none"
        raise RecordError(f"{path}: no {route!r} route (it has: {have})")
    return routes[route]


def run_settings(discovery_json: Path) -> dict[str, Any] | None:
    """The composed config of the run that wrote ``discovery_json`` (its Hydra
    ``.hydra/config.yaml`` beside it), flattened to dotted keys and unresolved; None if the
    file is not there (a discovery.json copied from MLflow's artifacts, say)."""
    config = discovery_json.parent / ".hydra" / "config.yaml"
    if not config.is_file():
        return None
    try:
        tree = OmegaConf.to_container(OmegaConf.load(config), resolve=False)
    except (OmegaConfBaseException, OSError, ValueError) as err:
        raise RecordError(f"{config}: not a run's config ({type(err).__name__})") from None
    if not isinstance(tree, dict):
        raise RecordError(f"{config}: not a run's config (no mapping)")
    return flatten(tree)


def refuse(message: str) -> int:
    """A command-line reader's refusal: one ``error:`` line on stderr; the exit status, 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2

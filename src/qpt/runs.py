"""Helpers every entry point shares: the project root, config conversion, provenance."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def without_hydra(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` without Hydra's own node (present when composed with it)."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain containers, without Hydra's own node."""
    return OmegaConf.to_container(without_hydra(cfg), resolve=True)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: config keys as MLflow params."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def path_safe(name: str) -> str:
    """``name`` as one path component: what is not a letter, digit, ``-``, ``_`` or ``.``
    becomes ``_``, so that a name (an experiment's, a model's) cannot reach outside the
    directory it is put in (``../../tmp/x`` -> ``.._.._tmp_x``)."""
    safe = re.sub(r"[^\w.-]", "_", str(name))
    return "_" if safe in ("", ".", "..") else safe


def git_commit(cwd: str | Path = PROJECT_ROOT) -> str:
    """The checked-out commit, with "-dirty" if tracked files have uncommitted changes."""
    command = ["git", "describe", "--always", "--dirty", "--abbrev=40", "--exclude=*"]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"

"""Shared fixtures: tiny, isolated training configs (own cache and MLflow store per test)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

import qpt.config  # noqa: F401  (registers the config schema)

ROOT = Path(__file__).resolve().parents[1]
CONF = str(ROOT / "conf")


def tiny_overrides(tmp: Path, L: int = 16) -> list[str]:
    """A run that takes seconds: few states, one epoch, a 4-point test grid (its MLflow store
    comes from MLFLOW_TRACKING_URI, which ``tmp_run_dir`` and ``run_script`` point into tmp)."""
    return [
        f"L={L}",
        "disorder.train.states_per_phase=12",
        "disorder.test.n_w=4",
        "disorder.test.states_per_w=2",
        "data.shard_size=8",
        "data.gen_workers=1",
        "data.progress=false",
        f"data.cache_dir={tmp}/cache",
        "data.batch_size=8",
        "trainer.max_epochs=1",
        "trainer.min_epochs=1",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
        "evaluation.sample_images=2",
    ]


def compose_cfg(overrides: list[str], config_name: str = "config"):
    """The config train.py would get, with Hydra's runtime set as in a real job; its output
    directory is a fresh one under the working directory."""
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(Path.cwd() / f"run-{uuid.uuid4().hex[:8]}")
    HydraConfig.instance().set_config(cfg)
    return cfg


def group_config(group: str, option: str) -> dict:
    """``conf/<group>/<option>.yaml`` as the plain dict a ``_target_`` consumer receives."""
    return OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / group / f"{option}.yaml"))


def run_script(
    script: str, args: list[str], tmp: Path, timeout: int = 300
) -> subprocess.CompletedProcess:
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
        "QPT_CACHE_DIR": str(tmp / "cache"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def tmp_run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    return tmp_path

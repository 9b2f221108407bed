"""MLflow tracking that survives parallel jobs on one sqlite store.

Parallel Hydra jobs writing to one ``sqlite:///mlflow.db`` can hit "database is locked"
(sqlite allows one writer) and can race while creating the schema or an experiment. So:
store creation and experiment lookup happen under an flock next to the database, and every
write is retried with jittered exponential backoff.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)
T = TypeVar("T")
PARAM_MAX_LEN = 6000  # MLflow's limit on a param value
BATCH = 100  # MLflow's limit on params per log_batch call


def _is_lock_error(err: Exception) -> bool:
    text = str(err).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


def with_retry(fn: Callable[..., T], *args: Any, attempts: int = 10, **kwargs: Any) -> T:
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            if not _is_lock_error(err) or attempt == attempts - 1:
                raise
            delay = min(5.0, 0.05 * 2**attempt) * (0.5 + random.random())
            log.debug("MLflow store busy (%s); retrying in %.2f s", err, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def sqlite_path(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///") :].split("?")[0])
    return None


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def git_commit(cwd: str | os.PathLike = ".") -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class TrackedRun:
    """One MLflow run: params, per-epoch metrics, tags and artifacts, all retried."""

    def __init__(self, tracking_uri: str, experiment: str, run_name: str, tags: dict[str, str]):
        self.tracking_uri = tracking_uri
        db = sqlite_path(tracking_uri)
        lock = file_lock(db.with_name(db.name + ".lock")) if db else contextlib.nullcontext()
        with lock:  # one process at a time creates the schema and the experiment
            self.client = with_retry(MlflowClient, tracking_uri=tracking_uri)
            exp = with_retry(self.client.get_experiment_by_name, experiment)
            if exp is None:
                # artifacts beside the database (MLflow's default would be relative to the cwd)
                location = (
                    (db.resolve().parent / "mlartifacts" / experiment).as_uri() if db else None
                )
                exp_id = with_retry(
                    self.client.create_experiment, experiment, artifact_location=location
                )
            else:
                exp_id = exp.experiment_id
        run = with_retry(self.client.create_run, exp_id, run_name=run_name, tags=tags)
        self.run_id = run.info.run_id
        self.experiment_id = exp_id

    @classmethod
    def attach(cls, tracking_uri: str, run_id: str) -> TrackedRun:
        """An existing run (e.g. to add evaluation results to a training run)."""
        self = cls.__new__(cls)
        self.tracking_uri, self.run_id = tracking_uri, run_id
        self.client = with_retry(MlflowClient, tracking_uri=tracking_uri)
        self.experiment_id = with_retry(self.client.get_run, run_id).info.experiment_id
        return self

    def log_params(self, params: dict[str, Any]) -> None:
        items = [Param(k, str(v)[:PARAM_MAX_LEN]) for k, v in sorted(params.items())]
        for i in range(0, len(items), BATCH):
            with_retry(self.client.log_batch, self.run_id, params=items[i : i + BATCH])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(items), BATCH):
            with_retry(self.client.log_batch, self.run_id, metrics=items[i : i + BATCH])

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None:
        with_retry(self.client.log_artifact, self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        with_retry(self.client.set_terminated, self.run_id, status)

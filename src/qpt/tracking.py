"""Lightning's MLFlowLogger, made safe for parallel jobs on one sqlite store.

Parallel Hydra jobs writing to one ``sqlite:///mlflow.db`` can hit "database is locked"
(sqlite allows one writer) and can race while creating the schema or an experiment. So the
first contact with the store (schema, experiment, run) happens under a file lock beside the
database, and every client call is retried with jittered exponential backoff. Artifacts of a
sqlite store go beside the database, not into the working directory.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from pytorch_lightning.loggers import Logger
from pytorch_lightning.loggers import MLFlowLogger as LightningMLFlowLogger

from qpt.console import Interrupted, interrupts_deferred
from qpt.runs import path_safe

log = logging.getLogger(__name__)
T = TypeVar("T")


def with_retry(fn: Callable[..., T], *args: Any, attempts: int = 10, **kwargs: Any) -> T:
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            text = str(err).lower()
            locked = "database is locked" in text or "table is locked" in text or "busy" in text
            if not locked or attempt == attempts - 1:
                raise
            delay = min(5.0, 0.05 * 2**attempt) * (0.5 + random.random())
            log.debug("MLflow store busy (%s); retrying in %.2f s", err, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _uninterrupted(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` with SIGTERM and SIGINT held until it returns (``console.interrupts_deferred``)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> T:
        with interrupts_deferred():
            return fn(*args, **kwargs)

    return call


class _RetryingClient:
    """An MlflowClient whose every call is retried while the store is locked, and finishes
    before a signal interrupts the job."""

    def __init__(self, client: Any):
        self.client = client

    def __getattr__(self, name: str) -> Any:
        if name == "client":  # not yet set (unpickling)
            raise AttributeError(name)
        attr = getattr(self.client, name)
        return functools.partial(with_retry, _uninterrupted(attr)) if callable(attr) else attr


class MLFlowLogger(LightningMLFlowLogger):
    """``pytorch_lightning.loggers.MLFlowLogger`` with the store locking and retries above.

    Lightning ends the run when fitting ends; qpt's runs go on (evaluation, plots), so a
    successful fit leaves the run open and :meth:`end` closes it.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        run_name: str | None = None,
        log_model: bool = False,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
    ):
        self.tracking_uri = tracking_uri
        # whose run this is: a later start on this host marks it KILLED once the pid is gone
        tags = {**(tags or {}), HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
        sqlite = tracking_uri.startswith("sqlite:///")
        db = Path(tracking_uri.removeprefix("sqlite:///").split("?")[0]) if sqlite else None
        self._lock_path = f"{db}.lock" if db else None
        # the experiment's name as one directory: "../x" must not write outside mlartifacts
        artifacts = db.resolve().parent / "mlartifacts" / path_safe(experiment_name) if db else None
        try:
            with self._store_lock():
                super().__init__(
                    experiment_name=experiment_name,
                    run_name=run_name,
                    tracking_uri=tracking_uri,
                    log_model=log_model,
                    run_id=run_id,
                    tags=tags,
                    artifact_location=artifacts.as_uri() if artifacts else None,
                )
        except (MlflowException, OSError) as err:  # an unknown scheme, an unwritable store
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0].split(". ")[0]
            raise ValueError(
                f"tracking_uri={tracking_uri!r} is not a store MLflow can open: {reason}"
            ) from None
        self._mlflow_client = _RetryingClient(self._mlflow_client)

    def _store_lock(self) -> contextlib.AbstractContextManager:
        """Held while this process may create the store's schema or the experiment."""
        if self._lock_path is None:
            return contextlib.nullcontext()
        Path(self._lock_path).parent.mkdir(parents=True, exist_ok=True)
        return FileLock(self._lock_path)

    @property
    def experiment(self) -> Any:
        if self._initialized:
            return super().experiment
        with self._store_lock():
            client = super().experiment
            # MLflow 3 opens an experiment in its GenAI view unless told it holds model training
            client.set_experiment_tag(
                self._experiment_id, "mlflow.experimentKind", "custom_model_development"
            )
            mark_orphans_killed(client, self._experiment_id)
            return client

    def log_series(self, name: str, steps: list[int], values: list[float]) -> None:
        """A curve as one metric's history (step: its x), so that MLflow's charts overlay
        the curves of several runs."""
        now = int(time.time() * 1000)
        metrics = [Metric(name, float(v), now, int(s)) for s, v in zip(steps, values, strict=True)]
        for i in range(0, len(metrics), 1000):
            self.experiment.log_batch(self.run_id, metrics=metrics[i : i + 1000])

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.experiment.log_artifact(self.run_id, str(path), artifact_path)

    def finalize(self, status: str = "success") -> None:
        if status != "success":
            super().finalize(status)
        elif self._initialized and self._checkpoint_callback:
            self._scan_and_log_checkpoints(self._checkpoint_callback)

    def end(self, status: str = "FINISHED") -> None:
        if self._initialized:
            self.experiment.set_terminated(self.run_id, status)


HOST_TAG, PID_TAG = "qpt.host", "qpt.pid"


def mark_orphans_killed(client: Any, experiment_id: str) -> list[str]:
    """RUNNING runs of this host whose process is gone (killed with -9, the node lost...)
    become KILLED; returns their ids."""
    host = socket.gethostname()
    query = f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'"
    orphans = []
    for run in client.search_runs([experiment_id], filter_string=query, max_results=1000):
        pid = int(run.data.tags.get(PID_TAG, "0"))
        if pid != os.getpid() and not _alive(pid):
            client.set_terminated(run.info.run_id, "KILLED")
            orphans.append(run.info.run_id)
    if orphans:
        log.warning("marked %d run(s) KILLED whose process is gone: %s", len(orphans), orphans)
    return orphans


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return pid > 0


def build_loggers(configs: Mapping[str, Any], *, model: str, **names: Any) -> list[Logger]:
    """Every logger of a ``logger`` group. MLflow loggers whose config leaves them null get
    the experiment of ``model`` (one per physics model) and ``names`` (a run name, or the
    id of a run to add to)."""
    names = {"experiment_name": f"qpt-{model}", **names}
    loggers = []
    for key, cfg in configs.items():
        fill = issubclass(get_object(cfg["_target_"]), MLFlowLogger)
        try:
            loggers.append(
                instantiate(cfg, **{k: v for k, v in names.items() if fill and cfg.get(k) is None})
            )
        except InstantiationException as err:
            if not isinstance(err.__cause__, ValueError):
                raise
            raise ValueError(f"logger.{key}: {err.__cause__}") from None  # which logger
    return loggers


def trackers(loggers: list[Logger]) -> list[MLFlowLogger]:
    return [lg for lg in loggers if isinstance(lg, MLFlowLogger)]


def run_info(loggers: list[Logger]) -> dict[str, str]:
    """Where the first MLflow logger records: run id and name, experiment, tracking URI."""
    for t in trackers(loggers):
        run = t.experiment.get_run(t.run_id)
        return {
            "run_id": t.run_id,
            "run_name": run.info.run_name,
            "experiment_id": t.experiment_id,
            "tracking_uri": t.tracking_uri,
        }
    return {}


@contextlib.contextmanager
def ended_on_exit(loggers: list[Logger]) -> Any:
    """End the MLflow runs among ``loggers`` with the block: FINISHED, or KILLED / FAILED."""
    try:
        yield
    except BaseException as err:
        for t in trackers(loggers):
            t.end("KILLED" if isinstance(err, (KeyboardInterrupt, Interrupted)) else "FAILED")
        raise
    for t in trackers(loggers):
        t.end()

"""Sweeps a person can follow: a parent MLflow run per Hydra sweep with its jobs nested under
it, and a table of every job when the sweep ends (exit code 1 if any failed; the others
still ran, see :func:`qpt.console.run`)."""

from __future__ import annotations

import datetime
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from qpt.config import TrainConfig, typed
from qpt.console import STATUS_FILE, quiet
from qpt.reporting import interval_text, publish
from qpt.runs import git_commit
from qpt.tracking import build_loggers, trackers

PARENT_FILE = "mlflow_parent_run.json"


def run_name(*parts: object, job: str | None = None) -> str:
    """Readable and unique: what ran, when (plus 6 random hex digits, since identical jobs of
    a cluster array can start in the same second: two collide with probability 2^-24), and
    which job of a sweep."""
    stamp = datetime.datetime.now().strftime("%m%d-%H%M%S")
    parts = [*parts, stamp, uuid.uuid4().hex[:6]]
    return "-".join(map(str, parts)) + (f"-job{job}" if job is not None else "")


def parent_run_id(sweep_dir: Path) -> str | None:
    """The id of the sweep's parent MLflow run, where :class:`SweepRecord` made one."""
    path = sweep_dir / PARENT_FILE
    return json.loads(path.read_text())["run_id"] if path.exists() else None


def sweep_config(config: DictConfig) -> TrainConfig:
    """A sweep callback's typed config: the sweep's own files go beside its jobs."""
    config = config.copy()
    config.output_dir = str(Path(config.hydra.sweep.dir))
    return typed(config)


def job_tags() -> dict[str, str]:
    """The command that ran (as the run's description), and in a sweep its job number and
    parent run."""
    hydra = HydraConfig.get()
    command = f"python {Path(sys.argv[0]).name} " + " ".join(hydra.overrides.task)
    tags = {"mlflow.note.content": command}
    if hydra.mode == RunMode.MULTIRUN:
        sweep = Path(hydra.sweep.dir)
        tags |= {"sweep": str(sweep), "job": str(hydra.job.num)}
        if parent := parent_run_id(sweep):
            tags["mlflow.parentRunId"] = parent
    return tags


def sweep_table(sweep_dir: Path) -> tuple[str, int]:
    """A markdown table of the sweep's jobs (from their status files); the number failed."""
    rows = ["| job | overrides | status | val acc | W* [95%] |", "|---|---|---|---|---|"]
    failed = 0
    for path in sorted(
        sweep_dir.glob(f"*/{STATUS_FILE}"), key=lambda p: int(p.parent.name.split("-")[0])
    ):
        job = json.loads(path.read_text())
        failed += job["status"] != "FINISHED"
        ev = job.get("evaluation", {})
        w, lo, hi = (ev.get(f"crossing_W{s}/E0.0") for s in ("", "_lo", "_hi"))
        star = interval_text(w, (lo, hi), 3) if None not in (w, lo, hi) else ""
        acc = f"{job['val_acc']:.4f}" if "val_acc" in job else job.get("error", "")
        overrides = " ".join(job["overrides"])
        rows.append(f"| {path.parent.name} | {overrides} | {job['status']} | {acc} | {star} |")
    return "\n".join(rows), failed


class SweepRecord(Callback):
    """Hydra callback: the parent run at the start of a sweep, the table at its end."""

    def _loggers(self, config: DictConfig, **names: Any) -> list:
        conf = sweep_config(config)
        return trackers(build_loggers(conf.logger, model=conf.model.name, **names))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        quiet()
        sweep = Path(config.hydra.sweep.dir)
        tags = {"git_commit": git_commit(), "sweep": str(sweep)}
        tags["mlflow.note.content"] = "python train.py -m " + " ".join(config.hydra.overrides.task)
        for parent in self._loggers(config, run_name=run_name("sweep"), tags=tags):
            sweep.mkdir(parents=True, exist_ok=True)
            (sweep / PARENT_FILE).write_text(json.dumps({"run_id": parent.run_id}))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        table, failed = sweep_table(sweep)
        (sweep / "sweep.md").write_text(table + "\n")
        print(f"\n== qpt: sweep finished ({failed} failed) ==\n{table}", flush=True)
        if run_id := parent_run_id(sweep):
            for parent in self._loggers(config, run_id=run_id):
                publish([parent], {"sweep/failed_jobs": failed}, [(sweep / "sweep.md", None)])
                parent.end("FAILED" if failed else "FINISHED")
        if failed:
            sys.exit(1)

"""What a person sees in the terminal: no third-party noise, one line per error, and a
summary of every run (where its outputs went, its MLflow run, its numbers) at the end.

In a Hydra sweep a failing job is recorded (``status.json`` in its output directory) and the
sweep goes on; :mod:`qpt.sweeps` reports every job when the sweep ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    HydraException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException, ValidationError

STATUS_FILE = "status.json"
#: when this process started qpt: files older than this were not written by the job
_STARTED = time.time() - 1.0
#: set once a job starts: an OSError before that is Hydra failing to create its output directory
_job_started = False


class _NoTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet() -> None:
    """Silence what third-party libraries print that a qpt user cannot act on."""
    for message in (
        r".*isinstance\(treespec, LeafSpec\).*",
        r".*smaller than the logging interval.*",
        # with an on-exception checkpoint Lightning reads ckpt_path=None as "last" and says
        # so; qpt passes the checkpoint to resume from itself (TrainConfig.resume)
        r".*ckpt_path=None\)` was called without a model.*",
        r".*is set, but there is no last checkpoint available.*",
        # on a Slurm machine, at every Trainer: qpt reaches Slurm through Hydra's launcher
        r".*The `srun` command is available on your system but is not used.*",
    ):
        warnings.filterwarnings("ignore", message=message)
    rank_zero = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    if not any(isinstance(f, _NoTips) for f in rank_zero.filters):  # quiet() may run again
        rank_zero.addFilter(_NoTips())
    logging.getLogger("pytorch_lightning.loggers.mlflow").setLevel(logging.ERROR)  # "Creating it."
    # "Creating initial MLflow database tables...", to stderr, whenever a store is new
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    # a progress bar for the one checkpoint evaluate.py run_id=... downloads
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def bad_input_message(err: BaseException) -> str | None:
    """The one line for bad input (a ValueError, or a ``_target_`` refusing its arguments);
    None for anything else (a bug: its traceback is worth more)."""
    if isinstance(err, InstantiationException) and isinstance(
        err.__cause__, (ValueError, TypeError)
    ):
        err = err.__cause__
    elif not isinstance(err, ValueError):
        return None
    return str(err).splitlines()[0] if str(err) else type(err).__name__


#: OmegaConf's names of the types a value could not be converted to, as qpt says them
_TYPE_NAMES = {"Integer": "an integer", "Float": "a number", "Boolean": "true/false"}


def composition_message(err: BaseException) -> str | None:
    """The one line for what Hydra refuses before the job runs (an unknown option or key, a
    value of the wrong type, an override it cannot parse, an output directory it cannot
    create), or for bad input met in a sweep callback; None for anything else."""
    cause = err.__cause__
    if isinstance(err, MissingConfigException) and err.options and err.missing_cfg_file:
        group, _, option = err.missing_cfg_file.rpartition("/")
        return f"{group}={option} is not an option of {group}: {', '.join(err.options)}"
    if isinstance(err, OverrideParseException):
        return f"cannot parse the override {err.override!r}: {err.message.splitlines()[0]}"
    if isinstance(err, HydraException) and isinstance(cause, OmegaConfBaseException):
        text = cause.msg.splitlines()[0]
        if isinstance(cause, ValidationError) and cause.full_key:
            kind = re.search(r"converted to (\w+)", text)
            if kind and kind.group(1) in _TYPE_NAMES:
                return f"{cause.full_key}={cause.value!r} is not {_TYPE_NAMES[kind.group(1)]}"
            return f"{cause.full_key}={cause.value!r}: {text}"
        if isinstance(cause, AttributeError | KeyError) and cause.full_key:
            return f"{cause.full_key!r} is not a config key"
        return text
    if isinstance(err, HydraException) and not isinstance(err, InstantiationException):
        return str(err).splitlines()[0]
    if isinstance(err, OSError) and not _job_started:
        return f"cannot write {err.filename!r} (the output directory): {err.strerror}"
    return bad_input_message(err)


def hydra_entry(hydra_main: Callable[[], Any]) -> None:
    """Run an entry point's ``@hydra.main`` function, so that what Hydra refuses is one line
    on stderr and exit code 2 too (Hydra itself prints several, or a stack trace, and exits
    with 1). ``HYDRA_FULL_ERROR=1`` keeps Hydra's own report."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        hydra_main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises what it would print: the one line is ours
    try:
        hydra_main()
    except Exception as err:
        message = composition_message(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


class Interrupted(BaseException):
    """SIGTERM (how Slurm preempts or times out a job) or SIGINT, raised where the job was:
    MLflow runs end KILLED, training saves a checkpoint to resume from (``resume=auto``)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_deferring = 0  # depth of interrupts_deferred() blocks
_pending: int | None = None  # a signal that arrived inside one


def _interrupt(signum: int, frame: Any) -> None:
    global _pending
    if _deferring:
        _pending = signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupts_deferred() -> Any:
    """Hold SIGTERM and SIGINT until the block has finished, then raise :class:`Interrupted`.
    For writes to the tracking store: one interrupted midway leaves its sqlite transaction
    open, and the run's own last write (status KILLED) then fails on a locked database."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)


def run(job: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> dict[str, Any]:
    """Run an entry point's job: quiet console; bad input is one line on stderr and exit
    code 2; SIGTERM or SIGINT one line and exit code 128 + signal; at the end, the run's
    summary. In a sweep, a failed job is recorded and the next one runs."""
    global _job_started
    _job_started = True
    quiet()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    hydra = HydraConfig.get()
    in_sweep = hydra.mode == RunMode.MULTIRUN
    status = Path(hydra.runtime.output_dir) / STATUS_FILE
    try:
        summary = job(cfg)
    except Interrupted as err:
        print(
            f"error: interrupted by {err}; outputs so far in {hydra.runtime.output_dir}",
            file=sys.stderr,
        )
        _write(
            status, {"status": "KILLED", "error": str(err), "overrides": list(hydra.overrides.task)}
        )
        sys.exit(128 + err.signum)
    except Exception as err:
        message = bad_input_message(err)
        if not in_sweep and message is None:
            raise
        text = f"error: {message or repr(err)}"
        print(text, file=sys.stderr)
        if not in_sweep:
            _discard_if_only_hydra(Path(hydra.runtime.output_dir))
            sys.exit(2)
        logging.getLogger("qpt").exception("job %s failed", hydra.job.num)
        _write(status, {"status": "FAILED", "error": text, "overrides": list(hydra.overrides.task)})
        return {}
    _write(
        status, {"status": "FINISHED", "overrides": list(hydra.overrides.task)} | _numbers(summary)
    )
    print(summary_block(summary), flush=True)
    return summary


def _discard_if_only_hydra(out: Path) -> None:
    """Remove the output directory of a refused job if it holds only what Hydra wrote for it
    (``.hydra/`` and the job's log), so that bad input leaves nothing behind; a directory with
    anything else in it, or older than this process (a rerun in place), is kept."""
    files = [p for p in out.rglob("*") if p.is_file()] if out.is_dir() else []
    hydra_only = all(
        (".hydra" in p.relative_to(out).parts or p.suffix == ".log")
        and p.stat().st_mtime >= _STARTED
        for p in files
    )
    if out.is_dir() and hydra_only:
        shutil.rmtree(out, ignore_errors=True)
        # the dated directory if this job was its only one, and so on up (outputs/) while
        # empty, never above the working directory
        cwd, parent = Path.cwd().resolve(), out.resolve().parent
        with contextlib.suppress(OSError):
            parent.rmdir()
            while parent.parent != cwd and cwd in parent.parent.parents:
                parent = parent.parent
                parent.rmdir()


def _write(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str))


def _numbers(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("val_acc", "best_epoch", "run_id", "run_name", "output_dir", "evaluation", "discovery")
    return {k: summary[k] for k in keys if k in summary}


def run_url(summary: dict[str, Any]) -> str | None:
    """The run's page in the MLflow UI (model-training view): the server the tracking URI
    names, or ``make mlflow-ui``'s for a local sqlite store."""
    if not summary.get("run_id"):
        return None
    uri = summary["tracking_uri"]
    base = uri.rstrip("/") if uri.startswith("http") else "http://127.0.0.1:5000"
    page = f"#/experiments/{summary['experiment_id']}/runs/{summary['run_id']}"
    return f"{base}/{page}?workflowType=machine_learning"  # the model-training view


def summary_block(summary: dict[str, Any]) -> str:
    """A few lines a person reads after a run."""
    lines = ["", "== qpt: run finished ==", f"outputs:    {summary.get('output_dir')}"]
    if summary.get("run_id"):
        lines.append(f"MLflow run: {summary['run_name']} (id {summary['run_id']})")
        lines.append(f"  open:     {run_url(summary)}   (`make mlflow-ui` serves a local store)")
    if "val_acc" in summary:
        lines.append(
            f"validation accuracy: {summary['val_acc']:.4f} (best epoch {summary['best_epoch']})"
        )
    evaluation = summary.get("evaluation", {})
    for name, value in sorted(evaluation.items()):
        prefix, found, tag = name.partition("crossing_W/")
        if found:
            lo, hi = (evaluation.get(f"{prefix}crossing_W_{s}/{tag}") for s in ("lo", "hi"))
            lines.append(f"W* {prefix}{tag}: {value:.3f} [{lo:.3f}, {hi:.3f}]")
    lines += [f"  {line}" for line in summary.get("discovery", [])]
    return "\n".join(lines)

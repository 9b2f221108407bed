"""evaluate.py's work: find the checkpoint, evaluate, log to MLflow."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from qpt.models.checkpoint import load_classifier
from qpt.tracking import TrackedRun, git_commit, with_retry
from qpt.training import PROJECT_ROOT, evaluate_with_config, output_dir, to_container

log = logging.getLogger(__name__)


def _checkpoint_from_run(tracking_uri: str, run_id: str, dest: Path) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        with_retry(client.get_run, run_id)
    except Exception:
        raise ValueError(f"MLflow run {run_id!r} not found in {tracking_uri}") from None
    try:
        return with_retry(client.download_artifacts, run_id, "checkpoints/best.ckpt", str(dest))
    except Exception:
        raise ValueError(f"MLflow run {run_id!r} has no checkpoints/best.ckpt artifact") from None


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    if bool(cfg.ckpt) == bool(cfg.run_id):
        raise ValueError("give exactly one of ckpt=<path> or run_id=<mlflow run id>")
    out = output_dir()
    ckpt = cfg.ckpt or _checkpoint_from_run(
        cfg.logger.tracking_uri, cfg.run_id, Path(tempfile.mkdtemp())
    )
    classifier = load_classifier(ckpt, model=cfg.target_model)
    meta = classifier.meta
    model = cfg.target_model or meta["model"]
    run = None
    if cfg.logger.tracking_uri:
        if cfg.run_id:
            run = TrackedRun.attach(cfg.logger.tracking_uri, cfg.run_id)
        else:
            run = TrackedRun(
                cfg.logger.tracking_uri,
                cfg.logger.experiment_name or f"qpt-{model}",
                f"evaluate-{model}-L{meta['L']}",
                tags={
                    "git_commit": git_commit(PROJECT_ROOT),
                    "checkpoint": str(ckpt),
                    "trained_on": meta["model"],
                    "dataset_key": meta["dataset_key"],
                },
            )
    try:
        result = evaluate_with_config(
            cfg,
            classifier,
            out,
            energies=to_container(cfg.energies),
            models=[model],
            n_bootstrap=int(cfg.n_bootstrap),
            gap_sweep=to_container(cfg.gap_sweep),
            run=run,
        )
    except BaseException:
        if run is not None and not cfg.run_id:
            run.end("FAILED")
        raise
    if run is not None and not cfg.run_id:
        run.end("FINISHED")
    log.info("results in %s", out)
    return result

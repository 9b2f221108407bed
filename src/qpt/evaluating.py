"""Judging a trained network on fresh states: after training, and evaluate.py's job."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from pytorch_lightning.loggers import Logger

from qpt.config import EvaluateConfig, typed
from qpt.data.config import TestGrid
from qpt.data.testsets import TestSets
from qpt.evaluation.config import EvaluationConfig
from qpt.evaluation.evaluate import gap_sweep, predictor, transition_curves
from qpt.evaluation.phase_diagram import phase_diagram
from qpt.models.checkpoint import load_classifier
from qpt.models.module import PhaseClassifier
from qpt.reporting import (
    interval_text,
    literature_text,
    publish,
    publish_curves,
    write_evaluation,
    write_phase_diagram,
)
from qpt.runs import git_commit
from qpt.sweeps import job_tags, run_name
from qpt.tracking import build_loggers, ended_on_exit, run_info, trackers

log = logging.getLogger(__name__)
#: where a training run keeps its best checkpoint (MLFlowLogger's log_model layout)
CHECKPOINT_ARTIFACT = "best/best.ckpt"


def judge(
    classifier: PhaseClassifier,
    sets: TestSets,
    grid: TestGrid,
    ev: EvaluationConfig,
    *,
    model: str,
    accelerator: str,
    out: Path,
    loggers: Sequence[Logger],
) -> dict[str, float]:
    """Transition curves of ``model`` and ``ev.transfer_models`` and the gap sweep, as
    ``ev`` asks; written to ``out`` and published."""
    curves = transition_curves(
        classifier,
        sets,
        grid,
        models=list(dict.fromkeys([model, *ev.transfer_models])),
        energies=ev.energies or grid.energies,
        n_bootstrap=ev.n_bootstrap,
        accelerator=accelerator,
    )
    for t in curves:
        c = t.crossing
        log.info(
            "%s E=%g: P crosses 1/2 at W* = %s (W_c = %s)",
            t.model, t.energy, interval_text(c.W, (c.lo, c.hi), 3), literature_text(t.reference_wc),
        )  # fmt: skip
    sweeps = gap_sweep(classifier, sets, ev.gap_sweep, accelerator)
    metrics, files = write_evaluation(
        curves,
        sweeps,
        out,
        trained_on=classifier.meta["model"],
        gap=ev.gap_sweep,
    )
    publish(loggers, metrics, files)
    publish_curves(loggers, curves, classifier.meta["model"])
    if ev.phase_diagram.energies:
        metrics |= _phase_diagram(classifier, sets, ev, model, accelerator, out, loggers)
    return metrics


def _phase_diagram(
    classifier: PhaseClassifier,
    sets: TestSets,
    ev: EvaluationConfig,
    model: str,
    accelerator: str,
    out: Path,
    loggers: Sequence[Logger],
) -> dict[str, float]:
    """The (E, W) map of ``model`` and its P = 1/2 contour, written to ``out`` and published."""
    diagram = phase_diagram(
        classifier,
        sets,
        ev.phase_diagram,
        model=model,
        n_bootstrap=ev.n_bootstrap,
        accelerator=accelerator,
    )
    for e, w, lo, hi in zip(diagram.energies, diagram.W_half, diagram.lo, diagram.hi, strict=True):
        wc = diagram.reference_at(e)
        reference = "no literature W_c here" if wc is None else f"literature W_c = {wc}"
        if (compared := diagram.compared_at(e)) is not None:
            reference += f"; compared W_c = {interval_text(compared[0], compared[1:], 3)}"
        w_text = interval_text(w, (lo, hi), 3)
        log.info("phase diagram E=%g: P = 1/2 at W = %s (%s)", e, w_text, reference)
    metrics, files = write_phase_diagram(diagram, out)
    publish(loggers, metrics, files)
    return metrics


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """evaluate.py: judge a checkpoint, or an MLflow run's checkpoint (results into that run)."""
    conf: EvaluateConfig = typed(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = conf.ckpt or _download_checkpoint(conf, tmp)
        classifier = load_classifier(ckpt, model=conf.target_model)
    meta = classifier.meta
    # what judging will ask, before a state is drawn or a run recorded
    model = conf.check_checkpoint(meta)
    classifier.check_fits(conf.evaluation.transfer_models, int(meta["L"]))
    predictor(conf.accelerator)
    tags = {
        "git_commit": git_commit(),
        "checkpoint": ckpt,
        "trained_on": meta["model"],
        "dataset_key": meta["dataset_key"],
    } | job_tags()
    name = run_name("evaluate", model, f"L{meta['L']}", job=tags.get("job"))
    names = {"run_id": conf.run_id} if conf.run_id else {"run_name": name, "tags": tags}
    loggers = build_loggers(conf.logger, model=model, **names)
    seed = meta["seed"] if conf.seed is None else conf.seed
    # a training run stays as it ended; a run of evaluate.py's own ends with it
    with contextlib.nullcontext() if conf.run_id else ended_on_exit(loggers):
        metrics = judge(
            classifier,
            TestSets(int(meta["L"]), seed, conf.data),
            conf.disorder.test,
            conf.evaluation,
            model=model,
            accelerator=conf.accelerator,
            out=Path(conf.output_dir),
            loggers=loggers,
        )
    return {"evaluation": metrics, "output_dir": conf.output_dir} | run_info(loggers)


def _download_checkpoint(conf: EvaluateConfig, dest: str) -> str:
    tracker = next(iter(trackers(build_loggers(conf.logger, model="", run_id=conf.run_id))), None)
    if tracker is None:
        raise ValueError(f"run_id={conf.run_id} needs an MLflow logger (logger=mlflow)")
    try:
        tracker.experiment.get_run(conf.run_id)
    except Exception:
        raise ValueError(f"MLflow run {conf.run_id!r} not found") from None
    try:
        return tracker.experiment.download_artifacts(conf.run_id, CHECKPOINT_ARTIFACT, dest)
    except Exception:
        raise ValueError(
            f"MLflow run {conf.run_id!r} has no {CHECKPOINT_ARTIFACT} artifact"
        ) from None

"""One training job: config -> states -> network -> Lightning fit -> judgement -> run record."""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger

from qpt.config import TrainConfig, typed
from qpt.data.datamodule import EigenstateDataModule
from qpt.data.testsets import TestSets
from qpt.evaluating import judge
from qpt.models.checkpoint import load_classifier
from qpt.models.module import LOGGED_METRICS, PhaseClassifier
from qpt.reporting import EpochHistory, publish, write_sample_images, write_training
from qpt.runs import flatten, git_commit, plain
from qpt.studies import single_network_study
from qpt.sweeps import job_tags, run_name
from qpt.tracking import build_loggers, ended_on_exit, run_info

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one network as ``cfg`` says; returns the summary (validation metrics, paths)."""
    conf: TrainConfig = typed(cfg)  # every bad value fails here, before any work
    pl.seed_everything(conf.seed, workers=True)
    dm = EigenstateDataModule(
        conf.model.name, conf.L, conf.seed, conf.disorder.train, conf.data, conf.model.params
    )
    meta = dm.describe()
    classifier = PhaseClassifier(
        conf.net, dataclasses.asdict(conf.optim), conf.symmetry, meta, conf.val_orbit
    )
    classifier.configure_optimizers()  # a bad optimiser fails now, not after generation
    history = EpochHistory()
    callbacks = [_callback(name, c) for name, c in conf.callbacks.items()] + [history]
    trainer = _trainer(conf, callbacks)
    # the MLflow store is touched only now, once everything else has been accepted
    loggers = _loggers(conf, meta)
    trainer.loggers = loggers  # what Trainer(logger=loggers) sets
    dm.prepare_data()  # generation happens before any run is recorded
    if conf.data.generate_only:  # one job of a cluster array filling the cache
        log.info("data.generate_only: cache %s filled", dm.cfg.cache(dm.train_ensemble).dir)
        return {"val_acc": math.nan}
    for lg in loggers:
        lg.log_hyperparams(flatten(plain(cfg)))
    try:
        with ended_on_exit(loggers):
            resume = conf.checkpoint_to_resume()
            if resume:
                log.info("resuming from %s", resume)
            trainer.fit(classifier, datamodule=dm, ckpt_path=resume)
            if not trainer.is_global_zero:
                return {}
            summary = history.summary(trainer.checkpoint_callback)
            summary |= run_info(loggers)
            _record(conf, plain(cfg), summary, history, dm, loggers)
            if conf.evaluate_after_training and summary["checkpoint"]:
                summary["evaluation"] = _judge(conf, summary["checkpoint"], loggers)
        return summary
    finally:
        # Sweeps run job after job in one process, and Lightning's objects form reference
        # cycles: collect them now so a finished job's model and memory-mapped dataset do
        # not stay resident while the next job trains.
        del dm, classifier, trainer
        gc.collect()


def _callback(name: str, cfg: dict[str, Any]) -> pl.Callback:
    """A callback of the ``callbacks`` group; one that monitors a metric the classifier never
    logs is refused now (Lightning would fail only after the first epoch)."""
    callback = instantiate(cfg)
    monitor = getattr(callback, "monitor", None)
    if monitor is not None and monitor not in LOGGED_METRICS:
        raise ValueError(
            f"callbacks.{name}.monitor={monitor!r} is never logged; "
            f"the classifier logs {', '.join(LOGGED_METRICS)}"
        )
    return callback


def _trainer(conf: TrainConfig, callbacks: list[pl.Callback]) -> pl.Trainer:
    """The Trainer; one this machine cannot run (no such accelerator, too few devices) is bad
    input, named by its settings."""
    try:
        return instantiate(conf.trainer, callbacks=callbacks, logger=False)
    except InstantiationException as err:
        if isinstance(err.__cause__, TypeError | ValueError):
            raise  # an unknown or bad argument: its own message names it (bad_input_message)
        settings = ", ".join(
            f"trainer.{k}={conf.trainer[k]!r}"
            for k in ("accelerator", "devices", "strategy")
            if k in conf.trainer
        )
        reason = str(err.__cause__ or err).splitlines()[0]
        raise ValueError(f"{settings} cannot run here: {reason}") from None


def _loggers(conf: TrainConfig, meta: dict[str, Any]) -> list[Logger]:
    net = HydraConfig.get().runtime.choices.net
    tags = {"git_commit": git_commit(), "dataset_key": meta["dataset_key"], "net": net}
    tags |= {"model": conf.model.name, "L": str(conf.L), "output_dir": conf.output_dir}
    tags |= job_tags()
    name = run_name(conf.model.name, net, f"L{conf.L}", job=tags.get("job"))
    return build_loggers(conf.logger, model=conf.model.name, run_name=name, tags=tags)


def _record(
    conf: TrainConfig,
    config: dict[str, Any],
    summary: dict[str, Any],
    history: EpochHistory,
    dm: EigenstateDataModule,
    loggers: list[Logger],
) -> None:
    """The fit's files and best-epoch metrics, into the output directory and the run."""
    out = Path(conf.output_dir)
    metrics, files = write_training(summary, history, config, out)
    files += [
        (lg.experiment.metrics_file_path, None) for lg in loggers if isinstance(lg, CSVLogger)
    ]
    files += write_sample_images(
        dm.training_states(),
        dm.physics,
        conf.disorder.train.energy,
        conf.evaluation.sample_images,
        out / "sample_eigenfunctions.png",
    )
    publish(loggers, metrics, files)


def _judge(conf: TrainConfig, ckpt: str, loggers: list) -> dict[str, float]:
    """The best checkpoint judges fresh test states, as ``conf.evaluation`` asks."""
    classifier, out = load_classifier(ckpt, L=conf.L), Path(conf.output_dir)
    metrics = judge(
        classifier,
        TestSets(conf.L, conf.seed, conf.data),
        conf.disorder.test,
        conf.evaluation,
        model=conf.model.name,
        accelerator=conf.trainer["accelerator"],
        out=out / "evaluation",
        loggers=loggers,
    )
    if conf.evaluation.sizes:
        metrics |= single_network_study(conf, classifier, out / "sizes", loggers)
    return metrics

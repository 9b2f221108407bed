"""Training orchestration: config -> data -> network -> Lightning fit -> MLflow run."""

from __future__ import annotations

import gc
import json
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint

from qpt.data.datamodule import EigenstateDataModule
from qpt.evaluation import plots
from qpt.evaluation.evaluate import evaluate_classifier
from qpt.models.checkpoint import load_classifier
from qpt.models.module import PhaseClassifier
from qpt.physics import available_models
from qpt.tracking import TrackedRun, flatten, git_commit

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class EpochHistory(Callback):
    """Collects epoch-level metrics after validation; forwards them to MLflow."""

    def __init__(self, run: TrackedRun | None):
        self.run, self.history = run, []

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if getattr(v, "numel", lambda: 1)() == 1
        }
        lrs = [g["lr"] for opt in trainer.optimizers for g in opt.param_groups[:1]]
        if lrs:
            metrics["lr"] = lrs[0]
        self.history.append({"epoch": trainer.current_epoch, **metrics})
        if self.run is not None and trainer.is_global_zero:
            self.run.log_metrics(metrics, step=trainer.current_epoch)


def to_container(cfg: Any) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def validate_config(cfg: DictConfig) -> None:
    """One clear error for a bad top-level setting (the rest is checked where it is used)."""
    if cfg.model.name not in available_models():
        raise ValueError(f"unknown model {cfg.model.name!r}; available: {available_models()}")
    if not isinstance(cfg.L, int) or cfg.L < 8:
        raise ValueError(
            f"L={cfg.L!r} must be an integer >= 8 (the networks need at least 8 x 8 images)"
        )


def build_datamodule(cfg: DictConfig) -> EigenstateDataModule:
    return EigenstateDataModule(
        cfg.model.name,
        cfg.L,
        cfg.seed,
        disorder=to_container(cfg.disorder),
        data=to_container(cfg.data),
        model_params=to_container(cfg.model.params),
    )


def output_dir() -> Path:
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except (ImportError, ValueError):
        return Path(tempfile.mkdtemp(prefix="qpt-"))


def sample_images(dm: EigenstateDataModule, out: Path, per_phase: int) -> Path | None:
    """The letter's Figs. 1/4: training eigenfunctions across W for each phase."""
    if per_phase < 1:
        return None
    data = dm.cache(dm.train_ensemble).load(dm.n_states)
    images, titles = [], []
    for label, phase in enumerate(dm.physics.phases):
        idx = np.flatnonzero(data.labels == label)
        idx = idx[np.argsort(data.W[idx])]
        for j in np.linspace(0, len(idx) - 1, per_phase).round().astype(int):
            images.append(np.asarray(data.image(idx[j])))
            titles.append(f"{phase}\nW = {data.W[idx[j]]:.3g}, E = {data.energies[idx[j]]:.3g}")
    path = out / "sample_eigenfunctions.png"
    plots.sample_panel(
        images,
        titles,
        path,
        ncols=per_phase,
        suptitle=f"{dm.model_name}, L = {dm.L}: |psi(x, y)|^2 (W_c = {dm.physics.critical_disorder(dm.train_ensemble.energy)})",
    )
    return path


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one network as configured; returns the summary (validation metrics, paths)."""
    validate_config(cfg)
    pl.seed_everything(cfg.seed, workers=True)
    out = output_dir()
    out.mkdir(parents=True, exist_ok=True)
    dm = build_datamodule(cfg)
    net_cfg, optim_cfg = to_container(cfg.net), to_container(cfg.optim)
    meta = {
        "model": cfg.model.name,
        "model_params": to_container(cfg.model.params),
        "L": cfg.L,
        "symmetry_class": dm.physics.symmetry_class,
        "phases": list(dm.physics.phases),
        "train_energy": dm.train_ensemble.energy,
        "critical_disorder": dm.physics.critical_disorder(dm.train_ensemble.energy),
        "dataset_key": dm.train_ensemble.key(),
        "input_scale": cfg.data.input_scale,
        "seed": cfg.seed,
    }
    classifier = PhaseClassifier(net=net_cfg, optim=optim_cfg, meta=meta)  # bad net/optim fail here
    classifier.configure_optimizers()
    dm.prepare_data()  # generation happens before any run is recorded
    if cfg.data.generate_only:  # e.g. one job of a cluster array filling the cache
        log.info(
            "data.generate_only: cache %s filled (shard %d of %d); not training",
            dm.cache(dm.train_ensemble).dir,
            cfg.data.shard_index,
            cfg.data.shard_count,
        )
        return {"val_acc": float("nan"), "cache_dir": str(dm.cache(dm.train_ensemble).dir)}

    run = None
    if cfg.logger.tracking_uri:
        experiment = cfg.logger.experiment_name or f"qpt-{cfg.model.name}"
        run_name = cfg.logger.run_name or f"{cfg.model.name}-{cfg.net.name}-L{cfg.L}"
        run = TrackedRun(
            cfg.logger.tracking_uri,
            experiment,
            run_name,
            tags={
                "git_commit": git_commit(PROJECT_ROOT),
                "dataset_key": meta["dataset_key"],
                "model": cfg.model.name,
                "net": cfg.net.name,
                "L": str(cfg.L),
                "output_dir": str(out),
            },
        )
        run.log_params(flatten(to_container(cfg)))
    try:
        summary = _fit(cfg, dm, classifier, out, run)
    except BaseException as err:
        if run is not None:
            run.end("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise
    finally:
        # Sweeps run job after job in one process, and Lightning's objects form reference
        # cycles: collect them now so a finished job's model and memory-mapped dataset do
        # not stay resident while the next job trains.
        del dm, classifier
        gc.collect()
    if run is not None:
        run.end("FINISHED")
    return summary


def _trainer_kwargs(cfg: DictConfig) -> dict[str, Any]:
    kwargs = to_container(cfg.trainer)
    kwargs.pop("early_stopping")
    return kwargs


def _fit(
    cfg: DictConfig,
    dm: EigenstateDataModule,
    classifier: PhaseClassifier,
    out: Path,
    run: TrackedRun | None,
) -> dict[str, Any]:
    es = cfg.trainer.early_stopping
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor=es.monitor,
        mode=es.mode,
        save_top_k=1,
        save_last=False,
    )
    history = EpochHistory(run)
    trainer = pl.Trainer(
        **_trainer_kwargs(cfg),
        logger=False,
        default_root_dir=str(out),
        callbacks=[
            checkpoint,
            history,
            EarlyStopping(
                monitor=es.monitor, mode=es.mode, patience=es.patience, min_delta=es.min_delta
            ),
        ],
    )
    trainer.fit(classifier, datamodule=dm)
    if not trainer.is_global_zero:
        return {}
    hist = [h for h in history.history if "val/loss" in h]
    best = min(hist, key=lambda h: h["val/loss"]) if hist else {}
    summary = {
        "best_epoch": best.get("epoch"),
        "epochs": len(hist),
        "val_acc": best.get("val/acc", math.nan),
        "val_loss": best.get("val/loss", math.nan),
        "val_auroc": best.get("val/auroc", math.nan),
        "max_val_acc": max((h["val/acc"] for h in hist), default=math.nan),
        "checkpoint": checkpoint.best_model_path,
        "output_dir": str(out),
    }
    log.info(
        "best epoch %s: val acc %.4f, val loss %.4f",
        summary["best_epoch"],
        summary["val_acc"],
        summary["val_loss"],
    )
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    plots.training_curves(hist, out / "training_curves.png")
    keys = sorted({k for h in hist for k in h})
    rows = [",".join(keys)] + [",".join(str(h.get(k, "")) for k in keys) for h in hist]
    (out / "training_history.csv").write_text("\n".join(rows) + "\n")
    panel = sample_images(dm, out, int(cfg.logger.n_sample_images))
    if run is not None:
        run.log_metrics(
            {
                "best/val_acc": summary["val_acc"],
                "best/val_loss": summary["val_loss"],
                "best/val_auroc": summary["val_auroc"],
                "best/epoch": summary["best_epoch"] or 0,
            }
        )
        for name in ("config.yaml", "summary.json", "training_curves.png", "training_history.csv"):
            run.log_artifact(out / name)
        if panel is not None:
            run.log_artifact(panel, "images")
        if cfg.logger.log_checkpoint and checkpoint.best_model_path:
            run.log_artifact(checkpoint.best_model_path, "checkpoints")
        summary["run_id"] = run.run_id
    if cfg.evaluate_after_training and checkpoint.best_model_path:
        summary["evaluation"] = evaluate_from_config(
            cfg, checkpoint.best_model_path, out / "evaluation", run
        )
    return summary


def evaluate_with_config(cfg: DictConfig, classifier, out: Path, **kwargs: Any) -> dict[str, Any]:
    """``evaluate_classifier`` with the test grid, data settings and seed of ``cfg`` (a training
    or an evaluate.py config: both have ``disorder.test``, ``data`` and ``seed``)."""
    return evaluate_classifier(
        classifier,
        test_cfg=to_container(cfg.disorder.test),
        data_cfg=to_container(cfg.data),
        seed=cfg.seed,
        out=out,
        **kwargs,
    )


def evaluate_from_config(
    cfg: DictConfig, ckpt: str, out: Path, run: TrackedRun | None
) -> dict[str, Any]:
    """Transition curves of a trained checkpoint as ``cfg.evaluation`` asks."""
    ev = cfg.evaluation
    classifier = load_classifier(ckpt, L=cfg.L)
    models = [
        classifier.meta["model"],
        *[m for m in ev.transfer_models if m != classifier.meta["model"]],
    ]
    result = evaluate_with_config(
        cfg,
        classifier,
        out,
        energies=to_container(ev.energies),
        models=models,
        n_bootstrap=int(ev.n_bootstrap),
        gap_sweep=to_container(ev.gap_sweep),
        run=run,
    )
    metrics = dict(result["metrics"])
    if ev.get("sizes"):
        metrics |= _single_network_scaling(cfg, classifier, out / "sizes", run)
    return metrics


def _single_network_scaling(
    cfg: DictConfig, classifier, out: Path, run: TrackedRun | None
) -> dict[str, float]:
    """One size-agnostic network judging every L in ``evaluation.sizes``, then the scaling fit."""
    from qpt.evaluation.fss import analyse, log_study

    energy = float(cfg.disorder.train.energy)
    curves = {}
    for size in cfg.evaluation.sizes:
        evaluate_with_config(
            cfg,
            classifier,
            out / f"L{size}",
            energies=[energy],
            models=[cfg.model.name],
            n_bootstrap=int(cfg.evaluation.n_bootstrap),
            L=int(size),
        )
        curves[int(size)] = np.loadtxt(
            out / f"L{size}" / f"curve_{cfg.model.name}_E{energy}.csv",
            delimiter=",",
            skiprows=1,
            ndmin=2,
        )
    summary = analyse(cfg, curves, out)
    if run is not None:
        log_study(cfg, summary, out, run)
    fit = summary["network_fit"]
    return {"fss/W_c": fit["wc"], "fss/nu": fit["nu"], "fss/reduced_chi2": fit["reduced_chi2"]}

"""Finite-size-scaling studies across lattice sizes L.

* :class:`FiniteSizeScaling`, a Hydra callback: after a sweep over L (one network per L,
  ``experiment=fss_*``) it reads every job's curves from its ``evaluation.json``, runs the
  study and records it as an MLflow run ``fss-<model>-<net>``. Jobs may have run in other
  processes or on other machines, so their results record is how their curves arrive.
* :func:`single_network_study`: one size-agnostic network judges every L in memory.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from pytorch_lightning.loggers import Logger

from qpt.config import TrainConfig
from qpt.data.testsets import TestSets
from qpt.evaluation.curves import Curve
from qpt.evaluation.evaluate import transition_curves
from qpt.evaluation.fss import ScalingStudy, scaling_study
from qpt.models.module import PhaseClassifier
from qpt.reporting import interval_text, publish, read_curves, write_study
from qpt.runs import git_commit
from qpt.sweeps import parent_run_id, run_name, sweep_config
from qpt.tracking import build_loggers, ended_on_exit

log = logging.getLogger(__name__)


def run_study(
    conf: TrainConfig, curves: dict[int, Curve], out: Path, loggers: list[Logger]
) -> ScalingStudy:
    """The scaling fits of ``curves``; figures and fss.json into ``out``; published."""
    model, energy = conf.model, conf.disorder.train.energy
    study = scaling_study(
        curves, model=model.name, energy=energy, params=model.params, cfg=conf.fss
    )
    for name, fit in (("free", study.fit), ("f(0) = 1/2", study.anchored)):
        log.info(
            "FSS of the network's curves (%s): W_c = %s, nu = %s, chi2/dof = %.2f",
            name, interval_text(fit.wc, fit.wc_ci, 3), interval_text(fit.nu, fit.nu_ci, 2),
            fit.reduced_chi2,
        )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    publish(loggers, *write_study(study, out))
    return study


def single_network_study(
    conf: TrainConfig, classifier: PhaseClassifier, out: Path, loggers: list[Logger]
) -> dict[str, float]:
    """One size-agnostic network judging every L in ``evaluation.sizes``, then the study."""
    curves = {}
    for size in conf.evaluation.sizes:
        (t,) = transition_curves(
            classifier,
            TestSets(size, conf.seed, conf.data),
            conf.disorder.test,
            models=[conf.model.name],
            energies=[conf.disorder.train.energy],
            n_bootstrap=conf.evaluation.n_bootstrap,
            accelerator=conf.trainer["accelerator"],
        )
        curves[size] = t.curve
    fit = run_study(conf, curves, out, loggers).fit
    return {"fss/W_c": fit.wc, "fss/nu": fit.nu, "fss/reduced_chi2": fit.reduced_chi2}


def sweep_curves(sweep_dir: Path, model: str, energy: float) -> dict[int, Curve]:
    """{L: curve} from every finished job of a sweep (its ``evaluation/evaluation.json``)."""
    return {
        t.L: t.curve
        for path in sorted(sweep_dir.glob("*/evaluation/evaluation.json"))
        for t in read_curves(path)
        if (t.model, t.energy) == (model, energy)
    }


class FiniteSizeScaling(Callback):
    """Hydra callback: after the sweep over L, run the scaling study and record it."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        conf = sweep_config(config)
        curves = sweep_curves(sweep_dir, conf.model.name, conf.disorder.train.energy)
        name = run_name("fss", conf.model.name, config.hydra.runtime.choices.net)
        tags = {"git_commit": git_commit(), "sweep": str(sweep_dir)}
        if parent := parent_run_id(sweep_dir):  # nested under the sweep's run
            tags["mlflow.parentRunId"] = parent
        loggers = build_loggers(conf.logger, model=conf.model.name, run_name=name, tags=tags)
        params = {"sizes": sorted(curves), "order": conf.fss.order, "window": conf.fss.window}
        for lg in loggers:
            lg.log_hyperparams(params)
        with ended_on_exit(loggers):
            run_study(conf, curves, sweep_dir, loggers)

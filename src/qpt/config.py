"""The schema of train.py's and evaluate.py's configs, registered in Hydra's ConfigStore.

``conf/config.yaml`` and ``conf/evaluate.yaml`` start from these dataclasses, so Hydra checks
every value's type while composing (``L=abc`` fails there); :func:`typed` then checks every
declared range and returns the config as objects, before anything is generated or trained.
Values live in the YAML files; the layers own the schemas of their parts (``DataConfig``,
``EvaluationConfig``, ...). ``_target_`` nodes (network, optimiser, trainer, callbacks,
loggers) are checked against the annotations of the classes they name
(:func:`qpt.schema.check_arguments`), and their ranges and ``symmetry`` by those classes,
which training builds before any work. Importing this module must stay light (no torch):
train.py imports it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from qpt.data.config import DataConfig, DisorderConfig, TestGrid
from qpt.evaluation.config import DiscoverConfig, EvaluationConfig, FSSConfig
from qpt.physics import LatticeModel, get_model
from qpt.runs import path_safe, without_hydra
from qpt.schema import above, at_least, check, check_arguments, one_of, writable_dir


@dataclass
class ModelConfig:
    name: str
    params: dict[str, Any]


@dataclass
class OptimConfig:
    optimizer: Any  # a torch.optim.Optimizer, _partial_
    scheduler: Any  # None, or an LRScheduler stepped every iteration, _partial_
    bias_lr_mult: float = above(0)  # biases learn at this multiple of the rate (Caffe: 2)


@dataclass
class TrainConfig:
    L: int = at_least(8)
    seed: int = at_least(0)
    symmetry: str  # checked by the classifier (qpt.models.symmetry)
    val_orbit: str  # likewise
    output_dir: str = writable_dir()
    resume: str | None  # "auto": the interrupted checkpoint of output_dir, if any; or a path
    model: ModelConfig
    net: Any  # an nn.Module taking L first
    optim: OptimConfig
    trainer: Any  # a pytorch_lightning.Trainer
    callbacks: dict[str, Any]
    logger: dict[str, Any]
    data: DataConfig
    disorder: DisorderConfig
    evaluation: EvaluationConfig
    evaluate_after_training: bool
    fss: FSSConfig | None
    optimized_metric: str
    task: str = one_of(("train", "discover"))  # discover: qpt.discovery, from the ranges only
    discover: DiscoverConfig | None

    def checkpoint_to_resume(self) -> str | None:
        if self.resume == "auto":
            path = Path(self.output_dir) / "checkpoints" / "interrupted.ckpt"
            return str(path) if path.is_file() else None
        return self.resume

    def validate(self, prefix: str = "") -> None:
        if self.resume not in (None, "auto") and not Path(self.resume).is_file():
            raise ValueError(f"resume={self.resume!r}: no such checkpoint")
        if self.disorder.test.relative and not self.disorder.train.relative:
            raise ValueError(
                "disorder.test.relative=true needs the W_c that training was told; training "
                "on absolute ranges (disorder.train.relative=false) needs an absolute test grid"
            )
        for name, node in self._targets():
            check_arguments(node, name)
        network = self.discover.network if self.discover else None
        if network and network.replica_states == "split" and self.data.mode != "cache":
            raise ValueError(
                "discover.network.replica_states='split' gives each network its part of the "
                f"cached training states: it needs data.mode=cache, not {self.data.mode!r}"
            )
        physics = get_model(self.model.name, **self.model.params)
        train = self.disorder.train
        # ranges in units of W_c: the model must know it
        wc = physics.critical_disorder(train.energy) if train.relative else None
        physics.check_energy(
            train.energy, self.L, train.phases[0][0] * (wc or 1.0), "disorder.train.energy"
        )
        trained_class = physics.symmetry_class
        for other in self.evaluation.transfer_models:
            if get_model(other).symmetry_class != trained_class:
                raise ValueError(
                    f"evaluation.transfer_models: {other!r} is class "
                    f"{get_model(other).symmetry_class}, the network's model "
                    f"{self.model.name!r} class {trained_class}"
                )
        transfer = [get_model(m) for m in self.evaluation.transfer_models]
        check_judged([physics, *transfer], self.L, wc, self.disorder.test, self.evaluation)

    def _targets(self) -> list[tuple[str, Any]]:
        """The ``_target_`` nodes, by their config keys."""
        nodes = [("trainer", self.trainer), ("net", self.net)]
        nodes += [(f"optim.{k}", n) for k, n in vars(self.optim).items() if isinstance(n, dict)]
        nodes += [(f"callbacks.{k}", n) for k, n in self.callbacks.items()]
        return nodes + [(f"logger.{k}", n) for k, n in self.logger.items()]


@dataclass
class EvaluateConfig:
    ckpt: str | None  # a checkpoint path, or
    run_id: str | None  # an MLflow run whose checkpoint is judged (results logged there)
    target_model: str | None  # judge this model (same symmetry class); None: the training one
    seed: int | None = at_least(0)  # None: the checkpoint's training seed
    accelerator: str
    output_dir: str = writable_dir()
    disorder: DisorderConfig
    data: DataConfig
    evaluation: EvaluationConfig
    logger: dict[str, Any]

    def validate(self, prefix: str = "") -> None:
        if bool(self.ckpt) == bool(self.run_id):
            raise ValueError("give exactly one of ckpt=<path> or run_id=<mlflow run id>")
        targets = [self.target_model] if self.target_model else []
        for model in targets + self.evaluation.transfer_models:
            get_model(model)
        for name, node in self.logger.items():
            check_arguments(node, f"logger.{name}")

    def check_checkpoint(self, meta: dict[str, Any]) -> str:
        """What judging the network of ``meta`` (a checkpoint's) will ask, checked before any
        state is drawn or any run recorded; returns the model judged."""
        model = self.target_model or meta["model"]
        params = meta["model_params"] if model == meta["model"] else {}  # as transition_curves
        judged = [get_model(model, **params), *map(get_model, self.evaluation.transfer_models)]
        check_judged(
            judged, int(meta["L"]), meta["critical_disorder"], self.disorder.test, self.evaluation
        )
        return model


def check_judged(
    models: list[LatticeModel],
    L: int,
    wc_train: float | None,
    grid: TestGrid,
    ev: EvaluationConfig,
) -> None:
    """A test grid that can be drawn (a relative one needs the training W_c) and energies
    with eigenstates in every judged model at the grid's weakest disorder, where the spectrum
    is narrowest: else the judgement would fail after training, or after the run is created."""
    w_min = grid.values(wc_train)[0]
    if ev.energies:  # judged instead of the grid's own
        name, energies = "evaluation.energies", ev.energies
    else:
        name, energies = "disorder.test.energies", grid.energies
    for physics in models:
        for energy in energies:
            physics.check_energy(energy, L, w_min, name)
    if ev.gap_sweep.disorders and models[0].dimension != 2:  # edge weights: a 2D notion
        raise ValueError(
            f"evaluation.gap_sweep.disorders: the gap sweep judges edge states of square "
            f"lattices; model {models[0].name!r} is {models[0].dimension}D (disorders=[])"
        )
    if ev.phase_diagram.energies:  # its own absolute W grid, judged for the first (trained) model
        diagram = ev.phase_diagram
        for energy in diagram.energies:
            models[0].check_energy(energy, L, diagram.w_min, "evaluation.phase_diagram.energies")


ConfigStore.instance().store(name="train_schema", node=TrainConfig)
# ${interactive:}: progress bars only for a person at a terminal, not in CI or Slurm logs
OmegaConf.register_new_resolver("interactive", lambda: sys.stderr.isatty(), replace=True)
ConfigStore.instance().store(name="evaluate_schema", node=EvaluateConfig)
# ${path_safe:${model.name}}: names that become directories (Hydra's run dir) stay one name
OmegaConf.register_new_resolver("path_safe", path_safe, replace=True)


def typed(cfg: DictConfig) -> Any:
    """``cfg`` (without its ``hydra`` node) as checked schema objects."""
    config = OmegaConf.to_object(without_hydra(cfg))
    check(config)
    return config

"""The LightningModule: a phase classifier on eigenfunction images."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.utils import get_object, instantiate
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from qpt.models.networks import input_dimension
from qpt.models.optim import parameter_groups
from qpt.models.symmetry import VAL_ORBITS, check_symmetry, point_group
from qpt.physics import get_model

#: the stages a classifier logs, and its scores besides the loss
STAGES, SCORES = ("train", "val"), ("acc", "auroc")
#: every metric it logs (``<stage>/<name>``; the epoch as "step"): what a callback may monitor
LOGGED_METRICS = (
    *(f"{stage}/{name}" for stage in STAGES for name in ("loss", *SCORES)),
    "step",
    "lr",
)
#: what an error message suggests for a model of each lattice dimension
NETS_BY_DIMENSION = {2: "simple, deep, ...", 3: "simple3d, deep3d, boxes3d"}
SYMMETRY_BY_DIMENSION = {2: "dihedral", 3: "cubic"}


def build(cfg: dict[str, Any], kind: type, *args: Any) -> Any:
    """``hydra.utils.instantiate(cfg, *args)`` once ``cfg``'s ``_target_`` is known to be a
    ``kind``: a checkpoint names its classes, and loading one must not call anything else."""
    target = get_object(cfg["_target_"])
    if not (isinstance(target, type) and issubclass(target, kind)):
        raise ValueError(f"_target_ {cfg['_target_']!r} is not a {kind.__name__}")
    return instantiate(cfg, *args)


class PhaseClassifier(pl.LightningModule):
    """Cross-entropy on two logits; ``predict_step`` gives P(phase 0) (delocalized or
    topological, the weak-disorder phase) and P(phase 1) as softmax probabilities.

    ``net`` and ``optim`` are plain configs (``_target_`` dicts, see ``conf/net``, ``conf/optim``)
    so that a checkpoint describes its network without pickles. ``symmetry="dihedral"`` trains
    on randomly rotated/reflected images and averages the probabilities over all 8 images of
    the square's point group when judging; ``"cubic"`` likewise with the cube's 48
    (:mod:`qpt.models.symmetry`); validation averages over the whole orbit as well, or over
    the subgroup with ``val_orbit="subgroup"``. ``meta`` records what the network was trained
    on (model, L, phases, energy, dataset hash), so that a checkpoint can refuse data it does
    not fit; a network or group for another lattice dimension than the model's is refused
    here, before any state is generated.
    """

    def __init__(
        self,
        net: dict[str, Any],
        optim: dict[str, Any],
        symmetry: str,
        meta: dict[str, Any],
        val_orbit: str = "full",  # the default of checkpoints written before the choice
    ):
        super().__init__()
        self.save_hyperparameters(logger=False)  # the run logs the whole config instead
        # the network sees L x L images, or n x n box weights (meta["coarse_grain"] = n)
        self.image_size = int(meta.get("coarse_grain") or meta["L"])  # no key: before boxes
        self.net = build(net, torch.nn.Module, self.image_size)
        self.symmetry = check_symmetry(symmetry)
        self.group = point_group(symmetry)
        if val_orbit not in VAL_ORBITS:
            raise ValueError(f"unknown val_orbit {val_orbit!r}; expected one of {VAL_ORBITS}")
        self.val_order = None
        if self.group is not None and val_orbit == "subgroup":
            self.val_order = self.group.chunk
        self.meta = meta
        self._check_dimension(net["_target_"])
        self.metrics = torch.nn.ModuleDict(
            {
                f"{stage}_{name}": metric()
                for stage in STAGES
                for name, metric in zip(SCORES, (BinaryAccuracy, BinaryAUROC), strict=True)
            }
        )

    def _check_dimension(self, target: str) -> None:
        """The network and the symmetry group must act on the model's lattice (square or
        cube): a 2D network cannot read an L x L x L image, nor the reverse."""
        model = self.meta["model"]
        dimension = get_model(model).dimension
        if input_dimension(self.net) != dimension:
            raise ValueError(
                f"net {target} takes {input_dimension(self.net)}D images but model {model!r} "
                f"is {dimension}D (its nets: {NETS_BY_DIMENSION[dimension]})"
            )
        if self.group is not None and self.group.dimension != dimension:
            raise ValueError(
                f"symmetry={self.symmetry!r} acts on {self.group.dimension}D images but model "
                f"{model!r} is {dimension}D (its symmetry: {SYMMETRY_BY_DIMENSION[dimension]})"
            )

    def check_fits(self, models: list[str], L: int) -> None:
        """Refuse models of another symmetry class than the training model's (an SU(2)
        network may judge Ando states, not Chern ones), and another L unless the network sees
        box weights (any multiple of its boxes) or is size-agnostic (the first linear layer of
        the others depends on L)."""
        trained, L0, boxes = self.meta["model"], int(self.meta["L"]), self.meta.get("coarse_grain")
        if boxes and L % boxes:
            raise ValueError(f"the network sees {boxes} x {boxes} boxes: L={L} is no multiple")
        if L != L0 and not boxes and not getattr(self.net, "size_agnostic", False):
            raise ValueError(
                f"the network was trained at L={L0} and is not size-agnostic: it cannot judge L={L}"
            )
        for model in models:
            classes = get_model(trained).symmetry_class, get_model(model).symmetry_class
            dimensions = get_model(trained).dimension, get_model(model).dimension
            if dimensions[0] != dimensions[1]:
                raise ValueError(
                    f"the network was trained on {trained!r} ({dimensions[0]}D); "
                    f"model {model!r} is {dimensions[1]}D"
                )
            if classes[0] != classes[1]:
                raise ValueError(
                    f"the network was trained on {trained!r} (class {classes[0]}); "
                    f"model {model!r} is class {classes[1]}"
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def probabilities(self, x: torch.Tensor, order: int | None = None) -> torch.Tensor:
        """Class probabilities (B, 2) of the classifier as it judges: the softmax, averaged
        over the symmetric images (8 with ``symmetry="dihedral"``, 48 with ``"cubic"``; the
        group's first ``order`` elements if given)."""
        if self.group is not None:
            return self.group.orbit_mean_of(lambda im: self(im).softmax(dim=1), x, order)
        return self(x).softmax(dim=1)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        if self.group is not None and stage == "val":
            # judge as evaluation does (or over the subgroup): probabilities averaged over it
            p = self.probabilities(x, self.val_order)
            loss = F.nll_loss(p.clamp_min(1e-12).log(), y)
            p1 = p[:, 1]
        else:
            if self.group is not None:  # training: one random image of each state
                x = self.group.random(x)
            logits = self(x)
            loss = F.cross_entropy(logits, y)
            p1 = logits.detach().softmax(dim=1)[:, 1]
        log = {"on_epoch": True, "on_step": False}
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=len(y), **log)
        for name in SCORES:
            metric = self.metrics[f"{stage}_{name}"]
            metric.update(p1, y)  # update() only: forward() would compute an unread batch value
            self.log(f"{stage}/{name}", metric, prog_bar=f"{stage}/{name}" == "val/acc", **log)
        # per-epoch metrics go to the loggers with the epoch as their step (Lightning's
        # documented "step" key), so that runs of different sizes line up in MLflow
        self.log("step", float(self.current_epoch), batch_size=len(y), **log)
        return loss

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._step(batch, "train")

    def on_train_epoch_end(self) -> None:
        self.log("lr", self.optimizers().param_groups[0]["lr"])

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def predict_step(
        self,
        batch: torch.Tensor | tuple[torch.Tensor, ...],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> torch.Tensor:
        return self.probabilities(batch[0] if isinstance(batch, (tuple, list)) else batch)

    def configure_optimizers(self) -> dict[str, Any]:
        cfg = self.hparams.optim
        optimizer = build(cfg["optimizer"], torch.optim.Optimizer)(parameter_groups(self.net))
        optimizer.param_groups[1]["lr"] *= cfg["bias_lr_mult"]
        if not cfg["scheduler"]:
            return {"optimizer": optimizer}
        scheduler = build(cfg["scheduler"], torch.optim.lr_scheduler.LRScheduler)(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

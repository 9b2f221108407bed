"""The LightningModule: a phase classifier on eigenfunction images."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from qpt.models.networks import build_network
from qpt.models.optim import build_optimizer
from qpt.models.symmetry import check_symmetry, orbit, orbit_mean, random_dihedral


class PhaseClassifier(pl.LightningModule):
    """Cross-entropy on two logits; ``predict_step`` gives P(phase 0) (delocalized or
    topological, the weak-disorder phase) and P(phase 1) as softmax probabilities.

    ``net["symmetry"] = "dihedral"`` trains on randomly rotated/reflected images and averages
    the probabilities over all 8 images of the square's point group when judging
    (:mod:`qpt.models.symmetry`); ``"none"`` (checkpoints from before it) uses one image.

    ``meta`` records what the network was trained on (model, L, phases, training energy,
    W_c, dataset hash) so that a checkpoint can refuse data it does not fit.
    """

    def __init__(self, net: dict[str, Any], optim: dict[str, Any], meta: dict[str, Any]):
        super().__init__()
        self.save_hyperparameters()
        widths = {k: int(v) for k, v in net.get("widths", {}).items()}
        self.net = build_network(net["arch"], int(meta["L"]), **widths)
        self.symmetry = check_symmetry(net.get("symmetry", "none"))
        self.optim_cfg = optim
        self.meta = meta
        self.metrics = torch.nn.ModuleDict(
            {
                f"{stage}_{name}": metric()
                for stage in ("train", "val")
                for name, metric in (("acc", BinaryAccuracy), ("auroc", BinaryAUROC))
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities (B, 2) of the classifier as it judges: the softmax, averaged
        over the 8 symmetric images when ``symmetry="dihedral"``."""
        if self.symmetry == "dihedral":
            return orbit_mean(self(orbit(x)).softmax(dim=1), len(x))
        return self(x).softmax(dim=1)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        if self.symmetry == "dihedral" and stage == "val":
            # judge as evaluation does: the probabilities averaged over the 8 images
            p = self.probabilities(x)
            loss = F.nll_loss(p.clamp_min(1e-12).log(), y)
            p1 = p[:, 1]
        else:
            if self.symmetry == "dihedral":  # training: one random image of each state
                x = random_dihedral(x)
            logits = self(x)
            loss = F.cross_entropy(logits, y)
            p1 = logits.detach().softmax(dim=1)[:, 1]
        self.log(
            f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y)
        )
        for name in ("acc", "auroc"):
            metric = self.metrics[f"{stage}_{name}"]
            # update() only: forward() would also compute a per-batch value nobody reads
            metric.update(p1, y)
            self.log(
                f"{stage}/{name}",
                metric,
                on_step=False,
                on_epoch=True,
                prog_bar=name == "acc" and stage == "val",
            )
        return loss

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.probabilities(x)

    def configure_optimizers(self) -> dict[str, Any]:
        return build_optimizer(self.net, self.optim_cfg)

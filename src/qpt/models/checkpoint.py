"""Loading trained classifiers safely (``torch.load(weights_only=True)``: no pickles)."""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch
from hydra.errors import HydraException

from qpt.models.module import PhaseClassifier

#: network names of checkpoints written before networks were named by ``_target_``
LEGACY_ARCHS = {
    "simple": "qpt.models.networks.SimpleCNN",
    "lenet": "qpt.models.networks.LeNet",
    "global_pool": "qpt.models.networks.GlobalPoolCNN",
}
#: what judging a network reads of its ``meta`` (``EigenstateDataModule.describe``)
JUDGED_META = (
    "model",
    "model_params",
    "L",
    "seed",
    "phases",
    "critical_disorder",
    "input_scale",
    "dataset_key",
)


def load_classifier(
    path: str | os.PathLike, *, model: str | None = None, L: int | None = None
) -> PhaseClassifier:
    """Load a checkpoint written by training; refuse it for a ``model`` or ``L`` it cannot
    judge (:meth:`PhaseClassifier.check_fits`), or when its ``meta`` lacks what judging reads
    or names a model qpt does not know."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        hp: dict[str, Any] = ckpt["hyper_parameters"]
        if "arch" in hp["net"]:  # written before networks were named by _target_
            net = hp.pop("net")
            hp["net"] = {"_target_": LEGACY_ARCHS[net["arch"]], **net["widths"]}
            hp["symmetry"] = net.get("symmetry", "none")
        missing = [key for key in JUDGED_META if key not in hp["meta"]]
        if missing:
            raise ValueError(f"its meta lacks {missing}")
        classifier = PhaseClassifier(**hp)
        classifier.load_state_dict(ckpt["state_dict"])
    except (
        HydraException,
        ImportError,
        IndexError,  # torch's unpickler on a text file
        RuntimeError,
        KeyError,
        TypeError,
        ValueError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
    ) as err:
        raise ValueError(f"checkpoint {path!r} is not a qpt classifier checkpoint: {err}") from None
    # the training model too: a checkpoint naming a model qpt lacks is refused here
    trained = classifier.meta["model"]
    classifier.check_fits([model or trained], classifier.meta["L"] if L is None else L)
    classifier.eval()
    return classifier

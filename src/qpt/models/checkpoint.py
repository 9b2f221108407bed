"""Loading trained classifiers safely (``torch.load(weights_only=True)``: no pickles)."""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch

from qpt.models.module import PhaseClassifier
from qpt.physics import get_model


def load_classifier(
    path: str | os.PathLike, *, model: str | None = None, L: int | None = None
) -> PhaseClassifier:
    """Load a checkpoint written by training; refuse it for data it does not fit.

    ``L`` must equal the training lattice size (the networks' first linear layer depends on
    it) unless the network is size-agnostic; ``model`` must belong to the training model's symmetry class (a network trained on
    SU(2) may judge Ando states, not Chern ones).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        hp: dict[str, Any] = ckpt["hyper_parameters"]
        classifier = PhaseClassifier(
            net=dict(hp["net"]), optim=dict(hp["optim"]), meta=dict(hp["meta"])
        )
        classifier.load_state_dict(ckpt["state_dict"])
    except (
        RuntimeError,
        KeyError,
        TypeError,
        ValueError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
    ) as err:
        raise ValueError(f"checkpoint {path!r} is not a qpt classifier checkpoint: {err}") from None
    meta = classifier.meta
    size_agnostic = getattr(classifier.net, "size_agnostic", False)
    if L is not None and int(meta["L"]) != int(L) and not size_agnostic:
        raise ValueError(f"checkpoint {path!r} was trained at L={meta['L']}, cannot judge L={L}")
    if model is not None:
        trained_class = get_model(meta["model"]).symmetry_class
        target_class = get_model(model).symmetry_class
        if trained_class != target_class:
            raise ValueError(
                f"checkpoint {path!r} was trained on {meta['model']!r} (class {trained_class}); "
                f"model {model!r} is class {target_class}"
            )
    classifier.eval()
    return classifier

"""Networks, optimisers and the LightningModule."""

from qpt.models.module import PhaseClassifier
from qpt.models.networks import LeNet, SimpleCNN, build_network

__all__ = ["LeNet", "PhaseClassifier", "SimpleCNN", "build_network"]

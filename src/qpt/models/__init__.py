"""Networks, optimiser pieces and the LightningModule."""

from qpt.models.module import PhaseClassifier
from qpt.models.networks import GlobalPoolCNN, LeNet, SimpleCNN

__all__ = ["GlobalPoolCNN", "LeNet", "PhaseClassifier", "SimpleCNN"]

"""The letter's two CNNs (Fig. 2), sized from the lattice L rather than hard-coded 40.

* ``SimpleCNN`` (two weight layers): conv 5x5 -> 10 channels, max-pool 2x2/2, linear -> 2.
* ``LeNet`` (four weight layers, Caffe's LeNet): conv 5x5 -> 20, pool, conv 5x5 -> 50, pool,
  linear -> 500, ReLU, linear -> 2. For L = 40: 40 -> 36 -> 18 -> 14 -> 7, so 7*7*50 inputs
  to the first linear layer. The letter's Chern runs widened it to 32 / 128 / 512.

Each network is a plain ``nn.Module`` whose first argument is the lattice size L; a config in
``conf/net/`` names it by ``_target_`` and sets the rest of its arguments. Its class attribute
``dimension`` says what it sees: 2, (1, L, L) images of a square lattice; 3, (1, L, L, L) images
of a cubic one (``SimpleCNN3D``, ``LeNet3D``: the same layers with 5x5x5 kernels and 2x2x2
pooling; L = 20: 20 -> 16 -> 8 -> 4 -> 2).

Weights are Gaussian with variance 2 / (fan_in + fan_out) (the letter's "scale determined
by the number of input and output dimensions", Caffe's xavier filler), biases zero. The
letter also multiplied the first layer's initial scale by 100 because raw |psi|^2 ~ 1/L^2;
qpt instead feeds images multiplied by L^2 (mean 1, see ``qpt.data.config.input_scale``).
"""

from __future__ import annotations

import torch
from torch import nn

KERNEL = 5
#: convolution and max-pooling layers by the number of lattice axes
CONV = {2: nn.Conv2d, 3: nn.Conv3d}
POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}
GLOBAL_AVERAGE = {2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}


def _conv_out(size: int) -> int:
    return size - KERNEL + 1  # stride 1, no padding


def _check_input(L: int, n_convs: int, **widths: int) -> None:
    for name, width in widths.items():
        if width < 1:
            raise ValueError(f"network width {name}={width} must be >= 1")
    size = L
    for _ in range(n_convs):
        size = _conv_out(size) // 2
    if size < 1:
        raise ValueError(
            f"lattice size L={L} is too small for a network with {n_convs} conv layer(s)"
        )


def input_dimension(net: nn.Module) -> int:
    """The lattice axes of a network's input: 2 unless its class says ``dimension = 3``
    (a network written for square images need not say so, as ``size_agnostic``)."""
    return getattr(net, "dimension", 2)


def xavier_normal_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear)):
        nn.init.xavier_normal_(module.weight)
        nn.init.zeros_(module.bias)


def _lenet_stages(conv1: int, conv2: int, dimension: int) -> nn.Sequential:
    """LeNet's two stages: conv 5x5 (5x5x5) -> max-pool 2, twice."""
    conv, pool = CONV[dimension], POOL[dimension](2, 2)
    return nn.Sequential(conv(1, conv1, KERNEL), pool, conv(conv1, conv2, KERNEL), pool)


def _lenet_head(inputs: int, hidden: int, n_classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_classes)
    )


class _FeaturesThenClassifier(nn.Module):
    """``features``, flattened, then ``classifier``; every weight layer Xavier-initialised."""

    def __init__(self, features: nn.Module, classifier: nn.Module):
        super().__init__()
        self.features, self.classifier = features, classifier
        self.apply(xavier_normal_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class SimpleCNN(_FeaturesThenClassifier):
    """Two weight layers: conv -> max-pool -> linear."""

    dimension = 2

    def __init__(self, L: int, conv1: int = 10, n_classes: int = 2):
        _check_input(L, 1, conv1=conv1)
        side = _conv_out(L) // 2
        conv, pool = CONV[self.dimension], POOL[self.dimension]
        features = nn.Sequential(conv(1, conv1, KERNEL), pool(2, 2))
        super().__init__(features, nn.Linear(conv1 * side**self.dimension, n_classes))


class SimpleCNN3D(SimpleCNN):
    """``SimpleCNN`` on L x L x L images: conv 5x5x5 -> max-pool 2x2x2 -> linear."""

    dimension = 3


class LeNet(_FeaturesThenClassifier):
    """Four weight layers: conv -> pool -> conv -> pool -> linear -> ReLU -> linear."""

    dimension = 2

    def __init__(
        self, L: int, conv1: int = 20, conv2: int = 50, hidden: int = 500, n_classes: int = 2
    ):
        _check_input(L, 2, conv1=conv1, conv2=conv2, hidden=hidden)
        side = _conv_out(_conv_out(L) // 2) // 2
        features = _lenet_stages(conv1, conv2, self.dimension)
        super().__init__(features, _lenet_head(conv2 * side**self.dimension, hidden, n_classes))


class LeNet3D(LeNet):
    """``LeNet`` on L x L x L images (5x5x5 kernels, 2x2x2 pooling); L >= 16."""

    dimension = 3


class GlobalPoolCNN(nn.Module):
    """Size-agnostic variant of LeNet (beyond the letter): the same two conv/pool stages,
    then global average and max pooling over the image, so one trained network can judge
    lattices of any L >= 16 (used for finite-size scaling with a single network)."""

    size_agnostic = True

    def __init__(
        self, L: int, conv1: int = 20, conv2: int = 50, hidden: int = 500, n_classes: int = 2
    ):
        super().__init__()
        _check_input(L, 2, conv1=conv1, conv2=conv2, hidden=hidden)
        self.features = _lenet_stages(conv1, conv2, 2)
        self.avg, self.max = nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1)
        self.classifier = _lenet_head(2 * conv2, hidden, n_classes)
        self.apply(xavier_normal_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return self.classifier(torch.cat([self.avg(f), self.max(f)], dim=1).flatten(1))


class BoxCNN(_FeaturesThenClassifier):
    """A small network for coarse-grained inputs (``data.coarse_grain=n``: n x n box weights,
    beyond the letter): two 3 x 3 convolutions with ReLU, global average pooling and two
    linear layers. Every lattice size gives the same n x n input, so one network judges all
    of them (the discovery's network route)."""

    dimension = 2

    def __init__(
        self, L: int, conv1: int = 16, conv2: int = 32, hidden: int = 32, n_classes: int = 2
    ):
        _check_input(L, 0, conv1=conv1, conv2=conv2, hidden=hidden)
        conv = CONV[self.dimension]
        features = nn.Sequential(
            conv(1, conv1, 3, padding=1),
            nn.ReLU(inplace=True),
            conv(conv1, conv2, 3, padding=1),
            nn.ReLU(inplace=True),
            GLOBAL_AVERAGE[self.dimension](1),
        )
        super().__init__(features, _lenet_head(conv2, hidden, n_classes))


class BoxCNN3D(BoxCNN):
    """``BoxCNN`` on n x n x n box weights of a cubic lattice (3 x 3 x 3 convolutions)."""

    dimension = 3

"""Optimiser pieces that torch lacks: Caffe's "inv" learning-rate policy and its per-bias rate.

The optimiser and scheduler themselves are ``_target_`` configs (``conf/optim``) built with
``_partial_: true``; :class:`~qpt.models.module.PhaseClassifier` hands them the parameters.
Caffe's ``lenet_solver_rmsprop.prototxt`` (the letter's solver) is ``torch.optim.RMSprop``
(v = d v + (1 - d) g^2; w -= lr g / (sqrt(v) + delta), L2 decay added to g) with
lr(iter) = base_lr (1 + gamma iter)^(-power), and biases learning at twice the rate
(``lr_mult: 2`` in the LeNet prototxt).
"""

from __future__ import annotations

import torch
from torch import nn


class InverseDecay(torch.optim.lr_scheduler.LambdaLR):
    """Caffe's "inv" policy, stepped every iteration: lr = lr0 (1 + gamma iter)^(-power)."""

    def __init__(self, optimizer: torch.optim.Optimizer, gamma: float, power: float):
        if gamma < 0 or power < 0:
            raise ValueError(
                f"inv learning-rate policy: gamma={gamma} and power={power} must be >= 0"
            )
        super().__init__(optimizer, lambda it: (1.0 + gamma * it) ** (-power))


def parameter_groups(model: nn.Module) -> list[dict[str, list[nn.Parameter]]]:
    """Two groups, weights then biases, so that the biases can learn at their own rate."""
    weights, biases = [], []
    for name, p in model.named_parameters():
        (biases if name.endswith("bias") else weights).append(p)
    return [{"params": weights}, {"params": biases}]

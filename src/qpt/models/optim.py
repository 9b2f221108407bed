"""Optimisers: the letter's Caffe RMSProp solver and a modern Adam(W) alternative.

Caffe's ``lenet_solver_rmsprop.prototxt``: base_lr 0.01, momentum 0, weight_decay 5e-4,
rms_decay 0.98, delta 1e-8, lr_policy "inv" with gamma 1e-4 and power 0.75:
lr(iter) = base_lr * (1 + gamma * iter)^(-power), and biases learn at twice the rate
(``lr_mult: 2`` in the LeNet prototxt). torch's RMSprop matches Caffe's update
(v = d v + (1 - d) g^2; w -= lr g / (sqrt(v) + delta), L2 decay added to g).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _split_bias(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    weights, biases = [], []
    for name, p in model.named_parameters():
        (biases if name.endswith("bias") else weights).append(p)
    return weights, biases


def build_optimizer(model: nn.Module, cfg: dict[str, Any]) -> dict[str, Any]:
    """``configure_optimizers`` return value for the optimiser config ``cfg``."""
    name = cfg["name"]
    lr = float(cfg["lr"])
    if not lr > 0:
        raise ValueError(f"learning rate optim.lr={cfg['lr']!r} must be > 0")
    wd = float(cfg.get("weight_decay", 0.0))
    if wd < 0:
        raise ValueError(f"optim.weight_decay={wd} must be >= 0")
    weights, biases = _split_bias(model)
    groups = [
        {"params": weights, "lr": lr},
        {"params": biases, "lr": lr * float(cfg.get("bias_lr_mult", 1.0))},
    ]
    if name == "caffe_rmsprop":
        opt = torch.optim.RMSprop(
            groups,
            lr=lr,
            alpha=float(cfg["rms_decay"]),
            eps=float(cfg["delta"]),
            weight_decay=wd,
            momentum=float(cfg.get("momentum", 0.0)),
        )
    elif name == "adam":
        opt = torch.optim.AdamW(groups, lr=lr, weight_decay=wd)
    else:
        raise ValueError(f"unknown optimizer {name!r}; expected caffe_rmsprop or adam")
    policy = cfg.get("lr_policy", "fixed")
    if policy == "fixed":
        return {"optimizer": opt}
    if policy != "inv":
        raise ValueError(f"unknown lr_policy {policy!r}; expected fixed or inv")
    gamma, power = float(cfg["gamma"]), float(cfg["power"])
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: (1.0 + gamma * it) ** (-power))
    return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

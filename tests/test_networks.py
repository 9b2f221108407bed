"""The letter's networks and optimisers."""

import math

import pytest
import torch

from qpt.models.networks import LeNet, SimpleCNN, build_network
from qpt.models.optim import build_optimizer


def test_lenet_shapes_match_the_letter_at_L40():
    net = LeNet(40)
    assert net.classifier[0].in_features == 7 * 7 * 50  # 40 -> 36 -> 18 -> 14 -> 7
    assert net(torch.zeros(3, 1, 40, 40)).shape == (3, 2)
    wide = LeNet(40, conv1=32, conv2=128, hidden=512)
    assert wide.classifier[0].in_features == 7 * 7 * 128 and wide.classifier[0].out_features == 512


def test_simple_net_has_two_weight_layers():
    net = SimpleCNN(40)
    weights = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weights) == 2
    assert net.classifier.in_features == 10 * 18 * 18
    assert net(torch.zeros(1, 1, 40, 40)).shape == (1, 2)


@pytest.mark.parametrize("L", [16, 24, 64])
def test_input_size_follows_L(L):
    for arch in ("simple", "lenet"):
        assert build_network(arch, L)(torch.zeros(2, 1, L, L)).shape == (2, 2)


def test_too_small_lattice_is_refused():
    with pytest.raises(ValueError, match="L=12"):
        LeNet(12)


def test_xavier_gaussian_init_and_zero_bias():
    torch.manual_seed(0)
    net = LeNet(40)
    ip1 = net.classifier[0]
    expected = math.sqrt(2.0 / (ip1.in_features + ip1.out_features))
    assert ip1.weight.std().item() == pytest.approx(expected, rel=0.02)
    assert all(
        torch.all(m.bias == 0)
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
    )


def test_caffe_rmsprop_policy_and_bias_multiplier():
    net = SimpleCNN(16)
    cfg = {
        "name": "caffe_rmsprop",
        "lr": 0.01,
        "momentum": 0.0,
        "weight_decay": 5e-4,
        "rms_decay": 0.98,
        "delta": 1e-8,
        "lr_policy": "inv",
        "gamma": 1e-4,
        "power": 0.75,
        "bias_lr_mult": 2.0,
    }
    conf = build_optimizer(net, cfg)
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    assert isinstance(opt, torch.optim.RMSprop)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.02]
    assert opt.defaults["alpha"] == 0.98 and opt.defaults["weight_decay"] == 5e-4
    for _ in range(1000):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * (1 + 1e-4 * 1000) ** -0.75)
    assert conf["lr_scheduler"]["interval"] == "step"


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"name": "adam", "lr": -1e-3}, "-0.001"),
        ({"name": "sgd", "lr": 0.1}, "sgd"),
        ({"name": "adam", "lr": 1e-3, "lr_policy": "cosine"}, "cosine"),
    ],
)
def test_bad_optimizer_config(cfg, match):
    with pytest.raises(ValueError, match=match):
        build_optimizer(SimpleCNN(16), cfg)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="resnet"):
        build_network("resnet", 40)

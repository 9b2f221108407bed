"""The letter's networks and optimisers, built from their configs as training builds them."""

import math

import pytest
import torch
from hydra.utils import instantiate

from qpt.models.module import PhaseClassifier, build
from qpt.models.networks import LeNet, LeNet3D, SimpleCNN, input_dimension
from qpt.models.optim import InverseDecay
from tests.conftest import ROOT, group_config

NETS = sorted(p.stem for p in (ROOT / "conf" / "net").glob("*.yaml"))


def test_lenet_shapes_match_the_letter_at_L40():
    net = LeNet(40)
    assert net.classifier[0].in_features == 7 * 7 * 50  # 40 -> 36 -> 18 -> 14 -> 7
    assert net(torch.zeros(3, 1, 40, 40)).shape == (3, 2)
    wide = instantiate(group_config("net", "deep_wide"), 40)
    assert wide.classifier[0].in_features == 7 * 7 * 128 and wide.classifier[0].out_features == 512


def test_simple_net_has_two_weight_layers():
    net = instantiate(group_config("net", "simple"), 40)
    weights = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weights) == 2
    assert net.classifier.in_features == 10 * 18 * 18
    assert net(torch.zeros(1, 1, 40, 40)).shape == (1, 2)


@pytest.mark.parametrize("L", [16, 24, 64])
@pytest.mark.parametrize("net", NETS)
def test_every_net_config_builds_and_follows_L(net, L):
    network = build(group_config("net", net), torch.nn.Module, L)
    dimension = input_dimension(network)
    if dimension == 3 and L > 24:
        pytest.skip("a 3D net at L = 64 has 55M weights: built at L = 16 and 24 only")
    assert network(torch.zeros(2, 1, *(L,) * dimension)).shape == (2, 2)


def test_3d_lenet_shapes_at_L20():
    net = LeNet3D(20)
    assert net.classifier[0].in_features == 2 * 2 * 2 * 50  # 20 -> 16 -> 8 -> 4 -> 2
    assert net(torch.zeros(3, 1, 20, 20, 20)).shape == (3, 2)
    assert isinstance(net.features[0], torch.nn.Conv3d) and input_dimension(net) == 3
    with pytest.raises(ValueError, match="L=12"):
        LeNet3D(12)


@pytest.mark.parametrize(
    ("model", "net", "symmetry", "match"),
    [
        ("anderson3d", "deep", "none", "LeNet takes 2D images but model 'anderson3d' is 3D"),
        ("su2", "deep3d", "none", "LeNet3D takes 3D images but model 'su2' is 2D"),
        ("anderson3d", "deep3d", "dihedral", "symmetry='dihedral' acts on 2D images"),
        ("su2", "deep", "cubic", "symmetry='cubic' acts on 3D images"),
    ],
)
def test_a_net_or_group_of_the_other_dimension_is_refused(model, net, symmetry, match):
    meta = {"L": 16, "model": model}
    with pytest.raises(ValueError, match=match):
        PhaseClassifier(group_config("net", net), group_config("optim", "adam"), symmetry, meta)


def test_too_small_lattice_and_empty_layers_are_refused():
    with pytest.raises(ValueError, match="L=12"):
        LeNet(12)
    with pytest.raises(ValueError, match="conv2=0"):
        LeNet(40, conv2=0)


def test_a_target_of_the_wrong_kind_is_not_called():
    """Checkpoints name their classes: loading one must not call arbitrary callables."""
    with pytest.raises(ValueError, match="not a Module"):
        build({"_target_": "os.system", "command": "true"}, torch.nn.Module)
    with pytest.raises(ValueError, match="not a Optimizer"):
        build({"_target_": "qpt.models.networks.LeNet"}, torch.optim.Optimizer)


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


def _optimizers(optim: str) -> dict:
    meta = {"L": 16, "model": "su2"}
    clf = PhaseClassifier(group_config("net", "simple"), group_config("optim", optim), "none", meta)
    return clf.configure_optimizers()


def test_caffe_rmsprop_policy_and_bias_multiplier():
    conf = _optimizers("caffe_rmsprop")
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    assert isinstance(opt, torch.optim.RMSprop) and isinstance(sched, InverseDecay)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.02]
    assert opt.defaults["alpha"] == 0.98 and opt.defaults["weight_decay"] == 5e-4
    for _ in range(1000):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * (1 + 1e-4 * 1000) ** -0.75)
    assert opt.param_groups[1]["lr"] == pytest.approx(0.02 * (1 + 1e-4 * 1000) ** -0.75)
    assert conf["lr_scheduler"]["interval"] == "step"


def test_adam_is_fixed_rate_adamw():
    conf = _optimizers("adam")
    assert isinstance(conf["optimizer"], torch.optim.AdamW) and "lr_scheduler" not in conf
    assert [g["lr"] for g in conf["optimizer"].param_groups] == [1e-3, 1e-3]


def test_bad_learning_rate_is_refused():
    optim = group_config("optim", "adam")
    optim["optimizer"]["lr"] = -1e-3
    clf = PhaseClassifier(group_config("net", "simple"), optim, "none", {"L": 16, "model": "su2"})
    with pytest.raises(ValueError, match=r"-0\.001"):
        clf.configure_optimizers()
    with pytest.raises(ValueError, match="gamma=-1"):
        InverseDecay(torch.optim.SGD(SimpleCNN(16).parameters(), lr=0.1), gamma=-1, power=0.75)

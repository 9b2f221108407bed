"""The config schema: types while composing, ranges before any work, one message per value."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from qpt.config import EvaluateConfig, TrainConfig, typed
from tests.conftest import compose_cfg


def test_defaults_are_typed_objects():
    conf = typed(compose_cfg([]))
    assert isinstance(conf, TrainConfig) and conf.L == 40 and conf.data.shard_size == 250
    assert conf.disorder.test.energies == [0.0] and conf.evaluation.gap_sweep.disorders == []
    conf = typed(compose_cfg(["ckpt=x.ckpt"], config_name="evaluate"))
    assert isinstance(conf, EvaluateConfig) and conf.seed is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["L=4"], "L=4 must be >= 8"),
        (["seed=-1"], "seed=-1"),
        (["disorder.test.n_w=1"], "disorder.test.n_w=1 must be >= 2"),
        (["disorder.test.energies=[]"], "disorder.test.energies=[] must not be empty"),
        (["disorder.test.w_min=9", "disorder.test.w_max=2"], "w_min=9.0 must be <"),
        (["disorder.test.states_per_w=0"], "states_per_w=0"),
        (["disorder.train.states_per_phase=0"], "states_per_phase=0"),
        (["data.batch_size=0"], "data.batch_size=0"),
        (["data.num_workers=-1"], "data.num_workers=-1"),
        (["data.gen_workers=-3"], "data.gen_workers=-3"),
        (["data.shard_index=3", "data.shard_count=3"], "data.shard_index=3 must be <"),
        (["data.mode=stream"], "data.mode='stream'"),
        (["evaluation.n_bootstrap=-1"], "evaluation.n_bootstrap=-1"),
        (["evaluation.energies=[]"], "evaluation.energies=[] must not be empty"),
        (["evaluation.transfer_models=[chern]"], "'chern' is class A"),
        (["evaluation.gap_sweep.emin=1", "evaluation.gap_sweep.emax=0"], "emin=1.0 must be <"),
        (["model.name=graphene"], "unknown model 'graphene'"),
        (["+model.params.spin=1"], "unknown parameter(s) ['spin']"),
        (["optim.bias_lr_mult=0"], "optim.bias_lr_mult=0.0 must be > 0"),
        (
            ["experiment=discover_su2", "discover.network.estimator=fit"],
            "discover.network.estimator='fit'",
        ),
        (
            ["experiment=discover_su2", "discover.network.replica_states=bagged"],
            "discover.network.replica_states='bagged'",
        ),
        (
            [
                "experiment=discover_su2",
                "discover.network.replica_states=split",
                "data.mode=on_the_fly",
            ],
            "needs data.mode=cache, not 'on_the_fly'",
        ),
        (
            ["experiment=discover_su2", "discover.r.scaling.link=bounded"],
            "discover.r.scaling.floor=None: the fixed end of link=bounded",
        ),
    ],
)
def test_a_bad_value_is_named_before_any_work(overrides, message):
    with pytest.raises(ValueError) as err:
        typed(compose_cfg(overrides))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override", ["L=abc", "data.batch_size=abc", "disorder.test.n_w=1.5"])
def test_a_value_of_the_wrong_type_fails_while_composing(override):
    with pytest.raises(ConfigCompositionException, match=override.replace(".", r"\.")) as err:
        compose_cfg([override])
    assert isinstance(err.value.__cause__, ValidationError)


def test_evaluate_needs_exactly_one_checkpoint_source():
    with pytest.raises(ValueError, match="exactly one of"):
        typed(compose_cfg([], config_name="evaluate"))

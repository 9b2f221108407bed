"""Training end to end: configs compose, runs are tracked in MLflow, checkpoints reload."""

import dataclasses
import itertools
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from qpt.config import TrainConfig, typed
from qpt.models.checkpoint import load_classifier
from qpt.physics import register
from qpt.physics.su2 import SU2Model
from qpt.sweeps import run_name
from qpt.training import train
from tests.conftest import ROOT, compose_cfg, run_script, tiny_overrides

GROUPS = {
    g: sorted(p.stem for p in (ROOT / "conf" / g).glob("*.yaml"))
    for g in ("model", "net", "disorder", "optim", "trainer", "callbacks", "logger", "data")
}


def test_every_config_option_composes_and_checks():
    for group, options in GROUPS.items():
        for option in options:
            cfg = compose_cfg([f"{group}={option}"])
            assert isinstance(typed(cfg), TrainConfig)
    for model, net in itertools.product(GROUPS["model"], GROUPS["net"]):
        cfg = compose_cfg([f"model={model}", f"net={net}"])
        conf = typed(cfg)
        assert conf.model.name == model and conf.net["_target_"].startswith("qpt.models.networks.")


def test_every_experiment_composes_and_checks():
    for path in sorted((ROOT / "conf" / "experiment").glob("*.yaml")):
        conf = typed(compose_cfg([f"experiment={path.stem}"]))
        assert conf.model.name and conf.net["_target_"]


def test_launcher_configs_compose():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        for launcher in ("joblib", "submitit_slurm_qpt"):
            cfg = compose(
                config_name="config",
                overrides=[f"hydra/launcher={launcher}"],
                return_hydra_config=True,
            )
            assert "launcher" in cfg.hydra and cfg.hydra.launcher._target_
        slurm = compose(
            config_name="config",
            overrides=["hydra/launcher=submitit_slurm_qpt"],
            return_hydra_config=True,
        )
        assert "Slurm" in slurm.hydra.launcher._target_ and slurm.hydra.launcher.timeout_min == 120


@pytest.mark.parametrize(
    ("model", "net"), [("su2", "deep"), ("su2", "simple"), ("chern", "deep"), ("chern", "simple")]
)
def test_tiny_run_is_tracked_in_mlflow(tmp_run_dir, model, net):
    cfg = compose_cfg([*tiny_overrides(tmp_run_dir), f"model={model}", f"net={net}"])
    summary = train(cfg)
    assert 0.0 <= summary["val_acc"] <= 1.0 and Path(summary["checkpoint"]).is_file()
    client = MlflowClient(f"sqlite:///{tmp_run_dir}/mlflow.db")
    exp = client.get_experiment_by_name(f"qpt-{cfg.model.name}")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name.startswith(f"{model}-{net}-L16-")
    assert run.data.tags["mlflow.note.content"].startswith("python ")  # the command, as description
    experiment_kind = client.get_experiment(run.info.experiment_id).tags["mlflow.experimentKind"]
    assert experiment_kind == "custom_model_development"  # the UI opens its model-training view
    assert run.data.params["net._target_"] == cfg.net._target_ and run.data.params["L"] == "16"
    assert run.data.params["optim.optimizer._target_"] == "torch.optim.AdamW"
    assert {"train/loss", "val/loss", "val/acc", "val/auroc", "best/val_acc"} <= set(
        run.data.metrics
    )
    assert len(run.data.tags["dataset_key"]) == 64
    assert run.data.tags["git_commit"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "training_curves.png", "images", "best"} <= artifacts
    assert "best/best.ckpt" in {a.path for a in client.list_artifacts(run.info.run_id, "best")}
    history = client.get_metric_history(run.info.run_id, "val/loss")
    assert [m.step for m in history] == [0]  # per-epoch metrics: the step is the epoch


def test_tiny_3d_run_trains_judges_and_draws(tmp_run_dir):
    """The 3D Anderson model end to end: L^3 images, a 3D net with the cube's group, a
    checkpoint that judges L^3 test states, a transition curve and the sample panels."""
    overrides = [*tiny_overrides(tmp_run_dir, L=8), "model=anderson3d", "net=simple3d"]
    summary = train(compose_cfg([*overrides, "logger=none", "disorder.train.states_per_phase=8"]))
    clf = load_classifier(summary["checkpoint"])
    assert clf.symmetry == "cubic" and clf.meta["model"] == "anderson3d"
    assert 0.0 <= summary["val_acc"] <= 1.0 and "crossing_W/E0.0" in summary["evaluation"]
    out = Path(summary["output_dir"])
    curve = np.loadtxt(out / "evaluation" / "curve_anderson3d_E0.0.csv", delimiter=",", skiprows=1)
    assert curve.shape == (4, 4) and np.all((curve[:, 1] >= 0) & (curve[:, 1] <= 1))
    assert (out / "sample_eigenfunctions.png").is_file()
    assert (out / "evaluation" / "transition_anderson3d.png").is_file()
    with pytest.raises(ValueError, match="3D"):  # a 2D model's states cannot be judged
        load_classifier(summary["checkpoint"], model="su2")


def test_identical_runs_get_different_names():
    """Jobs of a cluster array can start in the same second with the same config."""
    names = [run_name("su2", "deep", "L40") for _ in range(20)]  # P(a collision) ~ 1e-5
    assert len(set(names)) == 20 and all(n.startswith("su2-deep-L40-") for n in names)
    assert all(len(n.rsplit("-", 1)[1]) == 6 for n in names)
    assert run_name("su2", "deep", job="3").endswith("-job3")


def test_reloaded_checkpoint_gives_identical_predictions(tmp_run_dir):
    cfg = compose_cfg([*tiny_overrides(tmp_run_dir), "logger=none"])
    summary = train(cfg)
    a = load_classifier(summary["checkpoint"], model="su2", L=16)
    b = load_classifier(summary["checkpoint"])
    x = torch.rand(5, 1, 16, 16) * 2
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        probs = a.predict_step((x, torch.zeros(5)), 0)
    assert torch.allclose(probs.sum(dim=1), torch.ones(5))
    with pytest.raises(ValueError, match="L=16"):
        load_classifier(summary["checkpoint"], L=24)
    with pytest.raises(ValueError, match="class"):
        load_classifier(summary["checkpoint"], model="chern")
    with pytest.raises(ValueError, match="does not exist"):
        load_classifier(tmp_run_dir / "nope.ckpt")
    bogus = tmp_run_dir / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a qpt"):
        load_classifier(bogus)


def test_training_is_reproducible(tmp_run_dir):
    cfg = compose_cfg([*tiny_overrides(tmp_run_dir), "logger=none", "trainer.max_epochs=2"])
    first = train(cfg)
    second = train(cfg)
    assert first["val_loss"] == second["val_loss"]


def test_two_job_multirun(tmp_path):
    """Jobs nest under one parent run; the sweep ends with a table of its jobs."""
    args = [
        "-m",
        *tiny_overrides(tmp_path),
        "net=simple,deep",
        f"hydra.sweep.dir={tmp_path}/multirun",
    ]
    result = run_script("train.py", args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    (parent,) = [r for r in runs if r.info.run_name.startswith("sweep-")]
    jobs = sorted((r for r in runs if r is not parent), key=lambda r: r.data.tags["job"])
    assert [r.info.run_name.split("-")[:2] for r in jobs] == [["su2", "simple"], ["su2", "deep"]]
    assert all(r.info.run_name.endswith(f"-job{i}") for i, r in enumerate(jobs))
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in jobs)
    assert all(r.info.status == "FINISHED" for r in runs)
    assert "sweep.md" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "== qpt: sweep finished (0 failed) ==" in result.stdout
    assert result.stdout.count("== qpt: run finished ==") == 2


def test_a_failing_job_does_not_stop_the_sweep(tmp_path):
    """The ando job's relative test grid has no W_c to scale by: it fails; su2 still runs;
    the table shows both; the exit code is 1."""
    args = [
        "-m",
        *tiny_overrides(tmp_path),
        "model=su2,ando",
        "disorder=letter",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    result = run_script("train.py", args, tmp_path)
    assert result.returncode == 1
    table = (tmp_path / "sweep" / "sweep.md").read_text()
    assert "| FINISHED |" in table and "| FAILED |" in table and "model=ando" in table
    assert result.stderr.count("no known critical disorder") == 1  # each error once


def test_parallel_joblib_sweep_shares_cache_and_store(tmp_path):
    """Two jobs at once on one dataset and one sqlite store: nothing is corrupted."""
    args = [
        "-m",
        *tiny_overrides(tmp_path),
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "net=simple,deep",
        f"hydra.sweep.dir={tmp_path}/multirun",
        "evaluate_after_training=false",
    ]
    result = run_script("train.py", args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)  # jobs and parent
    (cache,) = (tmp_path / "cache").iterdir()
    sidecars = sorted(cache.glob("shard-*.json"))
    assert len(sidecars) == 3  # 24 states / 8 per shard, each generated once
    for s in sidecars:
        assert set(json.loads(s.read_text())) == {"images", "info"}
    from qpt.data.cache import EnsembleCache
    from qpt.data.ensemble import relative_phases, training_ensemble

    ens = training_ensemble(
        "su2", 16, 0.0, relative_phases([[0.02, 0.95], [1.05, 2.0]], 6.2), seed=1234
    )
    assert EnsembleCache(tmp_path / "cache", ens, 8).missing_shards(24) == []
    assert np.isfinite(
        EnsembleCache(tmp_path / "cache", ens, 8).load(24, checksum=True).images()
    ).all()


@pytest.mark.slow
def test_ddp_spawn_on_cpu(tmp_run_dir):
    cfg = compose_cfg(
        [
            *tiny_overrides(tmp_run_dir),
            "trainer=ddp_spawn",
            "trainer.accelerator=cpu",
            "logger=none",
        ]
    )
    summary = train(cfg)
    assert Path(summary["checkpoint"]).is_file()


def test_cluster_job_array_fills_the_cache_then_trains(tmp_run_dir):
    base = [*tiny_overrides(tmp_run_dir), "logger=none", "evaluate_after_training=false"]
    for job in range(3):
        out = train(
            compose_cfg(
                [*base, "data.generate_only=true", f"data.shard_index={job}", "data.shard_count=3"]
            )
        )
        assert math.isnan(out["val_acc"])
    (cache,) = (tmp_run_dir / "cache").iterdir()
    assert len(list(cache.glob("shard-*.json"))) == 3
    summary = train(compose_cfg(base))
    assert Path(summary["checkpoint"]).is_file()


def test_checkpoints_of_earlier_versions_still_load(tmp_run_dir):
    """Before networks were named by _target_, checkpoints named an "arch"."""
    summary = train(compose_cfg([*tiny_overrides(tmp_run_dir), "logger=none", "symmetry=dihedral"]))
    ckpt = torch.load(summary["checkpoint"], weights_only=True)
    hp = ckpt["hyper_parameters"]
    widths = {k: v for k, v in hp["net"].items() if k != "_target_"}
    hp["net"] = {"arch": "lenet", "widths": widths, "symmetry": hp.pop("symmetry")}
    old = tmp_run_dir / "old.ckpt"
    torch.save(ckpt, old)
    a, b = load_classifier(summary["checkpoint"]), load_classifier(old)
    x = torch.rand(3, 1, 16, 16) * 2
    with torch.no_grad():
        assert b.symmetry == "dihedral" and torch.equal(a.probabilities(x), b.probabilities(x))


@register
@dataclasses.dataclass(frozen=True)
class Untabulated(SU2Model):
    """The SU(2) model as a user's new model: no literature critical disorder at all."""

    name: ClassVar[str] = "su2_untabulated"
    critical_disorders: ClassVar[dict] = {}


def test_training_on_absolute_ranges_needs_no_critical_disorder(tmp_run_dir):
    overrides = [*tiny_overrides(tmp_run_dir), "disorder=ranges", "disorder.test.n_w=6"]
    cfg = compose_cfg([*overrides, "model.name=su2_untabulated", "logger=none"])
    summary = train(cfg)
    clf = load_classifier(summary["checkpoint"])
    assert clf.meta["model"] == "su2_untabulated" and clf.meta["critical_disorder"] is None
    assert {"crossing_W/E0.0", "crossing_W_lo/E0.0"} <= set(summary["evaluation"])
    # the letter's relative ranges are refused before any work: there is no W_c to scale by
    with pytest.raises(ValueError, match="no known critical disorder"):
        train(compose_cfg([*tiny_overrides(tmp_run_dir), "model.name=su2_untabulated"]))
    with pytest.raises(ValueError, match="absolute test grid"):
        train(compose_cfg([*overrides, "disorder.test.relative=true"]))


def test_gap_sweep_is_refused_for_3d_models(tmp_run_dir):
    cfg = compose_cfg(["model=anderson3d", "evaluation.gap_sweep.disorders=[1.0]"])
    with pytest.raises(ValueError, match=r"gap_sweep.*'anderson3d' is 3D"):
        typed(cfg)

"""Bad input to train.py and evaluate.py: one line on stderr that names the bad value, exit
code 2, no traceback, and nothing generated, trained or recorded (no MLflow run, no dataset
in the cache, nothing in the output directory), within seconds of the start.

Most cases run in this process: the config composed as Hydra composes it, then
``qpt.console.run`` as the entry points call it (a subprocess spends ~5 s importing torch
alone). What Hydra refuses itself happens before ``qpt.console.run``, and stray output of
third-party libraries shows only in a real process: those cases run the scripts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from mlflow.tracking import MlflowClient

from qpt.config import typed
from qpt.console import run
from qpt.data.datamodule import EigenstateDataModule
from qpt.evaluating import CHECKPOINT_ARTIFACT, evaluate
from qpt.models.module import PhaseClassifier
from qpt.tracking import MLFlowLogger
from qpt.training import train
from tests.conftest import compose_cfg, run_script, tiny_overrides

#: each case must fail within this many seconds (the issue's bound, default config)
FAST_S = 10.0
#: stands for the test's temporary directory in the cases below
TMP = "{tmp}"
# a regular file where a directory is wanted: nothing can be created under it
A_FILE = f"{TMP}/a_file"

TRAIN_CASES = [
    # (overrides, what the error line must name)
    (["data.batch_size=0"], "data.batch_size=0"),
    (["disorder.test.energies=[50]"], "E=50"),
    (["disorder.test.w_min=3"], "w_min=3"),  # above w_max = 2: an inverted grid
    (["disorder.test.n_w=1"], "n_w=1"),
    (["disorder.test.states_per_w=0"], "states_per_w=0"),
    (["evaluation.transfer_models=[chern]"], "'chern'"),  # class A, the network's AII
    (["data.num_workers=-1"], "num_workers=-1"),
    (["data.gen_workers=-3"], "gen_workers=-3"),
    (["evaluation.n_bootstrap=-1"], "n_bootstrap=-1"),
    (["evaluation.energies=[]"], "evaluation.energies=[]"),
    (["evaluation.energies=[0.0,50]"], "E=50"),
    (["disorder=ranges", "disorder.train.energy=50"], "E=50"),
    (["data.cache_dir=/proc/x"], "/proc/x"),
    ([f"data.cache_dir={A_FILE}/cache"], "a_file/cache"),
    ([f"output_dir={A_FILE}/out"], "a_file/out"),
    (["trainer.max_epochs=abc"], "trainer.max_epochs='abc'"),
    (["trainer.precision=bogus"], "trainer.precision='bogus'"),
    (["trainer.deterministic=maybe"], "trainer.deterministic='maybe'"),
    (["net.conv1=0"], "conv1=0"),
    (["net.hidden=abc"], "net.hidden='abc'"),
    (["optim.optimizer.lr=-0.01"], "-0.01"),
    (["optim.optimizer.lr=abc"], "optim.optimizer.lr='abc'"),
    (["logger.mlflow.tracking_uri=foo://x"], "foo://x"),
    ([f"logger.mlflow.tracking_uri=sqlite:///{A_FILE}/mlflow.db"], "a_file/mlflow.db"),
    (["trainer.accelerator=tpu"], "'tpu'"),
    pytest.param(
        ["trainer.accelerator=gpu"],
        "'gpu'",
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
    ),
    (["callbacks.early_stopping.monitor=val/nothing"], "val/nothing"),
    (["callbacks.model_checkpoint.monitor=val/nothing"], "val/nothing"),
    (["L=4"], "L=4"),
    (["seed=-1"], "seed=-1"),
    (["disorder.train.phases=[[0.02,1.0],[0.5,2.0]]"], "phases="),  # overlapping
    (["data.val_fraction=1.5"], "val_fraction=1.5"),
    (["data.mode=bogus"], "'bogus'"),
    (["data.shard_index=3"], "shard_index=3"),  # of shard_count = 1
    (["symmetry=bogus"], "'bogus'"),
    (["val_orbit=half"], "val_orbit 'half'"),
    (["model.name=../../x"], "'../../x'"),
    (["evaluation.gap_sweep.emin=1"], "emin=1"),  # above emax = 0.5
    ([f"resume={TMP}/missing.ckpt"], "missing.ckpt"),
    (["experiment=discover_chern", "discover.bott.sizes=[16,12]"], "sizes=[16, 12]"),
    (["experiment=discover_su2", "discover.r.scaling.signature=bump"], "'bump'"),
    (["experiment=discover_su2", "discover.confusion.coarse_grain=5"], "coarse_grain=5"),
    (["experiment=discover_su2", "discover.confusion.sizes=[32,30]"], "L=30"),  # 16 x 16 boxes
    (
        [
            "experiment=discover_su2",
            "discover.confusion.sizes=[32,48]",
            "discover.confusion.coarse_grain=null",
        ],
        "sizes=[32, 48]",
    ),
    (["experiment=discover_su2", "discover.confusion.sizes=[]"], "sizes: empty"),
    (["experiment=discover_su2", "discover.r.realisations_by_size=[600,200]"], "[600, 200]"),
    (["experiment=discover_su2", "discover.sizes=[32,48]"], "states_per_w_by_size"),
]

EVALUATE_CASES = [
    # (overrides, what the error line must name); "ckpt" stands for a valid checkpoint
    ([], "ckpt="),  # neither a checkpoint nor a run
    (["ckpt", "run_id=0123456789abcdef"], "exactly one of ckpt"),
    ([f"ckpt={TMP}/missing.ckpt"], "missing.ckpt"),
    ([f"ckpt={A_FILE}"], "a_file"),  # not a checkpoint
    (["run_id=0123456789abcdef"], "0123456789abcdef"),  # no such run
    (["ckpt", "target_model=chern"], "'chern'"),  # class A, the network's AII
    (["ckpt", "target_model=nosuch"], "'nosuch'"),
    (["ckpt", "evaluation.transfer_models=[chern]"], "'chern'"),
    (["ckpt", "evaluation.energies=[50]"], "E=50"),
    (["ckpt", "evaluation.energies=[]"], "evaluation.energies=[]"),
    (["ckpt", "evaluation.n_bootstrap=0"], "n_bootstrap=0"),
    (["ckpt", "disorder.test.n_w=1"], "n_w=1"),
    (["ckpt", "disorder.test.w_min=3"], "w_min=3"),
    (["ckpt", "seed=-1"], "seed=-1"),
    (["ckpt", "accelerator=tpu"], "'tpu'"),
    (["ckpt", "data.cache_dir=/proc/x"], "/proc/x"),
    (["ckpt", f"output_dir={A_FILE}/out"], "a_file/out"),
    (["ckpt", "logger.mlflow.tracking_uri=foo://x"], "foo://x"),
    (["ckpt=unknown_model"], "'nosuch'"),  # checkpoints whose meta is wrong
    (["ckpt=incomplete_meta"], "'seed'"),
    (["ckpt=absolute_ranges"], "relative"),  # no W_c for the letter's relative test grid
]

SCRIPT_CASES = [
    # (script, overrides, what the error line must name): refused by Hydra, or by the job in
    # a real process, where any stray output of a library would show
    ("train.py", ["L=abc"], "L='abc' is not an integer"),
    ("train.py", ["seed=1.5"], "seed=1.5"),
    ("train.py", ["net=transformer"], "net=transformer"),
    ("train.py", ["trainer.max_epoch=3"], "trainer.max_epoch"),  # a typo: no such key
    ("train.py", ["L=["], "L=["),
    ("train.py", [f"hydra.run.dir={A_FILE}/out"], "a_file/out"),
    ("train.py", ["logger.mlflow.tracking_uri=foo://x"], "foo://x"),
    ("train.py", ["experiment=mobility_edge_anderson3d", "model=chern"], "'chern'"),
    ("evaluate.py", ["seed=abc"], "seed='abc'"),
    ("evaluate.py", ["ckpt", "evaluation.transfer_models=[chern]"], "'chern'"),
]


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """qpt.console.run installs its SIGTERM/SIGINT handlers: give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """A checkpoint as training writes it (untrained: no case gets as far as judging), and
    copies whose meta is wrong."""
    tmp = tmp_path_factory.mktemp("checkpoints")
    conf = typed(compose_cfg(tiny_overrides(tmp)))
    dm = EigenstateDataModule(
        conf.model.name, conf.L, conf.seed, conf.disorder.train, conf.data, conf.model.params
    )
    clf = PhaseClassifier(conf.net, dataclasses.asdict(conf.optim), conf.symmetry, dm.describe())
    hp = dict(clf.hparams)
    metas = {
        "ckpt": hp["meta"],
        "unknown_model": hp["meta"] | {"model": "nosuch"},
        "incomplete_meta": {k: v for k, v in hp["meta"].items() if k != "seed"},
        "absolute_ranges": hp["meta"] | {"critical_disorder": None},
    }
    paths = {}
    for name, meta in metas.items():
        paths[name] = tmp / f"{name}.ckpt"
        checkpoint = {"hyper_parameters": hp | {"meta": meta}, "state_dict": clf.state_dict()}
        torch.save(checkpoint, paths[name])
    return paths


@pytest.fixture
def tmp(tmp_path, monkeypatch) -> Path:
    """The test's directory: working directory, MLflow store, cache, and a regular file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("QPT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "a_file").write_text("a regular file\n")
    return tmp_path


def _fill(overrides: list[str], tmp: Path, checkpoints: dict[str, Path]) -> list[str]:
    """The cases' placeholders: the test's directory, and checkpoints by name."""
    filled = []
    for o in overrides:
        if o in checkpoints:
            o = f"ckpt={checkpoints[o]}"
        elif o.startswith("ckpt=") and o.removeprefix("ckpt=") in checkpoints:
            o = f"ckpt={checkpoints[o.removeprefix('ckpt=')]}"
        filled.append(o.replace(TMP, str(tmp)))
    return filled


def eval_overrides(tmp: Path) -> list[str]:
    return [
        f"data.cache_dir={tmp}/cache",
        "data.gen_workers=1",
        "data.progress=false",
        "accelerator=cpu",
    ]


def mlflow_runs(tmp: Path) -> int:
    """Runs in the test's MLflow store (which a refused input may not even create)."""
    db = tmp / "mlflow.db"
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db)) as con:
        try:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:  # no tables yet
            return 0


def written(directory: Path) -> list[str]:
    """Files under ``directory``."""
    files = [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []
    return [str(p.relative_to(directory)) for p in files]


def assert_refused(stderr: str, names: str, tmp: Path, runs_before: int = 0) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    assert lines[0].strip() != "error:" and names in lines[0], lines[0]
    assert "Traceback" not in stderr
    assert mlflow_runs(tmp) == runs_before, "a run was recorded"
    assert written(tmp / "cache") == [], "states were generated"


def fails_in_process(
    capfd, job: Callable[[Any], Any], overrides: list[str], config_name: str
) -> tuple[str, Path]:
    """Run ``job`` as the entry point does; its stderr (at the file descriptor: libraries'
    handlers hold the original stream) and its output directory."""
    cfg = compose_cfg(overrides, config_name)
    capfd.readouterr()  # what composing printed is not the job's
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        run(job, cfg)
    assert time.perf_counter() - start < FAST_S
    stderr = capfd.readouterr().err
    assert exit_.value.code == 2, stderr[-3000:]
    return stderr, Path(cfg.hydra.runtime.output_dir)


def _for(entry: str, case: Any) -> Any:
    """``case`` (a tuple, or a ``pytest.param`` with marks) with the entry point in front."""
    if hasattr(case, "marks"):  # a pytest.param (itself a named tuple)
        return pytest.param(entry, *case.values, marks=case.marks, id=case.id)
    return (entry, *case)


#: each entry point: its job, its config, and the tiny overrides it runs with
ENTRY_POINTS = {
    "train": (train, "config", tiny_overrides),
    "evaluate": (evaluate, "evaluate", eval_overrides),
}


@pytest.mark.parametrize(
    ("entry", "overrides", "names"),
    [
        _for(entry, case)
        for entry, cases in (("train", TRAIN_CASES), ("evaluate", EVALUATE_CASES))
        for case in cases
    ],
)
def test_entry_point_refuses(tmp, checkpoints, capfd, entry, overrides, names):
    job, config_name, base = ENTRY_POINTS[entry]
    overrides = [*base(tmp), *_fill(overrides, tmp, checkpoints)]
    stderr, out = fails_in_process(capfd, job, overrides, config_name)
    assert_refused(stderr, names, tmp)
    assert written(out) == []


@pytest.mark.parametrize(("script", "overrides", "names"), SCRIPT_CASES)
def test_script_refuses(tmp, checkpoints, script, overrides, names):
    args = [*(tiny_overrides(tmp) if script == "train.py" else eval_overrides(tmp))]
    args += _fill(overrides, tmp, checkpoints)
    start = time.perf_counter()
    result = run_script(script, args, tmp, timeout=60)
    # the 10 s, with slack for starting Python and importing torch on a busy CI runner
    assert time.perf_counter() - start < 2 * FAST_S
    assert result.returncode == 2, result.stderr[-3000:]
    assert_refused(result.stderr, names, tmp)
    assert not (tmp / "outputs").exists()  # not even what Hydra wrote for the job


def test_evaluating_a_run_leaves_no_checkpoint_copy(tmp, checkpoints, capfd, monkeypatch):
    """evaluate.py run_id=... downloads the run's checkpoint into a temporary directory that
    goes with the job, here a refused one."""
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    run_id = client.create_run(client.create_experiment("qpt-su2")).info.run_id
    artifact_dir = str(Path(CHECKPOINT_ARTIFACT).parent)
    client.log_artifact(run_id, shutil.copy(checkpoints["ckpt"], tmp / "best.ckpt"), artifact_dir)
    temp = tmp / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    overrides = [*eval_overrides(tmp), f"run_id={run_id}", "evaluation.transfer_models=[chern]"]
    stderr, _ = fails_in_process(capfd, evaluate, overrides, "evaluate")
    assert_refused(stderr, "'chern'", tmp, runs_before=1)
    assert list(temp.iterdir()) == []


def test_names_stay_inside_their_directories(tmp):
    """A model or experiment name becomes a directory name: ``../`` leads nowhere."""
    cfg = compose_cfg(["model.name=../../x"])
    assert (tmp / cfg.hydra.run.dir).resolve().is_relative_to(tmp.resolve() / "outputs")
    logger = MLFlowLogger(f"sqlite:///{tmp}/mlflow.db", experiment_name="../../x")
    location = logger.experiment.get_experiment(logger.experiment_id).artifact_location
    assert location.endswith("/mlartifacts/.._.._x")

"""A job as a cluster treats it: stopped by SIGTERM (preemption), killed with -9."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from qpt import console
from qpt.tracking import _RetryingClient
from tests.conftest import ROOT, tiny_overrides


def start(args: list[str], tmp: Path) -> subprocess.Popen:
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
    }
    command = [sys.executable, str(ROOT / "train.py"), *args]
    return subprocess.Popen(
        command, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def runs(tmp: Path) -> list:
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    return client, client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])


LONG = ["disorder.train.states_per_phase=400", "trainer.max_epochs=40", "trainer.min_epochs=40"]


def test_sigterm_kills_the_run_with_a_checkpoint_and_a_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    args = [
        *tiny_overrides(tmp_path),
        *LONG,
        f"hydra.run.dir={out}",
        "evaluate_after_training=false",
    ]
    job = start(args, tmp_path)
    wait_for(out / "checkpoints" / "best.ckpt", job)  # an epoch has been validated
    job.send_signal(signal.SIGTERM)
    _, stderr = job.communicate(timeout=120)
    assert job.returncode == 128 + signal.SIGTERM
    assert stderr.count("error: interrupted by SIGTERM") == 1 and "Traceback" not in stderr
    client, (run,) = runs(tmp_path)
    assert run.info.status == "KILLED"
    saved = torch.load(out / "checkpoints" / "interrupted.ckpt", weights_only=True)["epoch"]
    # the same job again (a requeued cluster job runs in the same directory): it resumes, and
    # trains on for two epochs (all 40 again would only cost time)
    until = [f"trainer.max_epochs={saved + 2}", f"trainer.min_epochs={saved + 2}"]
    again = start([*args, *until], tmp_path)
    again.communicate(timeout=300)
    assert again.returncode == 0
    client, all_runs = runs(tmp_path)
    (rerun,) = [r for r in all_runs if r.info.run_id != run.info.run_id]
    steps = [m.step for m in client.get_metric_history(rerun.info.run_id, "val/loss")]
    assert rerun.info.status == "FINISHED" and steps and min(steps) >= saved


def test_a_run_killed_with_sigkill_is_marked_killed_by_the_next_start(tmp_path):
    out = tmp_path / "run"
    job = start([*tiny_overrides(tmp_path), *LONG, f"hydra.run.dir={out}"], tmp_path)
    wait_for(out / "checkpoints" / "best.ckpt", job)
    job.kill()
    job.wait()
    _, (orphan,) = runs(tmp_path)
    assert orphan.info.status == "RUNNING"  # nobody could say otherwise
    nxt = start(
        [
            *tiny_overrides(tmp_path),
            f"hydra.run.dir={tmp_path}/next",
            "evaluate_after_training=false",
        ],
        tmp_path,
    )
    nxt.communicate(timeout=300)
    assert nxt.returncode == 0
    client, _ = runs(tmp_path)
    assert client.get_run(orphan.info.run_id).info.status == "KILLED"


def test_a_signal_during_a_store_write_waits_for_the_write():
    """SIGTERM inside a tracking-store call is raised when the call has finished (one cut
    midway leaves its sqlite transaction open and the run's KILLED status locked out); the
    MLflow client qpt uses holds it the same way."""

    class Store:
        def __init__(self):
            self.written = []

        def log_batch(self, value):
            os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-write
            time.sleep(0.05)
            self.written.append(value)

    previous = signal.signal(signal.SIGTERM, console._interrupt)
    try:
        store = Store()
        with pytest.raises(console.Interrupted):
            _RetryingClient(store).log_batch(1)
        assert store.written == [1]
        with pytest.raises(console.Interrupted):  # outside a write: at once
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    finally:
        signal.signal(signal.SIGTERM, previous)

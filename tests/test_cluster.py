"""The parts a user scales out with, run for real: submitit's launcher (its local executor
starts each job as a cluster would) and parallel jobs logging to a real ``mlflow server``
(the store the README recommends for clusters) on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import run_script, tiny_overrides

pytestmark = pytest.mark.slow


def test_sweep_through_the_submitit_launcher(tmp_path):
    args = [
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        *tiny_overrides(tmp_path),
        "net=simple,deep",
        f"hydra.sweep.dir={tmp_path}/multirun",
    ]
    result = run_script("train.py", args, tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    (parent,) = [r for r in runs if r.info.run_name.startswith("sweep-")]
    jobs = [r for r in runs if r is not parent]
    assert sorted(r.data.tags["net"] for r in jobs) == ["deep", "simple"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in jobs)
    assert all("curve/P/E0.0" in r.data.metrics for r in jobs)  # the transition curve
    # submitit ran each job in its own process, with its own log folder
    assert len(list((tmp_path / "multirun" / ".submitit").glob("*/*_log.out"))) == 2
    assert "== qpt: sweep finished (0 failed) ==" in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A tracking server with its own sqlite store and proxied artifacts, on loopback only."""
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/server.db",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert server.poll() is None, "mlflow server exited"
        assert time.time() < deadline, "mlflow server did not start"
        time.sleep(0.5)
    yield uri
    server.terminate()
    server.wait(timeout=30)


def test_four_parallel_jobs_log_to_a_tracking_server(tmp_path, mlflow_server):
    args = [
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=4",
        *tiny_overrides(tmp_path),
        "seed=1,2,3,4",
        f"logger.mlflow.tracking_uri={mlflow_server}",
        f"hydra.sweep.dir={tmp_path}/multirun",
    ]
    result = run_script("train.py", args, tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    jobs = [r for r in runs if not r.info.run_name.startswith("sweep-")]
    assert sorted(r.data.params["seed"] for r in jobs) == ["1", "2", "3", "4"]
    assert len({r.info.run_name for r in jobs}) == 4
    assert all(r.info.status == "FINISHED" for r in runs)
    for run in jobs:
        assert {"val/acc", "best/val_acc", "curve/P/E0.0"} <= set(run.data.metrics)
        # artifacts went through the server into its own store
        best = {a.path for a in client.list_artifacts(run.info.run_id, "best")}
        assert "best/best.ckpt" in best
    assert not (tmp_path / "mlflow.db").exists()  # nothing fell back to a local store

"""The parts a user scales out with, run for real: submitit's launcher (its local executor
starts each job as a cluster would; with slurm-wlm installed, a one-node Slurm cluster started
by the test), and parallel jobs logging to a real ``mlflow server`` (the store the README
recommends for clusters) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
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
        f"hydra.sweep.dir={tmp_path}/multirun",
    ]
    logs = _two_job_sweep_finished(args, tmp_path)
    assert len(logs) == 2  # submitit ran each job in its own process, with its own log


def _two_job_sweep_finished(args: list[str], tmp_path: Path) -> list[Path]:
    """Run the sweep ``net=simple,deep``; check that both jobs finished, nested under the
    sweep's run, with their transition curves; return submitit's job logs."""
    result = run_script("train.py", [*args, "net=simple,deep"], tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("qpt-su2").experiment_id])
    (parent,) = [r for r in runs if r.info.run_name.startswith("sweep-")]
    jobs = [r for r in runs if r is not parent]
    assert sorted(r.data.tags["net"] for r in jobs) == ["deep", "simple"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in jobs)
    assert all("curve/P/E0.0" in r.data.metrics for r in jobs)  # the transition curve
    assert "== qpt: sweep finished (0 failed) ==" in result.stdout
    return list((tmp_path / "multirun" / ".submitit").glob("*/*_log.out"))


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


SLURM_CONF = """\
ClusterName=qpt-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
NodeName={host} CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture
def slurm_cluster(tmp_path, monkeypatch):
    """A one-node Slurm cluster (Debian's slurm-wlm), controller and node daemon started
    here as root with no authentication, on loopback ports; skipped where it is not installed."""
    if not (shutil.which("slurmctld") and shutil.which("slurmd") and shutil.which("sbatch")):
        pytest.skip("slurm-wlm is not installed (apt-get install slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("a test cluster's daemons run as root")
    d = tmp_path / "slurm"
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True)
    conf = d / "slurm.conf"
    fields = {"host": socket.gethostname(), "dir": d, "cpus": os.cpu_count()}
    conf.write_text(SLURM_CONF.format(**fields, ctld_port=_free_port(), d_port=_free_port()))
    monkeypatch.setenv("SLURM_CONF", str(conf))
    subprocess.run(["slurmctld", "-c"], check=True)
    subprocess.run(["slurmd"], check=True)
    deadline = time.time() + 60
    while "idle" not in subprocess.run(["sinfo", "-h"], capture_output=True, text=True).stdout:
        assert time.time() < deadline, (d / "slurmctld.log").read_text()[-2000:]
        time.sleep(0.5)
    yield d
    subprocess.run(["scancel", "--user", "root"], check=False)
    for daemon in ("slurmd", "slurmctld"):
        pid = d / f"{daemon}.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), 15)


def test_sweep_through_the_slurm_launcher(tmp_path, slurm_cluster):
    args = [
        "-m",
        "hydra/launcher=submitit_slurm_qpt",
        "hydra.launcher.partition=test",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=10",
        *tiny_overrides(tmp_path),
        f"hydra.sweep.dir={tmp_path}/multirun",
    ]
    logs = _two_job_sweep_finished(args, tmp_path)
    # each job ran as a Slurm job: submitit's log folders are named by Slurm job ids
    assert len(logs) == 2 and all(p.parent.name.split("_")[0].isdigit() for p in logs)

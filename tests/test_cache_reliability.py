"""The cache on a shared cluster file system: shard layouts side by side, leftovers of killed
writers, group-readable files, and qpt-cache's answers to bad input."""

import fcntl
import os
import shutil
import subprocess
import sys
import time

import pytest

from qpt.data import EnsembleCache, cli, generate_range, list_caches
from tests.test_data import su2_ensemble


def test_shard_sizes_coexist_in_one_root(tmp_path):
    ens = su2_ensemble()
    small = EnsembleCache(tmp_path, ens, shard_size=8)
    large = EnsembleCache(tmp_path, ens, shard_size=16)
    assert small.dir != large.dir and small.key == large.key == ens.key()
    # interleaved, as two jobs of different data.shard_size would
    small.ensure(16, workers=1, progress=False)
    large.ensure(16, workers=1, progress=False)
    small.ensure(24, workers=1, progress=False)
    a, b = small.load(16, checksum=True), large.load(16, checksum=True)
    assert a.images().tobytes() == b.images().tobytes() == generate_range(ens, 0, 16)[0].tobytes()
    assert a.info.tobytes() == b.info.tobytes()
    # a block of states, across a shard's edge, reads as the same states of the whole
    assert a.images(5, 13).tobytes() == a.images()[5:13].tobytes()
    assert a.images(8, 99).shape == (8, *a.images().shape[1:])
    listed = {e["path"]: e for e in list_caches(tmp_path)}
    assert set(listed) == {str(small.dir), str(large.dir)}
    assert listed[str(small.dir)]["states"] == 24 and listed[str(large.dir)]["states"] == 16
    assert all(e["shard_size"] in (8, 16) and e["corrupt"] is None for e in listed.values())


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_stale_temporary_files_are_removed(tmp_path):
    cache = EnsembleCache(tmp_path, su2_ensemble(), shard_size=4)
    cache.ensure(8, workers=1, progress=False)
    d = cache.dir
    dead = d / ".shard-00001.images.npy.dead.tmp"  # its writer was killed: lock free
    live = d / ".shard-00000.info.npy.live.tmp"  # a writer holds shard 0's lock
    old_spec, new_spec = d / ".ensemble.json.old.tmp", d / ".ensemble.json.new.tmp"
    for tmp in (dead, live, old_spec, new_spec):
        tmp.write_bytes(b"partial")
    _age(old_spec, 3600)
    _age(dead, 0)  # young: a free lock, not age, says it is dead
    fd = os.open(d / "shard-00000.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        cache.ensure(8, workers=1, progress=False)  # nothing to generate: cleanup only
        assert not dead.exists() and not old_spec.exists()
        assert live.exists() and new_spec.exists()
    finally:
        os.close(fd)
    # once the lock is free its writer's file is dead too; and a shard regenerated after its
    # writer died loses that writer's leftovers
    (d / "shard-00001.json").unlink()
    dead.write_bytes(b"partial")
    cache.ensure(8, workers=1, progress=False)
    assert cache.missing_shards(8) == []
    assert [p.name for p in d.glob(".*.tmp")] == [new_spec.name]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        cache = EnsembleCache(tmp_path, su2_ensemble(), shard_size=4)
        cache.ensure(8, workers=1, progress=False)
    finally:
        os.umask(old)
    files = [p for p in cache.dir.iterdir() if p.is_file()]
    assert len(files) == 1 + 2 * 4  # ensemble.json; images, info, sidecar, lock per shard
    assert {p.name: p.stat().st_mode & 0o777 for p in files} == {p.name: mode for p in files}


# -- qpt-cache with bad input ------------------------------------------------------------------
def _snapshot(root):
    return sorted(
        (str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")
    )


@pytest.fixture
def cached(tmp_path):
    """A root holding one dataset, and the directory around it."""
    root = tmp_path / "cache"
    EnsembleCache(root, su2_ensemble(), shard_size=4).ensure(4, workers=1, progress=False)
    return root


def _missing_root(root, monkeypatch):
    return ["--root", str(root.parent / "no-such-dir")], "no-such-dir"


def _file_root(root, monkeypatch):
    (root.parent / "a-file").write_text("x")
    return ["--root", str(root.parent / "a-file")], "a-file"


def _corrupt_spec(root, monkeypatch):
    bad = root / "su2-L8-train-0123456789abcdef-s4"
    bad.mkdir()
    (bad / "ensemble.json").write_text('{"ensemble": {"model": "su2"')
    return ["--root", str(root)], bad.name


def _undeletable(root, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    return ["--root", str(root), "--yes"], next(root.iterdir()).name


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ("list", _missing_root),
        ("clear", _missing_root),
        ("list", _file_root),
        ("clear", _file_root),
        ("list", _corrupt_spec),
        ("clear", _undeletable),
    ],
)
def test_cli_bad_input_is_one_error_line(cached, capsys, monkeypatch, command, bad):
    args, named = bad(cached, monkeypatch)
    before = _snapshot(cached.parent)
    assert cli.main([command, *args]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error:") and named in err, err
    assert "Traceback" not in err
    assert _snapshot(cached.parent) == before


def test_cli_subprocess_bad_root_and_command(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "qpt.data.cli", *args], capture_output=True, text=True
        )

    missing = run("list", "--root", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.splitlines() == [
        f"error: cache root {tmp_path / 'nowhere'} does not exist"
    ]
    assert list(tmp_path.iterdir()) == []
    unknown = run("frobnicate", "--root", str(tmp_path))
    assert unknown.returncode == 2 and "'frobnicate'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_corrupt_dataset_is_listed_and_clearable(cached, capsys):
    bad = cached / "su2-L8-train-0123456789abcdef-s4"
    bad.mkdir()
    (bad / "ensemble.json").write_text("[]")
    entries = {os.path.basename(e["path"]): e for e in list_caches(cached)}
    assert "lacks a valid" in entries[bad.name]["corrupt"]
    assert cli.main(["list", "--root", str(cached)]) == 2
    out = capsys.readouterr().out
    assert "4 states" in out and bad.name not in out  # the healthy one still listed
    assert cli.main(["clear", "--root", str(cached), "--match", "0123456789ab", "--yes"]) == 0
    assert not bad.exists() and [e["corrupt"] for e in list_caches(cached)] == [None]

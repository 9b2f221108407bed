"""Datasets: determinism, prefix property, labels, cache behaviour, bad configs."""

import json
import multiprocessing as mp
import os

import numpy as np
import pytest

from qpt.data import EnsembleCache, generate_range, grid_ensemble, training_ensemble
from qpt.data import cache as cache_mod
from qpt.data.ensemble import relative_phases
from qpt.data.generation import WORKER_MALLOC_ENV, pinned_imap
from qpt.physics import get_model

L = 8


LETTER = [[0.02, 1.0], [1.0, 2.0]]  # in units of W_c


def su2_ensemble(phases=LETTER, seed=5, **kw):
    return training_ensemble("su2", L, 0.0, relative_phases(phases, 6.2), seed=seed, **kw)


def test_same_seed_bit_identical_and_prefix_property():
    ens = su2_ensemble()
    a_img, a_info = generate_range(ens, 0, 12)
    b_img, b_info = generate_range(ens, 0, 12)
    assert a_img.tobytes() == b_img.tobytes() and a_info.tobytes() == b_info.tobytes()
    small_img, _ = generate_range(ens, 0, 5)
    assert small_img.tobytes() == a_img[:5].tobytes()
    # a range starting mid-way gives the same states as the full range
    mid_img, _ = generate_range(ens, 7, 12)
    assert mid_img.tobytes() == a_img[7:].tobytes()
    other, _ = generate_range(su2_ensemble(seed=6), 0, 12)
    assert not np.array_equal(other, a_img)


def test_labels_and_disorder_follow_wc():
    ens = su2_ensemble()
    _, info = generate_range(ens, 0, 40)
    W, E, label = info.T
    assert np.all(label[0::2] == 0) and np.all(label[1::2] == 1)
    assert np.all(W[label == 0] < 6.20) and np.all(W[label == 1] > 6.20)
    assert W.min() >= 0.02 * 6.2 - 1e-12 and W.max() <= 2 * 6.2 + 1e-12
    assert np.all(np.abs(E) < 1.0)  # nearest state to E = 0 at L = 8
    excl = su2_ensemble([[0.02, 0.9], [1.1, 2.0]])
    _, info = generate_range(excl, 0, 40)
    assert np.all(np.abs(info[:, 0] - 6.2) >= 0.1 * 6.2 - 1e-12)


def test_grid_ensemble_labels():
    ens = grid_ensemble("su2", L, 1.0, [1.0, 5.9, 6.0, 9.0], seed=1)
    assert ens.labels == (0, 0, 1, 1)  # W_c(E=1) = 5.953
    ando = grid_ensemble("ando", L, 0.0, [1.0, 9.0], seed=1)
    assert ando.labels == (-1, -1)


@pytest.mark.parametrize(
    "phases",
    [
        [[2.0, 3.0], [0.5, 1.0]],  # strong-disorder phase first
        [[0.02, 1.1], [1.0, 2.0]],  # overlapping
        [[-0.1, 1.0], [1.0, 2.0]],  # W < 0
        [[1.0, 0.5], [1.0, 2.0]],  # min > max
    ],
)
def test_bad_training_disorder(phases, tmp_path):
    with pytest.raises(ValueError, match="phases"):
        su2_ensemble(phases)
    assert list(tmp_path.iterdir()) == []


def test_absolute_ranges_need_no_critical_disorder():
    """E = 0.7 has no tabulated W_c: absolute ranges train there, relative ones cannot."""
    ens = training_ensemble("su2", L, 0.7, [[0.2, 3.0], [9.0, 12.0]], seed=1)
    _, info = generate_range(ens, 0, 6)
    assert np.all(info[0::2, 0] <= 3.0) and np.all(info[1::2, 0] >= 9.0)
    with pytest.raises(ValueError, match=r"0\.7"):
        relative_phases(LETTER, get_model("su2").critical_disorder(0.7))


def test_bad_count_writes_nothing(tmp_path):
    cache = EnsembleCache(tmp_path, su2_ensemble(), shard_size=4)
    with pytest.raises(ValueError, match="-3"):
        cache.ensure(-3, workers=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def _count_generation(monkeypatch):
    calls = []
    original = cache_mod.generate_chunks

    def counting(ensemble, ranges, workers):
        calls.extend(ranges)
        yield from original(ensemble, ranges, workers)

    monkeypatch.setattr(cache_mod, "generate_chunks", counting)
    return calls


def test_cache_roundtrip_and_hit(tmp_path, monkeypatch):
    ens = su2_ensemble()
    calls = _count_generation(monkeypatch)
    cache = EnsembleCache(tmp_path, ens, shard_size=4)
    data = cache.get(10, workers=1, progress=False)
    assert calls == [(0, 4), (4, 8), (8, 10)]  # the last shard holds only what was asked
    img, info = generate_range(ens, 0, 10)
    assert np.array_equal(data.images(), img) and np.array_equal(data.info, info)
    assert isinstance(data.shards[0], np.memmap)
    calls.clear()
    again = EnsembleCache(tmp_path, ens, shard_size=4).get(10, workers=1, progress=False)
    assert calls == [] and np.array_equal(again.images(), img)
    # a larger request completes the short shard and generates the new ones
    more = EnsembleCache(tmp_path, ens, shard_size=4).get(14, workers=1, progress=False)
    assert calls == [(8, 12), (12, 14)]
    assert np.array_equal(more.images(), generate_range(ens, 0, 14)[0])
    calls.clear()  # a smaller request is served by the longer shards
    assert len(EnsembleCache(tmp_path, ens, shard_size=4).get(9, workers=1, progress=False)) == 9
    assert calls == []


def test_short_last_shard_is_listed_and_checked(tmp_path):
    """A short last shard counts its own states, and one shorter than a request needs, or
    longer than a shard can be, is not valid."""
    from qpt.data.cache import list_caches

    ens = su2_ensemble()
    cache = EnsembleCache(tmp_path, ens, shard_size=4)
    cache.ensure(6, workers=1, progress=False)
    assert [e["states"] for e in list_caches(tmp_path)] == [6]
    assert cache.missing_shards(6) == [] and cache.missing_shards(7) == [1]
    assert not cache.shard_is_valid(1) and cache.shard_is_valid(1, n_states=6)
    with pytest.raises(FileNotFoundError, match=r"shard\(s\) \[1\]"):
        cache.load(8)
    pairs = EnsembleCache(tmp_path, ens, shard_size=2)  # its own directory: s2
    pairs.ensure(2, workers=1, progress=False)
    for what in ("images", "info"):  # a shard of 4 states where 2 fit: not valid
        (pairs.dir / f"shard-00000.{what}.npy").write_bytes(
            (cache.dir / f"shard-00000.{what}.npy").read_bytes()
        )
    (pairs.dir / "shard-00000.json").write_text((cache.dir / "shard-00000.json").read_text())
    assert pairs.missing_shards(2) == [0]


def test_3d_images_are_cached_and_memory_mapped_as_cubes(tmp_path):
    """A 3D model's states are L x L x L densities; the 2D keys stay as they were (the
    dimension follows from the model's name, which the key already holds)."""
    ens = training_ensemble("anderson3d", L, 0.0, [[1.0, 10.0], [20.0, 30.0]], seed=2)
    assert ens.sample_shape == (L, L, L) and su2_ensemble().sample_shape == (L, L)
    data = EnsembleCache(tmp_path, ens, shard_size=4).get(6, workers=1, progress=False)
    again = EnsembleCache(tmp_path, ens, shard_size=4).load(6)
    assert isinstance(again.shards[0], np.memmap) and again.image(5).shape == (L, L, L)
    assert np.array_equal(again.images(), data.images()) and again.images().shape == (6, L, L, L)
    np.testing.assert_allclose(again.images().sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)
    assert "dimension" not in su2_ensemble().describe()


def test_parallel_workers_give_identical_data(tmp_path):
    ens = su2_ensemble()
    one = EnsembleCache(tmp_path / "a", ens, shard_size=16).get(32, workers=1, progress=False)
    two = EnsembleCache(tmp_path / "b", ens, shard_size=16).get(32, workers=2, progress=False)
    assert one.images().tobytes() == two.images().tobytes()
    assert one.info.tobytes() == two.info.tobytes()


def test_workers_start_single_threaded_with_the_tuned_allocator(monkeypatch):
    """What a worker's environment holds when it starts: one BLAS thread whatever the
    parent's, the allocator's thresholds where the user set none, the user's where set;
    and the parent's environment as it was."""
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "12345")  # the user's own
    keys = ["OMP_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
    seen = list(pinned_imap(os.getenv, keys, workers=2))
    assert seen == ["1", WORKER_MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"], "12345"]
    assert os.environ["OMP_NUM_THREADS"] == "8" and "MALLOC_MMAP_THRESHOLD_" not in os.environ


def test_resume_after_crash(tmp_path, monkeypatch):
    ens = su2_ensemble()
    original = cache_mod.generate_chunks

    def crashing(ensemble, ranges, workers):
        for n, result in enumerate(original(ensemble, ranges, workers)):
            if n == 1:  # die after the first shard has been written
                raise KeyboardInterrupt
            yield result

    monkeypatch.setattr(cache_mod, "generate_chunks", crashing)
    cache = EnsembleCache(tmp_path, ens, shard_size=4)
    with pytest.raises(KeyboardInterrupt):
        cache.ensure(12, workers=1, progress=False)
    assert cache.missing_shards(12) == [1, 2]
    assert not list(cache.dir.glob("*.tmp"))  # no half-written files left behind
    monkeypatch.setattr(cache_mod, "generate_chunks", original)
    calls = _count_generation(monkeypatch)
    data = cache.get(12, workers=1, progress=False)
    assert [a for a, _ in calls] == [4, 8]  # only the missing shards
    assert np.array_equal(data.images(), generate_range(ens, 0, 12)[0])


@pytest.mark.parametrize("damage", ["flip", "truncate", "sidecar"])
def test_corrupted_shard_is_detected_and_rebuilt(tmp_path, damage):
    ens = su2_ensemble()
    cache = EnsembleCache(tmp_path, ens, shard_size=4)
    cache.ensure(8, workers=1, progress=False)
    path = cache.dir / "shard-00001.images.npy"
    if damage == "flip":
        raw = bytearray(path.read_bytes())
        raw[-5] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:-100])
    else:
        (cache.dir / "shard-00001.json").write_text("{not json")
    assert cache.missing_shards(8) == [1]
    with pytest.raises(FileNotFoundError, match="shard"):
        cache.load(8, checksum=True)
    data = cache.get(8, workers=1, progress=False)
    assert np.array_equal(data.images(), generate_range(ens, 0, 8)[0])


def _generate_in_subprocess(root, n):
    ens = su2_ensemble()
    EnsembleCache(root, ens, shard_size=4).ensure(n, workers=1, progress=False)


def test_concurrent_generation_is_safe(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_generate_in_subprocess, args=(str(tmp_path), 24)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    cache = EnsembleCache(tmp_path, su2_ensemble(), shard_size=4)
    assert cache.missing_shards(24) == []
    data = cache.load(24, checksum=True)
    assert np.array_equal(data.images(), generate_range(su2_ensemble(), 0, 24)[0])


def test_cluster_shards_fill_one_cache(tmp_path):
    ens = su2_ensemble()
    for job in range(3):
        EnsembleCache(tmp_path, ens, shard_size=4).ensure(
            24, workers=1, shard_index=job, shard_count=3, progress=False
        )
        done = 6 - len(EnsembleCache(tmp_path, ens, shard_size=4).missing_shards(24))
        assert done == 2 * (job + 1)


def test_cache_key_covers_everything(tmp_path):
    base = su2_ensemble()
    variants = [
        su2_ensemble(seed=6),
        su2_ensemble([[0.02, 1.0], [1.0, 1.9]]),
        su2_ensemble([[0.02, 0.95], [1.05, 2.0]]),
        training_ensemble("su2", L + 2, 0.0, relative_phases(LETTER, 6.2), seed=5),
        su2_ensemble(params={"hopping": 1.1}),
    ]
    keys = {base.key()} | {v.key() for v in variants}
    assert len(keys) == len(variants) + 1


def test_cache_cli_lists_and_clears(tmp_path, capsys):
    from qpt.data.cli import main

    EnsembleCache(tmp_path, su2_ensemble(), shard_size=4).ensure(4, workers=1, progress=False)
    assert main(["list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "su2-L8-train" in out and "4 states" in out
    assert main(["clear", "--root", str(tmp_path), "--match", "chern", "--yes"]) == 0
    assert len(os.listdir(tmp_path)) == 1
    assert main(["clear", "--root", str(tmp_path), "--yes"]) == 0
    assert os.listdir(tmp_path) == []


def test_ensemble_json_written(tmp_path):
    cache = EnsembleCache(tmp_path, su2_ensemble(), shard_size=4)
    cache.ensure(4, workers=1, progress=False)
    spec = json.loads((cache.dir / "ensemble.json").read_text())
    assert spec["key"] == su2_ensemble().key() and spec["ensemble"]["model"] == "su2"


def test_explicit_default_params_give_the_same_key():
    implicit = su2_ensemble()
    explicit = su2_ensemble(params={"hopping": 1.0, "boundary": "periodic"})
    assert implicit.key() == explicit.key()
    assert su2_ensemble(params={"hopping": 0.9}).key() != implicit.key()

"""Disk cache of generated ensembles: sharded .npy arrays with checksummed sidecars.

Layout of one dataset (directory ``<model>-L<L>-<stream>-<key[:16]>``):

    ensemble.json            what determines the data (the hash of it is the key)
    shard-00003.images.npy   (shard_size, L, L) float32, states 3*S .. 4*S - 1 (for a levels
                             ensemble: (shard_size, levels) float64 eigenvalues)
    shard-00003.info.npy     (shard_size, 3) float64: W, eigenenergy, label
    shard-00003.json         sidecar: sha256 of both files; written last = shard committed
    shard-00003.lock         flock held while a process generates the shard

Every file is written to a temporary name and renamed into place, so a crash leaves either
the old state or the new one. A shard whose sidecar is missing, or whose files do not match
it, is regenerated; an interrupted run therefore resumes with nothing lost or duplicated.
Concurrent generators (two runs, or a cluster job array splitting shards) coordinate through
the per-shard locks. Loading memory-maps the images.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from qpt.data.ensemble import Ensemble
from qpt.data.generation import INFO_COLUMNS, default_workers, generate_chunks

log = logging.getLogger(__name__)
CHUNK = 16  # states per worker task: small enough for a smooth progress bar


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _atomic_json(path: Path, obj: Any) -> None:
    _atomic_write(path, lambda f: f.write(json.dumps(obj, indent=1, sort_keys=True).encode()))


@dataclass
class LoadedEnsemble:
    """States 0 .. n-1 of a cached ensemble: memory-mapped images, info in memory."""

    shards: list[np.ndarray]  # memmaps, each (shard_size, L, L)
    info: np.ndarray  # (n, 3)
    shard_size: int

    def __len__(self) -> int:
        return len(self.info)

    def image(self, i: int) -> np.ndarray:
        return self.shards[i // self.shard_size][i % self.shard_size]

    @property
    def W(self) -> np.ndarray:
        return self.info[:, 0]

    @property
    def energies(self) -> np.ndarray:
        return self.info[:, 1]

    @property
    def labels(self) -> np.ndarray:
        return self.info[:, 2].astype(np.int64)

    def images(self) -> np.ndarray:
        """All images as one in-memory array (small datasets and evaluation)."""
        n = len(self)
        return np.concatenate(self.shards)[:n] if self.shards else np.empty((0, 0, 0), np.float32)


class EnsembleCache:
    """The on-disk cache of one :class:`Ensemble`."""

    def __init__(self, root: str | os.PathLike, ensemble: Ensemble, shard_size: int = 256):
        if shard_size < 1:
            raise ValueError(f"shard_size={shard_size} must be >= 1")
        self.ensemble, self.shard_size = ensemble, int(shard_size)
        key = ensemble.key()
        self.key = key
        self.dir = Path(root) / f"{ensemble.model}-L{ensemble.L}-{ensemble.stream}-{key[:16]}"

    # -- paths ---------------------------------------------------------------------------
    def _path(self, shard: int, what: str) -> Path:
        return self.dir / f"shard-{shard:05d}.{what}"

    def n_shards(self, n_states: int) -> int:
        return -(-n_states // self.shard_size)

    # -- state of the cache ---------------------------------------------------------------
    def _describe(self) -> dict[str, Any]:
        return {
            "ensemble": self.ensemble.describe(),
            "key": self.key,
            "shard_size": self.shard_size,
            "info_columns": list(INFO_COLUMNS),
        }

    def _init_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        spec = self.dir / "ensemble.json"
        if spec.exists():
            try:
                same = json.loads(spec.read_text()) == json.loads(
                    json.dumps(self._describe(), sort_keys=True)
                )
            except (OSError, json.JSONDecodeError):
                same = False
            if same:
                return
            log.warning("rewriting unreadable or mismatched %s", spec)
        _atomic_json(spec, self._describe())

    def shard_is_valid(self, shard: int, checksum: bool = True) -> bool:
        sidecar = self._path(shard, "json")
        try:
            meta = json.loads(sidecar.read_text())
            expected = {
                "images": (self.shard_size, *self.ensemble.sample_shape),
                "info": (self.shard_size, len(INFO_COLUMNS)),
            }
            for what, shape in expected.items():
                path = self._path(shard, f"{what}.npy")
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                if arr.shape != shape or path.stat().st_size != meta[what]["bytes"]:
                    return False
                if checksum and _sha256(path) != meta[what]["sha256"]:
                    return False
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return False
        return True

    def missing_shards(self, n_states: int, checksum: bool = True) -> list[int]:
        return [s for s in range(self.n_shards(n_states)) if not self.shard_is_valid(s, checksum)]

    # -- generation ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, shard: int, blocking: bool) -> Iterator[bool]:
        fd = os.open(self._path(shard, "lock"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock

    def _write_shard(self, shard: int, images: np.ndarray, info: np.ndarray) -> None:
        meta = {}
        for what, arr in (("images", images), ("info", info)):
            path = self._path(shard, f"{what}.npy")
            _atomic_write(path, lambda f, a=arr: np.save(f, a, allow_pickle=False))
            meta[what] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
        _atomic_json(self._path(shard, "json"), meta)  # last: commits the shard

    def _generate_shards(self, shards: list[int], workers: int, progress: bool) -> None:
        S = self.shard_size
        ranges, owner = [], []
        for s in shards:
            for a in range(s * S, (s + 1) * S, CHUNK):
                ranges.append((a, min(a + CHUNK, (s + 1) * S)))
                owner.append(s)
        pending: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        label = f"{self.ensemble.model} L={self.ensemble.L} {self.ensemble.stream}"
        with tqdm(
            total=len(shards) * S,
            desc=f"generating {label}",
            unit="state",
            disable=not progress,
            smoothing=0.1,
        ) as bar:
            for s, (images, info) in zip(
                owner, generate_chunks(self.ensemble, ranges, workers), strict=True
            ):
                pending.setdefault(s, []).append((images, info))
                bar.update(len(info))
                if sum(len(i) for _, i in pending[s]) == S:
                    parts = pending.pop(s)
                    self._write_shard(
                        s,
                        np.concatenate([p[0] for p in parts]),
                        np.concatenate([p[1] for p in parts]),
                    )

    def ensure(
        self,
        n_states: int,
        *,
        workers: int | None = None,
        shard_index: int = 0,
        shard_count: int = 1,
        progress: bool = True,
        checksum: bool = True,
    ) -> None:
        """Make states 0 .. n_states-1 available on disk, generating what is missing.

        With ``shard_count > 1`` only the shards ``s`` with ``s % shard_count == shard_index``
        are generated (one job of a cluster array); the default generates everything.
        """
        if n_states < 1:
            raise ValueError(f"number of states {n_states} must be >= 1")
        if not 0 <= shard_index < shard_count:
            raise ValueError(f"shard index {shard_index} must be in [0, {shard_count})")
        self._init_dir()
        workers = default_workers() if workers is None else workers
        todo = [
            s for s in self.missing_shards(n_states, checksum) if s % shard_count == shard_index
        ]
        if not todo:
            return
        with contextlib.ExitStack() as stack:
            mine, busy = [], []
            for s in todo:
                (mine if stack.enter_context(self._lock(s, blocking=False)) else busy).append(s)
            # re-check under the lock: another process may have finished it meanwhile
            mine = [s for s in mine if not self.shard_is_valid(s, checksum)]
            if mine:
                t0 = time.perf_counter()
                self._generate_shards(mine, workers, progress)
                n = len(mine) * self.shard_size
                log.info(
                    "generated %d states in %.1f s (%.1f states/s) into %s",
                    n,
                    time.perf_counter() - t0,
                    n / (time.perf_counter() - t0),
                    self.dir,
                )
        for s in busy:  # generated by another process: wait for it, take over if it died
            with self._lock(s, blocking=True):
                if not self.shard_is_valid(s, checksum):
                    self._generate_shards([s], workers, progress)

    def load(self, n_states: int, *, checksum: bool = False) -> LoadedEnsemble:
        """Memory-map states 0 .. n_states-1 (``ensure`` them first)."""
        n_shards = self.n_shards(n_states)
        missing = [s for s in range(n_shards) if not self.shard_is_valid(s, checksum)]
        if missing:
            raise FileNotFoundError(
                f"cache {self.dir} lacks valid shard(s) {missing[:5]}; run ensure() first"
            )
        shards = [
            np.load(self._path(s, "images.npy"), mmap_mode="r", allow_pickle=False)
            for s in range(n_shards)
        ]
        info = np.concatenate(
            [np.load(self._path(s, "info.npy"), allow_pickle=False) for s in range(n_shards)]
        )
        return LoadedEnsemble(shards, info[:n_states], self.shard_size)

    def get(self, n_states: int, **kwargs: Any) -> LoadedEnsemble:
        self.ensure(n_states, **kwargs)
        return self.load(n_states)


def list_caches(root: str | os.PathLike) -> list[dict[str, Any]]:
    """One summary per cached dataset under ``root``."""
    out = []
    for spec in sorted(Path(root).glob("*/ensemble.json")):
        d = spec.parent
        try:
            desc = json.loads(spec.read_text())
        except (OSError, json.JSONDecodeError):
            desc = {}
        ens = desc.get("ensemble", {})
        shards = sorted(d.glob("shard-*.json"))
        out.append(
            {
                "path": str(d),
                "model": ens.get("model", "?"),
                "L": ens.get("L", "?"),
                "stream": ens.get("stream", "?"),
                "energy": ens.get("energy", "?"),
                "states": len(shards) * desc.get("shard_size", 0),
                "bytes": sum(f.stat().st_size for f in d.iterdir() if f.is_file()),
            }
        )
    return out


def clear_caches(root: str | os.PathLike, match: str = "") -> list[str]:
    """Delete cached datasets under ``root`` whose directory name contains ``match``."""
    removed = []
    for entry in list_caches(root):
        if match in Path(entry["path"]).name:
            shutil.rmtree(entry["path"])
            removed.append(entry["path"])
    return removed

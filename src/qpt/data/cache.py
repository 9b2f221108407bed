"""Disk cache of generated ensembles: sharded .npy arrays with checksummed sidecars.

Layout of one dataset (directory ``<model>-L<L>-<stream>-<key[:16]>-s<shard_size>``; the key
is a hash of what determines the data, the shard size only of how it is cut into files, so
jobs with different ``data.shard_size`` each get their own directory in a shared root):

    ensemble.json            what determines the data (the hash of it is the key)
    shard-00003.images.npy   (m, L, L) float32, states 3*S .. 3*S + m - 1 (a 3D model:
                             (m, L, L, L); a levels ensemble: (m, levels) float64 eigenvalues)
    shard-00003.info.npy     (m, 3) float64: W, eigenenergy, label
    shard-00003.json         sidecar: sha256 of both files; written last = shard committed
    shard-00003.lock         flock held while a process generates the shard

A shard holds m = S states, or fewer if it is the last one a request needed: states nobody
asked for are not generated (at S = 250, discover_su2's grids of 6600 states would otherwise
cost 150 more per size). A later request for more regenerates that shard in full.

Every file is written to a temporary name (``.<name>.<random>.tmp``) and renamed into place,
so a crash leaves either the old state or the new one; the temporary files of a killed writer
are removed by the next generating run. A shard whose sidecar is missing, or whose files do
not match it, is regenerated; an interrupted run therefore resumes with nothing lost or
duplicated. Files follow the umask, so a group can share a cache.
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
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from qpt.data.ensemble import Ensemble
from qpt.data.generation import INFO_COLUMNS, default_workers, generate_chunks
from qpt.data.progress import progress_bar

log = logging.getLogger(__name__)
CHUNK = 16  # states per worker task: small enough for a smooth progress bar
# a temporary file not written under a shard lock (ensemble.json) is written in milliseconds:
# one this old belongs to a writer that died
STALE_TMP_S = 15 * 60
_SHARD_TMP = re.compile(r"\.shard-(\d+)\.")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _create_tmp(path: Path) -> tuple[int, Path]:
    # not mkstemp: its files are 0600, unreadable by a group sharing the cache; mode 0666 with
    # O_EXCL lets the kernel apply the umask (and default ACLs) as for any other new file
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    fd, tmp = _create_tmp(path)
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

    shards: list[np.ndarray]  # memmaps, each (shard_size, *sample_shape); the last may be shorter
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

    def images(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Images ``start`` .. ``stop`` - 1 (default: all) as one in-memory array (small
        datasets and evaluation); only the shards that hold them are read."""
        stop = len(self) if stop is None else min(stop, len(self))
        if not self.shards or start >= stop:
            return np.empty((0, 0, 0), np.float32)
        first, last = start // self.shard_size, (stop - 1) // self.shard_size
        offset = first * self.shard_size
        return np.concatenate(self.shards[first : last + 1])[start - offset : stop - offset]


class EnsembleCache:
    """The on-disk cache of one :class:`Ensemble`."""

    def __init__(self, root: str | os.PathLike, ensemble: Ensemble, shard_size: int = 256):
        if shard_size < 1:
            raise ValueError(f"shard_size={shard_size} must be >= 1")
        self.ensemble, self.shard_size = ensemble, int(shard_size)
        key = ensemble.key()
        self.key = key
        name = f"{ensemble.model}-L{ensemble.L}-{ensemble.stream}-{key[:16]}-s{self.shard_size}"
        self.dir = Path(root) / name

    # -- paths ---------------------------------------------------------------------------
    def _path(self, shard: int, what: str) -> Path:
        return self.dir / f"shard-{shard:05d}.{what}"

    def n_shards(self, n_states: int) -> int:
        return -(-n_states // self.shard_size)

    def shard_states(self, shard: int, n_states: int | None) -> int:
        """How many states shard ``shard`` must hold for a request of ``n_states`` (None: a
        full shard)."""
        if n_states is None:
            return self.shard_size
        return max(0, min(self.shard_size, n_states - shard * self.shard_size))

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
        self._remove_stale_tmp()
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

    def shard_is_valid(
        self, shard: int, checksum: bool = True, n_states: int | None = None
    ) -> bool:
        """True if the shard is committed, intact and holds the states a request of
        ``n_states`` needs of it (None: a full shard)."""
        sidecar = self._path(shard, "json")
        needed = self.shard_states(shard, n_states)
        try:
            meta = json.loads(sidecar.read_text())
            held = None
            for what, shape in (
                ("images", self.ensemble.sample_shape),
                ("info", (len(INFO_COLUMNS),)),
            ):
                path = self._path(shard, f"{what}.npy")
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                held = arr.shape[0] if held is None else held
                if arr.shape != (held, *shape) or not needed <= held <= self.shard_size:
                    return False
                if path.stat().st_size != meta[what]["bytes"]:
                    return False
                if checksum and _sha256(path) != meta[what]["sha256"]:
                    return False
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return False
        return True

    def missing_shards(self, n_states: int, checksum: bool = True) -> list[int]:
        return [
            s
            for s in range(self.n_shards(n_states))
            if not self.shard_is_valid(s, checksum, n_states)
        ]

    # -- generation ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, shard: int, blocking: bool) -> Iterator[bool]:
        # 0666 under the umask: a group member sharing the cache must be able to open it O_RDWR
        fd = os.open(self._path(shard, "lock"), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock

    def _remove_tmp(self, shard: int) -> None:
        """Delete the shard's temporary files; the caller holds its lock, so none is live."""
        for tmp in self.dir.glob(f".shard-{shard:05d}.*.tmp"):
            tmp.unlink(missing_ok=True)

    def _remove_stale_tmp(self) -> None:
        """Delete what killed writers left: a shard's temporary files whenever its lock is free
        (its writers hold it throughout), any other one once it is old."""
        shards = set()
        for tmp in self.dir.glob(".*.tmp"):
            if m := _SHARD_TMP.match(tmp.name):
                shards.add(int(m.group(1)))
            else:
                with contextlib.suppress(FileNotFoundError):
                    if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
                        tmp.unlink()
        for s in sorted(shards):
            with self._lock(s, blocking=False) as mine:
                if mine:
                    self._remove_tmp(s)

    def _write_shard(self, shard: int, images: np.ndarray, info: np.ndarray) -> None:
        meta = {}
        for what, arr in (("images", images), ("info", info)):
            path = self._path(shard, f"{what}.npy")
            _atomic_write(path, lambda f, a=arr: np.save(f, a, allow_pickle=False))
            meta[what] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
        _atomic_json(self._path(shard, "json"), meta)  # last: commits the shard

    def _generate_shards(
        self, shards: list[int], n_states: int, workers: int, progress: bool
    ) -> None:
        S = self.shard_size
        ranges, owner, size = [], [], {s: self.shard_states(s, n_states) for s in shards}
        for s in shards:
            self._remove_tmp(s)  # a writer of s that died while this process waited for its lock
            for a in range(s * S, s * S + size[s], CHUNK):
                ranges.append((a, min(a + CHUNK, s * S + size[s])))
                owner.append(s)
        pending: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        label = f"{self.ensemble.model} L={self.ensemble.L} {self.ensemble.stream}"
        with progress_bar(
            total=sum(size.values()), desc=f"generating {label}", unit="state", interactive=progress
        ) as bar:
            for s, (images, info) in zip(
                owner, generate_chunks(self.ensemble, ranges, workers), strict=True
            ):
                pending.setdefault(s, []).append((images, info))
                bar.update(len(info))
                if sum(len(i) for _, i in pending[s]) == size[s]:
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
            mine = [s for s in mine if not self.shard_is_valid(s, checksum, n_states)]
            if mine:
                t0 = time.perf_counter()
                self._generate_shards(mine, n_states, workers, progress)
                n = sum(self.shard_states(s, n_states) for s in mine)
                log.info(
                    "generated %d states in %.1f s (%.1f states/s) into %s",
                    n,
                    time.perf_counter() - t0,
                    n / (time.perf_counter() - t0),
                    self.dir,
                )
        for s in busy:  # generated by another process: wait for it, take over if it died
            with self._lock(s, blocking=True):
                if not self.shard_is_valid(s, checksum, n_states):
                    self._generate_shards([s], n_states, workers, progress)

    def load(self, n_states: int, *, checksum: bool = False) -> LoadedEnsemble:
        """Memory-map states 0 .. n_states-1 (``ensure`` them first)."""
        n_shards = self.n_shards(n_states)
        missing = [s for s in range(n_shards) if not self.shard_is_valid(s, checksum, n_states)]
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


def _read_spec(spec: Path) -> dict[str, Any]:
    """A dataset's ensemble.json; ValueError saying what is wrong with it."""
    try:
        desc = json.loads(spec.read_text())
    except ValueError as err:  # JSON or UTF-8
        raise ValueError(f"not valid JSON ({err})") from None
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(f"unreadable ({err.strerror})") from None
    fields = desc if isinstance(desc, dict) else {}
    size = fields.get("shard_size")
    if not isinstance(fields.get("ensemble"), dict) or not isinstance(size, int) or size < 1:
        raise ValueError("lacks a valid 'ensemble' or 'shard_size'")
    return desc


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except FileNotFoundError:  # a temporary file renamed meanwhile by a running job
        return 0


def _states_in_shard(sidecar: Path) -> int:
    """States in the shard of ``sidecar`` (its info array's length; 0 if unreadable)."""
    try:
        info = sidecar.with_name(sidecar.name.replace(".json", ".info.npy"))
        return np.load(info, mmap_mode="r", allow_pickle=False).shape[0]
    except (OSError, ValueError, IndexError):
        return 0


def list_caches(root: str | os.PathLike) -> list[dict[str, Any]]:
    """One summary per cached dataset under ``root``; a dataset whose ensemble.json is
    damaged is listed with ``corrupt`` saying why (its other fields unknown)."""
    root = Path(root)
    # a mistyped root must not read as "no cached datasets"
    if not root.exists():
        raise FileNotFoundError(f"cache root {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"cache root {root} is not a directory")
    out = []
    for spec in sorted(root.glob("*/ensemble.json")):
        d, corrupt = spec.parent, None
        try:
            files = list(d.iterdir())
            desc = _read_spec(spec)
        except FileNotFoundError:  # cleared meanwhile
            continue
        except ValueError as err:
            desc, corrupt = {}, f"{spec} is corrupt: {err}"
        ens = desc.get("ensemble", {})
        shards = [f for f in files if re.fullmatch(r"shard-\d+\.json", f.name)]
        out.append(
            {
                "path": str(d),
                "model": ens.get("model", "?"),
                "L": ens.get("L", "?"),
                "stream": ens.get("stream", "?"),
                "energy": ens.get("energy", "?"),
                "shard_size": desc.get("shard_size", "?"),
                "states": sum(_states_in_shard(f) for f in shards),
                "bytes": sum(_size(f) for f in files),
                "corrupt": corrupt,
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

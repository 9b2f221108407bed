"""Lightning side of the data layer: torch datasets and the eigenstate DataModule."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from threadpoolctl import threadpool_limits
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from qpt.data.cache import EnsembleCache, LoadedEnsemble
from qpt.data.ensemble import Ensemble, disorder_grid, grid_ensemble, training_ensemble
from qpt.data.generation import generate_state, generate_window
from qpt.physics import get_model


def input_scale(L: int, mode: str) -> float:
    """|psi|^2 averages 1/L^2, far below image scale. The letter scaled the first layer's
    initial weights by 100; multiplying the image by L^2 (mean 1) is the input-side
    equivalent and is independent of L."""
    if mode == "area":
        return float(L * L)
    if mode == "none":
        return 1.0
    raise ValueError(f"unknown input_scale {mode!r}; expected 'area' or 'none'")


class ImageDataset(Dataset):
    """Images (memory-mapped or in memory) with labels, as (1, L, L) float tensors."""

    def __init__(self, data: LoadedEnsemble, indices: np.ndarray, scale: float):
        self.data, self.indices, self.scale = data, np.asarray(indices), scale

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        j = int(self.indices[i])
        image = torch.from_numpy(np.array(self.data.image(j), dtype=np.float32))
        return (image * self.scale).unsqueeze(0), int(self.data.labels[j])


class OnTheFlyDataset(IterableDataset):
    """Fresh states every epoch, generated inside the DataLoader workers.

    Epoch e covers ensemble indices [e*N, (e+1)*N); worker w of n takes every n-th of them,
    so each worker has its own seed stream and no state repeats. Use persistent workers so
    that each worker's epoch counter survives between epochs.
    """

    def __init__(self, ensemble: Ensemble, states_per_epoch: int, scale: float):
        self.ensemble, self.states_per_epoch, self.scale = ensemble, states_per_epoch, scale
        self.epoch = 0

    def __len__(self) -> int:
        return self.states_per_epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        base = self.epoch * self.states_per_epoch
        self.epoch += 1
        with threadpool_limits(1):
            for i in range(worker, self.states_per_epoch, n_workers):
                image, meta = generate_state(self.ensemble, base + i)
                yield torch.from_numpy(image * np.float32(self.scale)).unsqueeze(0), int(meta[2])


def _pin_loader_worker(_: int) -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)


@dataclass
class EvaluationSet:
    """Images with their W, eigenenergy and label, for transition curves."""

    name: str
    energy: float
    data: LoadedEnsemble


class EigenstateDataModule(pl.LightningDataModule):
    """Training/validation states of one model and disorder setup, plus test ensembles.

    ``data.mode="cache"`` generates (or finds) the training set on disk in ``prepare_data``;
    ``"on_the_fly"`` streams fresh states every epoch from DataLoader workers.
    """

    def __init__(
        self,
        model: str,
        L: int,
        seed: int,
        disorder: dict[str, Any],
        data: dict[str, Any],
        model_params: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.model_name, self.L, self.seed = model, int(L), int(seed)
        self.disorder, self.cfg = disorder, data
        self.model_params = dict(model_params or {})
        self.physics = get_model(model, **self.model_params)
        train = disorder["train"]
        n_phase = int(train["states_per_phase"])
        if n_phase < 1:
            raise ValueError(f"disorder.train.states_per_phase={n_phase} must be >= 1")
        self.n_states = 2 * n_phase
        self.train_ensemble = training_ensemble(
            model,
            self.L,
            float(train["energy"]),
            w_min=float(train["w_min"]),
            w_max=float(train["w_max"]),
            exclusion=float(train.get("exclusion", 0.0)),
            relative=bool(train.get("relative", True)),
            seed=self.seed,
            params=self.model_params,
        )
        if data["mode"] not in ("cache", "on_the_fly"):
            raise ValueError(
                f"unknown data.mode {data['mode']!r}; expected 'cache' or 'on_the_fly'"
            )
        vf = float(data.get("val_fraction", 0.1))
        if not 0 < vf < 1:
            raise ValueError(f"data.val_fraction={vf} must be in (0, 1)")
        self.scale = input_scale(self.L, data.get("input_scale", "area"))
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_sets: list[EvaluationSet] = []

    # -- helpers -----------------------------------------------------------------------------
    def cache(self, ensemble: Ensemble) -> EnsembleCache:
        return EnsembleCache(self.cfg["cache_dir"], ensemble, int(self.cfg.get("shard_size", 250)))

    def _ensure_kwargs(self) -> dict[str, Any]:
        return {
            "workers": self.cfg.get("gen_workers"),
            "shard_index": int(self.cfg.get("shard_index", 0)),
            "shard_count": int(self.cfg.get("shard_count", 1)),
            "progress": bool(self.cfg.get("progress", True)),
        }

    @property
    def n_val(self) -> int:
        return max(1, round(float(self.cfg.get("val_fraction", 0.1)) * self.n_states))

    def split_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Deterministic 90/10 split of the training states (depends only on seed and n)."""
        rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(b"split"),))
        )
        perm = rng.permutation(self.n_states)
        return np.sort(perm[self.n_val :]), np.sort(perm[: self.n_val])

    def val_ensemble(self) -> Ensemble:
        """On-the-fly validation set: the training disorder on a disjoint seed stream."""
        return dataclasses.replace(self.train_ensemble, stream="val")

    def test_ensembles(
        self,
        model: str | None = None,
        model_params: dict[str, Any] | None = None,
        energies: list[float] | None = None,
    ) -> list[Ensemble]:
        """W grids of ``disorder.test`` (by default for the training model), one per energy."""
        test = self.disorder["test"]
        model = model or self.model_name
        params = self.model_params if model_params is None else model_params
        w_values = disorder_grid(test, self.physics.critical_disorder(self.train_ensemble.energy))
        out = []
        for energy in energies if energies is not None else test["energies"]:
            try:
                reference = get_model(model, **params).critical_disorder(float(energy))
            except ValueError:
                reference = None
            out.append(
                grid_ensemble(
                    model,
                    self.L,
                    float(energy),
                    w_values.tolist(),
                    seed=self.seed,
                    params=params,
                    stream="test",
                    reference_critical_disorder=reference,
                )
            )
        return out

    def load_grid(self, ensemble: Ensemble, states_per_w: int | None = None) -> LoadedEnsemble:
        n = (states_per_w or int(self.disorder["test"]["states_per_w"])) * ensemble.n_slots
        return self.cache(ensemble).get(n, **self._ensure_kwargs())

    def window_set(self, W: float, emin: float, emax: float, n_realisations: int) -> LoadedEnsemble:
        ens = grid_ensemble(
            self.model_name,
            self.L,
            (emin + emax) / 2,
            [W],
            seed=self.seed,
            params=self.model_params,
            stream="window",
        )
        images, info = generate_window(ens, emin, emax, n_realisations)
        return LoadedEnsemble([images], info, max(1, len(info)))

    # -- LightningDataModule API ----------------------------------------------------------------
    def prepare_data(self) -> None:
        kwargs = self._ensure_kwargs()
        if self.cfg["mode"] == "cache":
            self.cache(self.train_ensemble).ensure(self.n_states, **kwargs)
        else:
            self.cache(self.val_ensemble()).ensure(self.n_val, **kwargs)

    def setup(self, stage: str | None = None) -> None:
        if stage in ("fit", "validate", None) and self.train_set is None:
            if self.cfg["mode"] == "cache":
                data = self.cache(self.train_ensemble).load(self.n_states)
                train_idx, val_idx = self.split_indices()
                self.train_set = ImageDataset(data, train_idx, self.scale)
                self.val_set = ImageDataset(data, val_idx, self.scale)
            else:
                val = self.cache(self.val_ensemble()).load(self.n_val)
                self.val_set = ImageDataset(val, np.arange(self.n_val), self.scale)
                self.train_set = OnTheFlyDataset(
                    self.train_ensemble, self.n_states - self.n_val, self.scale
                )
        if stage in ("test", "predict") and not self.test_sets:
            self.test_sets = [
                EvaluationSet(f"E{e.energy:g}", e.energy, self.load_grid(e))
                for e in self.test_ensembles()
            ]

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        workers = int(self.cfg.get("num_workers", 0))
        otf = isinstance(dataset, OnTheFlyDataset)
        generator = torch.Generator().manual_seed(self.seed) if shuffle and not otf else None
        return DataLoader(
            dataset,
            batch_size=int(self.cfg.get("batch_size", 64)),
            shuffle=shuffle and not otf,
            generator=generator,
            num_workers=workers,
            persistent_workers=workers > 0,
            worker_init_fn=_pin_loader_worker if workers > 0 else None,
            multiprocessing_context="spawn" if workers > 0 and otf else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> list[DataLoader]:
        return [
            self._loader(ImageDataset(s.data, np.arange(len(s.data)), self.scale), False)
            for s in self.test_sets
        ]

    def predict_dataloader(self) -> list[DataLoader]:
        return self.test_dataloader()

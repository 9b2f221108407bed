"""Lightning side of the data layer: torch datasets and the eigenstate DataModule."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from threadpoolctl import threadpool_limits
from torch.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    get_worker_info,
)

from qpt.data.cache import LoadedEnsemble
from qpt.data.config import DataConfig, TrainDisorder, input_scale
from qpt.data.ensemble import Ensemble, relative_phases, training_ensemble
from qpt.data.generation import generate_state
from qpt.physics import get_model
from qpt.physics.images import coarse_grain


class ImageDataset(Dataset):
    """Images (memory-mapped or in memory) with labels, as (1, side, side) float tensors
    ((1, L, L, L) for a 3D model): the image, or its n^d box weights with ``coarse=n``,
    times ``scale``."""

    def __init__(
        self, data: LoadedEnsemble, indices: np.ndarray, scale: float, coarse: int | None = None
    ):
        self.data, self.indices, self.scale, self.coarse = data, np.asarray(indices), scale, coarse

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        j = int(self.indices[i])
        image = np.array(self.data.image(j), dtype=np.float32)
        if self.coarse:
            image = coarse_grain(image, self.coarse, image.ndim)
        image = torch.from_numpy(image)
        return (image * self.scale).unsqueeze(0), int(self.data.labels[j])


class OnTheFlyDataset(IterableDataset):
    """Fresh states every epoch, generated inside the DataLoader workers.

    Epoch e covers ensemble indices [e*N, (e+1)*N); worker w of n takes every n-th of them,
    so each worker has its own seed stream and no state repeats. Use persistent workers so
    that each worker's epoch counter survives between epochs.
    """

    def __init__(
        self, ensemble: Ensemble, states_per_epoch: int, scale: float, coarse: int | None = None
    ):
        self.ensemble, self.states_per_epoch, self.scale = ensemble, states_per_epoch, scale
        self.coarse, self.epoch = coarse, 0

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
                image = coarse_grain(image, self.coarse, image.ndim) if self.coarse else image
                yield torch.from_numpy(image * np.float32(self.scale)).unsqueeze(0), int(meta[2])


def _pin_loader_worker(_: int) -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)


class EigenstateDataModule(pl.LightningDataModule):
    """Training and validation states of one model and disorder setup.

    ``data.mode="cache"`` generates (or finds) the training set on disk in ``prepare_data``;
    ``"on_the_fly"`` streams fresh states every epoch from DataLoader workers. The states a
    trained network judges afterwards are :mod:`qpt.data.testsets`.
    """

    def __init__(
        self,
        model: str,
        L: int,
        seed: int,
        train: TrainDisorder,
        data: DataConfig,
        model_params: dict[str, Any],
    ):
        super().__init__()
        self.model_name, self.L, self.seed, self.cfg = model, int(L), int(seed), data
        self.model_params, self.physics = model_params, get_model(model, **model_params)
        self.n_states = 2 * train.states_per_phase
        # W_c only where the ranges are given in its units: absolute ranges need none
        self.critical_disorder, phases = None, train.phases
        if train.relative:
            self.critical_disorder = self.physics.critical_disorder(train.energy)
            phases = relative_phases(train.phases, self.critical_disorder)
        self.train_ensemble = training_ensemble(
            model, self.L, train.energy, phases, seed=self.seed, params=model_params
        )
        if data.coarse_grain and self.L % data.coarse_grain:
            raise ValueError(f"data.coarse_grain={data.coarse_grain}: L={self.L} is no multiple")
        self.image_size = data.coarse_grain or self.L  # the side of what the network sees
        self.scale = input_scale(self.image_size, data.input_scale, self.physics.dimension)
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    def describe(self) -> dict[str, Any]:
        """What a network trained on these states must remember to judge others: model,
        lattice, phases, energy, W_c, input scaling, and the hash of the training data."""
        energy = self.train_ensemble.energy
        return {
            "model": self.model_name,
            "model_params": self.model_params,
            "L": self.L,
            "symmetry_class": self.physics.symmetry_class,
            "phases": list(self.physics.phases),
            "train_energy": energy,
            "critical_disorder": self.critical_disorder,
            "dataset_key": self.train_ensemble.key(),
            "input_scale": self.cfg.input_scale,
            "coarse_grain": self.cfg.coarse_grain,
            "seed": self.seed,
        }

    @property
    def n_val(self) -> int:
        return max(1, round(self.cfg.val_fraction * self.n_states))

    def split_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Deterministic 90/10 split of the training states (depends only on seed and n)."""
        seed = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(b"split"),))
        perm = np.random.default_rng(seed).permutation(self.n_states)
        return np.sort(perm[self.n_val :]), np.sort(perm[: self.n_val])

    def val_ensemble(self) -> Ensemble:
        """On-the-fly validation set: the training disorder on a disjoint seed stream."""
        return dataclasses.replace(self.train_ensemble, stream="val")

    def training_states(self) -> LoadedEnsemble:
        """The cached training set (``prepare_data`` first)."""
        return self.cfg.cache(self.train_ensemble).load(self.n_states)

    # -- LightningDataModule API ----------------------------------------------------------------
    def prepare_data(self) -> None:
        if self.cfg.mode == "cache":
            self.cfg.ensure(self.train_ensemble, self.n_states)
        else:
            self.cfg.ensure(self.val_ensemble(), self.n_val)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        coarse = self.cfg.coarse_grain
        if self.cfg.mode == "cache":
            data = self.training_states()
            train_idx, val_idx = self.split_indices()
            self.train_set = ImageDataset(data, train_idx, self.scale, coarse)
            self.val_set = ImageDataset(data, val_idx, self.scale, coarse)
        else:
            val = self.cfg.cache(self.val_ensemble()).load(self.n_val)
            self.val_set = ImageDataset(val, np.arange(self.n_val), self.scale, coarse)
            n_train = self.n_states - self.n_val
            self.train_set = OnTheFlyDataset(self.train_ensemble, n_train, self.scale, coarse)

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        workers = self.cfg.num_workers
        otf = isinstance(dataset, OnTheFlyDataset)
        generator = torch.Generator().manual_seed(self.seed) if shuffle and not otf else None
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
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


class SizesDataModule(pl.LightningDataModule):
    """The training states of several lattice sizes as one set, for a network that sees
    every size alike (``data.coarse_grain``): each size's own split, concatenated."""

    def __init__(self, modules: list[EigenstateDataModule], part: tuple[int, int] = (0, 1)):
        """``part`` (k, n): learn only the training states k, k + n, k + 2n, ... of each size
        (the validation states all), so n networks learn disjoint draws."""
        super().__init__()
        if not 0 <= part[0] < part[1]:
            raise ValueError(f"part {part[0]} of {part[1]}: not a part")
        self.modules = modules
        self.part = part

    def prepare_data(self) -> None:
        for m in self.modules:
            m.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        k, n = self.part
        for m in self.modules:
            m.setup(stage)
        sets = [m.train_set for m in self.modules]
        if n > 1:
            if any(isinstance(s, IterableDataset) for s in sets):
                raise ValueError(f"part {k} of {n} of the training states needs data.mode=cache")
            sets = [Subset(s, range(k, len(s), n)) for s in sets]
        self.train_set = ConcatDataset(sets)
        self.val_set = ConcatDataset([m.val_set for m in self.modules])

    def train_dataloader(self) -> DataLoader:
        return self.modules[0]._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.modules[0]._loader(self.val_set, shuffle=False)

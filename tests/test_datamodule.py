"""The Lightning DataModule: split, loaders, on-the-fly mode."""

import numpy as np
import pytest
import torch

from qpt.data.datamodule import EigenstateDataModule, OnTheFlyDataset

DISORDER = {
    "train": {
        "energy": 0.0,
        "w_min": 0.02,
        "w_max": 2.0,
        "exclusion": 0.0,
        "relative": True,
        "states_per_phase": 20,
    },
    "test": {
        "energies": [0.0, 1.0],
        "w_min": 0.02,
        "w_max": 2.0,
        "relative": True,
        "n_w": 4,
        "states_per_w": 2,
    },
}


def make_dm(tmp_path, **data):
    cfg = {
        "mode": "cache",
        "cache_dir": str(tmp_path),
        "shard_size": 8,
        "gen_workers": 1,
        "progress": False,
        "batch_size": 8,
        "num_workers": 0,
        "val_fraction": 0.1,
    } | data
    return EigenstateDataModule("su2", 8, seed=3, disorder=DISORDER, data=cfg)


def test_split_is_deterministic_and_disjoint(tmp_path):
    dm = make_dm(tmp_path)
    train, val = dm.split_indices()
    train2, val2 = make_dm(tmp_path).split_indices()
    assert np.array_equal(train, train2) and np.array_equal(val, val2)
    assert len(val) == 4 and len(train) == 36
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(40))


def test_fit_loaders_give_scaled_images_and_labels(tmp_path):
    dm = make_dm(tmp_path)
    dm.prepare_data()
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 1, 8, 8) and x.dtype == torch.float32
    assert torch.allclose(x.sum(dim=(1, 2, 3)), torch.full((8,), 64.0), rtol=1e-5)  # L^2 scaling
    assert set(y.tolist()) <= {0, 1}
    # same seed, same shuffled order
    dm2 = make_dm(tmp_path)
    dm2.setup("fit")
    x2, _ = next(iter(dm2.train_dataloader()))
    assert torch.equal(x, x2)


def test_test_sets_cover_each_energy(tmp_path):
    dm = make_dm(tmp_path)
    dm.setup("test")
    assert [s.energy for s in dm.test_sets] == [0.0, 1.0]
    data = dm.test_sets[0].data
    assert len(data) == 8 and len(np.unique(data.W)) == 4
    assert np.array_equal(data.labels, (data.W > 6.2).astype(int))
    # test seeds are disjoint from training: no test image equals a training image
    dm.prepare_data()
    dm.setup("fit")
    train_images = dm.train_set.data.images()
    assert not any(np.array_equal(img, t) for img in data.images() for t in train_images)


def test_on_the_fly_fresh_states_each_epoch(tmp_path):
    dm = make_dm(tmp_path, mode="on_the_fly")
    dm.prepare_data()
    dm.setup("fit")
    assert isinstance(dm.train_set, OnTheFlyDataset)
    first = torch.cat([x for x, _ in dm.train_dataloader()])
    second = torch.cat([x for x, _ in dm.train_dataloader()])
    assert first.shape == (36, 1, 8, 8)
    assert not torch.equal(first, second)
    assert len(dm.val_set) == 4


def test_window_set_returns_gap_states(tmp_path):
    dm = EigenstateDataModule(
        "chern",
        10,
        seed=1,
        disorder={
            "train": {"energy": 0.0, "w_min": 0.02, "w_max": 2.0, "states_per_phase": 2},
            "test": DISORDER["test"],
        },
        data={"mode": "cache", "cache_dir": str(tmp_path)},
    )
    data = dm.window_set(1.0, -0.5, 0.5, n_realisations=2)
    assert len(data) > 4 and np.all(np.abs(data.energies) <= 0.5)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"mode": "stream"}, "stream"),
        ({"val_fraction": 1.5}, "1.5"),
        ({"input_scale": "max"}, "max"),
    ],
)
def test_bad_data_config(tmp_path, data, match):
    with pytest.raises(ValueError, match=match):
        make_dm(tmp_path, **data)

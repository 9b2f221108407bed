"""The Lightning DataModule (split, loaders, on-the-fly mode) and the test sets."""

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from qpt.data.config import DataConfig, TestGrid, TrainDisorder
from qpt.data.datamodule import EigenstateDataModule, OnTheFlyDataset, SizesDataModule
from qpt.data.testsets import TestSets
from qpt.schema import check

TRAIN = TrainDisorder(
    energy=0.0, phases=[[0.02, 1.0], [1.0, 2.0]], relative=True, states_per_phase=20
)
GRID = TestGrid(energies=[0.0, 1.0], w_min=0.02, w_max=2.0, relative=True, n_w=4, states_per_w=2)


def data_config(tmp_path, **changes) -> DataConfig:
    cfg = DataConfig(
        mode="cache",
        cache_dir=str(tmp_path),
        shard_size=8,
        gen_workers=1,
        shard_index=0,
        shard_count=1,
        generate_only=False,
        progress=False,
        batch_size=8,
        num_workers=0,
        val_fraction=0.1,
        input_scale="area",
        coarse_grain=None,
    )
    return dataclasses.replace(cfg, **changes)


def make_dm(tmp_path, **data):
    return EigenstateDataModule("su2", 8, 3, TRAIN, data_config(tmp_path, **data), {})


def test_split_is_deterministic_and_disjoint(tmp_path):
    dm = make_dm(tmp_path)
    train, val = dm.split_indices()
    train2, val2 = make_dm(tmp_path).split_indices()
    assert np.array_equal(train, train2) and np.array_equal(val, val2)
    assert len(val) == 4 and len(train) == 36
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(40))


def test_parts_of_the_training_states_are_disjoint_draws_that_cover_them_all(tmp_path):
    """replica_states: split: n networks learn n disjoint parts of every size's training
    states (the validation states all), together exactly the shared set."""
    sizes = [EigenstateDataModule("su2", L, 3, TRAIN, data_config(tmp_path), {}) for L in (8, 12)]
    whole = SizesDataModule(sizes)
    whole.prepare_data()
    whole.setup("fit")

    def seen(dataset) -> list[bytes]:
        return [dataset[i][0].numpy().tobytes() for i in range(len(dataset))]

    parts = [SizesDataModule(sizes, (k, 3)) for k in range(3)]
    for part in parts:
        part.setup("fit")
        assert seen(part.val_set) == seen(whole.val_set)
    images = [seen(part.train_set) for part in parts]
    assert [len(i) for i in images] == [24, 24, 24]  # 36 a size, a third each of both sizes
    for a, b in itertools.combinations(images, 2):
        assert set(a).isdisjoint(b)
    assert sorted(itertools.chain(*images)) == sorted(seen(whole.train_set))
    with pytest.raises(ValueError, match="part 3 of 3: not a part"):
        SizesDataModule(sizes, (3, 3))


def test_parts_of_training_states_made_on_the_fly_are_refused(tmp_path):
    dm = make_dm(tmp_path, mode="on_the_fly")
    dm.prepare_data()
    with pytest.raises(
        ValueError, match=r"part 1 of 2 of the training states needs data\.mode=cache"
    ):
        SizesDataModule([dm], (1, 2)).setup("fit")


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


def test_test_grid_states_are_labelled_and_disjoint_from_training(tmp_path):
    sets = TestSets(8, 3, data_config(tmp_path))
    data = sets.grid("su2", 1.0, GRID.values(6.2), GRID.states_per_w, {})
    assert len(data) == 8 and len(np.unique(data.W)) == 4
    assert np.array_equal(data.labels, (data.W > 5.953).astype(int))  # W_c at E = 1
    dm = make_dm(tmp_path)
    dm.prepare_data()
    dm.setup("fit")
    train_images = dm.train_set.data.images()
    assert not any(np.array_equal(img, t) for img in data.images() for t in train_images)


def test_test_grid_values():
    np.testing.assert_allclose(GRID.values(6.2), np.linspace(0.124, 12.4, 4))
    absolute = dataclasses.replace(GRID, relative=False, w_min=1.0, w_max=4.0)
    np.testing.assert_allclose(absolute.values(6.2), [1.0, 2.0, 3.0, 4.0])


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


def test_window_returns_gap_states(tmp_path):
    data = TestSets(10, 1, data_config(tmp_path)).window("chern", 1.0, -0.5, 0.5, 2, {})
    assert len(data) > 4 and np.all(np.abs(data.energies) <= 0.5)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"mode": "stream"}, "data.mode='stream'"),
        ({"val_fraction": 1.5}, "data.val_fraction=1.5"),
        ({"input_scale": "max"}, "data.input_scale='max'"),
        ({"shard_size": 0}, "data.shard_size=0"),
        ({"gen_workers": -3}, "data.gen_workers=-3"),
        ({"shard_index": 3, "shard_count": 3}, "shard_index=3"),
    ],
)
def test_bad_data_config_is_named(tmp_path, changes, match):
    with pytest.raises(ValueError, match=match.replace(".", r"\.")):
        check(data_config(tmp_path, **changes), "data.")
    check(data_config(tmp_path))  # the good one passes


def test_3d_states_are_served_as_cubes_scaled_by_the_number_of_sites(tmp_path):
    dm = EigenstateDataModule("anderson3d", 8, 3, TRAIN, data_config(tmp_path), {})
    assert dm.scale == 8.0**3
    dm.prepare_data()
    dm.setup("fit")
    x, _ = next(iter(dm.val_dataloader()))
    assert x.shape == (4, 1, 8, 8, 8)
    torch.testing.assert_close(x.mean(dim=(1, 2, 3, 4)), torch.ones(4))  # mean 1
    sets = TestSets(8, 3, data_config(tmp_path))
    assert sets.grid("anderson3d", 0.0, [5.0, 30.0], 1, {}).images().shape == (2, 8, 8, 8)


def test_box_weights_of_a_3d_model_feed_a_3d_box_network(tmp_path):
    dm = EigenstateDataModule("anderson3d", 8, 3, TRAIN, data_config(tmp_path, coarse_grain=4), {})
    assert dm.scale == 4.0**3  # 64 boxes of mean weight 1/64
    dm.prepare_data()
    dm.setup("fit")
    x, _ = next(iter(dm.val_dataloader()))
    assert x.shape == (4, 1, 4, 4, 4)
    torch.testing.assert_close(x.mean(dim=(1, 2, 3, 4)), torch.ones(4))
    from qpt.models.networks import BoxCNN3D

    assert BoxCNN3D(8)(x).shape == (4, 2)
    with pytest.raises(ValueError, match=r"data.coarse_grain=3: L=8 is no multiple"):
        EigenstateDataModule("anderson3d", 8, 3, TRAIN, data_config(tmp_path, coarse_grain=3), {})


def test_2d_only_data_paths_refuse_3d_models():
    from qpt.evaluation.evaluate import edge_weight

    with pytest.raises(ValueError, match="not square"):
        edge_weight(np.ones((2, 8, 8, 8), np.float32))

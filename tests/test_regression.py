"""Pinned numbers of one small run, so that no refactoring changes what qpt measures.

The values were produced by the code before the top-floor redesign (commit 6f95cd0, through
its train.py with the same overrides) and after it: identical to the last bit. A change of
seeds, data, network construction, optimiser, early stopping or the crossing estimator moves
them. (Tolerances allow for a CPU whose float32 kernels round differently; on the project's
machines the numbers are exact.)
"""

import pytest
import torch

from qpt.training import train
from tests.conftest import compose_cfg

SMALL_RUN = [
    "disorder=letter",  # the SU(2) default became letter_gap (issue 13); the pin stays
    "L=16",
    "disorder.train.states_per_phase=40",
    "disorder.test.n_w=6",
    "disorder.test.states_per_w=3",
    "data.shard_size=16",
    "data.gen_workers=1",
    "data.progress=false",
    "data.batch_size=16",
    "trainer.max_epochs=3",
    "trainer.min_epochs=1",
    "trainer.enable_progress_bar=false",
    "trainer.accelerator=cpu",
    "evaluation.n_bootstrap=50",
    "logger=none",
]
DATASET_KEY = "9a500c2d7f05452d3491bae6963d108cde69f3e4fc65370777d1beeb5de002b5"


def test_small_run_reproduces_its_pinned_numbers(tmp_run_dir):
    summary = train(compose_cfg([*SMALL_RUN, f"data.cache_dir={tmp_run_dir}/cache"]))
    meta = torch.load(summary["checkpoint"], weights_only=True)["hyper_parameters"]["meta"]
    assert meta["dataset_key"] == DATASET_KEY  # exact: a hash of what determines the data
    assert (summary["best_epoch"], summary["epochs"], summary["val_acc"]) == (2, 3, 0.75)
    assert summary["val_loss"] == pytest.approx(0.26870957016944885, rel=1e-6)
    crossing = [summary["evaluation"][f"crossing_W{s}/E0.0"] for s in ("", "_lo", "_hi")]
    assert crossing == pytest.approx([5.708013446807371, 5.145733250577143, 5.968278959883666])

"""Finding a transition qpt is not told: W_c and nu from two W ranges, by independent routes.

``python train.py experiment=discover_su2`` knows only ``disorder.train.phases``, two W ranges
deep in each phase. Nothing here reads the model's literature W_c (it is drawn on the
figures, for comparison, and nothing else). The routes (docs/DISCOVERY.md):

* ``network``: one network, trained on box weights of states from both ranges at every size,
  judges a W grid at each size; the curves P(W, L) are fitted with one-parameter scaling, and
  bootstrapped over states and networks (or, ``estimator: peak_position``, the largest size's
  curve is read at its maximum: :mod:`qpt.evaluation.peak`).
* ``confusion``: learning by confusion at one size or several together, once or over
  independent draws of states (:mod:`qpt.evaluation.confusion`).
* ``r``: the mean level-spacing ratio <r>(W, L), fitted with one-parameter scaling.
* ``bott``: the disorder-averaged Bott index (Chern model) of several sizes, fitted with
  one-parameter scaling.
* ``transfer_matrix``: Gamma = M / (localization length) of long bars of width M, fitted with
  one-parameter scaling (3D Anderson, SU(2) and Ando models; the literature's own method).

All results go to one MLflow run ``discover-<model>``: metrics ``discover/<route>/W_c`` (and
``_lo``, ``_hi``, ``nu``, ...), the table and the figure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader, TensorDataset

from qpt.config import TrainConfig, typed
from qpt.console import quiet
from qpt.data.cache import LoadedEnsemble
from qpt.data.config import input_scale
from qpt.data.datamodule import EigenstateDataModule, SizesDataModule
from qpt.data.ensemble import Ensemble
from qpt.data.generation import default_workers, pinned_imap
from qpt.data.progress import progress_bar
from qpt.data.testsets import TestSets
from qpt.evaluation.config import LevelRoute
from qpt.evaluation.confusion import confusion_curve, draws_curve
from qpt.evaluation.curves import curve, fit_crossing
from qpt.evaluation.evaluate import predict
from qpt.evaluation.locators import (
    bott_samples,
    check_transfer_matrix,
    gap_ratio_means,
    transfer_matrix_samples,
)
from qpt.evaluation.peak import peak_positions
from qpt.evaluation.scaling import ScalingEstimate, bootstrap_scaling, signature_z
from qpt.models.checkpoint import load_classifier
from qpt.models.module import PhaseClassifier
from qpt.physics.images import coarse_grain
from qpt.reporting import RouteResult, publish, write_discovery
from qpt.runs import flatten, git_commit, plain
from qpt.sweeps import job_tags, run_name
from qpt.tracking import build_loggers, ended_on_exit, run_info

log = logging.getLogger(__name__)


def discover(cfg: DictConfig) -> dict[str, Any]:
    """Run every configured route; returns the summary (``routes``: {route: result})."""
    conf: TrainConfig = typed(cfg)
    if conf.discover is None:
        raise ValueError("task=discover needs a discover: section (e.g. experiment=discover_su2)")
    if conf.data.generate_only:  # one job of a cluster array filling the caches
        for ensemble, n_states in cached_ensembles(conf):
            conf.data.ensure(ensemble, n_states)
        shard = conf.data.shard_index, conf.data.shard_count
        log.info("data.generate_only: shard %d of %d filled", *shard)
        return {"output_dir": conf.output_dir}
    if conf.discover.transfer_matrix is not None:  # before hours of other routes
        check_transfer_matrix(conf.model.name, conf.model.params)
    out = Path(conf.output_dir)
    tags = {"git_commit": git_commit(), "model": conf.model.name, "output_dir": str(out)}
    tags |= job_tags()
    name = run_name("discover", conf.model.name, job=tags.get("job"))
    loggers = build_loggers(conf.logger, model=conf.model.name, run_name=name, tags=tags)
    for lg in loggers:
        lg.log_hyperparams(flatten(plain(cfg)))
    routes = dict(
        network=network_route,
        confusion=confusion_route,
        r=r_route,
        bott=bott_route,
        transfer_matrix=transfer_matrix_route,
    )
    results = []
    with ended_on_exit(loggers):
        for name, route in routes.items():
            if getattr(conf.discover, name) is None:
                continue
            start = time.perf_counter()
            result = route(conf, out / name)
            results.append(dataclasses.replace(result, minutes=(time.perf_counter() - start) / 60))
            log.info("%s", results[-1].line())
        energy = conf.disorder.train.energy
        publish(loggers, *write_discovery(results, conf.model.name, conf.model.params, energy, out))
    summary = {"routes": {r.route: r for r in results}, "discovery": [r.line() for r in results]}
    return summary | {"output_dir": str(out)} | run_info(loggers)


def cached_ensembles(conf: TrainConfig) -> list[tuple[Ensemble, int]]:
    """Every cached ensemble the routes read, with its number of states: what a cluster job
    array fills (``data.generate_only`` with ``data.shard_index/shard_count``)."""
    d = conf.discover
    wanted = []
    if d.network:
        wanted += [(L, d.network.states_at(d.sizes, L)) for L in d.sizes]
    if d.confusion:
        wanted += [(L, d.confusion.states_per_w * d.confusion.draws) for L in d.confusion.sizes]
    out = []
    for L, per_w in wanted:
        module = _training_states(conf, L)
        out += [(module.train_ensemble, module.n_states), grid_states(conf, L, per_w)]
    if d.r:
        out += [grid_states(conf, L, d.r.realisations_at(L), d.r) for L in d.r.sizes or d.sizes]
    return out


def _training_states(conf: TrainConfig, L: int) -> EigenstateDataModule:
    """The states of the two W ranges at size L."""
    model = conf.model
    return EigenstateDataModule(
        model.name, L, conf.seed, conf.disorder.train, conf.data, model.params
    )


def grid_states(
    conf: TrainConfig, L: int, per_w: int, level_route: LevelRoute | None = None
) -> tuple[Ensemble, int]:
    """The discovery grid at size L and its number of states, ``per_w`` at each W: eigenstates
    nearest the training energy, or with ``level_route`` its levels on its boundaries."""
    params, n_levels = conf.model.params, 0
    if level_route:
        params = {**params, "boundary": level_route.boundary}
        n_levels = level_route.levels
    w_values = conf.discover.grid.values()
    ensemble = TestSets(L, conf.seed, conf.data).grid_ensemble(
        conf.model.name, conf.disorder.train.energy, w_values, params, n_levels
    )
    return ensemble, per_w * len(w_values)


def _scaling_result(
    route: str, samples: dict, conf: TrainConfig, form: Any, wc0: float
) -> RouteResult:
    """The bootstrap scaling fit of ``samples``, and the same without the smallest size."""
    fit = scaling_settings(conf, form, wc0)
    estimate: ScalingEstimate = bootstrap_scaling(samples, **fit)
    sizes = sorted(samples)
    dropped = None
    if len(sizes) > 2:
        dropped = bootstrap_scaling({L: samples[L] for L in sizes[1:]}, **fit)
    curves = {L: curve(*_means(*samples[L])) for L in sizes}
    found = (estimate.wc, estimate.wc_ci, estimate.nu, estimate.nu_ci)
    z = signature_z(samples, estimate.wc, form.signature)
    return RouteResult(
        route, *found, estimate, dropped, z, curves, samples=samples, signature=form.signature
    )


def scaling_settings(conf: TrainConfig, form: Any, wc0: float) -> dict[str, Any]:
    """``bootstrap_scaling``'s arguments for a route's scaling ``form``, started at ``wc0``."""
    fit = {"wc0": wc0, "nu0": 2.0, "order": form.order, "link": form.link, "window": None}
    fit |= {"irrelevant": form.irrelevant, "exponent": form.exponent}
    fit |= {"keep_above": form.keep_above, "floor": form.floor}
    return fit | {"n_bootstrap": conf.discover.n_bootstrap, "seed": conf.seed}


def _means(W: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return W, np.asarray(values).reshape(-1, len(W)).mean(axis=0)


def _fit_network(
    conf: TrainConfig, classifier: PhaseClassifier, data: SizesDataModule, dirpath: Path
) -> str:
    """Train quietly (no loggers) with the configured callbacks, the checkpoint in
    ``dirpath``; returns the best checkpoint."""
    callbacks = [
        instantiate(c, **({"dirpath": str(dirpath)} if "dirpath" in c else {}))
        for c in conf.callbacks.values()
    ]
    trainer = _quiet_trainer(conf, callbacks)
    trainer.fit(classifier, datamodule=data)
    return trainer.checkpoint_callback.best_model_path


def _quiet_trainer(conf: TrainConfig, callbacks: list, **overrides: Any) -> pl.Trainer:
    """The configured trainer without loggers, progress bar or model summary: discovery trains
    many networks (the confusion route hundreds), whose summaries would fill the run's log."""
    quiet = {"logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    return instantiate(conf.trainer, callbacks=callbacks, **quiet, **overrides)


def network_route(conf: TrainConfig, out: Path) -> RouteResult:
    d = conf.discover
    if not conf.data.coarse_grain:
        raise ValueError("the network route judges every size alike: set data.coarse_grain")
    networks = train_networks(conf, out)
    samples = judge_grids(conf, networks, network_grids(conf))
    if d.network.estimator == "peak_position":
        return _peak_result("network", samples, conf)
    wc0 = half_point(samples, d.grid.values())
    return _scaling_result("network", samples, conf, d.network.scaling, wc0)


def network_grids(conf: TrainConfig) -> dict[int, LoadedEnsemble]:
    """The network route's grid states at each size, drawn by ``conf.seed``."""
    d = conf.discover
    return {
        L: conf.data.load(*grid_states(conf, L, d.network.states_at(d.sizes, L))) for L in d.sizes
    }


def train_networks(conf: TrainConfig, out: Path) -> list[PhaseClassifier]:
    """The route's replicas (seeds ``conf.seed + replica``), each trained on the training states
    of every size that ``conf.seed`` draws (all, or with ``replica_states: split`` its own
    part of them); checkpoints under ``out``."""
    d, n = conf.discover, conf.discover.network.replicas
    modules = [_training_states(conf, L) for L in d.sizes]
    SizesDataModule(modules).prepare_data()
    networks = []
    for replica in range(n):
        part = (replica, n) if d.network.replica_states == "split" else (0, 1)
        data = SizesDataModule(modules, part)
        pl.seed_everything(conf.seed + replica, workers=True, verbose=False)
        meta = modules[0].describe() | {"sizes": d.sizes}
        clf = PhaseClassifier(
            conf.net, dataclasses.asdict(conf.optim), conf.symmetry, meta, conf.val_orbit
        )
        networks.append(load_classifier(_fit_network(conf, clf, data, out / f"replica{replica}")))
    return networks


def judge_grids(
    conf: TrainConfig, networks: list[PhaseClassifier], grids: dict[int, LoadedEnsemble]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{L: (W per state, P of shape (networks, states))}``: every network on every grid."""
    accelerator = conf.trainer["accelerator"]
    return {
        L: (grid.W, np.array([predict(net, grid, accelerator) for net in networks]))
        for L, grid in grids.items()
    }


def _peak_result(route: str, samples: dict, conf: TrainConfig) -> RouteResult:
    """W_c: the peak position of the largest size's curve (every size's is reported)."""
    peaks = peak_positions(samples, n_bootstrap=conf.discover.n_bootstrap, seed=conf.seed)
    top = peaks[max(peaks)]
    curves = {L: curve(*_means(*samples[L])) for L in sorted(samples)}
    shown = {"signature": "maximum", "signature_z": top.maximum_z}
    return RouteResult(
        route, top.position, top.ci, curves=curves, samples=samples, peaks=peaks, **shown
    )


def half_point(samples: dict[int, tuple[np.ndarray, np.ndarray]], w_values: list[float]) -> float:
    """Where the largest size's mean curve falls through 1/2 (else the grid's middle): the
    fit's start, since no W_c is given."""
    wc0 = fit_crossing(*_means(*samples[max(samples)]))
    return float(wc0) if np.isfinite(wc0) else float(np.mean(w_values))


def _sampling(conf: TrainConfig) -> dict[str, Any]:
    """What every network-free sampler takes from the run: seed, model, workers, progress."""
    data = conf.data
    return {
        "seed": conf.seed,
        "params": conf.model.params,
        "workers": data.gen_workers,
        "progress": data.progress,
    }


def confusion_route(conf: TrainConfig, out: Path) -> RouteResult:
    """Confusion on the grid's states of the route's sizes (one network per trial and replica
    learns all of them). Only the grid's: the ranges' states would leave gaps in W, and a
    boundary in a gap is learned perfectly whatever the physics."""
    d, route = conf.discover, conf.discover.confusion
    trials = confusion_trials(conf)
    meta = grid_meta(conf, max(route.sizes), route.coarse_grain) | {"sizes": route.sizes}
    grids = confusion_grids(conf)
    corrects = []
    for draw in range(route.draws):  # each its own states, network seeds and held-out fifth
        x, W = block_inputs(conf, grids, draw)  # training and held-out states
        seed = conf.seed + draw * route.replicas
        judged = judging_inputs(conf, grids, draw)
        desc = f"confusion draw {draw + 1}/{route.draws}: networks"
        corrects.append(
            learn_boundaries(conf, x, W, trials, meta, seed=seed, judged=judged, desc=desc)
        )
    if route.draws == 1:
        found = confusion_curve(trials, corrects[0], n_bootstrap=d.n_bootstrap, seed=conf.seed)
    else:
        found = draws_curve(trials, corrects)
    shown = {"signature": "maximum", "signature_z": found.maximum_z}
    return RouteResult("confusion", found.peak, found.peak_ci, confusion=found, **shown)


def confusion_trials(conf: TrainConfig) -> np.ndarray:
    """The trial boundaries: the midpoints of the discovery grid."""
    w_values = np.array(conf.discover.grid.values())
    return (w_values[1:] + w_values[:-1]) / 2


def confusion_grids(conf: TrainConfig) -> list[LoadedEnsemble]:
    """Each confusion size's grid: a block of ``states_per_w`` states a W for every draw, then
    ``judging_blocks`` more for every draw (generated if absent)."""
    route = conf.discover.confusion
    per_w = route.states_per_w * route.draws * (1 + route.judging_blocks)
    return [conf.data.load(*grid_states(conf, L, per_w)) for L in route.sizes]


def judging_inputs(
    conf: TrainConfig, grids: list[LoadedEnsemble], draw: int
) -> tuple[torch.Tensor, np.ndarray] | None:
    """The states only draw ``draw``'s networks judge: its ``judging_blocks`` blocks, which
    follow every draw's own block (None without any)."""
    route = conf.discover.confusion
    if not route.judging_blocks:
        return None
    first = route.draws + draw * route.judging_blocks
    blocks = [block_inputs(conf, grids, b) for b in range(first, first + route.judging_blocks)]
    return torch.cat([x for x, _ in blocks]), np.concatenate([W for _, W in blocks])


def block_inputs(
    conf: TrainConfig, grids: list[LoadedEnsemble], block_index: int
) -> tuple[torch.Tensor, np.ndarray]:
    """The network inputs (states x 1 x n x n, every size's) of the ``block_index``-th
    consecutive block of ``states_per_w`` states a W of each size's grid, and their W."""
    route = conf.discover.confusion
    block = route.states_per_w * len(conf.discover.grid.values())  # state i: W = w[i % n_w]
    start, stop = block_index * block, (block_index + 1) * block
    inputs, W = [], []
    for L, grid in zip(route.sizes, grids, strict=True):
        images, n = grid.images(start, stop), route.coarse_grain or L
        scale = np.float32(input_scale(n, conf.data.input_scale, images.ndim - 1))
        boxes = coarse_grain(images, n, images.ndim - 1) if route.coarse_grain else images
        inputs.append(boxes * scale)
        W.append(grid.W[start:stop])
    return torch.from_numpy(np.concatenate(inputs)).unsqueeze(1), np.concatenate(W)


def learn_boundaries(
    conf: TrainConfig,
    x: torch.Tensor,
    W: np.ndarray,
    trials: np.ndarray,
    meta: dict[str, Any],
    *,
    seed: int | None = None,
    judged: tuple[torch.Tensor, np.ndarray] | None = None,
    desc: str = "confusion: networks",
) -> np.ndarray:
    """Confusion's training: for each trial boundary, ``discover.confusion.replicas`` networks
    (seeds ``seed + replica``; ``seed`` defaults to ``conf.seed``) learn the label W > boundary
    on four fifths of the inputs ``x``, a fifth drawn by ``seed``. Returns
    ``correct[replica, trial, i]``: whether each got held-out input i right (the same fifth
    for every trial), then each of the inputs ``judged`` (x, W), which no network saw.
    The trials run in ``discover.confusion.workers`` processes, every network on one torch
    thread: a network then depends only on its seed and states, so the outcome is the same
    to the last bit with any number of workers or cores (with two threads the weights came
    out differently, by up to 0.02). Progress goes by trial boundary, under ``desc``."""
    route = conf.discover.confusion
    seed = conf.seed if seed is None else seed
    order = np.random.default_rng(seed).permutation(len(W))
    val, train = order[: len(W) // 5], order[len(W) // 5 :]
    judging = [(x[val], W[val]), *([judged] if judged is not None else [])]
    learned = (x[train], W[train])
    tasks = [(conf, *learned, judging, boundary, meta, seed) for boundary in trials]
    workers = route.workers or default_workers()
    learned_trials = progress_bar(
        pinned_imap(_learn_trial, tasks, workers),
        total=len(tasks),
        desc=desc,
        unit="boundary",
        interactive=conf.data.progress,
    )
    return np.stack(list(learned_trials), axis=1)


def _learn_trial(
    task: tuple[TrainConfig, torch.Tensor, np.ndarray, list, float, dict[str, Any], int],
) -> np.ndarray:
    """One trial boundary's networks: ``correct[replica, i]`` over the judged inputs (the
    held-out fifth first), trained and judged on one torch thread in whichever process runs
    it. Importable by name, for :func:`pinned_imap`'s workers."""
    conf, x, W, judging, boundary, meta, seed = task
    route = conf.discover.confusion
    y = torch.from_numpy((W > boundary).astype(np.int64))
    val_x, val_W = judging[0]
    val_y = torch.from_numpy((val_W > boundary).astype(np.int64))
    n_judged = sum(len(w) for _, w in judging)
    correct = np.empty((route.replicas, n_judged), bool)
    with _torch_threads(1), _lightning_silent():
        for replica in range(route.replicas):
            pl.seed_everything(seed + replica, workers=True, verbose=False)
            clf = PhaseClassifier(
                conf.net, dataclasses.asdict(conf.optim), conf.symmetry, meta, conf.val_orbit
            )
            loaders = [
                DataLoader(TensorDataset(xs, ys), batch_size=conf.data.batch_size, shuffle=shuffle)
                for xs, ys, shuffle in ((x, y, True), (val_x, val_y, False))
            ]
            epochs = {"max_epochs": route.epochs, "min_epochs": route.epochs}
            trainer = _quiet_trainer(conf, [], enable_checkpointing=False, **epochs)
            trainer.fit(clf, *loaders)
            with torch.no_grad():  # the held-out fifth alone first, as without ``judged``
                guesses = [clf.eval().probabilities(xj).argmax(dim=1).numpy() for xj, _ in judging]
            correct[replica] = np.concatenate(
                [g == (wj > boundary) for g, (_, wj) in zip(guesses, judging, strict=True)]
            )
    return correct


@contextlib.contextmanager
def _lightning_silent() -> Iterator[None]:
    """Lightning's information lines (the accelerators found, "max_epochs reached", tips)
    muted for the block: the confusion route's hundreds of networks printed four of them each
    (1920 lines at L = 64). In a spawned worker ``quiet()``'s filters are installed first,
    as the parent's are not inherited."""
    quiet()
    lightning = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    before = lightning.level
    lightning.setLevel(logging.WARNING)
    try:
        yield
    finally:
        lightning.setLevel(before)


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` for the block, then as they were."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def grid_meta(conf: TrainConfig, L: int, boxes: int | None) -> dict[str, Any]:
    """What a network judging L's grid records of its states (no training ensemble, no W_c):
    it sees ``boxes``^d box weights, or the images with None."""
    data = {"input_scale": conf.data.input_scale, "coarse_grain": boxes}
    return {"model": conf.model.name, "model_params": conf.model.params, "L": L, **data}


def r_route(conf: TrainConfig, out: Path) -> RouteResult:
    samples = level_samples(conf)
    wc0 = float(np.mean(conf.discover.grid.values()))
    return _scaling_result("r", samples, conf, conf.discover.r.scaling, wc0)


def level_samples(conf: TrainConfig) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The <r> route's data: per size, each realisation's W and mean gap ratio (1 x n)."""
    route, samples = conf.discover.r, {}
    for L in route.sizes or conf.discover.sizes:
        levels = conf.data.load(*grid_states(conf, L, route.realisations_at(L), route))
        samples[L] = (levels.W, gap_ratio_means(levels.images())[None, :])
    return samples


def bott_route(conf: TrainConfig, out: Path) -> RouteResult:
    d, route = conf.discover, conf.discover.bott
    grid = route.grid or d.grid
    sizes = {"sizes": route.sizes, "realisations": route.realisations}
    samples = bott_samples(grid.values(), **sizes, **_sampling(conf))
    return _scaling_result("bott", samples, conf, route.scaling, half_point(samples, grid.values()))


def transfer_matrix_route(conf: TrainConfig, out: Path) -> RouteResult:
    d, route = conf.discover, conf.discover.transfer_matrix
    grid = route.grid or d.grid
    bars = {"widths": route.widths, "length": route.length, "blocks": route.blocks}
    energy = conf.disorder.train.energy
    samples = transfer_matrix_samples(
        conf.model.name, energy, grid.values(), **bars, **_sampling(conf)
    )
    wc0 = float(np.mean(grid.values()))
    return _scaling_result("transfer_matrix", samples, conf, route.scaling, wc0)

"""Evaluate a trained classifier: transition curves, crossings, transfer, the gap sweep."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qpt.data.cache import EnsembleCache
from qpt.data.datamodule import input_scale
from qpt.data.ensemble import disorder_grid, grid_ensemble
from qpt.data.generation import generate_window
from qpt.evaluation import plots
from qpt.evaluation.curves import crossing_with_ci, curve
from qpt.models.module import PhaseClassifier
from qpt.physics import get_model
from qpt.tracking import TrackedRun

log = logging.getLogger(__name__)


def energy_tag(energy: float) -> str:
    return f"E{float(energy)}"


@torch.no_grad()
def phase0_probability(
    classifier: PhaseClassifier, images: np.ndarray, batch: int = 512
) -> np.ndarray:
    """P(weak-disorder phase) for each image (raw |psi|^2, scaled as in training)."""
    L = images.shape[-1] if len(images) else int(classifier.meta["L"])
    scale = np.float32(input_scale(L, classifier.meta.get("input_scale", "area")))
    classifier.eval()
    device = classifier.device
    out = []
    for i in range(0, len(images), batch):
        x = (
            torch.from_numpy(np.ascontiguousarray(images[i : i + batch]) * scale)
            .unsqueeze(1)
            .to(device)
        )
        out.append(classifier.probabilities(x)[:, 0].cpu().numpy())
    return np.concatenate(out) if out else np.empty(0)


def _reference_wc(model: str, energy: float) -> float | None:
    try:
        return get_model(model).critical_disorder(energy)
    except ValueError:
        return None


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def evaluate_classifier(
    classifier: PhaseClassifier,
    *,
    test_cfg: dict[str, Any],
    data_cfg: dict[str, Any],
    seed: int,
    out: Path,
    energies: list[float] | None = None,
    models: list[str] | None = None,
    n_bootstrap: int = 200,
    gap_sweep: dict[str, Any] | None = None,
    run: TrackedRun | None = None,
    L: int | None = None,
) -> dict[str, Any]:
    """Transition curves of ``classifier`` on fresh test ensembles (seed stream "test",
    disjoint from training) for each model and energy, plus the optional gap sweep."""
    meta = classifier.meta
    trained_on = meta["model"]
    L = int(meta["L"]) if L is None else int(L)
    if L != int(meta["L"]) and not getattr(classifier.net, "size_agnostic", False):
        raise ValueError(
            f"the network was trained at L={meta['L']} and is not size-agnostic; cannot judge L={L}"
        )
    trained_class = get_model(trained_on).symmetry_class
    models = models or [trained_on]
    energies = [float(e) for e in (energies if energies is not None else test_cfg["energies"])]
    grid = disorder_grid(test_cfg, float(meta["critical_disorder"]))
    states_per_w = int(test_cfg["states_per_w"])
    if states_per_w < 1:
        raise ValueError(f"disorder.test.states_per_w={states_per_w} must be >= 1")
    out.mkdir(parents=True, exist_ok=True)
    phase0 = meta["phases"][0]
    summary: dict[str, Any] = {"trained_on": trained_on, "L": L, "phase": phase0, "curves": {}}
    metrics: dict[str, float] = {}
    for model in models:
        if get_model(model).symmetry_class != trained_class:
            raise ValueError(
                f"cannot apply a network trained on {trained_on!r} (class {trained_class}) "
                f"to model {model!r} (class {get_model(model).symmetry_class})"
            )
        params = meta.get("model_params") or {} if model == trained_on else {}
        panel = []
        for energy in energies:
            ens = grid_ensemble(
                model,
                L,
                energy,
                grid.tolist(),
                seed=seed,
                params=params,
                stream="test",
                reference_critical_disorder=_reference_wc(model, energy),
            )
            cache = EnsembleCache(data_cfg["cache_dir"], ens, int(data_cfg.get("shard_size", 250)))
            data = cache.get(
                states_per_w * len(grid),
                workers=data_cfg.get("gen_workers"),
                progress=bool(data_cfg.get("progress", True)),
            )
            p = phase0_probability(classifier, data.images())
            c = curve(data.W, p)
            cross = crossing_with_ci(data.W, p, n_bootstrap=n_bootstrap, seed=seed)
            wc = _reference_wc(model, energy)
            tag = f"{model}_{energy_tag(energy)}"
            _write_csv(out / f"curve_{tag}.csv", ["W", f"P_{phase0}", "sem", "n_states"], c.rows())
            prefix = "" if model == trained_on else f"{model}/"
            metrics |= {
                f"{prefix}crossing_W/{energy_tag(energy)}": cross.W,
                f"{prefix}crossing_W_lo/{energy_tag(energy)}": cross.lo,
                f"{prefix}crossing_W_hi/{energy_tag(energy)}": cross.hi,
            }
            summary["curves"][tag] = {
                "model": model,
                "energy": energy,
                "critical_disorder": wc,
                "crossing": cross.as_dict(),
                "mean_abs_eigenenergy_offset": float(np.mean(np.abs(data.energies - energy))),
            }
            panel.append((energy, c, cross, wc))
            log.info(
                "%s E=%g: P crosses 1/2 at W* = %.3f [%.3f, %.3f] (W_c = %s)",
                model,
                energy,
                cross.W,
                cross.lo,
                cross.hi,
                wc,
            )
        plots.transition_curves(
            panel,
            out / f"transition_{model}.png",
            phase=phase0,
            title=f"{model}, L = {L} (network trained on {trained_on})",
        )
    if gap_sweep:
        summary["gap_sweep"] = _gap_sweep(classifier, gap_sweep, seed, out, metrics)
    (out / "evaluation.json").write_text(json.dumps(summary, indent=1))
    if run is not None:
        run.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        for f in (
            sorted(out.glob("curve_*.csv")) + sorted(out.glob("*.png")) + [out / "evaluation.json"]
        ):
            if f.name.startswith(("curve_", "transition_", "gap_", "evaluation")):
                run.log_artifact(f, "evaluation")
    summary["metrics"] = metrics
    return summary


EDGE_WIDTH = 3  # sites from the boundary counted as "edge" in the gap sweep


def edge_weight(images: np.ndarray, width: int = EDGE_WIDTH) -> np.ndarray:
    """Fraction of |psi|^2 within ``width`` sites of an open boundary, per image: a
    network-free marker of chiral edge states (a bulk state spreads it ~ 4 width / L)."""
    inner = images[:, width:-width, width:-width].sum(axis=(1, 2))
    return 1.0 - inner / images.sum(axis=(1, 2))


def _gap_sweep(
    classifier: PhaseClassifier,
    cfg: dict[str, Any],
    seed: int,
    out: Path,
    metrics: dict[str, float],
) -> dict[str, Any]:
    """The letter's Fig. 5b: every state with emin <= E <= emax at a few W, judged by the
    network and, independently, by its weight on the boundary."""
    meta = classifier.meta
    model, L = meta["model"], int(meta["L"])
    emin, emax = float(cfg["emin"]), float(cfg["emax"])
    n_bins = int(cfg.get("bins", 20))
    phase = meta["phases"][0]
    result, series = {}, []
    for W in cfg["disorders"]:
        ens = grid_ensemble(
            model,
            L,
            (emin + emax) / 2,
            [float(W)],
            seed=seed,
            params=meta.get("model_params") or {},
            stream="window",
        )
        images, info = generate_window(ens, emin, emax, int(cfg["realisations"]))
        p = phase0_probability(classifier, images)
        edge = edge_weight(images)
        energies = info[:, 1]
        order = np.argsort(energies)
        _write_csv(
            out / f"gap_sweep_W{float(W)}.csv",
            ["energy", f"P_{phase}", "edge_weight"],
            [(energies[i], p[i], edge[i]) for i in order],
        )
        edges = np.linspace(emin, emax, n_bins + 1)
        which = np.clip(np.digitize(energies, edges) - 1, 0, n_bins - 1)
        binned = curve(which, p)
        centres = (edges[:-1] + edges[1:]) / 2
        key = f"W{float(W)}"
        result[key] = {
            "n_states": len(p),
            "mean": float(p.mean()) if len(p) else float("nan"),
            "bins": [
                {
                    "energy": float(centres[int(b)]),
                    "mean": float(m),
                    "sem": float(e),
                    "n": int(n),
                    "median_edge_weight": float(np.median(edge[which == int(b)])),
                }
                for b, m, e, n in binned.rows()
            ],
            # a state spread uniformly over the lattice has this edge weight
            "bulk_edge_weight": 1.0 - (L - 2 * EDGE_WIDTH) ** 2 / L**2,
        }
        metrics[f"gap_sweep/mean_P/{key}"] = result[key]["mean"]
        series.append(
            (float(W), energies, p, centres[binned.W.astype(int)], binned.mean, binned.sem)
        )
    plots.gap_sweep(
        series,
        out / "gap_sweep.png",
        phase=phase,
        emin=emin,
        emax=emax,
        title=f"{model}, L = {L}: states with {emin} <= E <= {emax}",
    )
    return result

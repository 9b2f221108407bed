"""Finite-size-scaling study over a multirun of sizes L: a Hydra callback.

``python train.py experiment=fss_su2`` sweeps L (one network per L, each trained and
evaluated as usual); when the sweep ends, :class:`FiniteSizeScaling` reads every job's
transition curve, fits P(W, L) = f((W - W_c) L^(1/nu)), computes the non-ML locators at the
same sizes, writes the plots and a JSON summary into the sweep directory and logs them as an
MLflow run ``fss-<model>``.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from qpt.evaluation import plots
from qpt.evaluation.curves import fit_crossing
from qpt.evaluation.evaluate import energy_tag
from qpt.evaluation.locators import (
    bott_curve,
    crossing_of_two_curves,
    half_crossing,
    spectral_locators,
)
from qpt.evaluation.scaling import fit_scaling
from qpt.physics import get_model
from qpt.tracking import TrackedRun, git_commit

log = logging.getLogger(__name__)


def collect_curves(sweep_dir: Path, model: str, energy: float) -> dict[int, np.ndarray]:
    """{L: rows (W, P, sem, n)} from every finished job of the sweep."""
    curves = {}
    for cfg_path in sorted(sweep_dir.glob("*/config.yaml")):
        L = int(OmegaConf.load(cfg_path).L)
        csv = cfg_path.parent / "evaluation" / f"curve_{model}_{energy_tag(energy)}.csv"
        if csv.exists():
            curves[L] = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)
    return curves


def run_study(cfg: DictConfig, sweep_dir: Path) -> dict[str, Any]:
    """The study of a sweep with one network per L (curves read from the jobs' outputs)."""
    curves = collect_curves(sweep_dir, cfg.model.name, float(cfg.disorder.train.energy))
    return analyse(cfg, curves, sweep_dir)


def analyse(cfg: DictConfig, curves: dict[int, np.ndarray], sweep_dir: Path) -> dict[str, Any]:
    """Fit the scaling form to ``curves`` ({L: rows W, P, sem, n}), compute the locators,
    write fss.json and the plots into ``sweep_dir``."""
    fss = cfg.fss
    model, energy = cfg.model.name, float(cfg.disorder.train.energy)
    params = OmegaConf.to_container(cfg.model.params, resolve=True)
    wc_ref = get_model(model).critical_disorder(energy)
    if len(curves) < 2:
        raise ValueError(f"finite-size scaling needs curves of >= 2 sizes; found {sorted(curves)}")
    W = np.concatenate([c[:, 0] for c in curves.values()])
    Ls = np.concatenate([np.full(len(c), L) for L, c in curves.items()])
    P = np.concatenate([c[:, 1] for c in curves.values()])
    sem = np.concatenate([c[:, 2] for c in curves.values()])
    fit_args = {
        "wc0": wc_ref,
        "nu0": float(fss.nu0),
        "order": int(fss.order),
        "window": float(fss.window),
    }
    fit = fit_scaling(W, Ls, P, sem, **fit_args)
    # f(0) = 1/2 fixed: W_c from where the curves pass 1/2, nu from their slopes
    anchored = fit_scaling(W, Ls, P, sem, anchored=True, **fit_args)
    summary: dict[str, Any] = {
        "model": model,
        "energy": energy,
        "reference_wc": wc_ref,
        "reference_nu": fss.get("reference_nu"),
        "network_fit": fit.as_dict(),
        "network_fit_anchored": anchored.as_dict(),
        "network_half_crossings": {
            f"L{L}": fit_crossing(c[:, 0], c[:, 1]) for L, c in sorted(curves.items())
        },
    }
    for label, result, png in (
        ("free", fit, "fss_collapse.png"),
        ("f(0) = 1/2", anchored, "fss_collapse_anchored.png"),
    ):
        text = (
            f"W_c = {result.wc:.3f} [{result.wc_ci[0]:.3f}, {result.wc_ci[1]:.3f}], "
            f"nu = {result.nu:.2f} [{result.nu_ci[0]:.2f}, {result.nu_ci[1]:.2f}], "
            f"chi2/dof = {result.reduced_chi2:.2f}"
        )
        log.info("FSS of the network's curves (%s): %s", label, text)
        plots.scaling_collapse(
            curves,
            result,
            sweep_dir / png,
            title=f"{model}, {label}: W_c = {result.wc:.3f}, nu = {result.nu:.2f} "
            f"(chi2/dof {result.reduced_chi2:.2f})",
        )
    loc = fss.locators
    if loc and loc.get("realisations", 0) > 0:
        w_values = np.linspace(float(loc.w_min) * wc_ref, float(loc.w_max) * wc_ref, int(loc.n_w))
        spectral = {
            L: spectral_locators(
                model,
                L,
                energy,
                w_values,
                realisations=int(loc.realisations),
                levels=int(loc.levels),
                seed=cfg.seed,
                params=params,
                progress=bool(cfg.data.progress),
            )
            for L in sorted(curves)
        }
        sizes = sorted(spectral)
        r_cross = [
            crossing_of_two_curves(w_values, spectral[a]["r"], spectral[b]["r"])
            for a, b in itertools.pairwise(sizes)
        ]
        # tau_2 from ln IPR = -tau_2 ln L + c at the W closest to W_c
        j = int(np.argmin(np.abs(w_values - wc_ref)))
        slope = np.polyfit(np.log(sizes), [spectral[L]["log_ipr"][j] for L in sizes], 1)[0]
        summary["locators"] = {
            "r_crossings": dict(
                zip(
                    [f"L{a}-L{b}" for a, b in itertools.pairwise(sizes)],
                    r_cross,
                    strict=True,
                )
            ),
            "r_crossing_mean": float(np.nanmean(r_cross)) if np.isfinite(r_cross).any() else None,
            "tau2_at_wc": float(-slope),
            "W_for_tau2": float(w_values[j]),
        }
        bott = None
        if loc.get("bott_L"):
            bott = bott_curve(
                w_values,
                L=int(loc.bott_L),
                realisations=int(loc.bott_realisations),
                seed=cfg.seed,
                params=params,
                progress=bool(cfg.data.progress),
            )
            summary["locators"]["bott_half_crossing"] = half_crossing(bott["W"], bott["bott"])
        plots.locators(
            curves, spectral, bott, sweep_dir / "fss_locators.png", wc=wc_ref, model=model
        )
        log.info(
            "locators: <r> crossings %s, tau_2(W_c) = %.2f",
            np.round(r_cross, 3),
            summary["locators"]["tau2_at_wc"],
        )
    (sweep_dir / "fss.json").write_text(json.dumps(summary, indent=1, default=float))
    return summary


def log_study(config: DictConfig, summary: dict[str, Any], out: Path, run: TrackedRun) -> None:
    metrics = {}
    for key, prefix in (("network_fit", "fss/"), ("network_fit_anchored", "fss/anchored/")):
        fit = summary[key]
        metrics |= {
            f"{prefix}W_c": fit["wc"],
            f"{prefix}W_c_lo": fit["wc_ci"][0],
            f"{prefix}W_c_hi": fit["wc_ci"][1],
            f"{prefix}nu": fit["nu"],
            f"{prefix}nu_lo": fit["nu_ci"][0],
            f"{prefix}nu_hi": fit["nu_ci"][1],
            f"{prefix}reduced_chi2": fit["reduced_chi2"],
        }
    for key in ("r_crossing_mean", "tau2_at_wc", "bott_half_crossing"):
        value = summary.get("locators", {}).get(key)
        if value is not None and np.isfinite(value):
            metrics[f"fss/{key}"] = value
    run.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
    for name in ("fss.json", "fss_collapse.png", "fss_collapse_anchored.png", "fss_locators.png"):
        if (out / name).exists():
            run.log_artifact(out / name, "fss")


class FiniteSizeScaling(Callback):
    """Hydra callback: after the L sweep, fit and log the scaling study."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        summary = run_study(config, sweep_dir)
        if not config.logger.tracking_uri:
            return
        run = TrackedRun(
            config.logger.tracking_uri,
            config.logger.experiment_name or f"qpt-{config.model.name}",
            f"fss-{config.model.name}-{config.net.name}",
            tags={"git_commit": git_commit(), "sweep_dir": str(sweep_dir)},
        )
        run.log_params(
            {
                "sizes": summary["network_fit"]["sizes"],
                "order": config.fss.order,
                "window": config.fss.window,
            }
        )
        log_study(config, summary, sweep_dir, run)
        run.end()

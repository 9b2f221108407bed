"""A finite-size-scaling study of transition curves of several sizes L.

Given the networks' P(W, L) (one curve per L), fit P = f((W - W_c) L^(1/nu)) freely and with
f(0) = 1/2 (:mod:`qpt.evaluation.scaling`), and compute, at the same sizes, the locators that
need no network (:mod:`qpt.evaluation.locators`). Computation only: :mod:`qpt.reporting`
draws and writes the study, :mod:`qpt.studies` runs it after a sweep over L.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from qpt.evaluation.config import FSSConfig
from qpt.evaluation.curves import Curve, first_fall, fit_crossing
from qpt.evaluation.locators import bott_curve, crossing_of_two_curves, spectral_locators
from qpt.evaluation.scaling import ScalingFit, fit_scaling
from qpt.physics import get_model


@dataclass
class ScalingStudy:
    model: str
    energy: float
    reference_wc: float
    reference_nu: float | None
    curves: dict[int, Curve]
    fit: ScalingFit
    anchored: ScalingFit
    spectral: dict[int, dict[str, Any]] | None = None  # per L: <r>, ln IPR against W
    bott: dict[str, np.ndarray] | None = None

    def half_crossings(self) -> dict[int, float]:
        return {L: fit_crossing(c.W, c.mean) for L, c in sorted(self.curves.items())}

    def locator_summary(self) -> dict[str, Any]:
        if not self.spectral:
            return {}
        sizes = sorted(self.spectral)
        w_values = self.spectral[sizes[0]]["W"]
        r_cross = {
            f"L{a}-L{b}": crossing_of_two_curves(
                w_values, self.spectral[a]["r"], self.spectral[b]["r"]
            )
            for a, b in itertools.pairwise(sizes)
        }
        # tau_2 from ln IPR = -tau_2 ln L + c at the W closest to W_c
        j = int(np.argmin(np.abs(w_values - self.reference_wc)))
        ipr = [self.spectral[L]["log_ipr"][j] for L in sizes]
        values = np.array(list(r_cross.values()))
        out = {
            "r_crossings": r_cross,
            "r_crossing_mean": float(np.nanmean(values)) if np.isfinite(values).any() else None,
            "tau2_at_wc": float(-np.polyfit(np.log(sizes), ipr, 1)[0]),
            "W_for_tau2": float(w_values[j]),
        }
        if self.bott is not None:
            out["bott_half_crossing"] = first_fall(self.bott["W"], self.bott["bott"])
        return out

    def summary(self) -> dict[str, Any]:
        """Everything but the curves, as JSON-ready values."""
        out = {
            "model": self.model,
            "energy": self.energy,
            "reference_wc": self.reference_wc,
            "reference_nu": self.reference_nu,
            "network_fit": self.fit.as_dict(),
            "network_fit_anchored": self.anchored.as_dict(),
            "network_half_crossings": {f"L{L}": w for L, w in self.half_crossings().items()},
        }
        if self.spectral:
            out["locators"] = self.locator_summary()
        return out


def scaling_study(
    curves: dict[int, Curve],
    *,
    model: str,
    energy: float,
    params: dict[str, Any],
    cfg: FSSConfig,
    seed: int,
    progress: bool,
) -> ScalingStudy:
    """Fit the scaling form to ``curves`` ({L: P(W)}) and compute the locators of ``cfg``."""
    if len(curves) < 2:
        raise ValueError(f"finite-size scaling needs curves of >= 2 sizes; found {sorted(curves)}")
    wc_ref = get_model(model, **params).critical_disorder(energy)
    W, Ls, P, sem = (
        np.concatenate(a)
        for a in zip(
            *((c.W, np.full(len(c.W), L), c.mean, c.sem) for L, c in curves.items()), strict=True
        )
    )
    fit_args = {"wc0": wc_ref, "nu0": cfg.nu0, "order": cfg.order, "window": cfg.window}
    study = ScalingStudy(
        model,
        energy,
        wc_ref,
        cfg.reference_nu,
        curves,
        fit_scaling(W, Ls, P, sem, **fit_args),
        # f(0) = 1/2 fixed: W_c from where the curves cross 1/2, nu from their slopes
        fit_scaling(W, Ls, P, sem, anchored=True, **fit_args),
    )
    loc = cfg.locators
    if loc.realisations > 0:
        w_values = np.linspace(loc.w_min * wc_ref, loc.w_max * wc_ref, loc.n_w)
        study.spectral = {
            L: spectral_locators(
                model,
                L,
                energy,
                w_values,
                realisations=loc.realisations,
                levels=loc.levels,
                seed=seed,
                params=params,
                progress=progress,
            )
            for L in sorted(curves)
        }
        if loc.bott_L:
            study.bott = bott_curve(
                w_values,
                L=loc.bott_L,
                realisations=loc.bott_realisations,
                seed=seed,
                params=params,
                progress=progress,
            )
    return study

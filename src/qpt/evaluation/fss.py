"""A finite-size-scaling study of one network per size L trained on the letter's labels:
P(W, L) = f((W - W_c) L^(1/nu)), fitted freely and with f(0) = 1/2
(:mod:`qpt.evaluation.scaling`). Computation only: :mod:`qpt.reporting` draws and writes the
study, :mod:`qpt.studies` runs it after a sweep over L. The routes that find a transition
without being told it (and the network-free locators) are :mod:`qpt.discovery`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qpt.evaluation.config import FSSConfig
from qpt.evaluation.curves import Curve, fit_crossing
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

    def summary(self) -> dict[str, Any]:
        """Everything but the curves, as JSON-ready values."""
        return {
            "model": self.model,
            "energy": self.energy,
            "reference_wc": self.reference_wc,
            "reference_nu": self.reference_nu,
            "network_fit": self.fit.as_dict(),
            "network_fit_anchored": self.anchored.as_dict(),
            "network_half_crossings": {
                f"L{L}": fit_crossing(c.W, c.mean) for L, c in sorted(self.curves.items())
            },
        }


def scaling_study(
    curves: dict[int, Curve], *, model: str, energy: float, params: dict[str, Any], cfg: FSSConfig
) -> ScalingStudy:
    """Fit the scaling form to ``curves`` ({L: P(W)}), freely and anchored."""
    if len(curves) < 2:
        raise ValueError(f"finite-size scaling needs curves of >= 2 sizes; found {sorted(curves)}")
    physics = get_model(model, **params)
    wc_ref = physics.critical_disorder(energy)
    points = [(c.W, np.full(len(c.W), L), c.mean, c.sem) for L, c in curves.items()]
    W, Ls, P, sem = (np.concatenate(a) for a in zip(*points, strict=True))
    fit = dict(wc0=wc_ref, nu0=cfg.nu0, order=cfg.order, window=cfg.window, link=cfg.link)
    free = fit_scaling(W, Ls, P, sem, **fit)
    # f(0) = 1/2 fixed: W_c from where the curves cross 1/2, nu from their slopes
    anchored = fit_scaling(W, Ls, P, sem, anchored=True, **fit)
    return ScalingStudy(model, energy, wc_ref, physics.critical_exponent, curves, free, anchored)

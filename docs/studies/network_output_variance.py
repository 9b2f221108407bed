"""nu from the width of the output variance's peak (Chertenkov, Burovski & Shchur, PRE 108,
L032102 (2023)) on one network run's per-state outputs, beside the network route's collapse
(docs/DISCOVERY.md, "The output-variance recipe").

Reads ``network_samples.npz`` of a discovery run (one row per network) and prints, per size,
the variance of the outputs across states at each W and the Gaussian fitted to it (centre and
width with 95% bootstrap intervals over the networks and, within each (L, W), the states),
then nu from the widths with all sizes and with the smallest left out in turn.
``--synthetic N`` first checks the recipe where the answer is known: N data sets with the
run's W per state and number of networks, outputs that obey one-parameter scaling with
``--truth-nu`` and a peak as wide as the run's at its smallest size, and prints how often
the 95% interval covers the truth and the estimates' mean and spread.

    .venv/bin/python docs/studies/network_output_variance.py --samples RUN/network_samples.npz \\
        --plot variance.png [--synthetic 40]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from network_replicas import load_samples  # this folder (the script's) is on sys.path
from scipy.special import expit

from qpt.evaluation import plots
from qpt.evaluation.output_variance import WidthExponent, variance_peaks, width_exponent

#: the synthetic networks' sharpness: p = expit(-SHARPNESS (x / spread + g)), g ~ N(0, 1) a
#: state's own shift; the variance across states is then a function of x / spread alone
SHARPNESS = 4.5
TRUTH_WC = 6.2


def synthetic_outputs(
    rng: np.random.Generator,
    shape: dict[int, tuple[np.ndarray, int]],
    *,
    nu: float,
    spread: float,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Outputs of ``networks`` networks (each its own sharpness, +-10%) for states at the
    given W of each size (``shape[L] = (W, networks)``), x = (W - 6.2) L^(1/nu)."""
    networks = next(iter(shape.values()))[1]
    sharpness = SHARPNESS * (1 + 0.1 * rng.standard_normal(networks))
    samples = {}
    for L, (W, _) in shape.items():
        x = (W - TRUTH_WC) * L ** (1 / nu) / spread + rng.standard_normal(W.size)
        samples[L] = (W, expit(-sharpness[:, None] * x[None, :]))
    return samples


def matching_spread(run: WidthExponent, shape: dict, nu: float) -> float:
    """The spread whose synthetic peak at the smallest size is as wide as the run's: the
    width in W is proportional to it, so one large draw at spread 1 calibrates it."""
    L = min(shape)
    W = np.repeat(np.unique(shape[L][0]), 20000)
    big = synthetic_outputs(np.random.default_rng(0), {L: (W, 1)}, nu=nu, spread=1.0)
    return run.peaks[L].width / variance_peaks(big)[L].width


def describe(estimate: WidthExponent) -> str:
    lo, hi = estimate.nu_ci
    failed = f" ({estimate.n_failed} resamples failed)" if estimate.n_failed else ""
    return f"L = {sorted(estimate.peaks)}: nu {estimate.nu:.2f} [{lo:.2f}, {hi:.2f}]{failed}"


def coverage(shape: dict, args: argparse.Namespace, spread: float) -> None:
    rng = np.random.default_rng(args.seed)
    estimates = []
    for i in range(args.synthetic):
        samples = synthetic_outputs(rng, shape, nu=args.truth_nu, spread=spread)
        estimates.append(width_exponent(samples, n_bootstrap=args.bootstrap, seed=args.seed + i))
    nu = np.array([e.nu for e in estimates])
    covered = sum(e.nu_ci[0] <= args.truth_nu <= e.nu_ci[1] for e in estimates)
    print(
        f"synthetic (truth nu {args.truth_nu}, spread {spread:.2f}; {args.synthetic} data sets): "
        f"nu {nu.mean():.2f} (sem {nu.std(ddof=1) / np.sqrt(len(nu)):.2f}), spread "
        f"{nu.std(ddof=1):.2f}; 1/nu {np.mean(1 / nu):.3f} against {1 / args.truth_nu:.3f}; "
        f"covered {covered}/{args.synthetic}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, required=True, help="a run's network_samples.npz")
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples per estimate")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--plot", type=Path, help="write the variances and widths here")
    parser.add_argument("--synthetic", type=int, default=0, help="synthetic data sets first")
    parser.add_argument("--truth-nu", type=float, default=2.73, help="the synthetic truth")
    args = parser.parse_args()
    samples = load_samples(args.samples)
    estimate = width_exponent(samples, n_bootstrap=args.bootstrap, seed=args.seed)
    shape = {L: (W, values.shape[0]) for L, (W, values) in samples.items()}
    if args.synthetic:
        coverage(shape, args, matching_spread(estimate, shape, args.truth_nu))
    for L, peak in estimate.peaks.items():
        (clo, chi), (wlo, whi) = estimate.centre_ci[L], estimate.width_ci[L]
        print(
            f"L = {L}: variance " + " ".join(f"{v:.4f}" for v in peak.variance) + f" (W = "
            f"{peak.W[0]:g} ... {peak.W[-1]:g}); centre {peak.centre:.3f} [{clo:.3f}, {chi:.3f}]"
            f", width {peak.width:.3f} [{wlo:.3f}, {whi:.3f}], chi2/dof {peak.reduced_chi2:.2f}"
        )
    print(describe(estimate))
    sizes = sorted(samples)
    for k in range(1, len(sizes) - 2):  # the trend with L_min, while three sizes are left
        kept = {L: samples[L] for L in sizes[k:]}
        print(describe(width_exponent(kept, n_bootstrap=args.bootstrap, seed=args.seed)))
    if args.plot:
        title = f"output variance of {args.samples.parent.name}"
        plots.output_variance_peaks(estimate, args.plot, reference_nu=args.truth_nu, title=title)
        print(f"figure: {args.plot}")


if __name__ == "__main__":
    main()

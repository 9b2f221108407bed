"""The confusion route's two intervals where the answer is known (docs/DISCOVERY.md,
"Confusion over independent draws").

Synthetic validation outcomes shaped like the SU(2) route's at L = 32: trial boundaries 0.5
apart (4.25 ... 8.75), an error rate 0.07 on a flat top within ``half`` of the boundary W_c,
rising by 0.04 a unit of W outside it. Each draw of training states tilts every trial by its
own normal amount (``draw_sd``; the networks of a draw share their states), each of its 8
networks by 0.003 more, and 1320 held-out states are judged (a fifth of 600 states at each of
11 W). For every setting, ``--studies`` studies of 6 draws each: how often the first draw's
bootstrap interval (over its networks and held-out states: ``confusion_curve``) covers W_c,
and how often the Student-t interval over the 6 draws' maxima does (``draws_curve``), with
the median widths, and the mean and spread of the draws' estimate.

With ``--runs``, the same t-interval on real draws instead: the maxima of the named runs'
draws (their ``discovery.json``) pooled are the distribution, their mean the known answer.
For n = 6, 12 and 24 draws resampled from it, how often the t-interval covers that mean;
and, the runs' draws shuffled among the runs, how often a run's draws scatter as little as
the tightest run's did (a test that every run's draws come from one distribution).

    .venv/bin/python docs/studies/confusion_draws.py [--studies 100]
    .venv/bin/python docs/studies/confusion_draws.py --runs RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import t as student_t

from qpt.evaluation.confusion import confusion_curve, draws_curve

TRIALS = np.arange(4.25, 9.0, 0.5)
NETWORKS, HELD_OUT, DRAWS = 8, 1320, 6
# (W_c, the top's half-width, each draw's tilt): the default case, then one changed at a time
SETTINGS = [
    (6.2, 0.9, 0.006),
    (6.2, 0.9, 0.0),
    (6.2, 0.9, 0.012),
    (6.0, 0.9, 0.006),
    (6.4, 0.9, 0.006),
    (6.2, 0.4, 0.006),
    (6.2, 1.3, 0.006),
    (6.1, 0.0, 0.006),
]


def draw(rng: np.random.Generator, wc: float, half: float, draw_sd: float) -> np.ndarray:
    """One draw's ``correct[network, trial, state]``."""
    error = 0.07 + 0.04 * np.clip(np.abs(TRIALS - wc) - half, 0, None)
    error = error + rng.normal(0, draw_sd, len(TRIALS))
    error = error + rng.normal(0, 0.003, (NETWORKS, len(TRIALS)))
    return rng.random((NETWORKS, len(TRIALS), HELD_OUT)) > error[:, :, None]


def study(wc: float, half: float, draw_sd: float, studies: int) -> str:
    covered_one = covered_draws = 0
    widths_one, widths_draws, estimates = [], [], []
    for s in range(studies):
        rng = np.random.default_rng(1000 + s)
        draws = [draw(rng, wc, half, draw_sd) for _ in range(DRAWS)]
        lo, hi = confusion_curve(TRIALS, draws[0], n_bootstrap=200, seed=s).peak_ci
        covered_one += lo <= wc <= hi
        widths_one.append(hi - lo)
        pooled = draws_curve(TRIALS, draws)
        lo, hi = pooled.peak_ci
        covered_draws += lo <= wc <= hi
        widths_draws.append(hi - lo)
        estimates.append(pooled.peak)
    return (
        f"| {wc} | {half} | {draw_sd} | {covered_one}/{studies} ({np.median(widths_one):.2f}) "
        f"| {covered_draws}/{studies} ({np.median(widths_draws):.2f}) "
        f"| {np.mean(estimates):.3f} ({np.std(estimates):.3f}) |"
    )


def run_draws(run: Path) -> np.ndarray:
    """The maxima of a run's confusion draws, from its ``discovery.json``."""
    routes = json.loads((run / "discovery.json").read_text())["routes"]
    found = [r["confusion"] for r in routes if r["route"] == "confusion"]
    if not found or len(found[0]["draws"]) < 2:
        raise SystemExit(f"{run}: no confusion route with draws in discovery.json")
    return np.array(found[0]["draws"])


def empirical(runs: list[Path], resamples: int = 20000) -> None:
    draws = [run_draws(run) for run in runs]
    pooled = np.concatenate(draws)
    truth, rng = pooled.mean(), np.random.default_rng(0)
    print(f"{len(pooled)} draws of {len(runs)} runs: mean {truth:.3f}, sd {pooled.std(ddof=1):.3f}")
    print("| draws | t-interval covers the mean | median half-width |\n|---|---|---|")
    for n in (6, 12, 24):
        sample = rng.choice(pooled, (resamples, n))
        half = student_t.ppf(0.975, n - 1) * sample.std(axis=1, ddof=1) / np.sqrt(n)
        covered = np.abs(sample.mean(axis=1) - truth) <= half
        print(f"| {n} | {covered.mean():.3f} | {np.median(half):.3f} |")
    spreads = [d.std(ddof=1) for d in draws]
    tightest, sizes = min(spreads), np.cumsum([len(d) for d in draws])[:-1]
    shuffled = (np.split(rng.permutation(pooled), sizes) for _ in range(resamples))
    as_tight = sum(min(g.std(ddof=1) for g in groups) <= tightest for groups in shuffled)
    spread_list = ", ".join(f"{s:.3f}" for s in spreads)
    print(f"runs' spreads {spread_list}; with the draws shuffled among the runs, one as tight as")
    print(f"{tightest:.3f} in {as_tight} of {resamples} shuffles")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=100)
    parser.add_argument("--runs", type=Path, nargs="+", help="runs with confusion draws")
    args = parser.parse_args()
    if args.runs:
        empirical(args.runs)
        return
    print(
        "| W_c | top half-width | draw tilt | one draw's bootstrap covers (width) "
        f"| t over {DRAWS} draws covers (width) | estimate: mean (spread) |"
    )
    print("|---|---|---|---|---|---|")
    for setting in SETTINGS:
        print(study(*setting, args.studies), flush=True)


if __name__ == "__main__":
    main()

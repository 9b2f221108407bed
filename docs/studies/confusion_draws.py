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

    .venv/bin/python docs/studies/confusion_draws.py [--studies 100]
"""

from __future__ import annotations

import argparse

import numpy as np

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=100)
    args = parser.parse_args()
    print(
        "| W_c | top half-width | draw tilt | one draw's bootstrap covers (width) "
        f"| t over {DRAWS} draws covers (width) | estimate: mean (spread) |"
    )
    print("|---|---|---|---|---|---|")
    for setting in SETTINGS:
        print(study(*setting, args.studies), flush=True)


if __name__ == "__main__":
    main()

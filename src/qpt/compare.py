"""qpt-compare: does a route's estimate differ between two sets of discovery runs?

qpt-compare --base L64_s1234/discovery.json L64_s8765/discovery.json --new L96_s1234/discovery.json
qpt-compare --base outputs/L64_s1234 outputs/L64_s8765 --new outputs/L96_s1234   # run directories
qpt-compare --curve --base outputs/L64_s4242 --new outputs/L96_s4242   # trial by trial

Each side pools the independent draws of its runs (``discover.confusion.draws`` > 1; one run
a seed, say): their mean with a Student-t interval, the scatter of one draw about its run's
mean, and new minus base with a Welch interval. With ``--curve`` the same for each trial
boundary's accuracy (the draws' curves, ``draw_accuracy``), and for each draw's mean over the
trials, beside the accuracy of a network blind to W. It reads the runs' discovery.json and
writes nothing. A missing or unreadable file, or a run without that route's draws, is one
``error:`` line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qpt.evaluation.draws import pooled_sd, t_interval, welch_difference
from qpt.records import RecordError, read_discovery, refuse, route_record

#: the one route whose runs record independent draws (discover.confusion.draws)
ROUTE = "confusion"


def _route(path: Path) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """The route's curve record in one discovery.json (or a run directory holding one), the
    run's record, and the file's path."""
    record, path = read_discovery(path)
    curve = route_record(record, ROUTE, path).get("confusion")
    return (curve if isinstance(curve, dict) else {}), record, path


def run_draws(path: Path) -> tuple[list[float], dict[str, Any]]:
    """The route's independent draws in one discovery.json (or a run directory holding
    one), and the run's record."""
    curve, record, path = _route(path)
    draws = curve.get("draws")
    draws = draws if isinstance(draws, list) else []
    if len(draws) < 2:
        raise RecordError(
            f"{path}: the {ROUTE!r} route has {len(draws)} independent draw(s); "
            "comparing needs at least two a run (discover.confusion.draws)"
        )
    if any(not isinstance(d, int | float) or not math.isfinite(d) for d in draws):
        raise RecordError(f"{path}: a draw has no estimate (no interior maximum): {draws}")
    return [float(d) for d in draws], record


def run_curves(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, Any]]:
    """The route's trial boundaries and each draw's accuracy curve (draws x trials) in one
    discovery.json (or a run directory holding one), and the run's record."""
    curve, record, path = _route(path)
    kept = curve.get("draw_accuracy")
    try:
        trials = np.asarray(curve.get("trials"), float)
        curves = np.asarray(kept if kept else [], float)
    except (TypeError, ValueError):
        raise RecordError(f"{path}: the {ROUTE!r} route's curves are not numbers") from None
    if len(curves) < 2:
        raise RecordError(
            f"{path}: the {ROUTE!r} route keeps {len(curves)} draw curve(s); comparing curves "
            "needs at least two a run (draw_accuracy, kept by runs with discover.confusion.draws"
            " > 1 since 93384f0)"
        )
    if trials.ndim != 1 or curves.ndim != 2 or curves.shape[1] != len(trials):
        raise RecordError(f"{path}: {curves.shape} draw curves for {trials.size} trials")
    if not np.isfinite(curves).all():
        raise RecordError(f"{path}: a draw's curve is not finite")
    return (trials, curves), record


def _side(
    name: str, paths: list[Path], read: Callable[[Path], tuple[Any, dict[str, Any]]]
) -> tuple[list, str, Any]:
    """What ``read`` finds in each of one side's runs; their model and energy; the
    literature W_c."""
    runs = [read(p) for p in paths]
    models = {(r.get("model"), r.get("energy")) for _, r in runs}
    if len(models) > 1:
        raise RecordError(f"--{name} mixes models or energies: {sorted(map(str, models))}")
    return [found for found, _ in runs], str(models.pop()), runs[0][1].get("reference_wc")


def _summary(
    name: str, groups: list[list[float]], reference: float | None, confidence: float
) -> str:
    draws = [d for g in groups for d in g]
    mean, lo, hi = t_interval(draws, confidence)
    text = f"{name}: {mean:.3f} [{lo:.3f}, {hi:.3f}]"
    if reference:
        text += f" ({100 * (mean / reference - 1):+.1f}%)"
    text += f", {len(draws)} draws from {len(groups)} run(s), one draw's sd {pooled_sd(groups):.3f}"
    return text


def _difference(new: Sequence[float], base: Sequence[float], confidence: float) -> str:
    diff = welch_difference(new, base, confidence)
    return f"{diff.value:+.4f} [{diff.lo:.4f}, {diff.hi:.4f}] ({diff.dof:.1f} dof): {diff.reading}"


def print_estimates(
    base: list[list[float]], new: list[list[float]], reference: Any, confidence: float
) -> None:
    """The route's W_c, draws pooled a side (a run's draws each), and new minus base."""
    literature = f"; literature {reference}" if reference else ""
    print(f"{ROUTE}, W_c from independent draws [{100 * confidence:g}%]{literature}")
    for name, groups in (("base", base), ("new ", new)):
        print("  " + _summary(name, groups, reference, confidence))
    diff = welch_difference([d for g in new for d in g], [d for g in base for d in g], confidence)
    print(
        f"  new - base: {diff.value:+.3f} [{diff.lo:.3f}, {diff.hi:.3f}] "
        f"(Welch, {diff.dof:.1f} degrees of freedom): {diff.reading}"
    )


def blind_accuracy(n_trials: int) -> np.ndarray:
    """Each trial's accuracy for a network that cannot tell the grid's W apart: it calls
    every state the larger side. The trials are the midpoints of a grid of n_trials + 1 W
    with as many states each, so trial i has i + 1 of them below it."""
    below = np.arange(1, n_trials + 1)
    return np.maximum(below, n_trials + 1 - below) / (n_trials + 1)


def print_curves(
    base: list[tuple[np.ndarray, np.ndarray]],
    new: list[tuple[np.ndarray, np.ndarray]],
    confidence: float,
) -> None:
    """Each trial's accuracy, draws pooled a side (a run's trials and curves each), and new
    minus base; then the same for each draw's mean over the trials. Every run's trials must
    be the same."""
    trials = base[0][0]
    for other, _ in (*base, *new):
        if not np.array_equal(other, trials):
            raise RecordError(f"runs with different trials: {trials} and {other}")
    sides = [np.concatenate([c for _, c in runs]) for runs in (base, new)]  # draws x trials
    blind = blind_accuracy(len(trials))
    print(f"{ROUTE}, each trial's accuracy from independent draws [{100 * confidence:g}%]")
    print(f"  base {len(sides[0])} draws, new {len(sides[1])}; blind: a network blind to W")
    print(f"  {'trial':>7}  {'blind':>6}  {'base':>24}  {'new':>24}  new - base (Welch)")
    rows = [(f"{w:7.3f}", blind[i], [s[:, i] for s in sides]) for i, w in enumerate(trials)]
    rows.append(("   mean", float(blind.mean()), [s.mean(axis=1) for s in sides]))
    for label, chance, (b, n) in rows:
        cells = [_interval(values, confidence) for values in (b, n)]
        print(
            f"  {label}  {chance:6.4f}  {cells[0]:>24}  {cells[1]:>24}  {_difference(n, b, confidence)}"
        )


def _interval(values: np.ndarray, confidence: float) -> str:
    mean, lo, hi = t_interval(values, confidence)
    return f"{mean:.4f} [{lo:.4f}, {hi:.4f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qpt-compare", description=__doc__.splitlines()[0])
    runs = "discovery.json files or the run directories holding them"
    parser.add_argument("--base", nargs="+", type=Path, required=True, help=runs)
    parser.add_argument("--new", nargs="+", type=Path, required=True, help=runs)
    parser.add_argument(
        "--curve", action="store_true", help="compare each trial's accuracy, not W_c"
    )
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args(argv)
    if not 0 < args.confidence < 1:
        return refuse(f"--confidence {args.confidence}: must lie between 0 and 1")
    read = run_curves if args.curve else run_draws
    try:
        base, base_model, reference = _side("base", args.base, read)
        new, new_model, _ = _side("new", args.new, read)
        if base_model != new_model:
            raise RecordError(f"--base is {base_model}, --new is {new_model}")
        if args.curve:
            print_curves(base, new, args.confidence)
        else:
            print_estimates(base, new, reference, args.confidence)
    except RecordError as err:
        return refuse(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())

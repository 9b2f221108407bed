"""qpt-compare: does a route's estimate differ between two sets of discovery runs?

qpt-compare --base L64_s1234/discovery.json L64_s8765/discovery.json --new L96_s1234/discovery.json
qpt-compare --base outputs/L64_s1234 outputs/L64_s8765 --new outputs/L96_s1234   # run directories

Each side pools the independent draws of its runs (``discover.confusion.draws`` > 1; one run
a seed, say): their mean with a Student-t interval, the scatter of one draw about its run's
mean, and new minus base with a Welch interval. It reads the runs' discovery.json and writes
nothing. A missing or unreadable file, or a run without that route's draws, is one
``error:`` line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from qpt.evaluation.draws import pooled_sd, t_interval, welch_difference

#: the one route whose runs record independent draws (discover.confusion.draws)
ROUTE = "confusion"


class CompareError(ValueError):
    """A run that cannot be compared: the message names the file and what is wrong."""


def run_draws(path: Path) -> tuple[list[float], dict[str, Any]]:
    """The route's independent draws in one discovery.json (or a run directory holding
    one), and the run's record."""
    if path.is_dir():
        path = path / "discovery.json"
    try:
        record = json.loads(path.read_text())
    except OSError as err:
        raise CompareError(f"{path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise CompareError(f"{path}: not a discovery.json ({err.msg}, line {err.lineno})") from None
    except UnicodeDecodeError:
        raise CompareError(f"{path}: not a discovery.json (not text)") from None
    if not isinstance(record, dict) or not isinstance(record.get("routes"), list):
        raise CompareError(f"{path}: not a discovery.json (no list of routes)")
    routes = {r.get("route"): r for r in record["routes"] if isinstance(r, dict)}
    if ROUTE not in routes:
        have = ", ".join(map(str, routes)) or "none"
        raise CompareError(f"{path}: no {ROUTE!r} route (it has: {have})")
    curve = routes[ROUTE].get("confusion")
    draws = curve.get("draws") if isinstance(curve, dict) else None
    draws = draws if isinstance(draws, list) else []
    if len(draws) < 2:
        raise CompareError(
            f"{path}: the {ROUTE!r} route has {len(draws)} independent draw(s); "
            "comparing needs at least two a run (discover.confusion.draws)"
        )
    if any(not isinstance(d, int | float) or not math.isfinite(d) for d in draws):
        raise CompareError(f"{path}: a draw has no estimate (no interior maximum): {draws}")
    return [float(d) for d in draws], record


def _side(name: str, paths: list[Path]) -> tuple[list[list[float]], str, float | None]:
    """One side's draws, a list a run; its model and energy; the literature W_c."""
    runs = [run_draws(p) for p in paths]
    models = {(r.get("model"), r.get("energy")) for _, r in runs}
    if len(models) > 1:
        raise CompareError(f"--{name} mixes models or energies: {sorted(map(str, models))}")
    return [d for d, _ in runs], str(models.pop()), runs[0][1].get("reference_wc")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qpt-compare", description=__doc__.splitlines()[0])
    runs = "discovery.json files or the run directories holding them"
    parser.add_argument("--base", nargs="+", type=Path, required=True, help=runs)
    parser.add_argument("--new", nargs="+", type=Path, required=True, help=runs)
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args(argv)
    if not 0 < args.confidence < 1:
        return _fail(f"--confidence {args.confidence}: must lie between 0 and 1")
    try:
        base, base_model, reference = _side("base", args.base)
        new, new_model, _ = _side("new", args.new)
        if base_model != new_model:
            raise CompareError(f"--base is {base_model}, --new is {new_model}")
    except CompareError as err:
        return _fail(str(err))
    level = f"{100 * args.confidence:g}%"
    literature = f"; literature {reference}" if reference else ""
    print(f"{ROUTE}, W_c from independent draws [{level}]{literature}")
    for name, groups in (("base", base), ("new ", new)):
        print("  " + _summary(name, groups, reference, args.confidence))
    diff = welch_difference(
        [d for g in new for d in g], [d for g in base for d in g], args.confidence
    )
    print(
        f"  new - base: {diff.value:+.3f} [{diff.lo:.3f}, {diff.hi:.3f}] "
        f"(Welch, {diff.dof:.1f} degrees of freedom): {diff.reading}"
    )
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""qpt-pool: one route's W_c and nu pooled over independent discovery runs (one a seed).

qpt-pool outputs/su2_s1234 outputs/su2_s3141 outputs/su2_s2718       # run directories
qpt-pool --route r --plot pooled.png runs/*/discovery.json

Runs of different seeds are independent draws of everything a run draws: its training
states, grid states and network seeds. The mean of their estimates with a Student-t
interval over them therefore holds every draw, also those that a run's own interval leaves
out (the network route's interval resamples its grid states and networks, not the training
states the networks share: docs/DISCOVERY.md). It prints each run's estimate with its own
interval, the pooled mean with its interval, and how the runs scatter against their own
intervals (:func:`qpt.evaluation.draws.scatter_against_intervals`); then the same route
without each run's smallest size (a scaling route's second fit), pooled alike, and what
dropping that size moves, paired run by run: the trend with L_min, with an interval that
holds every draw. ``--plot`` draws the runs and the pool. ``--without-smallest`` makes the
runs' fits without their smallest size the reading (a pool declared so: docs/DISCOVERY.md),
reported and recorded as the route ``<route>_without_smallest``.
``--log`` records the pool as one MLflow run ``pool-<model>-<route>-...`` in the store that
train.py records into (conf/logger/mlflow.yaml): metrics ``pool/<route>/W_c`` (``_lo``,
``_hi``, ``nu``, ``nu_lo``, ``nu_hi``, ``W_c_held``, ``nu_held``, ``runs``, and those without
the smallest size: :func:`pool_metrics`), the seeds as a parameter, the report and the
figure as artifacts ``pool/``.

Only runs of one setting are pooled: a run is refused (one ``error:`` line on stderr, exit
status 2, nothing written) if it cannot be read, lacks the route or an estimate, or differs
from the first run in model or energy, or in its settings (its ``.hydra/config.yaml``; the
seed, where it ran and the other routes' sections aside); so is a seed given twice.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from qpt.evaluation.draws import Scatter, scatter_against_intervals, t_interval
from qpt.evaluation.plots import pooled_runs
from qpt.records import RecordError, read_discovery, refuse, route_record, run_settings
from qpt.reporting import CLEAR_SIGNATURE_Z, publish
from qpt.runs import PROJECT_ROOT, git_commit
from qpt.sweeps import run_name
from qpt.tracking import build_loggers, ended_on_exit, run_info

#: the routes a discovery run may hold (qpt.discovery)
ROUTES = ("network", "confusion", "r", "bott", "transfer_matrix")
#: a fit that misfits its points by more than this (chi2/dof) is not a measurement alone
CHI2_BAR = 2.0
#: settings that may differ between runs of one setting: which draw (the seed) and where and
#: how it ran, not what it computes (generation and judging give the same states and outputs
#: with any number of workers, shards or cache places)
FREE_SETTINGS = (
    "seed",
    "output_dir",
    "resume",
    "logger",
    "data.cache_dir",
    "data.gen_workers",
    "data.shard_index",
    "data.shard_count",
    "data.generate_only",
    "data.progress",
    "trainer.enable_progress_bar",
)


@dataclass(frozen=True)
class RunEstimate:
    """One run's estimate of a route: W_c and (where the route measures it) nu, each with
    the run's own interval."""

    path: Path
    seed: int | None
    wc: float
    wc_ci: tuple[float, float]
    nu: float | None
    nu_ci: tuple[float, float] | None
    reduced_chi2: float | None = None  # a scaling route's fit to all sizes
    z: float | None = None  # how clearly the sizes show W_c (its signature)
    without_smallest: RunEstimate | None = None  # the same route without the smallest size

    def rules_failed(self) -> list[str]:
        """The rules by which this run alone would not be a measurement (docs/DISCOVERY.md):
        the sizes show W_c by 2 standard errors, the fit has chi2/dof <= 2, and dropping the
        smallest size moves W_c by less than its half-interval. Pooling keeps such a run
        (dropping it for its value would bias the pool); the report names it."""
        failed = []
        intervals = [self.wc_ci, *([self.nu_ci] if self.nu_ci else [])]
        if not all(math.isfinite(v) for ci in intervals for v in ci):
            failed.append("its bootstrap gave no interval")
        if self.z is not None and self.z < CLEAR_SIGNATURE_Z:
            failed.append(f"z {self.z:.1f} < {CLEAR_SIGNATURE_Z:g}")
        if self.reduced_chi2 is not None and self.reduced_chi2 > CHI2_BAR:
            failed.append(f"chi2/dof {self.reduced_chi2:.2f} > {CHI2_BAR:g}")
        half = (self.wc_ci[1] - self.wc_ci[0]) / 2
        dropped = self.without_smallest
        if dropped is not None and abs(dropped.wc - self.wc) >= half:
            failed.append(f"without the smallest size W_c {dropped.wc:.3f}")
        return failed


@dataclass(frozen=True)
class Pooled:
    """One quantity over the runs: their mean with its Student-t interval, and their scatter
    against their own intervals."""

    name: str
    mean: float
    lo: float
    hi: float
    runs: int
    scatter: Scatter | None  # None: fewer than two runs with an interval of their own
    reference: float | None


def read_run(path: Path, route: str) -> tuple[RunEstimate, dict[str, Any], dict | None]:
    """One run's estimate of ``route``, its record, and its settings (None if not kept)."""
    record, path = read_discovery(path)
    entry = route_record(record, route, path)
    label = f"the {route!r} route"
    wc, wc_ci = _estimate(entry, "wc", path, label)
    if wc is None:
        raise RecordError(f"{path}: {label} has no W_c estimate")
    nu, nu_ci = _estimate(entry, "nu", path, label)
    settings = run_settings(path)
    seed = settings.get("seed") if settings else None
    dropped = None
    if isinstance(entry.get("dropped"), dict):  # the route's scaling fit without its smallest L
        dropped = _scaling_estimate(
            entry["dropped"], path, seed, route, "without its smallest size"
        )
    checks = {"z": _number(entry.get("signature_z")), "without_smallest": dropped}
    if isinstance(entry.get("estimate"), dict):
        checks["reduced_chi2"] = _reduced_chi2(entry["estimate"])
    estimate = RunEstimate(path, seed, wc, wc_ci, nu, nu_ci, **checks)
    return estimate, record, settings


def _scaling_estimate(
    estimate: dict[str, Any], path: Path, seed: int | None, route: str, what: str
) -> RunEstimate | None:
    """A bootstrap scaling estimate's record (ScalingEstimate: its fit and intervals) as a
    :class:`RunEstimate`; None if it holds no fit."""
    fit = estimate.get("fit")
    if not isinstance(fit, dict) or _number(fit.get("wc")) is None:
        return None
    entry = {"wc": fit["wc"], "wc_ci": estimate.get("wc_ci"), "nu": fit.get("nu")}
    entry["nu_ci"] = estimate.get("nu_ci")
    label = f"the {route!r} route {what}"
    wc, wc_ci = _estimate(entry, "wc", path, label)
    nu, nu_ci = _estimate(entry, "nu", path, label)
    return RunEstimate(path, seed, wc, wc_ci, nu, nu_ci, _reduced_chi2(estimate))


def _reduced_chi2(estimate: dict[str, Any]) -> float | None:
    fit = estimate.get("fit") or {}
    chi2, dof = _number(fit.get("chi2")), _number(fit.get("dof"))
    return chi2 / dof if chi2 is not None and dof else None


def _estimate(
    entry: dict[str, Any], key: str, path: Path, label: str
) -> tuple[float | None, tuple[float, float] | None]:
    """``entry[key]`` and its interval ``entry[key_ci]``; (None, None) if the entry has no
    such estimate (nu of a route without one)."""
    value, ci = entry.get(key), entry.get(f"{key}_ci")
    if value is None:
        return None, None
    numbers = [value, *(ci if isinstance(ci, list) else [])]
    if len(numbers) != 3 or not all(isinstance(v, int | float) for v in numbers):
        raise RecordError(f"{path}: {label}'s {key} has no interval: {value}, {ci}")
    if not math.isfinite(value):
        raise RecordError(f"{path}: {label} has no {key} estimate: {value}")
    # a bootstrap whose refits all failed leaves NaN: the estimate still pools, its own
    # interval is not there to hold the scatter against (rules_failed names it)
    return float(value), (float(ci[0]), float(ci[1]))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _compared(settings: dict[str, Any], route: str) -> dict[str, Any]:
    """The settings that must agree between pooled runs of ``route``."""
    others = tuple(f"discover.{r}" for r in ROUTES if r != route)
    free = FREE_SETTINGS + others
    return {
        k: v for k, v in settings.items() if not any(k == f or k.startswith(f + ".") for f in free)
    }


def check_one_setting(
    runs: Sequence[tuple[RunEstimate, dict[str, Any], dict | None]], route: str
) -> list[str]:
    """Refuse runs that are not independent draws of one setting. Returns notes on what could
    not be checked: runs without their config, and settings some runs do not record (a run
    older than the setting, which ran as the setting's default of its day)."""
    first, first_record, first_settings = runs[0]
    for run, record, _ in runs[1:]:
        for key in ("model", "energy"):
            if record.get(key) != first_record.get(key):
                raise RecordError(
                    f"{run.path}: {key} {record.get(key)!r}, but {first.path} has "
                    f"{first_record.get(key)!r}"
                )
    notes = []
    if any(settings is None for _, _, settings in runs):
        names = ", ".join(str(run.path) for run, _, settings in runs if settings is None)
        notes.append(f"settings and seeds not checked for {names}: no .hydra/config.yaml beside it")
    else:
        reference = _compared(first_settings, route)
        partial = set()
        for run, _, settings in runs[1:]:
            mine = _compared(settings, route)
            partial |= set(reference) ^ set(mine)
            for key in sorted(set(reference) & set(mine)):
                if reference[key] != mine[key]:
                    raise RecordError(
                        f"{run.path}: {key}={mine[key]!r}, but {first.path} has "
                        f"{reference[key]!r}: not one setting"
                    )
        if partial:
            notes.append(f"not recorded by every run (not compared): {', '.join(sorted(partial))}")
    seen: dict[Any, Path] = {}
    for run, _, _ in runs:  # the same seed twice is the same draw twice, not two
        key = run.seed if run.seed is not None else (run.wc, run.nu)
        if key in seen:
            what = f"seed {run.seed}" if run.seed is not None else "estimates"
            raise RecordError(f"{run.path}: the same {what} as {seen[key]}: not independent")
        seen[key] = run.path
    return notes


def pool(
    runs: Sequence[RunEstimate], references: dict[str, float | None], confidence: float = 0.95
) -> list[Pooled]:
    """W_c (and nu, if every run measured it) over ``runs``."""
    quantities = [("W_c", [r.wc for r in runs], [r.wc_ci for r in runs])]
    if all(r.nu is not None for r in runs):
        quantities.append(("nu", [r.nu for r in runs], [r.nu_ci for r in runs]))
    pooled = []
    for name, values, intervals in quantities:
        mean, lo, hi = t_interval(values, confidence)
        kept = [
            (v, ci) for v, ci in zip(values, intervals, strict=True) if all(map(math.isfinite, ci))
        ]
        scatter = None
        if len(kept) >= 2:
            scatter = scatter_against_intervals(*zip(*kept, strict=True), confidence)
        pooled.append(Pooled(name, mean, lo, hi, len(values), scatter, references.get(name)))
    return pooled


@dataclass(frozen=True)
class Shift:
    """What dropping the smallest size does to a quantity, paired run by run: the mean of
    (without - with) over the runs and its Student-t interval; each run's shift is free of
    its own draw's offset, which both fits share."""

    name: str
    mean: float
    lo: float
    hi: float


def smallest_size_dropped(
    runs: Sequence[RunEstimate], references: dict[str, float | None], confidence: float = 0.95
) -> tuple[list[Pooled], list[Shift]] | None:
    """The pool of every run's fit without its smallest size, and the paired shifts from
    the full fits; None unless every run has such a fit."""
    dropped = [r.without_smallest for r in runs]
    if any(d is None for d in dropped):
        return None
    pooled = pool(dropped, references, confidence)
    shifts = []
    for p in pooled:
        key = "wc" if p.name == "W_c" else "nu"
        diff = [getattr(d, key) - getattr(r, key) for d, r in zip(dropped, runs, strict=True)]
        shifts.append(Shift(p.name, *t_interval(diff, confidence)))
    return pooled, shifts


def report(
    route: str, runs: Sequence[RunEstimate], pooled: Sequence[Pooled], confidence: float
) -> list[str]:
    """The lines qpt-pool prints."""
    percent = f"{100 * confidence:g}%"
    lines = [f"{route} over {len(runs)} independent runs [{percent}]"]
    lines.append(f"  {'seed':>6}  {'W_c':<24}{'nu':<20}{'chi2/dof':>8}{'z':>6}  run")
    for r in runs:
        nu = _text(r.nu, r.nu_ci, 2) if r.nu is not None else "-"
        seed = "?" if r.seed is None else str(r.seed)
        chi2 = "-" if r.reduced_chi2 is None else f"{r.reduced_chi2:.2f}"
        z = "-" if r.z is None else f"{r.z:.1f}"
        lines.append(f"  {seed:>6}  {_text(r.wc, r.wc_ci, 3):<24}{nu:<20}{chi2:>8}{z:>6}  {r.path}")
    for p in pooled:
        digits = 3 if p.name == "W_c" else 2
        text = f"  pooled {p.name}: {_text(p.mean, (p.lo, p.hi), digits)}"
        if p.reference:
            text += (
                f" ({100 * (p.mean / p.reference - 1):+.1f}% from the literature's {p.reference:g})"
            )
        text += f", Student-t over {p.runs} runs ({p.runs - 1} dof)"
        lines.append(text)
    for r in runs:
        if failed := r.rules_failed():
            lines.append(
                f"  seed {r.seed}: alone not a measurement ({'; '.join(failed)}); pooled all the same"
            )
    lines += _scatter_lines(pooled)
    return lines


def dropped_lines(pooled: Sequence[Pooled], shifts: Sequence[Shift]) -> list[str]:
    """The lines on the fits without the smallest size: their pool, and the paired shifts."""
    lines = ["  without the smallest size (each run's fit of the larger sizes):"]
    for p, shift in zip(pooled, shifts, strict=True):
        digits = 3 if p.name == "W_c" else 2
        text = f"    pooled {p.name}: {_text(p.mean, (p.lo, p.hi), digits)}"
        if p.reference:
            text += f" ({100 * (p.mean / p.reference - 1):+.1f}%)"
        moved = _text(shift.mean, (shift.lo, shift.hi), digits + 1)
        resolved = "resolved" if shift.lo > 0 or shift.hi < 0 else "not resolved"
        lines.append(text + f"; dropping it moves {p.name} by {moved} (paired, {resolved})")
    return lines


def _scatter_lines(pooled: Sequence[Pooled]) -> list[str]:
    lines = []
    for p in pooled:
        s = p.scatter
        if s is None:
            lines.append(f"  {p.name}: fewer than two runs have an interval; no scatter check")
            continue
        if s.dof < p.runs - 1:
            lines.append(
                f"  {p.name}: the scatter check below holds the {s.dof + 1} runs with an interval"
            )
        lines.append(
            f"  {p.name}: sd between runs {s.sd:.3f}, their intervals imply {s.implied:.3f} "
            f"(they hold {s.held:.2f} of it); chi2 {s.chi2:.2f} on {s.dof} dof, p {s.p:.2f}"
        )
    return lines


def pool_metrics(
    route: str, pooled: Sequence[Pooled], dropped: tuple[list[Pooled], list[Shift]] | None
) -> dict[str, float]:
    """``pool/<route>/W_c``, ``_lo``, ``_hi``, ``_held``, ``_chi2_p`` (and nu's), ``runs``;
    with the fits without the smallest size, ``W_c_without_smallest`` (``_lo``, ``_hi``) and
    the paired ``W_c_shift_without_smallest`` (``_lo``, ``_hi``), and nu's."""
    values: dict[str, float] = {}
    for p in pooled:
        name = p.name
        values |= {name: p.mean, f"{name}_lo": p.lo, f"{name}_hi": p.hi}
        if p.scatter is not None:
            values |= {f"{name}_held": p.scatter.held, f"{name}_chi2_p": p.scatter.p}
    for p, shift in zip(*(dropped or ([], [])), strict=True):
        for key, found in (
            (f"{p.name}_without_smallest", p),
            (f"{p.name}_shift_without_smallest", shift),
        ):
            values |= {key: found.mean, f"{key}_lo": found.lo, f"{key}_hi": found.hi}
    values["runs"] = float(pooled[0].runs)
    return {f"pool/{route}/{k}": v for k, v in values.items()}


def log_pool(
    route: str,
    model: str,
    runs: Sequence[RunEstimate],
    pooled: Sequence[Pooled],
    dropped: tuple[list[Pooled], list[Shift]] | None,
    lines: Sequence[str],
    confidence: float,
) -> dict[str, str]:
    """One MLflow run of the pool in the store train.py records into; returns its run info."""
    logger = OmegaConf.load(PROJECT_ROOT / "conf" / "logger" / "mlflow.yaml").mlflow
    tags = {"route": route, "git_commit": git_commit()}
    loggers = build_loggers(
        {"mlflow": logger}, model=model, run_name=run_name("pool", model, route), tags=tags
    )
    seeds = ",".join("?" if r.seed is None else str(r.seed) for r in runs)
    with ended_on_exit(loggers), tempfile.TemporaryDirectory() as tmp:
        report_file, figure = Path(tmp) / "pool.md", Path(tmp) / "pool.png"
        report_file.write_text("\n".join(lines) + "\n")
        pooled_runs(route, runs, pooled, figure)
        for lg in loggers:
            lg.log_hyperparams({"route": route, "seeds": seeds, "confidence": confidence})
        files = [(report_file, "pool"), (figure, "pool")]
        publish(loggers, pool_metrics(route, pooled, dropped), files)
        return run_info(loggers)


def _text(value: float, ci: tuple[float, float], digits: int) -> str:
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qpt-pool", description=__doc__.splitlines()[0])
    parser.add_argument(
        "runs",
        nargs="+",
        type=Path,
        help="discovery.json files or the run directories holding them",
    )
    parser.add_argument("--route", default="network", choices=ROUTES)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--plot", type=Path, help="draw the runs and the pooled intervals here")
    parser.add_argument("--log", action="store_true", help="record the pool as an MLflow run")
    parser.add_argument(
        "--without-smallest",
        action="store_true",
        help="pool each run's fit without its smallest size (a scaling route's second fit)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.confidence < 1:
        return refuse(f"--confidence {args.confidence}: must lie between 0 and 1")
    if len(args.runs) < 2:
        return refuse(f"{len(args.runs)} run given; pooling needs at least two independent runs")
    if args.plot and args.plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        return refuse(f"--plot {args.plot}: give a .png, .pdf or .svg file")
    try:
        read = [read_run(path, args.route) for path in args.runs]
        notes = check_one_setting(read, args.route)
    except RecordError as err:
        return refuse(str(err))
    runs, label = [run for run, _, _ in read], args.route
    if args.without_smallest:  # the runs' second fits, pooled and recorded as a route of its own
        if missing := [r.path for r in runs if r.without_smallest is None]:
            return refuse(
                f"{missing[0]}: the {args.route!r} route has no fit without its smallest "
                "size, which --without-smallest pools"
            )
        runs, label = [r.without_smallest for r in runs], f"{args.route}_without_smallest"
    record = read[0][1]
    references = {"W_c": record.get("reference_wc"), "nu": record.get("reference_nu")}
    pooled = pool(runs, references, args.confidence)
    lines = report(label, runs, pooled, args.confidence)
    if dropped := smallest_size_dropped(runs, references, args.confidence):
        lines += dropped_lines(*dropped)
    lines += [f"  {n}" for n in notes]
    print("\n".join(lines))
    if args.plot:
        pooled_runs(label, runs, pooled, args.plot)
        print(f"  figure: {args.plot}")
    if args.log:
        try:
            info = log_pool(
                label, str(record.get("model")), runs, pooled, dropped, lines, args.confidence
            )
        except ValueError as err:  # a store MLflow cannot open
            return refuse(str(err))
        print(f"  MLflow run: {info['run_name']} (id {info['run_id']}) in {info['tracking_uri']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a run leaves behind: files and figures in its output directory, and the same files,
with its metrics, in its MLflow run. Each ``write_*`` returns the metrics and the files it
made; :func:`publish` sends both to the loggers."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import Logger

from qpt.data.cache import LoadedEnsemble
from qpt.evaluation import plots
from qpt.evaluation.config import GapSweepConfig
from qpt.evaluation.confusion import TOP_Z, ConfusionCurve
from qpt.evaluation.curves import Crossing, Curve
from qpt.evaluation.evaluate import GapSweep, TransitionCurve, energy_tag
from qpt.evaluation.fss import ScalingStudy
from qpt.evaluation.peak import PeakPosition
from qpt.evaluation.phase_diagram import PhaseDiagram
from qpt.evaluation.scaling import ScalingEstimate
from qpt.physics import LatticeModel, get_model
from qpt.tracking import MLFlowLogger

log = logging.getLogger(__name__)

Files = list[tuple[Path, str | None]]  # (file, artifact directory in the MLflow run)


def publish(loggers: Iterable[Logger], metrics: dict[str, float], files: Files = ()) -> None:
    """Finite metrics to every logger; files to every MLflow run."""
    finite = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}
    for logger in loggers:
        if finite:
            logger.log_metrics(finite)
            logger.save()
        if isinstance(logger, MLFlowLogger):
            for path, artifact_dir in files:
                logger.log_artifact(path, artifact_dir)


def _model_prefix(curve: TransitionCurve, trained_on: str) -> str:
    """A curve's metric prefix: none for the training model, ``<model>/`` for a transfer."""
    return "" if curve.model == trained_on else f"{curve.model}/"


def interval_text(value: float | None, ci: tuple[float, float] | None, digits: int) -> str:
    """``value [lo, hi]`` with ``digits`` decimals; "" for no value. A value outside its own
    interval (a degenerate fit whose bootstrap refits land elsewhere) says so."""
    if value is None:
        return ""
    text = f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"
    outside = all(map(math.isfinite, (value, *ci))) and not ci[0] <= value <= ci[1]
    return text + " (outside its interval)" if outside else text


def literature_text(value: float | None) -> str:
    """A literature value beside a result, or "not tabulated" where the model has none."""
    return "not tabulated" if value is None else str(value)


def _estimate_metrics(
    wc: float, wc_ci: tuple[float, float], nu: float | None, nu_ci: tuple[float, float] | None
) -> dict[str, float]:
    """``W_c``, ``W_c_lo``, ``W_c_hi`` and, where there is a nu, ``nu``, ``nu_lo``, ``nu_hi``."""
    values = {"W_c": wc, "W_c_lo": wc_ci[0], "W_c_hi": wc_ci[1]}
    if nu is not None:
        values |= {"nu": nu, "nu_lo": nu_ci[0], "nu_hi": nu_ci[1]}
    return values


def publish_curves(
    loggers: Iterable[Logger], curves: Sequence[TransitionCurve], trained_on: str
) -> None:
    """Each transition curve as the history of one metric, ``curve/P/E0.0`` (transfer:
    ``curve/ando/P/E0.0``), its step 100 W: MLflow's charts then overlay the curves of
    several runs (x axis "Step" = 100 W)."""
    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            for t in curves:
                name = f"curve/{_model_prefix(t, trained_on)}P/{energy_tag(t.energy)}"
                logger.log_series(name, [round(100 * w) for w in t.curve.W], t.curve.mean.tolist())


def write_json(path: Path, obj: Any) -> Path:
    """JSON with dataclasses as objects and numpy arrays as lists."""

    def encode(o: Any) -> Any:
        return dataclasses.asdict(o) if dataclasses.is_dataclass(o) else np.asarray(o).tolist()

    path.write_text(json.dumps(obj, indent=1, default=encode))
    return path


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_curves(path: Path) -> list[TransitionCurve]:
    """The transition curves of an ``evaluation.json`` (as :func:`write_evaluation` wrote)."""
    curves = []
    for r in json.loads(path.read_text())["curves"].values():
        curve = Curve(*(np.asarray(r["curve"][k]) for k in ("W", "mean", "sem", "count")))
        crossing = Crossing(**r["crossing"])
        curves.append(TransitionCurve(**(r | {"curve": curve, "crossing": crossing})))
    return curves


def write_evaluation(
    curves: Sequence[TransitionCurve],
    sweeps: Sequence[GapSweep],
    out: Path,
    *,
    trained_on: str,
    gap: GapSweepConfig | None = None,
) -> tuple[dict[str, float], Files]:
    """Per curve a CSV, per model a figure, the gap sweep's CSVs and figure, and
    ``evaluation.json`` (the curves in full: what a sweep over jobs reads back)."""
    out.mkdir(parents=True, exist_ok=True)
    metrics, files = {}, []
    for t in curves:
        header = ["W", f"P_{t.phase}", "sem", "n_states"]
        files.append((_write_csv(out / f"curve_{t.tag}.csv", header, t.curve.rows()), "evaluation"))
        prefix, tag = _model_prefix(t, trained_on), energy_tag(t.energy)
        for name, value in (("", t.crossing.W), ("_lo", t.crossing.lo), ("_hi", t.crossing.hi)):
            metrics[f"{prefix}crossing_W{name}/{tag}"] = value
    for model in dict.fromkeys(t.model for t in curves):
        mine, path = [t for t in curves if t.model == model], out / f"transition_{model}.png"
        title = f"{model}, L = {mine[0].L} (network trained on {trained_on})"
        plots.transition_curves(mine, path, title=title)
        files.append((path, "evaluation"))
    record: dict[str, Any] = {"trained_on": trained_on, "curves": {t.tag: t for t in curves}}
    record["gap_sweep"] = {}
    for s in sweeps:
        order = np.argsort(s.energies)
        rows = zip(s.energies[order], s.p[order], s.edge[order], strict=True)
        header = ["energy", f"P_{curves[0].phase}", "edge_weight"]
        files.append((_write_csv(out / f"gap_sweep_W{s.W}.csv", header, rows), "evaluation"))
        metrics[f"gap_sweep/mean_P/W{s.W}"] = float(s.p.mean()) if len(s.p) else math.nan
        summary = {
            k: v for k, v in dataclasses.asdict(s).items() if k not in ("energies", "p", "edge")
        }
        record["gap_sweep"][f"W{s.W}"] = summary | {"mean": metrics[f"gap_sweep/mean_P/W{s.W}"]}
    if sweeps:
        path, phase = out / "gap_sweep.png", curves[0].phase
        title = f"{trained_on}, L = {curves[0].L}: states with {gap.emin} <= E <= {gap.emax}"
        plots.gap_sweep(sweeps, path, phase=phase, emin=gap.emin, emax=gap.emax, title=title)
        files.append((path, "evaluation"))
    files.append((write_json(out / "evaluation.json", record), "evaluation"))
    return metrics, files


class EpochHistory(pl.Callback):
    """Every epoch's metrics, in memory: the run's summary and its training-curves figure."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k != "step"}
        self.epochs.append({"epoch": trainer.current_epoch, **metrics})

    def summary(self, checkpoint: ModelCheckpoint) -> dict[str, Any]:
        """The epoch the checkpoint kept (the best by its monitor) and its metrics."""
        epochs = [h for h in self.epochs if checkpoint.monitor in h]
        pick = min if checkpoint.mode == "min" else max
        best = pick(epochs, key=lambda h: h[checkpoint.monitor]) if epochs else {}
        summary = {
            "best_epoch": best.get("epoch"),
            "epochs": len(epochs),
            **{f"val_{k}": best.get(f"val/{k}", math.nan) for k in ("acc", "loss", "auroc")},
            "max_val_acc": max((h["val/acc"] for h in epochs), default=math.nan),
            "checkpoint": checkpoint.best_model_path,
        }
        best = summary["best_epoch"], summary["val_acc"], summary["val_loss"]
        log.info("best epoch %s: val acc %.4f, val loss %.4f", *best)
        return summary


def write_training(
    summary: dict[str, Any], history: EpochHistory, config: dict, out: Path
) -> tuple[dict[str, float], Files]:
    """The resolved config, the training curves and the summary; the best epoch's metrics."""
    (out / "config.yaml").write_text(OmegaConf.to_yaml(config))
    epochs = [h for h in history.epochs if "val/loss" in h]
    plots.training_curves(epochs, out / "training_curves.png", summary["best_epoch"])
    summary["output_dir"] = str(out)
    files = [(out / "config.yaml", None), (out / "training_curves.png", None)]
    files.append((write_json(out / "summary.json", summary), None))
    metrics = {f"best/val_{k}": summary[f"val_{k}"] for k in ("acc", "loss", "auroc")}
    return metrics | {"best/epoch": summary["best_epoch"] or 0}, files


#: what a sample panel shows of an image, by lattice dimension: (title suffix, 2D view)
SAMPLE_VIEWS = {
    2: (("", lambda image: image),),
    3: (
        (", sum over z", lambda cube: cube.sum(axis=0)),
        (", slice z = L/2", lambda cube: cube[cube.shape[0] // 2]),
    ),
}


def write_sample_images(
    data: LoadedEnsemble, physics: LatticeModel, energy: float, per_phase: int, path: Path
) -> Files:
    """The letter's Figs. 1/4: training eigenfunctions across W for each phase. A 3D state
    is drawn twice, in two rows per phase: |psi|^2 summed along z, and the slice z = L/2
    through its maximum (periodic images are centred there)."""
    if per_phase < 1:
        return []
    views = SAMPLE_VIEWS[physics.dimension]
    images, titles = [], []
    for label, phase in enumerate(physics.phases):
        idx = np.flatnonzero(data.labels == label)
        idx = idx[np.argsort(data.W[idx])]
        picked = idx[np.linspace(0, len(idx) - 1, per_phase).round().astype(int)]
        for name, view in views:
            for i in picked:
                images.append(view(np.asarray(data.image(i))))
                titles.append(f"{phase}{name}\nW = {data.W[i]:.3g}, E = {data.energies[i]:.3g}")
    L, wc = images[0].shape[-1], physics.reference_critical_disorder(energy)
    density = "|psi(x, y)|^2" if physics.dimension == 2 else "|psi(x, y, z)|^2"
    title = f"{physics.name}, L = {L}: {density} (W_c = {wc})"
    plots.sample_panel(images, titles, path, ncols=per_phase, suptitle=title)
    return [(path, "images")]


def write_study(study: ScalingStudy, out: Path) -> tuple[dict[str, float], Files]:
    """A finite-size-scaling study: fss.json, both collapse plots and the locator panel."""
    files: Files = []
    metrics: dict[str, float] = {}
    for fit, prefix, label, name in (
        (study.fit, "fss/", "free", "fss_collapse.png"),
        (study.anchored, "fss/anchored/", "f(0) = 1/2", "fss_collapse_anchored.png"),
    ):
        values = _estimate_metrics(fit.wc, fit.wc_ci, fit.nu, fit.nu_ci)
        values["reduced_chi2"] = fit.reduced_chi2
        metrics |= {prefix + k: v for k, v in values.items()}
        title = f"{study.model}, {label}: W_c = {fit.wc:.3f}, nu = {fit.nu:.2f} "
        title += f"(chi2/dof {fit.reduced_chi2:.2f})"
        plots.scaling_collapse(study.curves, fit, out / name, title=title)
        files.append((out / name, "fss"))
    files.append((write_json(out / "fss.json", study.summary()), "fss"))
    return metrics, files


#: below this, the smallest and largest size's curves overlap within 2 standard errors on one
#: side of W_c: the table says they do not cross (or the peak does not narrow; or confusion's
#: accuracy has no interior maximum), whatever the fit reports
CLEAR_SIGNATURE_Z = 2.0
#: what a route's data fail to show, by its signature (scaling.signature_z, confusion.maximum_z)
_NOT_SHOWN = {
    "crossing": "the curves do not cross clearly",
    "peak": "the peak does not narrow clearly",
    "maximum": "the curve has no clear interior maximum",  # confusion, peak: maximum_z
}


@dataclass(frozen=True)
class RouteResult:
    """What one discovery route measured: W_c (and nu) with 95% intervals, and its data."""

    route: str
    wc: float
    wc_ci: tuple[float, float]
    nu: float | None = None
    nu_ci: tuple[float, float] | None = None
    estimate: ScalingEstimate | None = None  # scaling routes: the fit to all sizes
    dropped: ScalingEstimate | None = None  # the same without the smallest size
    signature_z: float | None = None  # how clearly the data show it (scaling.signature_z)
    curves: dict[int, Curve] | None = None
    confusion: ConfusionCurve | None = None
    minutes: float = math.nan
    samples: dict[int, tuple[np.ndarray, np.ndarray]] | None = None  # per size: W, values
    # what the data show at W_c: curves that cross, a peak, or an interior maximum
    signature: str = "crossing"
    peaks: dict[int, PeakPosition] | None = None  # peak-position routes: every size's

    def record(self) -> dict[str, Any]:
        """Everything but the per-state samples (those go to an .npz file)."""
        names = (f.name for f in dataclasses.fields(self) if f.name != "samples")
        return {name: getattr(self, name) for name in names}

    def line(self, *, wrap: bool = False) -> str:
        """One line of the route's result (``wrap``: the crossing note on a second line, as a
        figure title, which one line would overflow)."""
        text = f"{self.route}: W_c = {interval_text(self.wc, self.wc_ci, 3)}"
        if self.nu is not None:
            text += f", nu = {interval_text(self.nu, self.nu_ci, 2)}"
        if not self.shown:
            text += (";\n" if wrap else "; ") + _NOT_SHOWN[self.signature]
            text += f" (z = {self.signature_z:.1f})"
        return text + f" ({self.minutes:.1f} min)"

    @property
    def shown(self) -> bool:
        """False where the sizes' curves overlap within 2 errors on one side of W_c (or, for
        a peak, do not meet there; for confusion, the peak is within 2 errors of a dip)."""
        return self.signature_z is None or self.signature_z >= CLEAR_SIGNATURE_Z

    def metrics(self) -> dict[str, float]:
        values = _estimate_metrics(self.wc, self.wc_ci, self.nu, self.nu_ci)
        if self.nu is not None:
            values["reduced_chi2"] = self.estimate.fit.reduced_chi2
        if self.signature_z is not None:
            values[f"{self.signature}_z"] = self.signature_z
        if self.dropped is not None:
            values["W_c_without_smallest_L"] = self.dropped.wc
            values["nu_without_smallest_L"] = self.dropped.nu
        if self.confusion is not None and np.isfinite(self.confusion.top[0]):
            values |= dict(zip(("top_lo", "top_hi"), self.confusion.top, strict=True))
        for L, p in (self.peaks or {}).items():
            values |= {f"peak_L{L}": p.position, f"peak_L{L}_lo": p.ci[0], f"peak_L{L}_hi": p.ci[1]}
        values["minutes"] = self.minutes
        return {f"discover/{self.route}/{k}": v for k, v in values.items()}


def write_discovery(
    results: Sequence[RouteResult], model: str, params: dict[str, Any], energy: float, out: Path
) -> tuple[dict[str, float], Files]:
    """The table (discovery.md, .json), one figure of every route (discovery.png), and the
    metrics ``discover/<route>/...``. The literature values (at ``energy``) appear only here,
    beside."""
    out.mkdir(parents=True, exist_ok=True)
    physics = get_model(model, **params)
    wc_ref, nu_ref = physics.reference_critical_disorder(energy), physics.critical_exponent
    rows = [
        "| route | W_c [95%] | nu [95%] | chi2/dof | sizes show (z) "
        "| without smallest L: W_c, nu | minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        chi2 = f"{r.estimate.fit.reduced_chi2:.2f}" if r.estimate else ""
        cross = (
            ""
            if r.signature_z is None
            else f"{r.signature}: {'yes' if r.shown else '**no**'} ({r.signature_z:.1f})"
        )
        dropped = f"{r.dropped.wc:.3f}, {r.dropped.nu:.2f}" if r.dropped else ""
        wc, nu = interval_text(r.wc, r.wc_ci, 3), interval_text(r.nu, r.nu_ci, 2)
        rows.append(f"| {r.route} | {wc} | {nu} | {chi2} | {cross} | {dropped} | {r.minutes:.1f} |")
    rows.append(f"| literature | {literature_text(wc_ref)} | {literature_text(nu_ref)} | | | | |")
    for r in results:  # a peak position is a finite-size estimate: how it moves with L
        if r.peaks:
            by_size = (f"L = {L}: {interval_text(p.position, p.ci, 3)}" for L, p in r.peaks.items())
            rows += ["", f"{r.route}, the maximum of each size's curve: " + "; ".join(by_size)]
        if r.confusion is not None and r.confusion.draws:
            maxima = ", ".join(f"{p:.3f}" for p in r.confusion.draws)
            sd = float(np.std(r.confusion.draws, ddof=1))  # the scatter the interval is made of
            scatter = f" (one draw's sd {sd:.3f})" if np.isfinite(sd) else ""
            rows += [
                "",
                f"{r.route}, the maximum of each independent draw (W_c: their mean): "
                f"{maxima}{scatter}",
            ]
        if r.confusion is not None and np.isfinite(r.confusion.top[0]):
            lo, hi = r.confusion.top  # a flat top brackets W_c, whatever the interval says
            rows += [
                "",
                f"{r.route}, the top of the accuracy (trials within {TOP_Z:g} paired errors of "
                f"the highest): W' = {lo:g} ... {hi:g}",
            ]
    table = out / "discovery.md"
    heading = f"# {model}, E = {energy:g}: the transition from two W ranges alone"
    table.write_text("\n".join([heading, "", *rows]) + "\n")
    routes = [r.record() for r in results]
    record = {
        "model": model,
        "energy": energy,
        "reference_wc": wc_ref,
        "reference_nu": nu_ref,
        "routes": routes,
    }
    for r in results:  # per-state values, to refit without recomputing: allow_pickle=False
        if r.samples:
            arrays = {
                f"{k}_L{L}": a
                for L, (W, v) in r.samples.items()
                for k, a in (("W", W), ("values", v))
            }
            np.savez_compressed(out / f"{r.route}_samples.npz", **arrays)
    figure = out / "discovery.png"
    references = {"reference_wc": wc_ref, "reference_nu": nu_ref}
    plots.discovery(results, figure, model=model, energy=energy, **references)
    files = [(table, "discovery"), (write_json(out / "discovery.json", record), "discovery")]
    metrics = {k: v for r in results for k, v in r.metrics().items()}
    return metrics, [*files, (figure, "discovery")]


def phase_diagram_metrics(d: PhaseDiagram) -> dict[str, float]:
    """``phase_diagram/W_half/E<e>`` (with ``_lo``, ``_hi``) at each grid energy; where the
    literature has a W_c there, ``phase_diagram/deviation/E<e>``: (W_half - W_c) / W_c; where
    a compared point is, likewise ``phase_diagram/compared_deviation/E<e>``."""
    metrics = {}
    for i, energy in enumerate(d.energies):
        tag = energy_tag(energy)
        for name, values in (("", d.W_half), ("_lo", d.lo), ("_hi", d.hi)):
            metrics[f"phase_diagram/W_half{name}/{tag}"] = float(values[i])
        if (wc := d.reference_at(energy)) is not None:
            metrics[f"phase_diagram/deviation/{tag}"] = float((d.W_half[i] - wc) / wc)
        if (compared := d.compared_at(energy)) is not None:
            wc = compared[0]
            metrics[f"phase_diagram/compared_deviation/{tag}"] = float((d.W_half[i] - wc) / wc)
    return metrics


def write_phase_diagram(d: PhaseDiagram, out: Path) -> tuple[dict[str, float], Files]:
    """The map (PNG), its values (NPZ, and CSV one row per grid point), the contour with the
    literature beside (CSV), and the contour's metrics; artifacts under ``phase_diagram/``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"phase_diagram_{d.model}"
    arrays = {
        k: getattr(d, k) for k in ("energies", "W", "p", "sem", "count", "W_half", "lo", "hi")
    }
    np.savez_compressed(out / f"{stem}.npz", **arrays)
    rows = [
        (e, w, d.p[i, j], d.sem[i, j], int(d.count[i, j]))
        for i, e in enumerate(d.energies)
        for j, w in enumerate(d.W)
    ]
    grid_csv = _write_csv(out / f"{stem}.csv", ["E", "W", f"P_{d.phase}", "sem", "n_states"], rows)
    contour = []
    for i, e in enumerate(d.energies):
        row = [e, d.W_half[i], d.lo[i], d.hi[i]]
        wc = d.reference_at(e)
        row += ["" if wc is None else wc, math.nan if wc is None else (d.W_half[i] - wc) / wc]
        if (compared := d.compared_at(e)) is None:
            row += ["", "", "", math.nan]
        else:
            row += [*compared, (d.W_half[i] - compared[0]) / compared[0]]
        contour.append(tuple(row))
    header = ["E", "W_half", "W_half_lo", "W_half_hi", "literature_W_c", "relative_deviation"]
    header += ["compared_W_c", "compared_lo", "compared_hi", "compared_relative_deviation"]
    contour_csv = _write_csv(out / f"{stem}_contour.csv", header, contour)
    figure = out / f"{stem}.png"
    title = (
        f"{d.model}, L = {d.L}: P({d.phase})\nfrom the network trained on {d.trained_on} "
        f"at E = {d.train_energy:g}"
    )
    caption = f"Literature W_c(E): {d.reference_source}." if d.reference else ""
    if d.compared:
        caption += f" Compared W_c(E): {d.compared_source}."
    plots.phase_diagram(d, figure, title=title, caption=caption)
    files = [(p, "phase_diagram") for p in (figure, out / f"{stem}.npz", grid_csv, contour_csv)]
    return phase_diagram_metrics(d), files

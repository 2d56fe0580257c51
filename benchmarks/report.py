"""Summary table and plots of a benchmark run, drawn from ``results.csv`` alone.

- ``summary.md``: per preset and metric, the mean over images and seeds with a 95 % bootstrap
  interval for every path x coverage x completer, the scan time and dose, and any published
  reference numbers of the suite beside ours.
- ``error_vs_coverage.png``: MSE against coverage, one panel per path, one line per completer,
  the interval as a band.
- ``defect_recall.png``: the same for the recall of planted point defects.
- ``error_vs_distance.png``: mean absolute error against the distance to the nearest sampled
  pixel, one panel per path and coverage.
- ``error_maps_<completer>.png``: |error| on a coarse grid relative to each image's mean,
  averaged over images, per path and coverage (where the error sits relative to the path).
- ``examples/<path>.png`` (drawn by ``pstem bench``, which can re-run a cell): truth, partial
  scan, each completion and its |error|.

A suite with several presets gets one set of plots per preset (``..._<preset>.png``).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from completion import metrics
from completion.metrics import bootstrap_ci
from scanpaths.common import coverage_label, write_text_atomic
from scanpaths.strategies import describe

from . import plotting
from .references import Reference

#: Metrics of the summary: (column, heading, format, scale).
SUMMARY_METRICS: tuple[tuple[str, str, str, float], ...] = (
    ("mse", "MSE x 1e-3 (vs noise-free truth; lower is better)", "{:.3f}", 1e3),
    ("psnr", "PSNR dB (higher is better)", "{:.2f}", 1.0),
    ("ssim", "SSIM (higher is better)", "{:.3f}", 1.0),
    ("defect_recall", "Defect recall (fraction of planted point defects still visible)", "{:.2f}", 1.0),
    (
        "defect_recall_touched",
        "Recall of the defects the scan touched (a sample within the column's radius)",
        "{:.2f}",
        1.0,
    ),
    ("rmse_blur", "RMS error vs the blurred raw image (Ede & Beanland's convention)", "{:.4f}", 1.0),
)


def _f(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


class Results:
    """results.csv rows grouped for tables and plots."""

    def __init__(self, rows: Sequence[dict[str, str]]) -> None:
        if not rows:
            raise ValueError("no results to report")
        self.rows = list(rows)
        self.paths = list(dict.fromkeys(r["path"] for r in rows))
        self.coverages = sorted({float(r["coverage_target"]) for r in rows}, reverse=True)
        self.presets = list(dict.fromkeys(r["preset"] for r in rows))
        self.completers = list(dict.fromkeys(r["completer"] for r in rows))
        self.groups: dict[tuple[str, str, float, str], list[dict[str, str]]] = defaultdict(list)
        for r in rows:
            self.groups[(r["preset"], r["path"], float(r["coverage_target"]), r["completer"])].append(r)

    def values(self, preset: str, path: str, cov: float, comp: str, column: str) -> np.ndarray:
        return np.array([_f(r[column]) for r in self.groups.get((preset, path, cov, comp), [])], dtype=float)

    def stat(self, preset: str, path: str, cov: float, comp: str, column: str) -> tuple[float, float, float]:
        return bootstrap_ci(self.values(preset, path, cov, comp, column))

    def suffix(self, preset: str) -> str:
        return "" if len(self.presets) == 1 else f"_{preset}"


def completer_label(name: str) -> str:
    """A short label for a completer (a checkpoint file shows as its file name)."""
    return Path(name).name if name.endswith(".pt") else name


# --------------------------------------------------------------------------- summary.md
def summary_markdown(res: Results, title: str, references: Sequence[Reference] = ()) -> str:
    """The summary table of a run as Markdown."""
    comps = res.completers
    n_img = len({r["image"] for r in res.rows})
    n_seed = len({r["seed"] for r in res.rows})
    lines = [f"# {title}", ""]
    lines.append(
        f"{len(res.rows)} cells: {n_img} images x {n_seed} seeds per path x coverage x preset x completer. "
        "Each entry is the mean over images and seeds with its 95 % bootstrap interval (2000 resamples); "
        "the best mean of each row is in bold."
    )
    lines.append("")
    for preset in res.presets:
        for column, heading, fmt, scale in SUMMARY_METRICS:
            counts = {"defect_recall": "defects", "defect_recall_touched": "defects_touched"}
            if column in counts and not any(r.get(counts[column]) not in (None, "", "0") for r in res.rows):
                continue
            lines += [f"## {heading}, preset `{preset}`", ""]
            lines.append("| path | coverage | " + " | ".join(completer_label(c) for c in comps) + " |")
            lines.append("|---|---|" + "---|" * len(comps))
            lower_better = column in ("mse", "rmse_blur")
            for path in res.paths:
                for cov in res.coverages:
                    stats = [res.stat(preset, path, cov, c, column) for c in comps]
                    means = [s[0] for s in stats]
                    finite = [m for m in means if math.isfinite(m)]
                    best = (min(finite) if lower_better else max(finite)) if finite else math.nan
                    cells = []
                    for m, lo, hi in stats:
                        if not math.isfinite(m):
                            cells.append("-")
                            continue
                        text = f"{fmt.format(m * scale)} [{fmt.format(lo * scale)}, {fmt.format(hi * scale)}]"
                        cells.append(f"**{text}**" if m == best and len(comps) > 1 else text)
                    lines.append(f"| {path} | {coverage_label(cov)} | " + " | ".join(cells) + " |")
            lines.append("")
        lines += [f"## Scan cost, preset `{preset}`", ""]
        lines.append("| path | coverage | coverage reached | scan time ms | samples | dose e- |")
        lines.append("|---|---|---|---|---|---|")
        for path in res.paths:
            for cov in res.coverages:
                rs = res.groups.get((preset, path, cov, comps[0]), [])
                if not rs:
                    continue
                reached = np.nanmean([_f(r["coverage"]) for r in rs])
                t = np.nanmean([_f(r["scan_time_s"]) for r in rs]) * 1e3
                n = np.nanmean([_f(r["n_samples"]) for r in rs])
                dose = [_f(r["dose_e"]) for r in rs]
                d = f"{np.mean(dose):.3g}" if all(math.isfinite(x) for x in dose) else "none"
                lines.append(f"| {path} | {coverage_label(cov)} | {reached:.4f} | {t:.2f} | {n:.0f} | {d} |")
        lines.append("")
    for ref in references:
        lines += _reference_table(res, ref)
    lines += [
        "Metrics: `mse`, `psnr`, `ssim` against the noise-free truth of synthetic specimens (the image itself for "
        "files); `rmse_blur` against the raw image blurred by a 5x5 Gaussian of sigma 2.5 px; defect recall: a planted "
        "vacancy or substitution counts as seen when the completion keeps at least half of its contrast to the "
        "neighbouring columns (completion/metrics.py).",
        "",
    ]
    return "\n".join(lines)


def _reference_table(res: Results, ref: Reference) -> list[str]:
    comps = res.completers
    lines = [f"## Beside {ref.label}: `{ref.metric}`, path `{ref.path}`", ""]
    heads = [f"{completer_label(c)} ({p})" for p in res.presets for c in comps]
    lines.append("| coverage | reference | " + " | ".join(heads) + " |")
    lines.append("|---|---|" + "---|" * len(heads))
    for cov, value in zip(ref.coverages, ref.values, strict=True):
        match = [c for c in res.coverages if abs(c - cov) <= 1e-9 * max(1.0, cov)]
        cells = []
        for p in res.presets:
            for c in comps:
                m = res.stat(p, ref.path, match[0], c, ref.metric)[0] if match else math.nan
                cells.append(f"{m:.4f}" if math.isfinite(m) else "-")
        lines.append(f"| {coverage_label(cov)} | {value:.4f} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


# --------------------------------------------------------------------------- plots
def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 4)
    return math.ceil(n / cols), cols


def _save(fig: Figure, out: Path, name: str, pdf: bool, written: list[Path]) -> None:
    for ext in (".png", ".pdf") if pdf else (".png",):
        p = out / f"{name}{ext}"
        plotting.save(fig, p, dpi=120)
        written.append(p)


def _coverage_axis(ax: object, covs: list[float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(covs)
    ax.set_xticklabels([coverage_label(c) for c in covs], rotation=45)
    ax.minorticks_off()
    ax.set_xlabel("coverage (fraction of pixels scanned)")
    ax.grid(alpha=0.3)


def plot_metric_vs_coverage(
    res: Results, out: Path, column: str, ylabel: str, name: str, log_y: bool, pdf: bool, written: list[Path]
) -> None:
    """One panel per path: ``column`` vs coverage, one line per completer, 95 % band."""
    colors = plotting.colours()
    for preset in res.presets:
        nr, nc = _grid(len(res.paths))
        fig, axes = plotting.figure(nr, nc, figsize=(4.2 * nc, 3.6 * nr), squeeze=False, sharey=True)
        for ax, path in zip(axes.flat, res.paths, strict=False):
            for k, comp in enumerate(res.completers):
                stats = np.array([res.stat(preset, path, c, comp, column) for c in res.coverages])
                if not np.isfinite(stats[:, 0]).any():
                    continue
                color = colors[k % len(colors)]
                ax.plot(res.coverages, stats[:, 0], "o-", color=color, label=completer_label(comp), ms=4)
                ax.fill_between(res.coverages, stats[:, 1], stats[:, 2], color=color, alpha=0.2, lw=0)
            _coverage_axis(ax, res.coverages)
            if log_y:
                ax.set_yscale("log")
            ax.set_title(describe(path))
        for ax in axes[:, 0]:
            ax.set_ylabel(ylabel)
        for ax in list(axes.flat)[len(res.paths) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"{ylabel} vs coverage, preset '{preset}' (mean and 95 % interval over images)")
        fig.tight_layout()
        _save(fig, out, name + res.suffix(preset), pdf, written)


def plot_error_vs_distance(res: Results, out: Path, pdf: bool, written: list[Path]) -> None:
    """Mean absolute error vs distance to the nearest sample: rows paths, columns coverages."""
    colors = plotting.colours()
    edges = np.array(metrics.DISTANCE_EDGES)
    centres = np.append(0.5 * (edges[:-2] + edges[1:-1]), edges[-2] * 1.25)
    for preset in res.presets:
        nr, nc = len(res.paths), len(res.coverages)
        fig, axes = plotting.figure(
            nr, nc, figsize=(2.9 * nc + 0.6, 2.5 * nr + 0.6), squeeze=False, sharex=True, sharey=True
        )
        for i, path in enumerate(res.paths):
            for j, cov in enumerate(res.coverages):
                ax = axes[i, j]
                for k, comp in enumerate(res.completers):
                    rs = res.groups.get((preset, path, cov, comp), [])
                    if not rs:
                        continue
                    prof = np.array([[_f(r[c]) for c in metrics.DISTANCE_COLUMNS] for r in rs])
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)  # bins empty in every image
                        mean = np.nanmean(prof, axis=0)
                    ok = np.isfinite(mean)
                    ax.plot(
                        centres[ok], mean[ok], ".-", color=colors[k % len(colors)], label=completer_label(comp), ms=3
                    )
                ax.set_xscale("symlog", linthresh=1.0)
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(f"{coverage_label(cov)}", fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"{describe(path)}\nMAE")
                if i == nr - 1:
                    ax.set_xlabel("distance to nearest sample (px)")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"Error vs distance from the path, preset '{preset}' (mean absolute error, intensities in [0, 1])")
        fig.tight_layout()
        _save(fig, out, "error_vs_distance" + res.suffix(preset), pdf, written)


def plot_error_maps(res: Results, out: Path, pdf: bool, written: list[Path]) -> None:
    """Mean |error| maps over images, one figure per completer: rows paths, columns coverages."""
    for preset in res.presets:
        for comp in res.completers:
            nr, nc = len(res.paths), len(res.coverages)
            maps = {}
            for path in res.paths:
                for cov in res.coverages:
                    rs = [r for r in res.groups.get((preset, path, cov, comp), []) if r.get("errmap")]
                    if rs:  # each image's map relative to its own mean, so no one image dominates
                        ms = [metrics.decode_map(r["errmap"]) for r in rs]
                        maps[(path, cov)] = np.mean([m / max(float(m.mean()), 1e-12) for m in ms], axis=0)
            if not maps:
                continue
            vmax = max(float(np.percentile(np.stack(list(maps.values())), 99)), 1.0)
            fig, axes = plotting.figure(nr, nc, figsize=(2.3 * nc + 1.2, 2.3 * nr + 0.6), squeeze=False)
            im = None
            for i, path in enumerate(res.paths):
                for j, cov in enumerate(res.coverages):
                    ax = axes[i, j]
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if (path, cov) in maps:
                        im = ax.imshow(maps[(path, cov)], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
                    if i == 0:
                        ax.set_title(coverage_label(cov), fontsize=9)
                    if j == 0:
                        ax.set_ylabel(describe(path))
            if im is not None:
                fig.colorbar(im, ax=axes, shrink=0.8, label="|error| / the image's mean |error|")
            fig.suptitle(
                f"Where the error sits: |error| of {completer_label(comp)} relative to each image's mean, "
                f"averaged over images ({metrics.MAP_SIZE}x{metrics.MAP_SIZE} blocks), preset '{preset}'"
            )
            _save(fig, out, f"error_maps_{completer_label(comp).removesuffix('.pt')}{res.suffix(preset)}", pdf, written)


def write_report(
    rows: Sequence[dict[str, str]], out: Path, title: str, references: Sequence[Reference] = (), pdf: bool = False
) -> list[Path]:
    """Write summary.md and every plot of a run into ``out``; return the files written."""
    res = Results(rows)
    written: list[Path] = []
    write_text_atomic(out / "summary.md", summary_markdown(res, title, references))
    written.append(out / "summary.md")
    plot_metric_vs_coverage(res, out, "mse", "MSE", "error_vs_coverage", True, pdf, written)
    if any(r["defects"] not in ("", "0") for r in rows):
        plot_metric_vs_coverage(res, out, "defect_recall", "defect recall", "defect_recall", False, pdf, written)
    plot_error_vs_distance(res, out, pdf, written)
    plot_error_maps(res, out, pdf, written)
    return written

"""Summary table and plots of a benchmark run, drawn from ``results.csv`` alone.

- ``summary.md``: per preset and metric, the mean over images and seeds with a 95 % bootstrap
  interval for every path x coverage x completer, the scan time and dose, and any published
  reference numbers of the suite beside ours.
- ``error_vs_coverage.png``: MSE against coverage, one panel per path, one line per completer,
  the interval as a band.
- ``defect_recall.png``: recall of planted point defects pooled over images, per path, coverage
  and completer: the defects the scan touched (with 95 % intervals and their number) beside all.
- ``error_vs_distance.png``: mean absolute error against the distance to the nearest sampled
  pixel, one panel per path and coverage, with intervals and the share of pixels per bin.
- ``error_maps_<completer>.png``: |error| on a coarse grid relative to each image's mean,
  averaged over images, per path and coverage, the commanded path drawn over it.
- ``examples/<path>.png`` (drawn by ``pstem bench``, which can re-run a cell): truth, partial
  scan, each completion, its |error| and its uncertainty map, on the worst-case image.

A suite with several presets gets one set of plots per preset (``..._<preset>.png``).
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

import scanpaths
from completion import metrics
from completion.metrics import bootstrap_ci
from scanpaths.common import coverage_label, write_text_atomic
from scanpaths.errors import InputError
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

    @property
    def truth_label(self) -> str:
        """What the scores are against: the noise-free truth of synthetic specimens, or the
        files themselves (noisy, raw)."""
        synthetic = {r["image"].startswith("synthetic-") for r in self.rows}
        if synthetic == {True}:
            return "noise-free truth"
        if synthetic == {False}:
            return "the image files (raw, noisy)"
        return "noise-free truth (synthetic) or the file (files)"

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
            if column == "mse":
                heading = f"MSE x 1e-3 (vs {res.truth_label}; lower is better)"
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
        n_img = len({r["image"] for r in res.rows})
        fig.suptitle(
            _wrap(f"{ylabel} vs coverage, preset '{preset}' (mean and 95 % interval over {n_img} images)", fig)
        )
        fig.tight_layout()
        _save(fig, out, name + res.suffix(preset), pdf, written)


#: Bins holding less than this share of the pixels are drawn hollow (a few pixels' mean).
THIN_BIN_SHARE = 0.005


def _wrap(text: str, fig: Figure) -> str:
    """``text`` wrapped to the figure's width (a suptitle that would be clipped at the edges)."""
    width = max(40, int(fig.get_figwidth() * 11))
    return "\n".join(textwrap.wrap(text, width))


def plot_error_vs_distance(res: Results, out: Path, pdf: bool, written: list[Path]) -> None:
    """Mean absolute error vs distance to the nearest sample: rows paths, columns coverages; each
    point the mean over images with its 95 % bootstrap interval, bins that hold under
    :data:`THIN_BIN_SHARE` of the pixels hollow, the pixels' share per bin as grey bars."""
    colors = plotting.colours()
    edges = np.array(metrics.DISTANCE_EDGES)
    # the sampled pixels (distance 0) at 0, the others at their bin's middle, the open bin beyond
    centres = np.concatenate([[0.0], 0.5 * (edges[1:-2] + edges[2:-1]), [edges[-2] * 1.25]])
    for preset in res.presets:
        nr, nc = len(res.paths), len(res.coverages)
        fig, axes = plotting.figure(
            nr, nc, figsize=(3.1 * nc + 0.8, 2.6 * nr + 1.2), squeeze=False, sharex=True, sharey=True
        )
        for i, path in enumerate(res.paths):
            for j, cov in enumerate(res.coverages):
                ax = axes[i, j]
                share_ax = ax.twinx()
                share_ax.set_ylim(0, 1)
                share_ax.set_yticks([] if j < nc - 1 else [0, 0.5, 1])
                if j == nc - 1:
                    share_ax.set_ylabel("share of pixels", fontsize=7, color="0.45")
                    share_ax.tick_params(labelsize=7, colors="0.45")
                ax.set_zorder(share_ax.get_zorder() + 1)
                ax.patch.set_visible(False)
                shares = None
                for k, comp in enumerate(res.completers):
                    rs = res.groups.get((preset, path, cov, comp), [])
                    if not rs:
                        continue
                    prof = np.array([[_f(r.get(c, "")) for c in metrics.DISTANCE_COLUMNS] for r in rs])
                    if shares is None:
                        sh = np.array([[_f(r.get(c, "")) for c in metrics.DISTANCE_SHARE_COLUMNS] for r in rs])
                        shares = np.nanmean(sh, axis=0) if np.isfinite(sh).any() else None
                    stats = np.array([bootstrap_ci(prof[:, b]) for b in range(prof.shape[1])])
                    ok = np.isfinite(stats[:, 0])
                    color = colors[k % len(colors)]
                    lo = np.clip(stats[:, 0] - stats[:, 1], 0, None)
                    hi = np.clip(stats[:, 2] - stats[:, 0], 0, None)
                    ax.errorbar(
                        centres[ok], stats[ok, 0], yerr=[lo[ok], hi[ok]], fmt="-", color=color, lw=1,
                        elinewidth=0.7, capsize=1.5, label=completer_label(comp),
                    )  # fmt: skip
                    thin = ok & (shares < THIN_BIN_SHARE) if shares is not None else np.zeros_like(ok)
                    ax.plot(centres[ok & ~thin], stats[ok & ~thin, 0], "o", color=color, ms=3)
                    ax.plot(centres[thin], stats[thin, 0], "o", mfc="white", mec=color, ms=3)
                if shares is not None:
                    widths = np.diff(np.concatenate([[-0.25], 0.5 * (centres[1:] + centres[:-1]), [centres[-1] * 1.3]]))
                    share_ax.bar(centres, shares, width=widths * 0.8, color="0.85", zorder=0)
                ax.set_xscale("symlog", linthresh=1.0)
                ax.set_xticks([0, 1, 2, 5, 10, 20, 40])
                ax.set_xticklabels(["0", "1", "2", "5", "10", "20", "40+"], fontsize=7)
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(f"coverage {coverage_label(cov)}", fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"{describe(path)}\nMAE", fontsize=9)
                if i == nr - 1:
                    ax.set_xlabel("distance to nearest sample (px)", fontsize=8)
        axes[0, 0].legend(fontsize=7)
        n_img = len({r["image"] for r in res.rows})
        fig.suptitle(
            _wrap(
                f"Error vs distance from the path, preset '{preset}': mean absolute error (intensities in [0, 1]) "
                f"over {n_img} image{'s' if n_img != 1 else ''} with 95 % intervals; grey bars: share of pixels "
                f"per bin, hollow points: bins under {100 * THIN_BIN_SHARE:g} % of pixels. At distance 0 (the "
                f"sampled pixels) the error is not 0: the samples carry noise, and coil errors file them under "
                f"the wrong pixel.",
                fig,
            ),
            fontsize=9,
        )
        fig.tight_layout()
        _save(fig, out, "error_vs_distance" + res.suffix(preset), pdf, written)


def _path_overlay(ax: Any, path: str, cov: float, rows: Sequence[dict[str, str]], size: int) -> bool:
    """Draw the commanded path of a fixed path kind over a map of ``size`` x ``size`` cells
    (the first row's image shape and seed); False for strategies that cannot be redrawn."""
    if path not in scanpaths.PATH_KINDS or not rows:
        return False
    h, w = int(float(rows[0]["height"])), int(float(rows[0]["width"]))
    try:
        sp = scanpaths.sample_path(path, (h, w), cov, int(rows[0]["seed"]))
    except InputError:
        return False
    pos = sp.positions[~sp.blanked]
    step = max(1, len(pos) // 20000)
    ax.plot(
        (pos[::step, 0] + 0.5) * size / w - 0.5, (pos[::step, 1] + 0.5) * size / h - 0.5, ",",
        color="#7fd3ff", alpha=0.5,
    )  # fmt: skip
    ax.set_xlim(-0.5, size - 0.5)
    ax.set_ylim(size - 0.5, -0.5)
    return True


def plot_error_maps(res: Results, out: Path, pdf: bool, written: list[Path]) -> None:
    """Mean |error| maps over images, one figure per completer: rows paths, columns coverages,
    the commanded path drawn over each (fixed paths)."""
    size = metrics.MAP_SIZE
    for preset in res.presets:
        for comp in res.completers:
            nr, nc = len(res.paths), len(res.coverages)
            maps, cell_rows = {}, {}
            for path in res.paths:
                for cov in res.coverages:
                    rs = [r for r in res.groups.get((preset, path, cov, comp), []) if r.get("errmap")]
                    if rs:  # each image's map relative to its own mean, so no one image dominates
                        ms = [metrics.decode_map(r["errmap"]) for r in rs]
                        maps[(path, cov)] = np.mean([m / max(float(m.mean()), 1e-12) for m in ms], axis=0)
                        cell_rows[(path, cov)] = rs
            if not maps:
                continue
            vmax = max(float(np.percentile(np.stack(list(maps.values())), 99)), 1.0)
            fig, axes = plotting.figure(nr, nc, figsize=(2.4 * nc + 1.6, 2.4 * nr + 1.3), squeeze=False)
            im = None
            overlaid = False
            for i, path in enumerate(res.paths):
                for j, cov in enumerate(res.coverages):
                    ax = axes[i, j]
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if (path, cov) in maps:
                        im = ax.imshow(maps[(path, cov)], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
                        overlaid |= _path_overlay(ax, path, cov, cell_rows[(path, cov)], size)
                    if i == 0:
                        ax.set_title(f"coverage {coverage_label(cov)}", fontsize=9)
                    if j == 0:
                        ax.set_ylabel(describe(path), fontsize=9)
            if im is not None:
                fig.colorbar(im, ax=axes, shrink=0.8, label="|error| / the image's mean |error|")
            n_img = len({r["image"] for rs in cell_rows.values() for r in rs})
            fig.suptitle(
                _wrap(
                    f"Where the error sits: {completer_label(comp)}, preset '{preset}'. Each image's |error| is "
                    f"averaged over a {size} x {size} grid of cells (a cell is 1/{size} of the image's side), "
                    f"divided by that image's mean, then averaged over {n_img} image{'s' if n_img != 1 else ''}"
                    + ("; light blue: the commanded path (first seed)" if overlaid else ""),
                    fig,
                ),
                fontsize=9,
            )
            _save(fig, out, f"error_maps_{completer_label(comp).removesuffix('.pt')}{res.suffix(preset)}", pdf, written)


def _wilson(k: float, n: float) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k / n."""
    if n <= 0:
        return math.nan, math.nan
    z = 1.96
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


#: Fewer images than this and the defect-recall figure says its intervals are wide.
FEW_IMAGES = 8


def plot_defect_recall(res: Results, out: Path, pdf: bool, written: list[Path]) -> None:
    """Defect recall pooled over images (kept defects / defects), per path: grouped bars per
    coverage and completer, 95 % Wilson intervals, the number of defects under each group;
    solid: the defects the scan touched, hollow outline: all planted defects."""
    colors = plotting.colours()
    comps = res.completers
    for preset in res.presets:
        nr, nc = _grid(len(res.paths))
        fig, axes = plotting.figure(nr, nc, figsize=(4.6 * nc, 3.6 * nr + 0.9), squeeze=False, sharey=True)
        width = 0.8 / max(len(comps), 1)
        for ax, path in zip(axes.flat, res.paths, strict=False):
            for x, cov in enumerate(res.coverages):
                n_touched = 0.0
                for k, comp in enumerate(comps):
                    rs = res.groups.get((preset, path, cov, comp), [])
                    pooled = []
                    for rec, cnt in (("defect_recall_touched", "defects_touched"), ("defect_recall", "defects")):
                        n = sum(_f(r.get(cnt, "")) for r in rs if math.isfinite(_f(r.get(rec, ""))))
                        kept = sum(_f(r[rec]) * _f(r[cnt]) for r in rs if math.isfinite(_f(r.get(rec, ""))))
                        pooled.append((kept / n if n else math.nan, n, kept))
                    (t_p, t_n, t_k), (a_p, a_n, a_k) = pooled
                    n_touched = max(n_touched, t_n)
                    xc = x - 0.4 + width * (k + 0.5)
                    color = colors[k % len(colors)]
                    if math.isfinite(a_p):
                        ax.bar(xc, a_p, width * 0.9, fill=False, edgecolor=color, lw=0.8)
                    if math.isfinite(t_p):
                        lo, hi = _wilson(t_k, t_n)
                        ax.bar(
                            xc,
                            t_p,
                            width * 0.9,
                            color=color,
                            alpha=0.85,
                            label=completer_label(comp) if x == 0 else None,
                        )
                        ax.errorbar(
                            xc,
                            t_p,
                            yerr=[[max(0.0, t_p - lo)], [max(0.0, hi - t_p)]],
                            color="black",
                            lw=0.7,
                            capsize=1.5,
                        )
                ax.text(
                    x,
                    -0.09,
                    f"n={n_touched:.0f}",
                    ha="center",
                    va="top",
                    fontsize=7,
                    transform=ax.get_xaxis_transform(),
                )
            ax.set_xticks(range(len(res.coverages)))
            ax.set_xticklabels([coverage_label(c) for c in res.coverages], fontsize=8)
            ax.set_ylim(0, 1.1)
            ax.set_title(describe(path), fontsize=10)
            ax.set_xlabel("coverage", fontsize=8)
            ax.grid(axis="y", alpha=0.3)
        for ax in axes[:, 0]:
            ax.set_ylabel("defect recall")
        for ax in list(axes.flat)[len(res.paths) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 0.93))
        n_img = len({r["image"] for r in res.rows})
        warn = f" Only {n_img} images: the intervals are wide." if n_img < FEW_IMAGES else ""
        fig.suptitle(
            _wrap(
                f"Defect recall, preset '{preset}', pooled over {n_img} image{'s' if n_img != 1 else ''}: solid bars "
                "the planted vacancies and substitutions the scan touched (a sample within the column's radius; "
                "n = how many, with 95 % intervals), outlines all planted defects (no completer can see an "
                f"untouched one).{warn}",
                fig,
            ),
            fontsize=9,
        )
        fig.tight_layout()
        _save(fig, out, "defect_recall" + res.suffix(preset), pdf, written)


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
        plot_defect_recall(res, out, pdf, written)
    plot_error_vs_distance(res, out, pdf, written)
    plot_error_maps(res, out, pdf, written)
    return written

"""Completion on real frames: the generator against each image's best classical fill.

Run: ``pstem eval real`` (after ``pstem data fetch``). Every frame of the real validation set
(:mod:`benchmarks.realdata`; experimental HAADF/ADF frames, GPL-3, kept in a cache outside the
repository) and, where they are at hand, physics-true PRISM simulations (``simulations``: an
``.npz`` with ``clean`` images as ``../shared/data/atomagined_haadf.npz`` holds) are centre-cropped
to ``size`` px and scanned along each path at each coverage under each preset. Each scan is
completed by every classical fill and every model; the figure is, per cell, the model's MSE
over the best classical fill's MSE **for that image and cell**, reported per image, per set and
overall, beside RMS against the frame blurred as Ede & Beanland did. The truth is the frame
itself (a real frame has no noise-free version), so the noise in it bounds every completer.

Writes Markdown (``out``) and one CSV row per image x path x coverage x preset x completer.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import scanpaths
from completion.device import set_threads
from completion.metrics import blurred, calibration, finite_mean, mse
from completion.registry import COMPLETERS, get_completer
from scanpaths.common import atomic_write, coverage_label, parse_coverage, write_text_atomic
from scanpaths.errors import ConfigError, InputError, field_errors

from .eval_completion import BASELINE_NAMES, complete_all
from .realdata import SIMULATIONS, VALIDATION_SIMULATIONS, RealFrame, load_real

__all__ = ["RealFigures", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealFigures:
    """Settings of ``pstem eval real``.

    Attributes:
        data: the cache folder ``pstem data fetch`` wrote (default: $PARTIALSTEM_DATA, or
            ~/.cache/partialstem).
        simulations: physics-true simulations to add as a set (an .npz with ``clean`` images),
            used where the file exists; "none" leaves them out.
        n_sim: how many of the simulations.
        size: frames larger than this are centre-cropped to it, px.
        paths: path kinds to scan.
        coverages: coverages to scan at.
        presets: physics presets.
        models: generators (or any completer names) to hold against the classical fills.
        out: Markdown output.
        csv: CSV output.
        threads: torch threads (0: all cores).
    """

    data: str | None = None
    simulations: str = SIMULATIONS
    n_sim: int = VALIDATION_SIMULATIONS
    size: int = 512
    paths: tuple[str, ...] = ("spiral", "lissajous", "grid")
    coverages: tuple[float, ...] = (1 / 20, 1 / 50)
    presets: tuple[str, ...] = ("ideal", "typical")
    models: tuple[str, ...] = ("gan-mse",)
    out: str = "benchmarks/results/real.md"
    csv: str = "benchmarks/results/real.csv"
    threads: int = 0

    def resolved(self) -> RealFigures:
        """A checked copy (coverages as floats)."""
        with field_errors("coverages"):
            covs = tuple(parse_coverage(c) for c in self.coverages)
        out = replace(self, coverages=covs)
        if not 64 <= out.size <= 4096:
            raise ConfigError("size", f"must be in [64, 4096], got {out.size}")
        if out.n_sim < 0:
            raise ConfigError("n_sim", f"must be >= 0, got {out.n_sim}")
        if out.n_sim > VALIDATION_SIMULATIONS and out.simulations == SIMULATIONS:
            log.warning(
                "simulations after the first %d trained gan-prism (and auto); its figures on them are not held out",
                VALIDATION_SIMULATIONS,
            )
        for k in out.paths:
            if k not in scanpaths.PATH_KINDS:
                raise ConfigError("paths", f"holds an unknown path kind {k!r}")
        for p in out.presets:
            with field_errors("presets", "preset "):
                scanpaths.get_preset(p)
        for m in out.models:
            with field_errors("models", "completer "):
                COMPLETERS.resolve(m)
            if m in BASELINE_NAMES:
                raise ConfigError("models", f"{m!r} is one of the classical fills every image is scored with already")
        if not (out.paths and covs and out.presets and out.models):
            raise ConfigError("paths", "paths, coverages, presets and models must each name at least one")
        return out


def _crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def _images(cfg: RealFigures) -> list[RealFrame]:
    frames = load_real(cfg.data)
    sim = Path(cfg.simulations)
    if cfg.simulations != "none" and cfg.n_sim and sim.is_file():
        with np.load(sim) as z:
            clean = z["clean"][: cfg.n_sim].astype(np.float32)
        frames += [RealFrame(f"prism-{i + 1}", "prism", np.clip(c, 0, 1)) for i, c in enumerate(clean)]
    elif cfg.simulations != "none" and cfg.n_sim:
        log.warning("no simulations at %s; the real frames only", sim)
    return [RealFrame(f.name, f.set, _crop(f.image, cfg.size)) for f in frames]


def run(cfg: RealFigures, command: str = "pstem eval real") -> str:
    """Compute the figures, write the Markdown and CSV; return the Markdown."""
    cfg = cfg.resolved()
    if cfg.threads:
        set_threads(cfg.threads)
    images = _images(cfg)
    models = {name: get_completer(name) for name in cfg.models}
    rows: list[dict[str, object]] = []
    cells = [(i, p, c, s) for i in range(len(images)) for p in cfg.paths for c in cfg.coverages for s in cfg.presets]
    for i, path, cov, preset in tqdm(cells, desc="real figures", unit="scan"):
        frame = images[i]
        try:
            scan_path = scanpaths.make_path(path, frame.image.shape, coverage=cov, seed=3000 + i)
        except InputError as exc:
            log.warning("%s: %s", frame.name, exc)
            continue
        scan = scanpaths.simulate(frame.image, scan_path, preset=preset, seed=3000 + i)
        blur = blurred(frame.image)
        maps: dict[str, np.ndarray] = {}
        for name, out in complete_all(models, scan, maps).items():
            cover, rho = calibration(out, maps[name], frame.image, scan.mask) if name in maps else (math.nan, math.nan)
            rows.append(
                {
                    "image": frame.name,
                    "set": frame.set,
                    "path": path,
                    "coverage": cov,
                    "preset": preset,
                    "completer": name,
                    "mse": mse(out, frame.image),
                    "mse_blur": mse(out, blur),
                    "rmse_blur": math.sqrt(mse(out, blur)),
                    "cover90": cover,
                    "spearman": rho,
                }
            )
    text = _report(cfg, images, rows, command)
    write_text_atomic(cfg.out, text)
    with atomic_write(cfg.csv, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return text


def _report(cfg: RealFigures, images: list[RealFrame], rows: list[dict[str, object]], command: str) -> str:
    # per cell (image, path, coverage, preset): every completer's MSE against the frame and the blurred frame
    by_cell: dict[tuple, dict[str, float]] = defaultdict(dict)
    blur_cell: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in rows:
        key = (r["image"], r["path"], r["coverage"], r["preset"])
        by_cell[key][str(r["completer"])] = float(r["mse"])  # type: ignore[arg-type]
        blur_cell[key][str(r["completer"])] = float(r["mse_blur"])  # type: ignore[arg-type]
    sets = {f.name: f.set for f in images}
    # every set, then the experimental frames together (all but the simulations), then everything
    groups = [*sorted(set(sets.values())), *(["experimental"] if "prism" in sets.values() else []), "all"]

    def member(image: str, group: str) -> bool:
        return group == "all" or sets[image] == group or (group == "experimental" and sets[image] != "prism")

    def over_best(cells: dict[tuple, dict[str, float]], m: str) -> dict[tuple, float]:
        return {k: res[m] / min(res[b] for b in BASELINE_NAMES) for k, res in cells.items()}

    ratio = {m: over_best(by_cell, m) for m in cfg.models}
    ratio_blur = {m: over_best(blur_cell, m) for m in cfg.models}
    best_name = {key: min(BASELINE_NAMES, key=lambda b: res[b]) for key, res in by_cell.items()}
    lines = [
        "# Completion on real frames",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"{len(images)} frames ({', '.join(sorted(set(sets.values())))}), centre-cropped to at most {cfg.size} px; "
        f"paths {', '.join(cfg.paths)}; coverages {', '.join(coverage_label(c) for c in cfg.coverages)}; presets "
        f"{', '.join(cfg.presets)}. Ratio: the model's MSE over the best of the {len(BASELINE_NAMES)} classical fills "
        f"({', '.join(BASELINE_NAMES)}) for that image and scan; below 1 the model wins. Truth: the frame itself. "
        "`prism`: physics-true simulations, not experimental frames; `experimental`: every other set together.",
        "",
    ]
    lines += [
        "## Summary",
        "",
        "Per set, mean over images, paths, coverages and presets: the model's MSE over each image's best classical "
        "fill, against the frame and against the frame blurred (5 x 5, sigma 2.5 px, as Ede & Beanland scored); "
        "and its uncertainty map's calibration: the fraction of unscanned pixels inside the predicted 90 % "
        "interval (goal 0.85-0.95) and Spearman's rank correlation of predicted and actual error over 16 x 16 px "
        "blocks (goal >= 0.6), both against the frame.",
        "",
        "| set | " + " | ".join(f"{m}: ratio | vs blurred | in 90 % | Spearman" for m in cfg.models) + " |",
        "|---|" + "---|---|---|---|" * len(cfg.models),
    ]
    for group in groups:
        cells = []
        for m in cfg.models:
            rs = [r for k, r in ratio[m].items() if member(k[0], group)]
            rb = [r for k, r in ratio_blur[m].items() if member(k[0], group)]
            cal = [r for r in rows if r["completer"] == m and member(str(r["image"]), group)]
            cov = finite_mean([float(r["cover90"]) for r in cal])  # type: ignore[arg-type]
            rho = finite_mean([float(r["spearman"]) for r in cal])  # type: ignore[arg-type]
            cells.append(f"{np.mean(rs):.2f} | {np.mean(rb):.2f} | {cov:.2f} | {rho:.2f}")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    lines.append("")
    for m in cfg.models:
        lines += [f"## {m} / each image's best classical fill, by set and scan", ""]
        heads = [f"{p} {coverage_label(c)} {s}" for p in cfg.paths for c in cfg.coverages for s in cfg.presets]
        lines += ["| set | " + " | ".join(heads) + " | mean |", "|---|" + "---|" * (len(heads) + 1)]
        for group in groups:
            cells, allv = [], []
            for p in cfg.paths:
                for c in cfg.coverages:
                    for s in cfg.presets:
                        v = [r for (img, pp, cc, ss), r in ratio[m].items() if (pp, cc, ss) == (p, c, s)
                             and member(img, group)]  # fmt: skip
                        allv += v
                        cells.append(f"{np.mean(v):.2f}" if v else "-")
            lines.append(f"| {group} | " + " | ".join(cells) + f" | **{np.mean(allv):.2f}** |")
        lines += ["", f"## {m}, per image (mean over paths and presets)", ""]
        lines += [
            "| image | set | " + " | ".join(coverage_label(c) for c in cfg.coverages) + " | best fill most often |"
        ]
        lines.append("|---|---|" + "---|" * (len(cfg.coverages) + 1))
        for f in images:
            cells = []
            for c in cfg.coverages:
                v = [r for (img, _, cc, _), r in ratio[m].items() if img == f.name and cc == c]
                cells.append(f"{np.mean(v):.2f}" if v else "-")
            names = [b for (img, *_), b in best_name.items() if img == f.name]
            # every fill tied for most often, in name order (a set's order changes between runs)
            top = max(map(names.count, names), default=0)
            common = " / ".join(sorted({b for b in names if names.count(b) == top})) or "-"
            lines.append(f"| {f.name} | {f.set} | " + " | ".join(cells) + f" | {common} |")
        lines.append("")
    lines += ["## RMS error against the blurred frame (Ede & Beanland's convention), mean over every scan", ""]
    comps = [*BASELINE_NAMES, *cfg.models]
    lines += ["| set | " + " | ".join(comps) + " |", "|---|" + "---|" * len(comps)]
    for group in [*sorted(set(sets.values())), "all"]:
        vals = []
        for comp in comps:
            v = [
                float(r["rmse_blur"]) for r in rows if r["completer"] == comp and (group == "all" or r["set"] == group)
            ]  # type: ignore[arg-type]
            vals.append(f"{np.mean(v):.4f}")
        lines.append(f"| {group} | " + " | ".join(vals) + " |")
    lines.append("")
    return "\n".join(lines)

"""Adaptive scan strategies against the best fixed path, per specimen class, at equal time and dose.

Run: ``pstem eval adaptive``. For each class of :data:`CLASSES` (held-out synthetic specimens
of one scene each; ``real``: the cached real frames of ``pstem data fetch``, when present), each
budget (the scan time of a spiral at the coverage, typical physics) and each completer, every
fixed path of ``fixed`` is scanned at the density that takes the same time
(:func:`rl.equal_time.fixed_scan`; ``KIND@STEP`` at a step of STEP px per tick) and every
strategy of ``strategies`` spends the same time; the dose per sample is the same for all, so a
scan's electrons go as its beam-on ticks: none spends more than the serpentine (beam on
throughout); the spiral blanks the corners it passes outside the field and spends less. The
specimens' noise-free images are scanned (the dose noise is the only noise) and the truth is
the noise-free image; a real frame is its own truth.

The figure, per class: each strategy's MSE over the MSE of the **best fixed path for that
class** (the kind with the lowest mean MSE over the class's specimens, so the yardstick is
chosen with hindsight, in the fixed paths' favour), with a paired bootstrap 95 % interval
over specimens; the decision time of each strategy against the time the beam takes to scan
one line of the field under the preset (the margin a real-time strategy has); the time and
dose each scan spent.

Writes Markdown (``out``) and one CSV row per specimen x budget x scan x completer.
"""

from __future__ import annotations

import csv
import logging
import math
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import scanpaths
from completion.device import set_threads
from completion.metrics import column_recall, defect_recall, mse, ratio_ci, touched_defects
from completion.registry import COMPLETERS, get_completer
from rl.adaptive import Budget, hedge_path
from rl.equal_time import fixed_scan, spiral_time, split_step
from rl.strategy import commanded_only
from scanpaths.common import coverage_label, parse_coverage, write_text_atomic
from scanpaths.errors import ConfigError, InputError, field_errors
from scanpaths.seeds import BENCHMARK
from scanpaths.strategies import STRATEGIES, describe, get_strategy

from .realdata import load_real

__all__ = ["CLASSES", "AdaptiveFigures", "run"]

log = logging.getLogger(__name__)

#: Specimen classes: name -> (scene, keyword arguments of :func:`scanpaths.specimens.generate`).
CLASSES: dict[str, tuple[str, dict[str, Any]]] = {
    "lattice": ("crystal", {}),
    "defects": ("crystal", {"defect_fraction": 0.05}),
    "nanoparticle": ("nanoparticle", {}),
    "edge": ("edge", {}),
    "low-mag": ("low-mag", {}),
}
#: Classes where the issue's goal is <= 0.7 x the best fixed path (sparse features).
SPARSE_CLASSES = ("nanoparticle", "edge", "low-mag")
#: The first specimen seed (each class takes the next ``n`` seeds of its own block of 10,000).
FIRST_SEED = 600_000


@dataclass(frozen=True)
class AdaptiveFigures:
    """Settings of ``pstem eval adaptive``.

    Attributes:
        n: specimens per synthetic class.
        size: field of view, px (square).
        classes: specimen classes: lattice, defects, nanoparticle, edge, low-mag, and real (the cached
            frames of pstem data fetch).
        coverages: budgets, as the coverage whose spiral takes the scan time.
        fixed: fixed paths, each at the density that takes the budget's time: path kinds
            (moving about 1 px per tick) and KIND@STEP (STEP px per tick: lines closer,
            samples further apart along them).
        strategies: adaptive strategies (registered scan strategies; survey-flat is the control
            that scans the same way without looking).
        completers: completers every scan is completed with.
        dose: electrons per sample (Poisson noise), the same for every scan.
        preset: physics preset.
        register: where every scan's samples are filed, fixed and adaptive alike: commanded (where
            the beam was told to go, as a scan generator files them), model (where the coil model
            puts the beam for the drive: a correction a system that knows its coils can make) or
            actual (where the beam really was).
        data: the real frames' cache (default: $PARTIALSTEM_DATA or ~/.cache/partialstem).
        out: Markdown output.
        csv: CSV output.
        threads: torch threads (0: all cores).
    """

    n: int = 64
    size: int = 256
    classes: tuple[str, ...] = (*CLASSES, "real")
    coverages: tuple[float, ...] = (1 / 20, 1 / 50)
    fixed: tuple[str, ...] = (
        "spiral",
        "squircle",
        "lissajous",
        "grid",
        "serpentine",
        "raster",
        "lissajous@2",
        "lissajous@3",
        "squircle@2",
        "squircle@3",
        "serpentine@2",
    )
    strategies: tuple[str, ...] = ("survey", "survey-fast", "survey-hedge", "greedy", "survey-flat")
    completers: tuple[str, ...] = ("gan-mse",)
    dose: float = 100.0
    preset: str = "typical"
    register: str = "commanded"
    data: str | None = None
    out: str = "benchmarks/results/adaptive.md"
    csv: str = "benchmarks/results/adaptive.csv"
    threads: int = 0

    def resolved(self) -> AdaptiveFigures:
        """A checked copy (coverages as floats)."""
        with field_errors("coverages"):
            covs = tuple(parse_coverage(c) for c in self.coverages)
        out = replace(self, coverages=covs)
        if not 1 <= out.n <= 10_000:
            raise ConfigError("n", f"must be in [1, 10000], got {out.n}")
        if not 64 <= out.size <= 2048:
            raise ConfigError("size", f"must be in [64, 2048], got {out.size}")
        if not (math.isfinite(out.dose) and out.dose > 0):
            raise ConfigError("dose", f"must be > 0 electrons per sample, got {out.dose}")
        for c in out.classes:
            if c not in CLASSES and c != "real":
                choices = ", ".join([*CLASSES, "real"])
                raise ConfigError("classes", f"holds an unknown class {c!r}; choose from {choices}")
        for k in out.fixed:
            with field_errors("fixed", "fixed path "):
                split_step(k)
        for s in out.strategies:
            with field_errors("strategies", "strategy "):
                STRATEGIES.resolve(s)
        for m in out.completers:
            with field_errors("completers", "completer "):
                COMPLETERS.resolve(m)
        with field_errors("preset", "preset "):
            scanpaths.get_preset(out.preset)
        if out.register not in scanpaths.REGISTERS:
            raise ConfigError("register", f"must be one of {', '.join(scanpaths.REGISTERS)}, got {out.register!r}")
        learned = commanded_only(out.strategies)
        if learned and out.register != "commanded":
            raise ConfigError("register", f"{learned[0]} files its samples where commanded; drop it or the register")
        if not (out.classes and covs and out.fixed and out.strategies and out.completers):
            raise ConfigError("classes", "classes, coverages, fixed, strategies and completers must each name one")
        return out


Item = tuple[str, str, np.ndarray, "scanpaths.specimens.Specimen | None"]

#: How the report says where the samples were filed.
_FILED = {
    "commanded": "where the beam was commanded",
    "model": "where the coil model puts the beam (no jitter or drift)",
    "actual": "where the beam really was",
}


def _specimens(cfg: AdaptiveFigures) -> list[Item]:
    """(class, id, image, specimen) of every specimen: the synthetic ones noise-free with their
    :class:`~scanpaths.specimens.Specimen`, the real frames with None."""
    out: list[Item] = []
    for cls in (c for c in cfg.classes if c in CLASSES):
        scene, kwargs = CLASSES[cls]
        first = FIRST_SEED + 10_000 * list(CLASSES).index(cls)
        BENCHMARK.check(first, cfg.n, f"adaptive class {cls}")
        for seed in range(first, first + cfg.n):
            spec = scanpaths.specimens.generate((cfg.size, cfg.size), seed=seed, scene=scene, **kwargs)
            out.append((cls, f"{cls}-{seed}", spec.clean, spec))
    if "real" in cfg.classes:
        try:
            frames = load_real(cfg.data)
        except InputError as e:
            log.warning("no real class: %s", e)
            frames = []
        for f in frames:
            h, w = f.image.shape
            if min(h, w) < cfg.size:
                log.warning("real frame %s (%dx%d) is smaller than %d px; left out", f.name, h, w, cfg.size)
                continue
            top, left = (h - cfg.size) // 2, (w - cfg.size) // 2
            img = np.ascontiguousarray(f.image[top : top + cfg.size, left : left + cfg.size], dtype=np.float32)
            out.append(("real", f.name, img, None))
    return out


def run(cfg: AdaptiveFigures, command: str = "pstem eval adaptive") -> str:
    """Scan, complete and score everything; write the Markdown and CSV; return the Markdown."""
    cfg = cfg.resolved()
    set_threads(cfg.threads)
    completers = {m: get_completer(m) for m in cfg.completers}
    strategies = {s: get_strategy(s) for s in cfg.strategies}
    specimens = _specimens(cfg)
    if not specimens:
        raise InputError("no specimens to scan (no class had any)")
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    jobs = [(s, c) for s in specimens for c in cfg.coverages]
    partial = Path(str(cfg.csv) + ".partial")  # rows as they come: a run that stops keeps them
    partial.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "w", newline="") as fh:
        writer: csv.DictWriter[str] | None = None
        for (cls, sid, image, spec), cov in tqdm(jobs, desc="adaptive", unit="scan set", leave=False):
            new = _scan_set(cfg, cls, sid, image, spec, cov, strategies, completers)
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(new[0]))
                writer.writeheader()
            writer.writerows(new)
            fh.flush()
            rows += new
    partial.replace(cfg.csv)
    elapsed = time.perf_counter() - t_start
    text = report(cfg, rows, command, elapsed)
    write_text_atomic(cfg.out, text)
    return text


def _scan_set(
    cfg: AdaptiveFigures,
    cls: str,
    sid: str,
    image: np.ndarray,
    spec: scanpaths.specimens.Specimen | None,
    cov: float,
    strategies: dict[str, scanpaths.Strategy],
    completers: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every scan of one specimen at one budget, completed by every completer: CSV rows."""
    shape: tuple[int, int] = image.shape  # type: ignore[assignment]
    budget = Budget.of_coverage(shape, cov, cfg.preset, cfg.dose)
    seed = zlib.crc32(sid.encode()) % 100_000 if cls == "real" else int(sid.rsplit("-", 1)[1])
    scans: dict[str, tuple[scanpaths.PartialScan, dict[str, Any]]] = {}
    for k in cfg.fixed:
        scan = fixed_scan(k, image, budget.time_s, cfg.preset, seed=seed, dose=cfg.dose, register=cfg.register)
        scans[k] = (scan, {})
    for name, strategy in strategies.items():
        scan = strategy.scan(image, coverage=cov, preset=cfg.preset, seed=seed, dose=cfg.dose, register=cfg.register)
        dec = scan.path.params.get("decision_s") or [0.0]
        scans[name] = (scan, {"decision_s": max(dec), "decisions": len(dec)})
    rows = []
    for scan_name, (scan, extra) in scans.items():
        for m, comp in completers.items():
            est = comp.complete(np.clip(scan.values, 0, 1), scan.mask)
            rows.append(
                {
                    "class": cls,
                    "specimen": sid,
                    "coverage": coverage_label(cov),
                    "scan": scan_name,
                    "adaptive": scan_name in strategies,
                    "completer": m,
                    "mse": mse(est, image),
                    "time_s": scan.time_s,
                    "budget_s": budget.time_s,
                    "dose_e": scan.dose_e,
                    "scanned": scan.coverage,
                    "decision_s": extra.get("decision_s", 0.0),
                    "decisions": extra.get("decisions", 0),
                    **_feature_scores(est, scan.mask, spec),
                }
            )
    return rows


def _best_fixed(cfg: AdaptiveFigures, by: dict[tuple[str, str, str, str], dict[str, float]], key: tuple) -> str | None:
    """The fixed kind with the lowest mean MSE in the cell ``key`` (class, coverage, completer)."""
    fixed = [k for k in cfg.fixed if (*key, k) in by]
    return min(fixed, key=lambda k: float(np.mean(list(by[(*key, k)].values())))) if fixed else None


def _pooled(rows: list[dict[str, Any]], recall: str, n: str) -> str:
    """Pooled recall over ``rows``: recalled / counted, with the count."""
    total = sum(int(r[n]) for r in rows)
    if total == 0:
        return "-"
    hit = sum(float(r[recall]) * int(r[n]) for r in rows if int(r[n]) > 0)
    return f"{hit / total:.2f} (n {total})"


def _duration(seconds: float) -> str:
    """A duration in us below a millisecond, else in ms (signed)."""
    if abs(seconds) < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    return f"{seconds * 1e3:.1f} ms" if abs(seconds) < 0.01 else f"{seconds * 1e3:.0f} ms"


def control_of(
    strategy: str,
    scanned: tuple[str, ...],
    shape: tuple[int, int] = (256, 256),
    coverage: float = 1 / 20,
    preset: str = "typical",
) -> str | None:
    """The scan ``strategy`` is held against besides the best fixed path, when it is in
    ``scanned`` (the strategies and fixed paths of the run): survey against survey-flat (the
    same paths without looking), survey-hedge against the fixed path it surveys with and keeps
    on that field at that budget (:func:`rl.adaptive.hedge_path`), a learned allocation
    (greedy-rl:FILE) against greedy (the rule it replaces)."""
    head = strategy.split(":", 1)[0]
    if head == "survey-hedge":
        control: str | None = hedge_path(shape, spiral_time(shape, coverage, preset), preset)
    else:
        control = {"survey": "survey-flat", "survey-fast": "survey-flat", "greedy-rl": "greedy"}.get(head)
    return control if control in scanned else None


def _pair_lines(
    cfg: AdaptiveFigures, classes: list[str], by: dict[tuple[str, str, str, str], dict[str, float]]
) -> list[str]:
    """Each strategy against its control (:func:`control_of`), paired ratio with its interval."""
    scanned = (*cfg.strategies, *cfg.fixed)
    shape = (cfg.size, cfg.size)

    def control(s: str, cov: float) -> str | None:
        return control_of(s, scanned, shape, cov, cfg.preset)

    pairs = [(s, c) for s in cfg.strategies if (c := control(s, cfg.coverages[0])) is not None]
    if not pairs:
        return []
    out = [
        "",
        "Each strategy against its control (survey vs survey-flat: what looking adds; survey-hedge vs the fixed "
        "path it keeps: what its windows add; a learned allocation vs greedy: what RL adds on the same actions), "
        "ratio of mean MSE with a paired 95 % interval:",
        "",
        "| class | budget | completer | "
        + " | ".join(f"{describe(s)} / {'its fixed path' if s.startswith('survey-hedge') else c}" for s, c in pairs)
        + " |",
        "|---|---|---|" + "---|" * len(pairs),
    ]
    for cls in classes:
        for c_num in cfg.coverages:
            cov = coverage_label(c_num)
            for m in cfg.completers:
                cells = []
                for s, _ in pairs:
                    c = control(s, c_num)
                    a_, b_ = by.get((cls, cov, m, s), {}), by.get((cls, cov, m, c or ""), {})
                    ids = sorted(set(a_) & set(b_))
                    if len(ids) < 2:
                        cells.append("-")
                        continue
                    r, lo, hi = ratio_ci(np.array([a_[i] for i in ids]), np.array([b_[i] for i in ids]))
                    cells.append(f"{r:.2f} [{lo:.2f}, {hi:.2f}]")
                out.append(f"| {cls} | {cov} | {m} | " + " | ".join(cells) + " |")
    return out


def _feature_lines(
    cfg: AdaptiveFigures,
    rows: list[dict[str, Any]],
    classes: list[str],
    by: dict[tuple[str, str, str, str], dict[str, float]],
) -> list[str]:
    """The features table: defect recall (touched / all planted), intact-column recall and the
    particles' MSE."""
    cell: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        cell[(r["class"], r["coverage"], r["completer"], r["scan"])].append(r)
    out = [
        "",
        "On the features themselves (synthetic classes): recall of planted defects the scan touched / of all "
        "planted defects, recall of the intact atomic columns (the particles' columns on nanoparticle specimens: "
        "a column counts where the truth shows it 0.02 above its surroundings, and is recalled where the "
        "completion keeps half that; pooled over specimens, n counted), and for nanoparticles the MSE inside "
        "the particles over the best fixed path's (paired 95 % interval):",
        "",
        "| class | budget | completer | scan | touched-defect recall | all-defect recall | column recall "
        "| particle MSE ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cls in (c for c in classes if c != "real"):
        for cov in (coverage_label(c) for c in cfg.coverages):
            for m in cfg.completers:
                best = _best_fixed(cfg, by, (cls, cov, m))
                if best is None:
                    continue
                ref = {r["specimen"]: float(r["particle_mse"]) for r in cell[(cls, cov, m, best)]}
                for scan in (best, *cfg.strategies):
                    got = cell.get((cls, cov, m, scan), [])
                    if not got:
                        continue
                    part = "-"
                    ids = [i for i in sorted(ref) if math.isfinite(ref[i])]
                    if ids and scan != best:
                        mine = {r["specimen"]: float(r["particle_mse"]) for r in got}
                        a, b = np.array([mine[i] for i in ids]), np.array([ref[i] for i in ids])
                        if len(ids) > 1:
                            ratio, lo, hi = ratio_ci(a, b)
                            part = f"{ratio:.2f} [{lo:.2f}, {hi:.2f}]"
                    label = f"{scan} (best fixed)" if scan == best else describe(scan)
                    touched = _pooled(got, "defect_recall_touched", "defects_touched")
                    planted = _pooled(got, "defect_recall", "defects")
                    cols = _pooled(got, "column_recall", "columns") if "columns" in got[0] else "-"
                    if touched == "-" and planted == "-" and cols == "-" and part == "-" and scan != best:
                        continue
                    out.append(f"| {cls} | {cov} | {m} | {label} | {touched} | {planted} | {cols} | {part} |")
    return out


def _feature_scores(est: np.ndarray, mask: np.ndarray, spec: scanpaths.specimens.Specimen | None) -> dict[str, Any]:
    """Scores on the features themselves: recall of the planted defects (all, and those the
    scan touched; :func:`completion.metrics.defect_recall`), recall of the intact columns
    (:func:`completion.metrics.column_recall`: in a nanoparticle specimen, the particles'
    columns) and the MSE inside the particles of a nanoparticle specimen (NaN where there is
    none)."""
    out: dict[str, Any] = {
        "defect_recall": math.nan,
        "defects": 0,
        "defect_recall_touched": math.nan,
        "defects_touched": 0,
        "column_recall": math.nan,
        "columns": 0,
        "particle_mse": math.nan,
    }
    if spec is None:
        return out
    sigma = spec.params["probe_sigma_px"]
    args = (est, spec.clean, spec.defect_positions, spec.columns, sigma)
    out["defect_recall"], out["defects"] = defect_recall(*args)
    touched = touched_defects(spec.defect_positions, mask, sigma)
    out["defect_recall_touched"], out["defects_touched"] = defect_recall(*args, select=touched)
    out["column_recall"], out["columns"] = column_recall(est, spec.clean, spec.columns, sigma)
    particles = spec.params.get("particles")
    if particles:
        h, w = est.shape
        yy, xx = np.mgrid[0:h, 0:w]
        inside = np.zeros((h, w), bool)
        for p in particles:
            cx, cy = p["centre"]
            inside |= np.hypot(xx - cx, yy - cy) <= p["radius_px"]
        if inside.any():
            out["particle_mse"] = mse(est[inside], spec.clean[inside])
    return out


def _ratio_rows(
    cfg: AdaptiveFigures, classes: list[str], by: dict[tuple[str, str, str, str], dict[str, float]], fixed_kinds: tuple
) -> list[str]:
    """One table row per class x budget x completer: the best of ``fixed_kinds`` and each
    strategy's ratio to it with its paired interval."""
    out = []
    for cls in classes:
        for cov in (coverage_label(c) for c in cfg.coverages):
            for m in cfg.completers:
                fixed = {k: by[(cls, cov, m, k)] for k in fixed_kinds if (cls, cov, m, k) in by}
                if not fixed:
                    continue
                best = min(fixed, key=lambda k: float(np.mean(list(fixed[k].values()))))
                ids = sorted(fixed[best])
                b = np.array([fixed[best][i] for i in ids])
                cells = []
                for s in cfg.strategies:
                    got = by.get((cls, cov, m, s), {})
                    a = np.array([got.get(i, math.nan) for i in ids])
                    if len(ids) > 1:
                        r, lo, hi = ratio_ci(a, b)
                        cells.append(f"{r:.2f} [{lo:.2f}, {hi:.2f}]")
                    else:
                        cells.append(f"{a.mean() / b.mean():.2f}")
                out.append(
                    f"| {cls} | {len(ids)} | {cov} | {m} | {best} ({b.mean() * 1e4:.1f}) | " + " | ".join(cells) + " |"
                )
    return out


def report(cfg: AdaptiveFigures, rows: list[dict[str, Any]], command: str, elapsed_s: float) -> str:
    """The Markdown of ``rows`` (see the module docstring)."""
    preset = scanpaths.get_preset(cfg.preset)
    line_s = cfg.size * preset.dwell_s  # one line of the field at one px per tick
    by: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    meta: dict[tuple[str, str, str, str], dict[str, Any]] = defaultdict(dict)
    for r in rows:
        key = (r["class"], r["coverage"], r["completer"], r["scan"])
        by[key][r["specimen"]] = float(r["mse"])
        meta[key].setdefault("dec", []).append(float(r["decision_s"]))
        meta[key].setdefault("time", []).append(float(r["time_s"]) / float(r["budget_s"]))
        meta[key].setdefault("dose", []).append(float(r["dose_e"] or 0.0))
    classes = [c for c in cfg.classes if any(k[0] == c for k in by)]
    lines = [
        "# Adaptive scanning: each strategy against the best fixed path per class",
        "",
        f"Command: `{command}` ({elapsed_s / 60:.1f} min on this machine).",
        "",
        f"{cfg.size} px fields, {cfg.preset} physics, {cfg.dose:g} electrons per sample (Poisson), samples filed "
        f"{_FILED[cfg.register]}, equal scan time: "
        "every scan spends the time a spiral at the coverage takes. Synthetic specimens are scanned noise-free and "
        "scored against the noise-free image; real frames against themselves. The best fixed path is the kind "
        f"(of {', '.join(cfg.fixed)}) with the lowest mean MSE over the class, chosen with hindsight; KIND@STEP "
        "moves STEP px per tick (a Lissajous: at most), its lines that much closer. Ratio: mean "
        "MSE of the strategy / of the best fixed path, paired bootstrap 95 % interval over specimens.",
        "",
        "| class | n | budget | completer | best fixed (MSE x1e4) | "
        + " | ".join(f"{describe(s)}: ratio [95 %]" for s in cfg.strategies)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(cfg.strategies),
    ]
    lines += _ratio_rows(cfg, classes, by, cfg.fixed)
    plain = tuple(k for k in cfg.fixed if "@" not in k)
    if plain and len(plain) < len(cfg.fixed):
        lines += [
            "",
            "The same against the best fixed path of those moving about 1 px per tick "
            f"({', '.join(plain)}): the yardstick before stepped paths were measured.",
            "",
            "| class | n | budget | completer | best 1 px fixed (MSE x1e4) | "
            + " | ".join(f"{describe(s)}: ratio [95 %]" for s in cfg.strategies)
            + " |",
            "|---|---|---|---|---|" + "---|" * len(cfg.strategies),
        ]
        lines += _ratio_rows(cfg, classes, by, plain)
    lines += [
        "",
        "Every fixed path, mean MSE x1e4 (the best in bold):",
        "",
        "| class | budget | completer | " + " | ".join([*cfg.fixed, *map(describe, cfg.strategies)]) + " |",
        "|---|---|---|" + "---|" * (len(cfg.fixed) + len(cfg.strategies)),
    ]
    for cls in classes:
        for cov in (coverage_label(c) for c in cfg.coverages):
            for m in cfg.completers:
                means = {
                    k: float(np.mean(list(by[(cls, cov, m, k)].values())))
                    for k in (*cfg.fixed, *cfg.strategies)
                    if (cls, cov, m, k) in by
                }
                if not means:
                    continue
                low = min(means, key=means.__getitem__)
                cells = [f"**{means[k] * 1e4:.1f}**" if k == low else f"{means[k] * 1e4:.1f}" for k in means]
                lines.append(f"| {cls} | {cov} | {m} | " + " | ".join(cells) + " |")
    lines += _pair_lines(cfg, classes, by)
    lines += _feature_lines(cfg, rows, classes, by)
    lines += [
        "",
        f"Decision time (the slowest decision of each scan, wall time on this machine) against the time the beam "
        f"takes to scan one {cfg.size} px line ({line_s * 1e6:.0f} us): the margin a strategy deciding while the "
        "current line is scanned would have. Scan time against the budget, dose against the most any fixed path spent:",
        "",
        "| strategy | decisions per scan | median decision | slowest | margin (line - median) | time / budget | "
        "dose / the most a fixed path spent |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in cfg.strategies:
        keys = [k for k in meta if k[3] == s]
        if not keys:
            continue
        dec = np.concatenate([meta[k]["dec"] for k in keys])
        tim = np.concatenate([meta[k]["time"] for k in keys])
        dose = np.concatenate([meta[k]["dose"] for k in keys])
        fixed_dose = [np.mean(v["dose"]) for k, v in meta.items() if k[3] in cfg.fixed]
        ref = np.array([max(fixed_dose)]) if fixed_dose else np.zeros(0)
        n_dec = [int(r["decisions"]) for r in rows if r["scan"] == s]
        lines.append(
            f"| {describe(s)} | {int(np.median(n_dec))} | {_duration(float(np.median(dec)))} | "
            f"{_duration(float(dec.max()))} | {_duration(line_s - float(np.median(dec)))} | "
            f"{tim.min():.3f} - {tim.max():.3f} | "
            + (f"{dose.mean() / ref.mean():.2f}" if len(ref) and ref.mean() > 0 else "n/a")
            + " |"
        )
    lines += [
        "",
        "A negative margin means the decision takes longer than a line: on a microscope the beam would wait "
        "(blanked) or the strategy would fall back to a fixed path. This simulation waits and charges no scan "
        "time for it.",
        "",
    ]
    return "\n".join(lines)


def decision_report(
    sizes: tuple[int, ...] = (256, 512, 1024, 2048, 4096),
    n: int = 4,
    strategy: str = "survey-fast",
    coverage: float = 1 / 20,
    preset: str = "typical",
) -> str:
    """A strategy's decision time at each field size against the time the beam takes to scan
    one line of the field (``size`` px at the preset's dwell): a Markdown table, one row per
    size over ``n`` synthetic specimens (benchmark seeds). Below 1 in the ratio column the
    strategy decides while the beam finishes its line. Timed on this machine; no assertion."""
    pre = scanpaths.get_preset(preset)
    strat = get_strategy(strategy)
    lines = [
        f"{strategy}'s decisions at {coverage_label(coverage)}, {preset} physics, {n} synthetic specimens a size; "
        "the line time is one line of the field at the preset's dwell.",
        "",
        "| field | decisions | median | slowest | line time | median / line | slowest / line |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in tqdm(sizes, desc="decision time", unit="size"):
        took: list[float] = []
        for k in range(n):
            spec = scanpaths.specimens.generate((size, size), seed=BENCHMARK.seed(k))
            scan = strat.scan(spec.image, coverage=coverage, preset=pre, seed=BENCHMARK.seed(k))
            took += [float(t) for t in scan.path.params["decision_s"]]
        dec = np.asarray(took)
        line_s = size * pre.dwell_s
        med, top = float(np.median(dec)), float(dec.max())
        lines.append(
            f"| {size} px | {len(dec)} | {_duration(med)} | {_duration(top)} | {_duration(line_s)} | "
            f"{med / line_s:.2f} | {top / line_s:.2f} |"
        )
    return "\n".join(lines)

"""Figures of the completion core (issue 3), on a seeded held-out synthetic set.

Run: ``pstem eval completion`` (``--quick`` for a small check). It prints, and writes to
``--out`` (Markdown) and ``--csv`` (one row per image x path x coverage x completer):

1. MSE of the non-adversarial generator vs the best classical baseline (of nearest, linear,
   harmonic, TV, sparse-spectrum and lattice; and of the issue's four) for every path kind at
   coverages 1/10, 1/20, 1/50 and 1/100 (512 x 512, ``typical`` physics, no extra dose), and
   the ratio;
2. the same for the adversarial generator;
3. inference time for one 512 x 512 image and images/s for a batch, beside ``linear``;
4. Ede & Beanland's anchor: RMS error of spiral scans at their coverages against the raw
   truth and against the truth blurred by a 5 x 5 Gaussian of sigma 2.5 px, beside theirs.

Truths: ``clean`` is the noise-free specimen (what a perfect completion would give), ``raw`` the
full scan with its noise (what Ede & Beanland had), ``blurred`` the raw truth blurred as in
their paper. The held-out specimens use seeds 0 .. n-1 of the benchmark range (:mod:`scanpaths.seeds`).
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

import scanpaths
from completion import baselines
from completion.base import Completer, check_inputs
from completion.device import set_threads
from completion.metrics import blurred, calibration, defect_recall, finite_mean, touched_defects
from completion.registry import COMPLETERS, get_completer
from scanpaths.common import atomic_write, coverage_label, write_text_atomic
from scanpaths.errors import ConfigError, InputError, field_errors
from scanpaths.seeds import BENCHMARK

from .references import EDE_BEANLAND_2020, EDE_BEANLAND_2020_INVERSE_COVERAGES

__all__ = ["CompletionFigures", "run"]

log = logging.getLogger(__name__)

COVERAGES = (1 / 10, 1 / 20, 1 / 50, 1 / 100)
#: Ede & Beanland (2020), RMS error of their generators on their test set, by coverage 1/N.
EDE_RMS = dict(zip(EDE_BEANLAND_2020_INVERSE_COVERAGES, EDE_BEANLAND_2020.values, strict=True))
#: Every classical fill (:data:`completion.baselines.BASELINES`).
BASELINE_NAMES = tuple(baselines.BASELINES)
#: The baselines the issue names (nearest, linear, harmonic, and TV as the one of our choice).
ISSUE_BASELINES = ("nearest", "linear", "harmonic", "tv")


@dataclass(frozen=True)
class CompletionFigures:
    """Settings of ``pstem eval completion``.

    Attributes:
        n: held-out images (benchmark seeds 0 .. n-1).
        size: image size in px.
        models: generators to score (completer names or checkpoint files).
        kinds: path kinds (default: every kind).
        quick: 2 images of 256 px, spiral and raster only (a small check).
        out: Markdown output.
        csv: CSV output (one row per image x path x coverage x completer).
        threads: torch threads (0: all cores).
    """

    n: int = 6
    size: int = 512
    models: tuple[str, ...] = ("gan-mse", "gan-gan")
    kinds: tuple[str, ...] | None = None
    quick: bool = False
    out: str = "benchmarks/results/completion.md"
    csv: str = "benchmarks/results/completion.csv"
    threads: int = 0

    def resolved(self) -> CompletionFigures:
        """A copy with the defaults of ``quick`` and ``kinds`` filled in, checked."""
        out = self
        if self.quick:
            out = replace(out, n=2, size=256, kinds=("spiral", "raster"))
        if out.kinds is None:
            out = replace(out, kinds=tuple(scanpaths.PATH_KINDS))
        out.validate()
        return out

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        if not 1 <= self.n <= len(BENCHMARK):
            raise ConfigError("n", f"must be at least 1, got {self.n}")
        if not 64 <= self.size <= 4096:
            raise ConfigError("size", f"must be in [64, 4096], got {self.size}")
        if not self.models:
            raise ConfigError("models", "must name at least one generator")
        for m in self.models:
            with field_errors("models", "completer "):
                COMPLETERS.resolve(m)
        for k in self.kinds or ():
            if k not in scanpaths.PATH_KINDS:
                raise ConfigError(
                    "kinds", f"holds an unknown path kind {k!r}; choose from {', '.join(scanpaths.PATH_KINDS)}"
                )
        if self.threads < 0:
            raise ConfigError("threads", f"must be >= 0, got {self.threads}")


def _scan(spec: scanpaths.specimens.Specimen, kind: str, coverage: float, seed: int) -> scanpaths.PartialScan:
    path = scanpaths.sample_path(kind, spec.image.shape, coverage, seed)
    return scanpaths.simulate(spec.image, path, preset="typical", seed=seed)


def complete_all(
    models: dict[str, Completer], scan: scanpaths.PartialScan, maps: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Every classical fill and every model on one scan (TV starts from the harmonic fill, the
    lattice fill from the sparse-spectrum fill, as their completers do: computed once).

    With ``maps``, each model's uncertainty map (:mod:`completion.uncertainty`) is put in it
    under the model's name (left out where the scan is too sparse to calibrate one)."""
    v, m = scan.values, scan.mask
    out: dict[str, np.ndarray] = {}
    for name, cls in baselines.BASELINES.items():
        if name == "tv":
            out[name] = baselines.tv_refine(*check_inputs(v, m), out["harmonic"])
        elif name == "lattice":
            first = baselines.FourierCompleter(pad=0).complete(v, m)  # the peaks come from the plain fill
            out[name] = baselines.lattice_refine(*check_inputs(v, m), first, fallback=lambda: out["fourier"])
        else:
            out[name] = cls().complete(v, m)
    for name, model in models.items():
        if maps is None:
            out[name] = model.complete(v, m)
            continue
        try:
            out[name], maps[name] = model.complete(v, m, return_uncertainty=True)
        except InputError as exc:  # too sparse to calibrate: the completion alone
            log.info("%s: no uncertainty map (%s)", name, exc)
            out[name] = model.complete(v, m)
    return out


def _table(
    rows: list[dict], truth: str, model: str, kinds: Sequence[str], names: Sequence[str] = BASELINE_NAMES
) -> tuple[list[str], dict]:
    """Markdown table of mean MSE per kind x coverage, best of ``names``, model and ratio."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        acc[(r["kind"], r["coverage"], r["completer"])].append(r[f"mse_{truth}"])
    lines = [
        f"| path | coverage | best baseline | its MSE | {model} MSE | ratio | {model} below best? |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for kind in kinds:
        for cov in COVERAGES:
            base = {b: float(np.mean(acc[(kind, cov, b)])) for b in names}
            best = min(base, key=base.get)  # type: ignore[arg-type]
            mine = float(np.mean(acc[(kind, cov, model)]))
            ratio = mine / base[best]
            summary[(kind, cov)] = (best, base[best], mine, ratio)
            lines.append(
                f"| {kind} | 1/{1 / cov:.0f} | {best} | {base[best]:.2e} | {mine:.2e} | {ratio:.2f} | "
                f"{'yes' if ratio < 1 else 'NO'} |"
            )
    return lines, summary


def _timing(model: Completer, size: int = 512, batch: int = 8) -> dict[str, float]:
    spec = scanpaths.specimens.generate((size, size), seed=0)
    scan = _scan(spec, "spiral", 1 / 20, 0)
    v, m = scan.values, scan.mask
    model.complete(v, m)  # warm
    t_one = min(_timed(lambda: model.complete(v, m)) for _ in range(5))
    vb, mb = np.repeat(v[None], batch, 0), np.repeat(m[None], batch, 0)
    t_batch = min(_timed(lambda: model.complete_batch(vb, mb)) for _ in range(2))
    lin = baselines.LinearCompleter()
    t_lin = min(_timed(lambda: lin.complete(v, m)) for _ in range(3))
    harm = baselines.HarmonicCompleter()
    t_harm = min(_timed(lambda: harm.complete(v, m)) for _ in range(2))
    return {"one_s": t_one, "batch_img_per_s": batch / t_batch, "linear_s": t_lin, "harmonic_s": t_harm}


def _one_time(model: Completer, size: int = 512) -> tuple[float, float]:
    """(s per completion, s per completion with its uncertainty map) of one 512 px spiral 1/20 scan."""
    spec = scanpaths.specimens.generate((size, size), seed=0)
    scan = _scan(spec, "spiral", 1 / 20, 0)
    v, m = scan.values, scan.mask
    model.complete(v, m)  # warm
    t = min(_timed(lambda: model.complete(v, m)) for _ in range(3))
    t_u = min(_timed(lambda: model.complete(v, m, return_uncertainty=True)) for _ in range(3))
    return t, t_u


def size_cost_report(models: Sequence[str] = ("gan-mse", "auto"), sizes: Sequence[int] = (512, 2048, 4096)) -> str:
    """The cost per pixel of completing large images against a 512 px one (crystal specimen,
    spiral 1/20, ideal beam; the best of three runs at 512 px, of two at 2048, one above: single
    runs vary by 15 % here):
    the front-door goal is a ratio of at most 1.5 (``pstem speed --completion``)."""
    lines = [f"completion cost per pixel vs size ({torch.get_num_threads()} torch threads)"]
    lines.append(f"{'completer':<10}{'size':>7}{'time s':>9}{'us/px':>8}{'vs 512':>8}")
    for name in models:
        model = get_completer(name)
        base = None
        for size in sizes:
            spec = scanpaths.specimens.generate((size, size), seed=1, scene="crystal")
            scan = scanpaths.simulate(
                spec.image, scanpaths.make_path("spiral", (size, size), coverage=1 / 20, seed=0), "ideal", seed=0
            )
            v, m = scan.values, scan.mask
            if size == sizes[0]:
                model.complete(v, m)  # warm
            t = min(
                _timed(lambda v=v, m=m, model=model: model.complete(v, m))
                for _ in range(3 if size <= 512 else 2 if size <= 2048 else 1)
            )
            per_px = t / (size * size) * 1e6
            base = per_px if base is None else base
            lines.append(f"{name:<10}{size:>7}{t:>9.2f}{per_px:>8.3f}{per_px / base:>8.2f}")
    return "\n".join(lines)


def _pooled_recall(rows: list[dict], rec: str, cnt: str) -> str:
    """A table cell: the recall ``rec`` pooled over ``rows`` (each weighted by its count of
    defects ``cnt``), with the count; "-" where no defect counts."""
    n_d = sum(int(r[cnt]) for r in rows)
    kept = sum(float(r[rec]) * int(r[cnt]) for r in rows if int(r[cnt]))
    return f"{kept / n_d:.2f} (n {n_d})" if n_d else "-"


def _touched_by_kind(rows: list[dict], models: Sequence[str], kinds: Sequence[str]) -> list[str]:
    """Markdown lines: the recall of touched defects per path kind and coverage for each
    generator, pooled over images, beside the number counted."""
    out = [
        "",
        "Touched-defect recall by path kind (pooled over images; n: defects counted):",
        "",
        "| completer | path | " + " | ".join(coverage_label(c) for c in COVERAGES) + " |",
        "|---|---|" + "---|" * len(COVERAGES),
    ]
    for model in models:
        for kind in kinds:
            cells = []
            for cov in COVERAGES:
                sel = [r for r in rows if r["completer"] == model and r["kind"] == kind and r["coverage"] == cov]
                cells.append(_pooled_recall(sel, "defect_recall_touched", "defects_touched"))
            out.append(f"| {model} | {kind} | " + " | ".join(cells) + " |")
    return out


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(cfg: CompletionFigures, command: str = "pstem eval completion") -> str:
    """Compute the figures of ``cfg``, write its Markdown and CSV files; return the Markdown.

    ``command`` is the command line recorded in the Markdown's header.
    """
    args = cfg.resolved()
    assert args.kinds is not None
    if args.threads:
        set_threads(args.threads)
    models = {name: get_completer(name) for name in args.models}
    main_model = args.models[0]

    rows: list[dict] = []
    cells = [(i, k, c) for i in range(args.n) for k in args.kinds for c in COVERAGES]
    specs = {i: scanpaths.specimens.generate((args.size, args.size), seed=BENCHMARK.seed(i)) for i in range(args.n)}
    for i, kind, cov in tqdm(cells, desc="completion figures", unit="cell"):
        spec = specs[i]
        scan = _scan(spec, kind, cov, seed=1000 + i)
        truths = {"clean": spec.clean, "raw": spec.image, "blurred": blurred(spec.image)}
        maps: dict[str, np.ndarray] = {}
        for name, img in complete_all(models, scan, maps).items():
            row = {
                "image": i,
                "scene": spec.scene,
                "kind": kind,
                "coverage": cov,
                "completer": name,
                "measured_coverage": scan.coverage,
            }
            for t, truth in truths.items():
                row[f"mse_{t}"] = float(np.mean((img - truth) ** 2))
            for t in ("clean", "raw"):
                cal = calibration(img, maps[name], truths[t], scan.mask) if name in maps else (math.nan, math.nan)
                row[f"cover90_{t}"], row[f"spearman_{t}"] = cal
            sigma = spec.params["probe_sigma_px"]
            args_d = (img, spec.clean, spec.defect_positions, spec.columns, sigma)
            row["defect_recall"], row["defects"] = defect_recall(*args_d)
            touched = touched_defects(spec.defect_positions, scan.mask, sigma)
            row["defect_recall_touched"], row["defects_touched"] = defect_recall(*args_d, select=touched)
            rows.append(row)

    # Ede & Beanland anchor: spiral at their coverages
    anchor: dict[tuple[float, str], list[tuple[float, float]]] = defaultdict(list)
    for i in tqdm(range(args.n), desc="anchor", unit="img"):
        spec = specs[i]
        blur = blurred(spec.image)
        for n_inv in EDE_RMS:
            scan = _scan(spec, "spiral", 1 / n_inv, seed=2000 + i)
            outs = {name: m.complete(scan.values, scan.mask) for name, m in models.items()}
            outs["harmonic"] = baselines.HarmonicCompleter().complete(scan.values, scan.mask)
            for name, img in outs.items():
                anchor[(n_inv, name)].append(
                    (float(np.mean((img - spec.image) ** 2)), float(np.mean((img - blur) ** 2)))
                )

    timing = _timing(models[main_model], size=512)
    other_times = {name: _one_time(m) for name, m in models.items()}
    main_dtype = str(getattr(models[main_model], "dtype", "float32")).removeprefix("torch.")
    t_fp32 = None
    if main_dtype != "float32":
        t_fp32 = _timing(get_completer(main_model, precision="float32"), size=512)["one_s"]

    lines = [
        "# Completion figures",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"{args.n} held-out specimens (seeds 0..{args.n - 1}), {args.size} x {args.size} px, `typical` physics, "
        "no extra dose noise. MSE on intensities in [0, 1].",
        "",
    ]
    verdicts = {}
    for model in args.models:
        for truth in ("clean", "blurred", "raw"):
            tab, summary = _table(rows, truth, model, args.kinds)
            lines += [f"## {model} vs the best baseline, MSE against the {truth} truth", "", *tab, ""]
            if "spiral" in args.kinds:
                s = summary[("spiral", 1 / 20)]
                below = sum(v[3] < 1 for v in summary.values())
                _, issue = _table(rows, truth, model, args.kinds, ISSUE_BASELINES)
                below_issue = sum(v[3] < 1 for v in issue.values())
                verdicts[(model, truth)] = (s[3], below, len(summary), issue[("spiral", 1 / 20)][3], below_issue)
    lines += [
        "## Verdicts",
        "",
        f"Best baseline: the best of all six classical fills ({', '.join(BASELINE_NAMES)}) per path and "
        f"coverage; in brackets, against the best of the issue's four ({', '.join(ISSUE_BASELINES)}).",
        "",
        "| model | truth | spiral 1/20 ratio (goal <= 0.5) | cells below best baseline |",
        "|---|---|---|---|",
    ]
    for (model, truth), (ratio, below, total, ratio_issue, below_issue) in verdicts.items():
        lines.append(
            f"| {model} | {truth} | {ratio:.2f} ({ratio_issue:.2f}) | {below} / {total} ({below_issue} / {total}) |"
        )
    lines += [
        "",
        "## Uncertainty maps: calibration (completion.uncertainty)",
        "",
        "Over the unscanned pixels: the fraction inside the predicted 90 % interval (goal 0.85-0.95) and Spearman's "
        "rank correlation of predicted and actual error over 16 x 16 px blocks (goal >= 0.6), mean over images and "
        "coverages; against the noise-free truth and against the raw (noisy) one. Blank: too sparse to calibrate.",
        "",
        "| model | path | in 90 % (clean) | Spearman (clean) | in 90 % (raw) | Spearman (raw) |",
        "|---|---|---|---|---|---|",
    ]
    for model in args.models:
        for kind in [*args.kinds, "all"]:
            sel = [r for r in rows if r["completer"] == model and kind in (r["kind"], "all")]
            cells_cal = [
                finite_mean([r[c] for r in sel])
                for c in ("cover90_clean", "spearman_clean", "cover90_raw", "spearman_raw")
            ]
            lines.append(f"| {model} | {kind} | " + " | ".join(f"{c:.2f}" for c in cells_cal) + " |")
    lines += [
        "",
        "## Defect recall: the planted vacancies and substitutions the completion still shows",
        "",
        "Pooled over images and path kinds (each defect counts once per scan): recall of the defects the scan "
        "touched (a sample within the column's radius, the probe sigma) and of all defects, which no completer "
        "can raise above the share the path touched. n: defects counted.",
        "",
        "| completer | "
        + " | ".join(f"{coverage_label(c)} touched | {coverage_label(c)} all" for c in COVERAGES)
        + " |",
        "|---|" + "---|---|" * len(COVERAGES),
    ]
    for comp in [*BASELINE_NAMES, *args.models]:
        cells_d = []
        for cov in COVERAGES:
            sel = [r for r in rows if r["completer"] == comp and r["coverage"] == cov]
            for rec, cnt in (("defect_recall_touched", "defects_touched"), ("defect_recall", "defects")):
                cells_d.append(_pooled_recall(sel, rec, cnt))
        lines.append(f"| {comp} | " + " | ".join(cells_d) + " |")
    lines += _touched_by_kind(rows, args.models, args.kinds)
    lines += [
        "",
        "## Inference time (this machine)",
        "",
        f"Torch threads: {torch.get_num_threads()}; generator precision: {main_dtype} (`--precision auto`).",
        "",
        f"- {main_model}, one 512 x 512 image: {timing['one_s']:.3f} s (goals: <= 1 s for the default auto, "
        "<= 0.25 s for the fast gan-mse)",
        *([f"- {main_model} in float32, one 512 x 512 image: {t_fp32:.3f} s"] if t_fp32 is not None else []),
        f"- {main_model}, batch of 8: {timing['batch_img_per_s']:.2f} images/s",
        f"- linear baseline, one 512 x 512 image: {timing['linear_s']:.3f} s",
        f"- harmonic baseline, one 512 x 512 image: {timing['harmonic_s']:.3f} s",
        *[
            f"- {name}, one 512 x 512 image: {t:.3f} s; with its uncertainty map: {t_u:.3f} s"
            for name, (t, t_u) in other_times.items()
        ],
        "",
        "## Ede & Beanland anchor: RMS error of spiral scans (theirs: real test set, one model per coverage)",
        "",
        "| coverage | Ede & Beanland | "
        + " | ".join(f"{n} raw | {n} blurred" for n in [*args.models, "harmonic"])
        + " |",
        "|---|---|" + "---|---|" * (len(args.models) + 1),
    ]
    for n_inv, theirs in EDE_RMS.items():
        cells_txt = []
        for name in [*args.models, "harmonic"]:
            vals = np.array(anchor[(n_inv, name)])
            cells_txt.append(f"{math.sqrt(vals[:, 0].mean()):.3f} | {math.sqrt(vals[:, 1].mean()):.3f}")
        lines.append(f"| 1/{n_inv:g} | {theirs:.3f} | " + " | ".join(cells_txt) + " |")
    text = "\n".join(lines) + "\n"
    write_text_atomic(args.out, text)
    with atomic_write(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    log.info("wrote %s and %s", args.out, args.csv)
    return text

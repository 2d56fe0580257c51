"""``pstem bench`` and ``pstem plot``: benchmark suites, their tables and plots."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import scanpaths
from benchmarks.bench import check_out, example_panels, iter_tasks, read_results, run_suite
from benchmarks.references import Reference
from benchmarks.report import Results, completer_label, write_report
from benchmarks.suite import BUILTIN_SUITES, load_suite
from completion.registry import COMPLETERS
from scanpaths.common import coverage_label
from scanpaths.errors import InputError

__all__ = ["configure"]


def _bench(args: argparse.Namespace) -> int:
    for name in ("workers", "dask_local", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.scheduler is not None and args.dask_local is not None:
        raise InputError("give --scheduler or --dask-local, not both")
    suite = load_suite(args.suite, images=args.images)
    out = args.out if args.out is not None else Path(f"bench-{suite.name}")
    check_out(out, suite)
    cores = os.cpu_count() or 1
    scans = sum(1 for _ in iter_tasks(suite))
    workers = min(args.workers if args.workers is not None else cores, cores, scans)
    if args.workers is not None and workers < args.workers:
        print(
            f"--workers {args.workers}: using {workers} "
            f"(at most one per core and per scan: {cores} cores, {scans} scans)"
        )
    where = (
        f"Dask scheduler {args.scheduler}"
        if args.scheduler
        else f"a Dask LocalCluster of {args.dask_local} workers"
        if args.dask_local
        else f"{workers} local process{'es' if workers > 1 else ''}"
    )
    print(f"suite '{suite.name}' ({suite.source}): {suite.description}")
    print(
        f"{suite.n_cells} cells = {len(suite.images)} images x {len(suite.paths)} paths x {len(suite.coverages)} "
        f"coverages x {len(suite.presets)} presets x {len(suite.seeds)} seeds x {len(suite.completers)} completers; "
        f"on {where}; results in {out}/"
    )
    t0 = time.perf_counter()
    try:
        rows = run_suite(
            suite, out, workers=workers, scheduler=args.scheduler, dask_local=args.dask_local, max_scans=args.limit
        )
    except KeyboardInterrupt:
        print(
            f"pstem: interrupted; finished cells are in {out}/results.csv (run the same command to go on)",
            file=sys.stderr,
        )
        return 130
    wall = time.perf_counter() - t0
    print(f"{len(rows)}/{suite.n_cells} cells in {out}/results.csv ({wall:.1f} s)")
    if not rows:
        return 0
    files = write_report(rows, out, f"Benchmark suite '{suite.name}'", suite.references, pdf=args.pdf)
    if not args.no_examples and len(rows) == suite.n_cells:
        files += example_panels(suite, out, pdf=args.pdf, rows=rows)
    _print_mse_table(rows)
    print("wrote " + ", ".join(str(f.relative_to(out)) for f in files) + f" in {out}/")
    return 0


def _print_mse_table(rows: list[dict[str, str]]) -> None:
    res = Results(rows)
    for preset in res.presets:
        print(f"\nmean MSE x 1e-3 vs {res.truth_label}, preset '{preset}' (95 % intervals in summary.md)")
        print(f"{'path':<12}{'coverage':>9}" + "".join(f"{completer_label(c)[:11]:>12}" for c in res.completers))
        for path in res.paths:
            for cov in res.coverages:
                vals = [res.stat(preset, path, cov, c, "mse")[0] * 1e3 for c in res.completers]
                if not any(math.isfinite(v) for v in vals):
                    continue
                print(
                    f"{scanpaths.strategies.describe(path):<12}{coverage_label(cov):>9}"
                    + "".join(f"{v:>12.3f}" for v in vals)
                )


def _plot(args: argparse.Namespace) -> int:
    results = args.out / "results.csv"
    if not results.is_file():
        raise InputError(f"{results} does not exist; give the --out folder of a pstem bench run")
    rows = read_results(results)
    if not rows:
        raise InputError(f"{results} holds no finished cell yet")
    title, refs = "Benchmark", []
    meta = args.out / "suite.json"
    if meta.is_file():
        info = json.loads(meta.read_text("utf-8"))
        title = f"Benchmark suite '{info.get('name', '?')}'"
        refs = [
            Reference(**{**r, "coverages": tuple(r["coverages"]), "values": tuple(r["values"])})
            for r in info.get("references", [])
        ]
    files = write_report(rows, args.out, title, refs, pdf=args.pdf)
    print("wrote " + ", ".join(str(f.relative_to(args.out)) for f in files) + f" in {args.out}/")
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``name`` to its subparser ``p``."""
    if name == "bench":
        p.description = (
            "Simulate, complete and score every cell of a suite (image x path x coverage x preset x seed x "
            "completer): MSE, MAE, PSNR, SSIM, error vs distance from the path, defect recall, scan time and dose. "
            "Writes OUT/results.csv (one row per cell, appended as cells finish), OUT/summary.md (means with 95% "
            "bootstrap intervals) and plots. Run the same command again to resume a killed run."
        )
        p.epilog = (
            "built-in suites: quick (default, about a minute on 2 cores), paper (Ede & Beanland's grid: spiral and "
            "grid at 1/17.9-1/87, ideal and typical physics), full (everything; for a cluster), adaptive (the "
            "survey and greedy strategies vs every fixed path on 256 px particles, edges, low-mag and lattices), "
            "ede2021 (the shipped learned path vs fixed paths on 96 px, Ede 2021's configuration). A suite file "
            "is TOML; see benchmarks/suites/*.toml and "
            "'python -c \"import benchmarks.suite as s; help(s)\"'. Its paths: "
            f"{', '.join(scanpaths.strategy_names())}; completers: {', '.join(COMPLETERS.choices())}; presets: "
            f"{', '.join(scanpaths.PRESETS)}."
        )
        p.add_argument(
            "--suite", default="quick", help=f"{', '.join(BUILTIN_SUITES)} (default quick), or a suite .toml file"
        )
        p.add_argument(
            "--images",
            nargs="+",
            metavar="GLOB",
            help="run the suite on these image files instead of its own images (globs; TIFF, PNG, NumPy, "
            "and DM3/DM4, SER, EMD, MRC with the formats extra); each file's pixel size feeds the physics",
        )
        p.add_argument("-o", "--out", type=Path, help="output folder (default bench-SUITE)")
        p.add_argument("--workers", type=int, help="local worker processes (default: the number of cores)")
        p.add_argument(
            "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786 (dask extra)"
        )
        p.add_argument(
            "--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N workers (dask extra)"
        )
        p.add_argument("--limit", type=int, metavar="N", help="run at most N scans, then stop (resume later)")
        p.add_argument("--pdf", action="store_true", help="write every plot as PDF too")
        p.add_argument(
            "--no-examples", action="store_true", help="skip the example panels (they re-run one cell per path)"
        )
        p.set_defaults(func=_bench)
    elif name == "plot":
        p.description = (
            "Redraw OUT/summary.md and the plots of a 'pstem bench' run from OUT/results.csv alone (the example "
            "panels are drawn by pstem bench)."
        )
        p.add_argument("out", type=Path, metavar="OUT", help="the output folder of a pstem bench run")
        p.add_argument("--pdf", action="store_true", help="write every plot as PDF too")
        p.set_defaults(func=_plot)

"""Run a benchmark suite: simulate, complete and score every cell; resumable and parallel.

Layout of an output folder ``OUT``:

- ``results.csv``: one row per cell (image x path x coverage x preset x seed x completer), one
  column per parameter and metric (:data:`COLUMNS`). Each finished scan's rows are appended and
  flushed at once, so a killed run loses at most the scans in flight; run the same command again
  and finished cells are skipped. At the end the file is rewritten in the suite's cell order, so
  an interrupted-and-resumed run ends with the same rows as an uninterrupted one.
- ``suite.json``: the suite that wrote the results (a run with a different suite refuses the folder).
- ``summary.md`` and the plots (see :mod:`benchmarks.report`).
- ``.lock``: held while a run writes; a second run on the same folder stops with an error.

Metrics are computed against the noise-free truth for synthetic specimens and against the image
itself for files; ``mse_raw`` is always against the image as a full scan would show it, and
``rmse_blur`` against that image blurred by a 5x5 Gaussian of sigma 2.5 px (Ede & Beanland's
convention). ``complete_s`` is the wall time of the completion, the only column that is not
deterministic.

Work is spread over local processes (``workers``) or a Dask cluster: both are a
:class:`concurrent.futures.Executor`. Each task is one scan with all its completers, so the scan
is simulated once; workers run torch and Numba on one thread each. A task's path is a scan
strategy (:func:`scanpaths.get_strategy`): a fixed path kind or a registered adaptive one.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import ctypes
import dataclasses
import fcntl
import io
import json
import logging
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numba
import numpy as np
import torch
from tqdm.auto import tqdm

import scanpaths
from completion import metrics
from completion.base import Completer
from completion.registry import get_completer
from scanpaths.common import atomic_write, coverage_label, write_text_atomic
from scanpaths.errors import InputError

from . import plotting
from .report import completer_label
from .suite import ImageSource, Suite

log = logging.getLogger(__name__)

#: Columns that identify a cell.
KEY_COLUMNS: tuple[str, ...] = ("image", "path", "coverage_target", "preset", "seed", "completer")
#: All columns of results.csv, in order.
COLUMNS: tuple[str, ...] = (
    *KEY_COLUMNS,
    "scene",
    "height",
    "width",
    "coverage",
    "n_samples",
    "scan_time_s",
    "dose_e",
    "mse",
    "mae",
    "psnr",
    "ssim",
    "rmse",
    "rmse_raw",
    "rmse_blur",
    "mse_raw",
    "defect_recall",
    "defects",
    "defect_recall_touched",
    "defects_touched",
    *metrics.DISTANCE_COLUMNS,
    *metrics.DISTANCE_SHARE_COLUMNS,
    "complete_s",
    "errmap",
)
#: Columns that are measurements of time, excluded from determinism checks.
TIMING_COLUMNS: tuple[str, ...] = ("complete_s",)


@dataclass(frozen=True)
class ScanTask:
    """One simulated scan of a suite and the completers still to run on it.

    ``path`` is a scan strategy: a kind of :data:`scanpaths.PATH_KINDS`, or ``learned`` /
    ``learned:FILE`` for a trained policy that scans adaptively within the scan time of a
    spiral at ``coverage`` (``dose`` does not apply to it)."""

    image_index: int
    image: ImageSource
    path: str
    coverage: float
    preset: str
    seed: int
    dose: float
    completers: tuple[str, ...]
    register: str = "commanded"

    @property
    def scan_seed(self) -> int:
        """Seed of the path and the physics: the suite seed mixed with the image's place."""
        return int(np.random.SeedSequence([self.seed, self.image_index]).generate_state(1)[0])


def cell_key(image: str, path: str, coverage: float, preset: str, seed: int | str, completer: str) -> tuple[str, ...]:
    """The identity of a cell as the strings results.csv holds."""
    return (image, path, repr(float(coverage)), preset, str(int(seed)), completer)


def iter_tasks(suite: Suite) -> Iterator[ScanTask]:
    """Every scan of ``suite`` in its canonical order (image-major, so workers reuse images)."""
    for img_index, img in enumerate(suite.images):
        for preset in suite.presets:
            for path in suite.paths:
                for cov in suite.coverages:
                    for seed in suite.seeds:
                        yield ScanTask(
                            image_index=img_index,
                            image=img,
                            path=path,
                            coverage=cov,
                            preset=preset,
                            seed=seed,
                            dose=suite.dose,
                            completers=suite.completers,
                            register=suite.register,
                        )


def task_keys(task: ScanTask) -> list[tuple[str, ...]]:
    """The cell keys of one task, in completer order."""
    return [cell_key(task.image.id, task.path, task.coverage, task.preset, task.seed, c) for c in task.completers]


# --------------------------------------------------------------------------- worker side
_THREADS_SET = False


#: How long ``--scheduler`` waits for a Dask scheduler to answer, s.
SCHEDULER_TIMEOUT_S = 10


def _die_with_parent() -> None:
    """Ask Linux to end this process when the process that started it dies (``kill -9`` of
    ``pstem bench`` leaves no orphaned pool worker); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent was gone before the call took effect
            os._exit(1)


def _pool_worker() -> None:
    """Initializer of the local pool's workers."""
    _die_with_parent()
    _init_worker()


def _init_worker() -> None:
    """One thread for torch and Numba in each worker (idempotent)."""
    global _THREADS_SET
    if _THREADS_SET:
        return
    torch.set_num_threads(1)
    with contextlib.suppress(Exception):  # interop threads can only be set once per process
        torch.set_num_interop_threads(1)
    numba.set_num_threads(1)
    _THREADS_SET = True


@lru_cache(maxsize=4)
def _image(src: ImageSource) -> tuple[np.ndarray, np.ndarray, scanpaths.specimens.Specimen | None]:
    """(image as scanned, truth to score against, the specimen or None) of an image source."""
    if src.file is not None:
        img = scanpaths.io.load_image(src.file, frame=src.frame)
        return img, img, None
    assert src.seed is not None and src.size is not None
    spec = scanpaths.specimens.generate((src.size, src.size), seed=src.seed, scene=src.scene)
    return spec.image, spec.clean, spec


@lru_cache(maxsize=8)
def _completer(name: str) -> Completer:
    return get_completer(name, device="auto")  # the GAN runs on CUDA where there is one


@lru_cache(maxsize=16)
def _strategy(name: str) -> scanpaths.Strategy:
    return scanpaths.get_strategy(name)  # suites hold canonical names (absolute policy files)


def simulate_task(
    task: ScanTask,
) -> tuple[np.ndarray, np.ndarray, scanpaths.specimens.Specimen | None, scanpaths.PartialScan]:
    """Simulate the scan of a task: (image, truth, specimen or None, partial scan)."""
    image, truth, spec = _image(task.image)
    dose = task.dose if task.dose > 0 else None
    preset = scanpaths.get_preset(task.preset)
    if task.image.pixel_size_nm is not None:  # jitter and drift in nm: a file's own pixel size
        preset = dataclasses.replace(preset, pixel_size_nm=task.image.pixel_size_nm)
    scan = _strategy(task.path).scan(
        image,
        coverage=task.coverage,
        preset=preset,
        seed=task.scan_seed,
        dose=dose,
        truth=truth,
        register=task.register,
    )
    return image, truth, spec, scan


def score(
    out: np.ndarray,
    image: np.ndarray,
    truth: np.ndarray,
    spec: scanpaths.specimens.Specimen | None,
    mask: np.ndarray,
) -> dict[str, Any]:
    """Every metric of one completion ``out`` (H, W) as a flat dict of results.csv columns."""
    row: dict[str, Any] = {
        "mse": metrics.mse(out, truth),
        "mae": metrics.mae(out, truth),
        "psnr": metrics.psnr(out, truth),
        "ssim": metrics.ssim(out, truth),
    }
    row["rmse"] = math.sqrt(row["mse"])
    row["mse_raw"] = metrics.mse(out, image)
    row["rmse_raw"] = math.sqrt(row["mse_raw"])
    row["rmse_blur"] = math.sqrt(metrics.mse(out, metrics.blurred(image)))
    row["defect_recall"], row["defects"] = math.nan, 0
    row["defect_recall_touched"], row["defects_touched"] = math.nan, 0
    if spec is not None:
        sigma = spec.params["probe_sigma_px"]
        args = (out, spec.clean, spec.defect_positions, spec.columns, sigma)
        row["defect_recall"], row["defects"] = metrics.defect_recall(*args)
        touched = metrics.touched_defects(spec.defect_positions, mask, sigma)
        row["defect_recall_touched"], row["defects_touched"] = metrics.defect_recall(*args, select=touched)
    row.update(zip(metrics.DISTANCE_COLUMNS, metrics.error_vs_distance(out, truth, mask).tolist(), strict=True))
    row.update(zip(metrics.DISTANCE_SHARE_COLUMNS, metrics.distance_shares(mask).tolist(), strict=True))
    row["errmap"] = metrics.encode_map(metrics.error_map(out, truth))
    return row


def run_task(task: ScanTask) -> list[dict[str, Any]]:
    """Simulate one scan and score every completer of the task on it: one row per completer."""
    _init_worker()
    image, truth, spec, scan = simulate_task(task)
    common = {
        "image": task.image.id,
        "path": task.path,
        "coverage_target": repr(float(task.coverage)),
        "preset": task.preset,
        "seed": str(task.seed),
        "scene": spec.scene if spec is not None else "file",
        "height": image.shape[0],
        "width": image.shape[1],
        "coverage": float(scan.mask.mean()),
        "n_samples": int(scan.counts.sum()),
        "scan_time_s": scan.time_s,
        "dose_e": "" if scan.dose_e is None else scan.dose_e,
    }
    rows = []
    for name in task.completers:
        comp = _completer(name)
        t0 = time.perf_counter()
        out = comp.complete(scan.values, scan.mask)
        elapsed = time.perf_counter() - t0
        rows.append({**common, "completer": name, **score(out, image, truth, spec, scan.mask), "complete_s": elapsed})
    return rows


# --------------------------------------------------------------------------- results file
def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def read_results(path: Path) -> list[dict[str, str]]:
    """Rows of a results.csv (a torn last line, from a killed run, is dropped)."""
    with open(path, newline="", encoding="utf-8") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    missing = set(KEY_COLUMNS) - set(reader.fieldnames)
    if missing:
        raise InputError(f"{path} is not a pstem results file (no column {', '.join(sorted(missing))})")
    return list(reader)


class _Lock:
    """An exclusive, non-blocking lock on ``OUT/.lock`` (released when the process dies)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self.fh: Any = None

    def __enter__(self) -> _Lock:
        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise InputError(
                f"another pstem bench is writing {self.path.parent}; wait for it or use another output folder"
            ) from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"{os.getpid()}\n")
        self.fh.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def check_out(out: Path, suite: Suite) -> None:
    """Check that ``out`` can hold this suite's results (before anything is written)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"the output folder {out} is a file; give a folder")
    meta = out / "suite.json"
    if meta.is_file():
        try:
            old = json.loads(meta.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            raise InputError(f"{meta} is unreadable; use another output folder or delete it") from None
        if old.get("fingerprint") != suite.fingerprint():
            raise InputError(
                f"{out} holds results of a different suite ({old.get('name', '?')}); "
                "use another output folder or delete it"
            )
    results = out / "results.csv"
    if results.is_file():
        read_results(results)


def canonical_rows(suite: Suite, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of ``suite``'s cells in cell order (each key once, the first row found)."""
    by_key: dict[tuple[str, ...], dict[str, str]] = {}
    for r in rows:
        by_key.setdefault(tuple(r[c] for c in KEY_COLUMNS), r)
    ordered = []
    for task in iter_tasks(suite):
        for key in task_keys(task):
            if key in by_key:
                ordered.append(by_key[key])
    return ordered


def _write_rows_atomic(path: Path, rows: list[dict[str, str]]) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


@contextlib.contextmanager
def _executor(workers: int, scheduler: str | None, dask_local: int | None) -> Iterator[cf.Executor | None]:
    """None (run in this process), a process pool, or a Dask cluster's executor."""
    if scheduler is None and dask_local is None:
        if workers <= 1:
            yield None
            return
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pool_worker) as ex:
            yield ex
        return
    try:  # the optional dask extra, imported only when a cluster is asked for
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Dask is not installed: pip install 'partialstem[dask]'") from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"no Dask scheduler answers at {scheduler} (waited {SCHEDULER_TIMEOUT_S} s): {exc}".splitlines()[0]
            ) from None
        with client:
            yield client.get_executor()
        return
    with (
        LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client.get_executor()


def run_suite(
    suite: Suite,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    progress: bool = True,
    max_scans: int | None = None,
) -> list[dict[str, str]]:
    """Run every unfinished cell of ``suite`` into ``out``; return all its rows in cell order.

    Args:
        suite: the suite.
        out: the output folder (created; an existing one of the same suite is resumed).
        workers: local processes (1: in this process).
        scheduler: address of a Dask scheduler (``tcp://HOST:PORT``) to run the cells on.
        dask_local: start a Dask LocalCluster with this many single-threaded workers.
        progress: show a progress bar.
        max_scans: stop after this many scans (for tests of resumption).
    """
    check_out(out, suite)
    with _executor(workers, scheduler, dask_local) as ex:  # a cluster that does not answer: before OUT/ exists
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output folder {out}: {exc.strerror}") from None
        return _run_into(suite, out, ex, progress, max_scans)


def _run_into(
    suite: Suite, out: Path, ex: cf.Executor | None, progress: bool, max_scans: int | None
) -> list[dict[str, str]]:
    results = out / "results.csv"
    with _Lock(out):
        write_text_atomic(
            out / "suite.json",
            json.dumps(
                {
                    "name": suite.name,
                    "source": suite.source,
                    "fingerprint": suite.fingerprint(),
                    "references": [dataclasses.asdict(r) for r in suite.references],
                },
                indent=1,
            ),
        )
        old = read_results(results) if results.is_file() else []
        done = {tuple(r[c] for c in KEY_COLUMNS) for r in old}
        # rewrite what survives (drops a torn last line), then append as scans finish
        _write_rows_atomic(results, canonical_rows(suite, old))
        todo = []
        for task in iter_tasks(suite):
            left = tuple(c for c, k in zip(task.completers, task_keys(task), strict=True) if k not in done)
            if left:
                todo.append(dataclasses.replace(task, completers=left))
        n_done = suite.n_cells - sum(len(t.completers) for t in todo)
        if max_scans is not None:
            todo = todo[:max_scans]
        log.info("%s: %d cells, %d done, %d scans to run", suite.name, suite.n_cells, n_done, len(todo))
        with (
            open(results, "a", newline="", encoding="utf-8") as fh,
            tqdm(
                total=suite.n_cells,
                initial=n_done,
                unit="cell",
                desc=f"bench {suite.name}",
                disable=not progress,
                smoothing=0.05,
            ) as bar,
        ):
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")

            def save(rows: list[dict[str, Any]]) -> None:
                writer.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)
                fh.flush()
                os.fsync(fh.fileno())
                bar.update(len(rows))

            if ex is None:
                for task in todo:
                    save(run_task(task))
            else:
                futures = [ex.submit(run_task, t) for t in todo]
                try:
                    for fut in cf.as_completed(futures):
                        save(fut.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
        rows = canonical_rows(suite, read_results(results))
        _write_rows_atomic(results, rows)
    return rows


def _worst_image(suite: Suite, rows: list[dict[str, str]] | None, path: str, cov: float) -> tuple[ImageSource, str]:
    """The image of the suite whose cell (``path``, ``cov``, first preset and seed) has the
    highest mean MSE over the completers, and a phrase saying so (the first image without rows)."""
    if not rows or len(suite.images) == 1:
        return suite.images[0], f"image 1 of {len(suite.images)}"
    by_id = {img.id: img for img in suite.images}
    scores: dict[str, list[float]] = {}
    for r in rows:
        if (
            r["path"] == path
            and math.isclose(float(r["coverage_target"]), cov)
            and r["preset"] == suite.presets[0]
            and r["seed"] == str(suite.seeds[0])
            and r["image"] in by_id
        ):
            with contextlib.suppress(ValueError):
                scores.setdefault(r["image"], []).append(float(r["mse"]))
    if not scores:
        return suite.images[0], f"image 1 of {len(suite.images)}"
    worst = max(scores, key=lambda k: float(np.mean(scores[k])))
    return by_id[worst], f"the worst of {len(suite.images)} images (highest mean MSE)"


def example_panels(suite: Suite, out: Path, pdf: bool = False, rows: list[dict[str, str]] | None = None) -> list[Path]:
    """Re-run one cell per path (the coverage nearest 1/20, first preset and seed; the image
    with the highest mean MSE in ``rows``, else the first) and draw truth, partial scan, every
    completion, its |error| and its predicted uncertainty (the half-width of its 90 % interval,
    :mod:`completion.uncertainty`) to ``out/examples/PATH.png``, each panel with a scale bar."""
    _init_worker()
    folder = out / "examples"
    folder.mkdir(exist_ok=True)
    cov = min(suite.coverages, key=lambda c: abs(math.log(c * 20)))
    written = []
    for path in suite.paths:
        source, which = _worst_image(suite, rows, path, cov)
        task = ScanTask(
            0, source, path, cov, suite.presets[0], suite.seeds[0], suite.dose, suite.completers, suite.register
        )
        image, truth, spec, scan = simulate_task(task)
        pixel_nm = scan.preset.pixel_size_nm
        assumed = source.pixel_size_nm is None
        outs, maps = [], []
        for c in suite.completers:
            try:
                o, u = _completer(c).complete(scan.values, scan.mask, return_uncertainty=True)
            except InputError:  # too sparse to calibrate a map
                o, u = _completer(c).complete(scan.values, scan.mask), None
            outs.append(o)
            maps.append(u)
        n = len(outs)
        fig, axes = plotting.figure(3, n + 1, figsize=(2.9 * (n + 1) + 1.2, 9.6), squeeze=False, layout="constrained")
        show = dict(cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        width = truth.shape[1]
        axes[0, 0].imshow(truth, **show)
        axes[0, 0].set_title("truth" + (" (noise-free)" if spec is not None else " (the file)"), fontsize=9)
        plotting.show_scan(axes[1, 0], np.where(scan.mask, scan.values, np.nan))
        axes[1, 0].set_title(f"partial scan {coverage_label(scan.coverage)}, {scan.time_s * 1e3:.1f} ms", fontsize=9)
        axes[2, 0].axis("off")
        axes[2, 0].text(
            0.0, 0.5,
            "rows:\n1  truth, completions\n2  partial scan (blue: not\n    scanned), |error|\n"
            "3  predicted uncertainty\n"
            f"\nscale bars: {pixel_nm:g} nm/px\n" + ("(the preset's, assumed)" if assumed else "(the file's)"),
            fontsize=8, va="center", transform=axes[2, 0].transAxes,
        )  # fmt: skip
        emax = max(float(np.percentile(np.abs(o - truth), 99.5)) for o in outs)
        im = None
        for k, (name, o, u) in enumerate(zip(suite.completers, outs, maps, strict=True)):
            label = completer_label(name)
            axes[0, k + 1].imshow(o, **show)
            axes[0, k + 1].set_title(f"{label}: MSE {metrics.mse(o, truth):.2e}", fontsize=9)
            im = axes[1, k + 1].imshow(np.abs(o - truth), cmap="magma", vmin=0, vmax=emax, interpolation="nearest")
            axes[1, k + 1].set_title(f"|error| of {label}", fontsize=9)
            if u is None:
                axes[2, k + 1].set_title("too sparse to calibrate", fontsize=9)
                continue
            inside, _ = metrics.calibration(o, u, truth, scan.mask)
            axes[2, k + 1].imshow(u, cmap="magma", vmin=0, vmax=emax, interpolation="nearest")
            axes[2, k + 1].set_title(f"uncertainty: {inside:.0%} inside", fontsize=9)
        for (r, c), ax in np.ndenumerate(axes):
            ax.set_xticks([])
            ax.set_yticks([])
            if (r, c) != (2, 0):
                plotting.scale_bar(ax, width, pixel_nm)
        if im is not None:
            fig.colorbar(im, ax=axes[1:, -1].tolist(), shrink=0.8, label="|error| and uncertainty (intensity)")
        fig.colorbar(axes[0, 0].images[0], ax=[axes[0, -1]], shrink=0.8, label="intensity")
        img_name = Path(source.id).name if source.file else source.id
        fig.suptitle(
            f"{path}, coverage {coverage_label(cov)}, preset '{suite.presets[0]}': {img_name}, {which}\n"
            "row 2: |error| against the truth; row 3: predicted half-width of the 90 % interval "
            "(share of unscanned pixels inside it)",
            fontsize=10,
        )
        name = scanpaths.strategies.describe(path).replace(":", "_")
        for ext in (".png", ".pdf") if pdf else (".png",):
            p = folder / f"{name}{ext}"
            plotting.save(fig, p, dpi=100)
            written.append(p)
    return written

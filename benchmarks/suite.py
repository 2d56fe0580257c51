"""Benchmark suites: what ``pstem bench`` runs, read from a TOML file.

A suite names the images, path kinds, coverages, physics presets, completers and seeds; every
combination is one *cell* of the benchmark. Built-in suites live in ``benchmarks/suites/``
(``quick``, ``paper``, ``full``); any TOML file with the same keys is a suite::

    name = "mine"
    description = "spiral vs Lissajous on my own images"

    [images]
    files = "scans/*.tif"      # a glob (or a list of globs), relative to the suite file;
    # frame = 0                # which image of files that hold several; pixel_size_nm = 0.05
    # ...or:
    # synthetic = 8            # seeded synthetic specimens (scanpaths.specimens)
    # size = 512               # their size, px
    # first_seed = 0           # their seeds: first_seed, first_seed + 1, ...
    # scenes = ["crystal"]     # restrict the scene mix (default: all)

    [scan]
    paths = ["spiral", "lissajous"]
    coverages = ["1/10", "1/20", 0.02]
    presets = ["typical"]
    seeds = [0]                # scan seeds (random paths, jitter, dose noise)
    dose = 0                   # electrons per sample for Poisson noise; 0 = none
    # register = "commanded"   # where samples are filed: commanded, model (the coil model), actual

    [completion]
    completers = ["linear", "harmonic", "gan-mse"]

    [[reference]]              # optional: published numbers printed beside ours
    published = "ede-beanland-2020"   # one of benchmarks.references.PUBLISHED, or your own:
    # label = "my earlier run"
    # metric = "rmse_blur"
    # path = "spiral"
    # coverages = ["1/17.9", "1/50"]
    # values = [0.038, 0.049]

Paths are scan strategies (:func:`scanpaths.strategy_names`: every path kind, and the
``learned`` / ``learned:FILE`` policies that :mod:`rl` registers); completers are the names of
:data:`completion.COMPLETERS` (and checkpoint files); presets those of
:data:`scanpaths.PRESETS`. Everything is checked when the suite is loaded, before any cell runs:
an unknown key, path, preset or completer, a glob that matches nothing or an unreadable image is
one :class:`~scanpaths.errors.InputError` naming the problem.
"""

from __future__ import annotations

import glob
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import rl  # noqa: F401 - registers the ``learned`` scan strategy
import scanpaths
from completion.registry import COMPLETERS, get_completer
from rl.strategy import commanded_only
from scanpaths.common import parse_coverage as _parse_coverage
from scanpaths.errors import InputError
from scanpaths.seeds import BENCHMARK

from .references import PUBLISHED, Reference

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Names of the suites shipped in ``benchmarks/suites/``.
BUILTIN_SUITES: tuple[str, ...] = ("quick", "paper", "full", "adaptive", "ede2021")
#: Metrics a reference table may name.
REFERENCE_METRICS: tuple[str, ...] = ("mse", "mae", "psnr", "ssim", "rmse", "rmse_blur", "rmse_raw")


@dataclass(frozen=True)
class ImageSource:
    """One image of a suite: a synthetic specimen (``seed``) or a file (``file``; ``frame`` of
    it, its pixel size in nm where the file or the suite gives one: the physics uses it)."""

    id: str
    seed: int | None = None
    size: int | None = None
    scene: str | None = None
    file: str | None = None
    frame: int | None = None
    pixel_size_nm: float | None = None


@dataclass(frozen=True)
class Suite:
    """A parsed, validated suite. ``cells`` enumerates it in a fixed order."""

    name: str
    description: str
    images: tuple[ImageSource, ...]
    paths: tuple[str, ...]
    coverages: tuple[float, ...]
    presets: tuple[str, ...]
    seeds: tuple[int, ...]
    completers: tuple[str, ...]
    dose: float = 0.0
    register: str = "commanded"
    references: tuple[Reference, ...] = field(default_factory=tuple)
    source: str = ""

    @property
    def n_scans(self) -> int:
        """Simulated scans: images x paths x coverages x presets x seeds."""
        return len(self.images) * len(self.paths) * len(self.coverages) * len(self.presets) * len(self.seeds)

    @property
    def n_cells(self) -> int:
        """Cells (rows of results.csv): scans x completers."""
        return self.n_scans * len(self.completers)

    def fingerprint(self) -> str:
        """Everything that decides the numbers, as canonical JSON (two runs may share an OUT
        folder only if their fingerprints agree)."""
        d = asdict(self)
        d.pop("name")
        d.pop("description")
        d.pop("references")
        d.pop("source")
        if d["register"] == "commanded":  # the default: the fingerprints of runs made before it was a key
            d.pop("register")
        return json.dumps(d, sort_keys=True)


def parse_coverage(value: Any, where: str) -> float:
    """A coverage written as a number (0.05) or a string ("1/20", "0.05"); errors name ``where``."""
    try:
        return _parse_coverage(value)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; allowed: {', '.join(sorted(allowed))}")


def _list(table: dict[str, Any], key: str, where: str, default: list[Any] | None = None) -> list[Any]:
    value = table.get(key, default)
    if value is None:
        raise InputError(f"{where}: '{key}' is missing")
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: '{key}' must be a non-empty list, got {value!r}")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{where} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _check_completer(name: Any, base: Path) -> str:
    """A completer name of :data:`completion.COMPLETERS`; a checkpoint file, relative to
    ``base``, becomes its absolute path."""
    if not isinstance(name, str):
        raise InputError(f"[completion] completers: names must be strings, got {name!r}")
    try:
        found = COMPLETERS.resolve(name)
    except InputError:
        raise InputError(
            f"[completion] completers: unknown completer {name!r}; choose from {', '.join(COMPLETERS.choices())}"
        ) from None
    if found.arg is None:
        return name
    p = Path(found.arg) if Path(found.arg).is_absolute() else base / found.arg
    if not p.is_file():
        raise InputError(f"[completion] completers: checkpoint file {p} does not exist")
    try:  # load it once now: a corrupt file is refused before any output folder exists
        get_completer(str(p.resolve()), device="cpu")
    except InputError as exc:
        raise InputError(f"[completion] completers: {exc}") from None
    return str(p.resolve())


def _file_shape(file: str | None, frame: int | None) -> tuple[int, int]:
    assert file is not None
    return scanpaths.io.load_image(file, frame=frame).shape  # type: ignore[return-value]


def _check_path(name: Any, base: Path, images: tuple[ImageSource, ...]) -> str:
    """A scan strategy (:func:`scanpaths.strategy_names`) that can scan every image; its
    canonical name (``learned:FILE`` with the file's absolute path)."""
    if not isinstance(name, str):
        raise InputError(f"[scan] paths: names must be strings, got {name!r}")
    known = name in scanpaths.PATH_KINDS
    if not known:
        try:
            scanpaths.STRATEGIES.resolve(name)
            known = True
        except InputError:
            pass
    if not known:
        raise InputError(
            f"[scan] paths: unknown path kind {name!r}; choose from {', '.join(scanpaths.strategy_names())}"
        )
    try:
        strategy = scanpaths.get_strategy(name, base)
    except InputError as exc:
        raise InputError(f"[scan] paths: {name}: {exc}") from None
    for img in images:
        shape = (img.size, img.size) if img.size is not None else _file_shape(img.file, img.frame)
        try:
            strategy.check(shape)
        except InputError as exc:
            raise InputError(f"[scan] paths: {strategy.name} cannot scan {img.id}: {exc}") from None
    return strategy.name


def _images(table: dict[str, Any], base: Path) -> tuple[ImageSource, ...]:
    where = "[images]"
    _keys(table, {"synthetic", "size", "first_seed", "scenes", "files", "frame", "pixel_size_nm"}, where)
    has_files, has_syn = "files" in table, "synthetic" in table
    if has_files == has_syn:
        raise InputError(f"{where}: give exactly one of 'synthetic = N' or 'files = \"GLOB\"'")
    if has_syn:
        n = _int(table["synthetic"], f"{where} synthetic", 1, 100_000)
        size = _int(table.get("size", 256), f"{where} size", 64, 4096)
        first = _int(table.get("first_seed", 0), f"{where} first_seed", 0, 10**9)
        BENCHMARK.check(first, n, f"{where} first_seed and synthetic")
        scenes = table.get("scenes")
        if scenes is not None:
            for s in _list(table, "scenes", where):
                if s not in scanpaths.specimens.SCENES:
                    raise InputError(
                        f"{where} scenes: unknown scene {s!r}; choose from {', '.join(scanpaths.specimens.SCENES)}"
                    )
        out = []
        for i in range(n):
            scene = None if scenes is None else scenes[i % len(scenes)]
            out.append(ImageSource(id=f"synthetic-{first + i}", seed=first + i, size=size, scene=scene))
        return tuple(out)
    for key in ("size", "first_seed", "scenes"):
        if key in table:
            raise InputError(f"{where}: '{key}' applies to synthetic images only")
    return file_images(table["files"], base, frame=table.get("frame"), pixel_size_nm=table.get("pixel_size_nm"))


def file_images(patterns: Any, base: Path, *, frame: Any = None, pixel_size_nm: Any = None) -> tuple[ImageSource, ...]:
    """The image files that ``patterns`` (a glob or a list of globs, relative to ``base``)
    match, each read once to check it (:func:`scanpaths.io.read_image`, ``frame`` of a file
    that holds several) and to find its pixel size (``pixel_size_nm`` overrides the files')."""
    where = "[images] files"
    globs = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g for g in globs):
        raise InputError(f'{where}: expected a glob such as "scans/*.tif" or a list of them, got {patterns!r}')
    if frame is not None:
        frame = _int(frame, "[images] frame", 0, 10**6)
    if pixel_size_nm is not None and (
        isinstance(pixel_size_nm, bool) or not isinstance(pixel_size_nm, int | float) or not pixel_size_nm > 0
    ):
        raise InputError(f"[images] pixel_size_nm must be a positive number of nm, got {pixel_size_nm!r}")
    files: list[str] = []
    for pattern in globs:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        found = sorted(p for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"{where}: {pattern!r} matches no file (looked in {base})")
        files += [f for f in found if f not in files]
    out = []
    for f in files:
        try:
            frm = scanpaths.io.read_image(f, frame=frame, pixel_size_nm=pixel_size_nm)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        img = frm.image
        if min(img.shape) < 64:
            raise InputError(f"{where}: {f} is {img.shape[0]}x{img.shape[1]} px; images must be at least 64 px")
        nm = frm.calibration.pixel_size_nm
        out.append(ImageSource(id=str(Path(f).resolve()), file=str(Path(f).resolve()), frame=frame, pixel_size_nm=nm))
    return tuple(out)


def _references(items: Any) -> tuple[Reference, ...]:
    if not isinstance(items, list):
        raise InputError("[[reference]] must be an array of tables")
    refs = []
    for k, r in enumerate(items):
        where = f"[[reference]] #{k + 1}"
        if not isinstance(r, dict):
            raise InputError(f"{where}: expected a table")
        if "published" in r:
            _keys(r, {"published"}, where)
            if r["published"] not in PUBLISHED:
                raise InputError(f"{where}: published must be one of {', '.join(PUBLISHED)}, got {r['published']!r}")
            refs.append(PUBLISHED[r["published"]])
            continue
        _keys(r, {"label", "metric", "path", "coverages", "values"}, where)
        if r.get("metric") not in REFERENCE_METRICS:
            raise InputError(f"{where}: metric must be one of {', '.join(REFERENCE_METRICS)}, got {r.get('metric')!r}")
        covs = tuple(parse_coverage(c, where) for c in _list(r, "coverages", where))
        vals = _list(r, "values", where)
        if len(vals) != len(covs) or not all(isinstance(v, int | float) for v in vals):
            raise InputError(f"{where}: 'values' must be numbers, one per coverage")
        refs.append(
            Reference(
                label=str(r.get("label", "reference")),
                metric=r["metric"],
                path=str(r.get("path", "spiral")),
                coverages=covs,
                values=tuple(float(v) for v in vals),
            )
        )
    return tuple(refs)


def parse_suite(data: dict[str, Any], base: Path, source: str) -> Suite:
    """Validate a suite's TOML table (``base``: the folder globs are relative to)."""
    _keys(data, {"name", "description", "images", "scan", "completion", "reference"}, source)
    for key in ("images", "scan", "completion"):
        if not isinstance(data.get(key), dict):
            raise InputError(f"{source}: the [{key}] table is missing")
    images = _images(data["images"], base)
    scan = data["scan"]
    _keys(scan, {"paths", "coverages", "presets", "seeds", "dose", "register"}, "[scan]")
    paths = [_check_path(p, base, images) for p in _list(scan, "paths", "[scan]")]
    covs = tuple(parse_coverage(c, "[scan] coverages") for c in _list(scan, "coverages", "[scan]"))
    presets = []
    for p in _list(scan, "presets", "[scan]", ["typical"]):
        if p not in scanpaths.PRESETS:
            raise InputError(f"[scan] presets: unknown preset {p!r}; choose from {', '.join(scanpaths.PRESETS)}")
        presets.append(p)
    seeds = tuple(_int(s, "[scan] seeds: each seed", 0, 2**31 - 1) for s in _list(scan, "seeds", "[scan]", [0]))
    dose = scan.get("dose", 0)
    if isinstance(dose, bool) or not isinstance(dose, int | float) or not (0 <= dose < math.inf):
        raise InputError(f"[scan] dose must be a number >= 0 (electrons per sample; 0 = no dose noise), got {dose!r}")
    register = scan.get("register", "commanded")
    if register not in scanpaths.REGISTERS:
        raise InputError(f"[scan] register must be one of {', '.join(scanpaths.REGISTERS)}, got {register!r}")
    learned = commanded_only(paths)
    if learned and register != "commanded":
        raise InputError(f"[scan] register {register!r}: a learned path files its samples where commanded")
    comp = data["completion"]
    _keys(comp, {"completers"}, "[completion]")
    completers = tuple(_check_completer(c, base) for c in _list(comp, "completers", "[completion]"))
    for name, items in (
        ("paths", paths),
        ("coverages", covs),
        ("presets", presets),
        ("seeds", seeds),
        ("completers", completers),
    ):
        if len(set(items)) != len(items):
            raise InputError(f"a suite lists each of its {name} once; got {list(items)}")
    return Suite(
        name=str(data.get("name", Path(source).stem)),
        description=str(data.get("description", "")),
        images=images,
        paths=tuple(paths),
        coverages=covs,
        presets=tuple(presets),
        seeds=seeds,
        completers=completers,
        dose=float(dose),
        register=str(register),
        references=_references(data.get("reference", [])),
        source=source,
    )


def load_suite(name_or_file: str, images: list[str] | None = None) -> Suite:
    """A built-in suite by name (:data:`BUILTIN_SUITES`) or a suite TOML file; with
    ``images`` (globs, relative to the current folder), those files replace its [images]."""
    if name_or_file in BUILTIN_SUITES:
        text = resources.files("benchmarks").joinpath("suites", f"{name_or_file}.toml").read_text("utf-8")
        base = Path.cwd()
        source = f"built-in suite '{name_or_file}'"
    else:
        path = Path(name_or_file)
        if not path.is_file():
            raise InputError(
                f"suite {name_or_file!r} is neither a built-in suite ({', '.join(BUILTIN_SUITES)}) nor a file"
            )
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the suite {path}: {exc}") from None
        base = path.resolve().parent
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source} is not valid TOML: {exc}") from None
    if images is not None:
        data["images"] = {"files": [str(Path(g).absolute()) for g in images]}
        source += f" on {len(images)} image glob{'s' if len(images) > 1 else ''}"
    return parse_suite(data, base, source)

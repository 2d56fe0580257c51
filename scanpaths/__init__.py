"""Scan simulation for STEM: commanded paths, scan-coil physics, the detector, specimens.

>>> import scanpaths
>>> path = scanpaths.make_path("spiral", (128, 128), coverage=1/20, seed=0)
>>> spec = scanpaths.specimens.generate((128, 128), seed=0)
>>> scan = scanpaths.simulate(spec.image, path, preset="typical", seed=0)
>>> scan.values.shape, scan.mask.dtype
((128, 128), dtype('bool'))

The layers above (``completion``, ``rl``, ``benchmarks``) use only this package's public
surface: paths (:class:`ScanPath`, :func:`make_path`), presets, the streaming
:class:`Scanner` (and :func:`simulate`, :func:`scan_time`), strategies, specimens, IO, and the
helpers every layer shares (:mod:`scanpaths.common`, :mod:`scanpaths.seeds`,
:mod:`scanpaths.registry`, :mod:`scanpaths.errors`).
"""

from __future__ import annotations

import warnings
from typing import Any

from . import common, io, registry, seeds, specimens, strategies
from .errors import ConfigError, InputError
from .paths import PATH_KINDS, PathKind, ScanPath, make_path, path_coverage, register_path_kind, sample_path
from .physics import PRESETS, Preset, get_preset
from .scanner import REGISTERS, PartialScan, Samples, Scanner, scan_time, simulate
from .strategies import STRATEGIES, Strategy, get_strategy, strategy_names

__all__ = [
    "PATH_KINDS",
    "PRESETS",
    "REGISTERS",
    "STRATEGIES",
    "ConfigError",
    "InputError",
    "PartialScan",
    "PathKind",
    "Preset",
    "Samples",
    "ScanPath",
    "Scanner",
    "Strategy",
    "common",
    "get_preset",
    "get_strategy",
    "io",
    "make_path",
    "path_coverage",
    "register_path_kind",
    "registry",
    "sample_path",
    "scan_time",
    "seeds",
    "simulate",
    "specimens",
    "strategies",
    "strategy_names",
]


def __getattr__(name: str) -> Any:
    if name == "Path":  # the old name, kept for one release: it shadowed pathlib.Path
        warnings.warn("scanpaths.Path is now scanpaths.ScanPath", DeprecationWarning, stacklevel=2)
        return ScanPath
    raise AttributeError(f"module 'scanpaths' has no attribute {name!r}")

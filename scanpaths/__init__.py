"""Scan simulation for STEM: commanded paths, scan-coil physics, the detector, specimens.

>>> import scanpaths
>>> path = scanpaths.make_path("spiral", (128, 128), coverage=1/20, seed=0)
>>> spec = scanpaths.specimens.generate((128, 128), seed=0)
>>> scan = scanpaths.simulate(spec.image, path, preset="typical", seed=0)
>>> scan.values.shape, scan.mask.dtype
((128, 128), dtype('bool'))
"""

from __future__ import annotations

from . import io, specimens
from .errors import InputError
from .paths import PATH_KINDS, Path, make_path, path_coverage
from .physics import PRESETS, PartialScan, Preset, get_preset, simulate

__all__ = [
    "PATH_KINDS",
    "PRESETS",
    "InputError",
    "PartialScan",
    "Path",
    "Preset",
    "get_preset",
    "io",
    "make_path",
    "path_coverage",
    "simulate",
    "specimens",
]

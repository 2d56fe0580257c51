"""Fixed paths at equal scan time: the yardstick of a learned path.

A learned path spends a scan-time budget; a fair fixed path spends the same. For each kind the
coverage is solved (bisection on :func:`scanpaths.scan_time`, which needs no image) so that the
path's scan time under the preset matches the budget, then the specimen is scanned along it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

import scanpaths
from scanpaths.errors import InputError
from scanpaths.physics import Preset, get_preset

__all__ = ["FIXED_KINDS", "coverage_for_time", "fixed_scan"]

#: Fixed path kinds a learned path is compared with.
FIXED_KINDS: tuple[str, ...] = ("spiral", "lissajous", "grid", "serpentine")


@lru_cache(maxsize=256)
def _coverage_for_time(kind: str, shape: tuple[int, int], preset: Preset, budget_s: float) -> float:
    def time_of(cov: float) -> float:
        return scanpaths.scan_time(scanpaths.make_path(kind, shape, coverage=cov, seed=0), preset)

    lo, hi = 0.004, 0.5
    while True:  # the sparsest coverage the kind can reach on this field
        try:
            t_lo = time_of(lo)
            break
        except InputError:
            if lo > 0.1:
                raise
            lo *= 1.5
    if t_lo > budget_s:
        raise InputError(f"a {kind} path on {shape[0]}x{shape[1]} px cannot be scanned in {budget_s * 1e6:.0f} us")
    for _ in range(18):
        mid = float(np.sqrt(lo * hi))
        if time_of(mid) <= budget_s:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.01:
            break
    return lo


def coverage_for_time(kind: str, size: int | tuple[int, int], preset: str | Preset, budget_s: float) -> float:
    """The coverage at which a ``kind`` path on a field of ``size`` (px, square; or (H, W))
    takes ``budget_s`` to scan.

    The result is the largest coverage whose scan time does not exceed the budget (to 1 %).
    ``preset`` is a name or a :class:`scanpaths.Preset`.
    """
    shape = (int(size), int(size)) if isinstance(size, int | np.integer) else (int(size[0]), int(size[1]))
    return _coverage_for_time(kind, shape, get_preset(preset), float(budget_s))


def fixed_scan(
    kind: str,
    image: np.ndarray,
    budget_s: float,
    preset: str | Preset = "typical",
    seed: int = 0,
    dose: float | None = None,
) -> scanpaths.PartialScan:
    """Scan ``image`` (H, W) along a ``kind`` path that takes ``budget_s``."""
    cov = coverage_for_time(kind, image.shape, preset, float(budget_s))
    path = scanpaths.make_path(kind, image.shape, coverage=cov, seed=seed)
    return scanpaths.simulate(image, path, preset=preset, seed=seed, dose=dose)

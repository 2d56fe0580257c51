"""Fixed paths at equal scan time: the yardstick of a learned path.

A learned path spends a scan-time budget; a fair fixed path spends the same. For each kind the
coverage is solved (bisection on :func:`scanpaths.scan_time`, which needs no image) so that the
path's scan time under the preset matches the budget, then the specimen is scanned along it.

**Step.** At equal time a path has two free parameters, not one: how far apart its lines (or
turns, or lobes) are, and how far the beam moves per tick along them. A kind at coverage moves
about 1 px per tick (samples touch along the path); ``KIND@STEP`` (:func:`split_step`, e.g.
``lissajous@1.5``) moves ``STEP`` px per tick, so the same time buys lines ``STEP`` times
closer with samples ``STEP`` px apart along them: a spread of samples over more of the field.
Measured on the adaptive benchmark's classes (``pstem eval adaptive``, 64 specimens a class,
typical physics, ``benchmarks/RESULTS.md``): ``lissajous@3`` (a sine drive: 3 px per tick at
most) is the best fixed path on lattices, point defects, edges and real frames at 1/20 and 1/50,
0.64-0.90 x the squircle's MSE, and ``serpentine@2`` takes low-magnification scenes at 1/50 to
0.37 x the serpentine's; the constant-speed kinds (spiral, squircle) at 1.5-2 px per tick lose
on lattices at 1/20, where columns must be resolved along the lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

import scanpaths
from scanpaths.errors import InputError, check_number
from scanpaths.paths import ScanPath
from scanpaths.physics import Preset, get_preset
from scanpaths.strategies import STRATEGIES, Strategy

__all__ = [
    "FIXED_KINDS",
    "MAX_STEP",
    "SteppedPath",
    "coverage_for_time",
    "densest",
    "density_for_time",
    "fixed_path",
    "fixed_scan",
    "spiral_time",
    "split_step",
]

#: Fixed path kinds a learned path is compared with.
FIXED_KINDS: tuple[str, ...] = ("spiral", "lissajous", "grid", "serpentine")
#: The largest step along a path, px per tick, that ``KIND@STEP`` accepts.
MAX_STEP = 8.0


def split_step(name: str) -> tuple[str, float]:
    """``(kind, step)`` of a fixed path's name: ``"lissajous@1.5"`` -> ``("lissajous", 1.5)``,
    a plain kind -> ``(kind, 1.0)``.

    Raises:
        InputError: for an unknown kind, a kind without a density parameter (a step needs
            one: spacing or lobes), or a step that is not a number in [0.25, :data:`MAX_STEP`].
    """
    if not isinstance(name, str):
        raise InputError(f"a fixed path is named by a string, got {name!r}")
    kind, sep, rest = name.partition("@")
    entry = scanpaths.PATH_KINDS[kind]  # raises, naming the kinds, for an unknown one
    if not sep:
        return kind, 1.0
    try:
        step = float(rest)
    except ValueError:
        raise InputError(f"the step of {name!r} must be a number of px per tick, e.g. {kind}@1.5") from None
    if not (math.isfinite(step) and 0.25 <= step <= MAX_STEP):
        raise InputError(f"the step of {name!r} must be in [0.25, {MAX_STEP:g}] px per tick, got {rest}")
    if not entry.density & {"spacing", "lobes"}:
        raise InputError(f"a {kind} path takes no step (only kinds with a spacing or lobes do)")
    return kind, step


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


def densest(
    kind: str, shape: tuple[int, int], step: float, fits: Callable[[ScanPath], bool], what: str
) -> tuple[str, float]:
    """``(name, value)``: the densest ``spacing`` (to 0.2 %) or number of ``lobes`` at which the
    ``kind`` path moving ``step`` px per tick still ``fits`` (a test that a denser path fails);
    ``what`` says what it must fit, for the error where even the sparsest does not."""
    density = scanpaths.PATH_KINDS[kind].density
    if "spacing" in density:  # sparser as the spacing grows

        def build(p: float) -> ScanPath:
            return scanpaths.make_path(kind, shape, spacing=p, step=step)

        lo, hi = 0.5, 2.0 * max(shape)  # lo: too dense, hi: fits
        sparsest: float = hi
    elif "lobes" in density:

        def build(p: float) -> ScanPath:
            return scanpaths.make_path(kind, shape, lobes=int(p), step=step)

        sparsest = 1
    else:
        raise InputError(f"a {kind} path takes no step (only kinds with a spacing or lobes do)")
    if not fits(build(sparsest)):
        raise InputError(f"a {kind} path at {step:g} px per tick on {shape[0]}x{shape[1]} px cannot {what}")
    if "spacing" in density:
        for _ in range(40):
            mid = math.sqrt(lo * hi)
            if fits(build(mid)):
                hi = mid
            else:
                lo = mid
            if hi / lo < 1.002:
                break
        return "spacing", hi
    n_fits, over = 1, 2
    while fits(build(over)):
        n_fits, over = over, over * 2
    while over - n_fits > 1:
        mid = (n_fits + over) // 2
        if fits(build(mid)):
            n_fits = mid
        else:
            over = mid
    return "lobes", n_fits


@lru_cache(maxsize=256)
def _density_for_time(kind: str, shape: tuple[int, int], preset: Preset, budget_s: float, step: float) -> tuple:
    name, value = densest(
        kind,
        shape,
        step,
        lambda path: scanpaths.scan_time(path, preset) <= budget_s,
        f"be scanned in {budget_s * 1e6:.0f} us",
    )
    return _fill(kind, shape, preset, budget_s, name, value, step)


def _fill(
    kind: str, shape: tuple[int, int], preset: Preset, budget_s: float, name: str, value: float, step: float
) -> tuple:
    """``((name, value), ("step", s))`` with ``s`` in [step / 1.25, step] the largest step at
    which the path fills the budget to 1 %: lines come in whole numbers, so the density alone
    leaves up to a line's time unspent."""

    def time_of(s: float) -> float:
        return scanpaths.scan_time(scanpaths.make_path(kind, shape, step=s, **{name: value}), preset)

    if time_of(step) >= 0.99 * budget_s:
        return ((name, value), ("step", step))
    fast, slow = step, step / 1.25  # fast fits; find the slowest step that still fits
    if time_of(slow) <= budget_s:
        return ((name, value), ("step", slow))
    for _ in range(30):
        mid = math.sqrt(fast * slow)
        if time_of(mid) <= budget_s:
            fast = mid
        else:
            slow = mid
        if time_of(fast) >= 0.99 * budget_s:
            break
    return ((name, value), ("step", fast))


def density_for_time(
    kind: str, size: int | tuple[int, int], preset: str | Preset, budget_s: float, step: float
) -> dict[str, Any]:
    """The parameters of :func:`scanpaths.make_path` (``{"spacing": px, "step": px}`` or
    ``{"lobes": n, "step": px}``) at which a ``kind`` path moving about ``step`` px per tick
    takes at most ``budget_s`` to scan: the densest such (spacing to 0.2 %), then the step
    lowered by at most 1.25 x where a whole number of lines leaves time over, so that the path
    fills the budget to 1 % (where that range of steps allows: on a small field a few lines'
    time may be more); :func:`coverage_for_time`'s counterpart for a given step."""
    shape = (int(size), int(size)) if isinstance(size, int | np.integer) else (int(size[0]), int(size[1]))
    return dict(_density_for_time(kind, shape, get_preset(preset), float(budget_s), float(step)))


def spiral_time(shape: tuple[int, int], coverage: float, preset: str | Preset) -> float:
    """The time, s, a spiral at ``coverage`` takes on ``shape`` (H, W) under ``preset``: the
    budget a coverage stands for wherever paths are compared at equal time."""
    check_number(coverage, "coverage", 0.0, 1.0, low_open=True)
    return scanpaths.scan_time(scanpaths.make_path("spiral", shape, coverage=coverage, seed=0), preset)


def fixed_path(
    name: str, shape: tuple[int, int], budget_s: float, preset: str | Preset = "typical", seed: int = 0
) -> ScanPath:
    """The commanded path of the fixed path ``name`` (a kind, or ``KIND@STEP``: :func:`split_step`)
    that takes ``budget_s`` on a field of ``shape`` (H, W) px."""
    kind, step = split_step(name)
    if step == 1.0 and "@" not in name:
        cov = coverage_for_time(kind, shape, preset, float(budget_s))
        return scanpaths.make_path(kind, shape, coverage=cov, seed=seed)
    params = density_for_time(kind, shape, preset, float(budget_s), step)
    return scanpaths.make_path(kind, shape, seed=seed, **params)


def fixed_scan(
    kind: str,
    image: np.ndarray,
    budget_s: float,
    preset: str | Preset = "typical",
    seed: int = 0,
    dose: float | None = None,
    register: str = "commanded",
) -> scanpaths.PartialScan:
    """Scan ``image`` (H, W) along the fixed path ``kind`` (a path kind, or ``KIND@STEP``: a step of
    STEP px per tick, :func:`split_step`) that takes ``budget_s``; ``register``: where the samples
    are filed (:class:`scanpaths.Scanner`)."""
    path = fixed_path(kind, image.shape, float(budget_s), preset, seed)
    return scanpaths.simulate(image, path, preset=preset, seed=seed, dose=dose, register=register)


class SteppedPath(Strategy):
    """``KIND@STEP`` as a scan strategy: the fixed path moving STEP px per tick that takes the
    scan time of a spiral at the requested coverage (as the adaptive strategies spend), so a
    benchmark suite can list ``paths = ["lissajous@3", "spiral"]``."""

    def __init__(self, name: str) -> None:
        kind, step = split_step(name)
        self.name = f"{kind}@{step:g}"

    def scan(
        self,
        image: np.ndarray,
        *,
        coverage: float,
        preset: str | Preset,
        seed: int,
        dose: float | None = None,
        truth: np.ndarray | None = None,
        register: str = "commanded",
    ) -> scanpaths.PartialScan:
        budget_s = spiral_time(image.shape, coverage, preset)
        return fixed_scan(self.name, image, budget_s, preset, seed=seed, dose=dose, register=register)


def _is_stepped(name: str) -> bool:
    kind, sep, _ = name.partition("@")
    return bool(sep) and kind in scanpaths.PATH_KINDS


STRATEGIES.register_pattern(
    "KIND@STEP",
    _is_stepped,
    lambda arg, _base: SteppedPath(arg),
    help="a fixed path kind moving STEP px per tick (e.g. lissajous@3), in the time a spiral at the coverage takes",
)

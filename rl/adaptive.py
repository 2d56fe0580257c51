"""Adaptive scan strategies that look first, then spend the scan time where the error is.

Six strategies, registered as scan strategies (so ``pstem bench`` compares them with every
fixed path) and measured per specimen class by ``pstem eval adaptive``:

- ``survey`` (**survey, then commit**): a Lissajous (:data:`SURVEY_KIND`, moving up to
  :data:`SURVEY_STEP` px per tick: ``lissajous@3``) spends a share of the time budget (default
  :data:`DEFAULT_SURVEY`); the survey is completed with its
  uncertainty map; the rest of the time goes to one spiral (:data:`COMMIT_KIND`) warped so that
  its turns crowd where the predicted drop in error per sample is largest (:func:`allocate`,
  :func:`warped_path`).
- ``survey-fast``: the same survey and commit, the error predicted from the survey's samples
  alone (:meth:`AdaptiveScan.sample_variance`: their variance per block less the dose's
  Poisson variance), no completion: the decision takes a fraction of a millisecond instead of
  a completion's ~0.1 s.
- ``survey-lines``: survey-fast's survey and decision, then **lines packed over the regions the
  survey marks**: a serpentine moving 2 px per tick (:data:`LINES_COMMIT`) warped as the spiral
  is, where its lines, unwarped, would lie at most :data:`LINES_MAX_SPACING` px apart (the
  spiral where they would not). A fast, warped path is placed badly by the coils, so it pays
  only where the samples are filed where the coil model puts the beam (``register="model"``;
  ``pstem eval adaptive --register model``).
- ``survey-hedge`` (**survey, then commit only where it pays**): the survey is the first
  :data:`HEDGE_SURVEY` of the time of a fixed path (:func:`hedge_path`: ``lissajous@3``, the
  best fixed path on most classes, or ``lissajous@2`` where the budget is larger); from
  survey-fast's prediction it picks the window of blocks, and the share of the rest to spend
  there, that the allocation's model says gain most, and where they are predicted to take the
  error below :data:`HEDGE_GAIN` of going on along the fixed path, the rest is the fixed path's
  next part and then a Lissajous figure over the window, its drive at the whole figure's
  frequencies (the coils follow it as they follow the fixed path; a warped path they do not);
  elsewhere the rest of the same fixed path, so that where looking cannot help the scan is
  that fixed path (:class:`SurveyHedge`).
- ``survey-rescan`` (**a fast pass, then slow rescans**, SmartEM-style): survey-hedge's fast
  pass and decision, with slow rows over the window (:data:`RESCAN_STEP` px per tick: twice
  the dose per px, less coil lag) in place of its Lissajous. Not in the default strategies: on
  training seeds (throwaway probe, 16 specimens a class, 100 e per sample) it was 0.93 x
  lissajous@3 on nanoparticles at 1/20 against survey-hedge's 0.85, 1.01 on edges against 0.98.
- ``greedy`` (**greedy expected error reduction**, SLADS-style, in rounds): a smaller survey
  (:data:`GREEDY_SURVEY`), then :data:`GREEDY_ROUNDS` rounds, each re-completing what has been
  seen and spending its slice of the time where the predicted drop per sample is largest now
  (each round's spiral turned the other way or mirrored, so rounds do not retrace each other).

Why a spiral moving 1 px per tick: at equal time a fixed Lissajous at up to 3 px per tick
(``lissajous@3``, :func:`rl.equal_time.split_step`) beats every strategy here on lattices,
point defects, edges and real frames, and the survey gained from that step; but a warped
commit at a step is 1.06-1.76 x the best fixed path under typical coil physics in most cells
(0.87-1.09 x in 11 of 12 cells with an ideal beam: the coils place a fast warped path badly,
and samples are filed where the beam was commanded), and the spiral warped at 1.5 px per tick
is 1.0-1.5 x the one at 1 px but on low-mag at 1/50 (``benchmarks/RESULTS.md``).

Why a warped spiral, not packed lines: on 256 px specimens a variable-density serpentine
(lines packed over the marked blocks) scored 1.5-4 x a plain spiral with the shipped
generator, which has learnt to fill between curved paths of every orientation; a spiral
warped per axis keeps that geometry and moves its density.

**Budget.** A strategy asked for ``coverage`` gets the scan time of a spiral at that coverage
under the preset (as the ``learned`` strategy does), flyback and settling included; the travel
and settling of its one jump per round come out of it. The dose per sample is the scan's
(``dose``); the total is dose x unblanked ticks. :class:`Budget` states both.

**Dwell modulation.** The warped path keeps one tick per position of the spiral it was made
from, so the beam slows where the density is high (several samples per px there: more dwell,
more dose, less Poisson noise) and speeds over the rest. Repeated samples of a pixel are
averaged, so the completer sees the dose through the per-pixel mean (a pixel's mean is over
its dose); the completers do not weight pixels by dose yet.

**Predicted error.** The estimator (default ``gan-mse``, the fastest good completer) completes
the scan so far with its uncertainty map (:mod:`completion.uncertainty`); the square of the
90 % half-width over 1.645, averaged over a block of :data:`BLOCK_PX` px, is the block's
predicted MSE. Where the scan is too sparse to calibrate a map, the local variance of the
completion stands in (``error_source`` in the scan's params). The model of the drop: a block
at ``rho`` samples per px has error ``E (rho0 / rho)`` (:data:`ALPHA` 1), which gives ``rho ~
sqrt(E rho0)`` (Lagrange): more where the error is, but never everything into the top blocks
(the trap of contrast-only packing, ``../shared/notes/adaptive-probes.md``). The block
allocation is projected on the two axes (the warp is separable), floored at
:data:`DENSITY_FLOOR` of the mean so the path still passes everywhere.

**Decision time.** Each decision's wall time is recorded (``decision_s`` in the path's params:
the prediction, the allocation and the warp of the path's first line's worth of positions, up
to the beam being able to start; the rest of the path is warped while the beam scans that
line, at about 0.05 us a position against 1 us a tick; the unwarped base path depends on
nothing seen and is made beforehand, :func:`base_path`)
beside the beam time of the chunk it followed (``chunk_s``); ``pstem eval adaptive`` reports the
margin. The simulation waits for the decision (no scan time is charged for it); with
``deadline_s`` a decision that takes longer is replaced by the unwarped spiral and counted
(``fallbacks``), which makes the scan depend on the machine's speed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from completion.base import Completer
from completion.registry import get_completer
from scanpaths.errors import InputError, check_number
from scanpaths.paths import ScanPath, make_path, sample_path
from scanpaths.physics import Preset, get_preset
from scanpaths.scanner import PartialScan, Samples, Scanner, scan_time
from scanpaths.strategies import STRATEGIES, Strategy

from ._plan import (
    allocate_blocks,
    best_window,
    block_stats,
    block_variance,
    plan_positions,
    plan_rest,
    smoothing_matrix,
    warm,
)
from .equal_time import coverage_for_time, densest, density_for_time, fixed_path, spiral_time, split_step

__all__ = [
    "ALPHA",
    "BLOCK_PX",
    "COMMIT_KINDS",
    "DEFAULT_SURVEY",
    "LINES_COMMIT",
    "LINES_MAX_SPACING",
    "GREEDY_ROUNDS",
    "HEDGE_FRACS",
    "HEDGE_GAIN",
    "HEDGE_PATH",
    "HEDGE_STEPS",
    "HEDGE_SURVEY",
    "RESCAN_KIND",
    "RESCAN_STEP",
    "SAMPLES",
    "SURVEY_STEP",
    "AdaptiveScan",
    "Budget",
    "GreedyERD",
    "SurveyCommit",
    "SurveyHedge",
    "allocate",
    "base_path",
    "hedge_path",
    "block_mean",
    "part_of",
    "warped_path",
    "window_path",
]

#: Side of the blocks the density is chosen per, px.
BLOCK_PX = 32
#: Share of the time the survey of ``survey`` spends.
DEFAULT_SURVEY = 0.3
#: Share of the time the survey of ``greedy`` spends; the rest goes in :data:`GREEDY_ROUNDS` rounds.
GREEDY_SURVEY = 0.15
GREEDY_ROUNDS = 4
#: Exponent of the error model E(rho) = E0 (rho0 / rho) ** ALPHA.
ALPHA = 1.0
#: The most samples per px the allocation gives a block (the beam's path crosses it four times).
MAX_DENSITY = 4.0
#: The warped path's density never falls below this share of its mean (it still passes everywhere).
DENSITY_FLOOR = 0.3
#: The most of the time a survey may take when its share is too short for a survey.
MAX_SURVEY = 0.6
#: The continuous path kind the commit warps.
COMMIT_KIND = "spiral"
#: The commit of ``survey-lines``: a serpentine moving 2 px per tick (its lines twice as close as
#: the 1 px serpentine's in the same time; :func:`base_path`'s step), packed where the survey's
#: samples vary most.
LINES_COMMIT = "serpentine@2"
#: ``survey-lines`` warps its lines only where, unwarped, they would lie at most this far apart
#: in the time after the survey (px); else it warps the 1 px spiral, as ``survey-fast`` does.
#: Lines 14 px apart (1/20 on 256 px) beat the best fixed path on every class but lattices,
#: 36 px apart (1/50) lost on all but nanoparticles (probe, model filing, 8 specimens a class).
LINES_MAX_SPACING = 20.0
#: The kinds a commit may warp: continuous paths, without flyback jumps.
COMMIT_KINDS: tuple[str, ...] = ("spiral", "squircle", "lissajous", "serpentine")
#: The kind the survey scans.
SURVEY_KIND = "lissajous"
#: The survey's step along its path, px per tick at most (``lissajous@3``; a Lissajous drive is
#: fastest at the centre): where the survey's time is too short for one figure at this step, it
#: moves at about 1 px per tick.
SURVEY_STEP = 3.0
#: The fixed path ``survey-hedge`` scans (its first share is the survey, its rest the commit
#: where a window is not predicted to pay): a Lissajous at the fastest of :data:`HEDGE_STEPS` px
#: per tick whose samples lie no further apart along its lines than its lines lie apart
#: (:func:`hedge_path`): ``lissajous@3`` at 1/20 and 1/50 on 256 px, ``lissajous@2`` at 1/10.
HEDGE_PATH = "lissajous@3"
#: The steps :func:`hedge_path` picks from, fastest first.
HEDGE_STEPS: tuple[float, ...] = (3.0, 2.0, 1.0)
#: Share of the time the survey of ``survey-hedge`` spends (the first part of :data:`HEDGE_PATH`).
HEDGE_SURVEY = 0.5
#: ``survey-hedge`` scans a window where the predicted error falls below this share of the
#: error of going on along the fixed path.
HEDGE_GAIN = 0.7
#: Shares of the rest of the time ``survey-hedge`` may spend on a window (the fixed path the rest).
HEDGE_FRACS: tuple[float, ...] = (0.25, 0.5, 0.75)
#: ``survey-rescan``'s window figure: rows over the window (a serpentine, no flyback) ...
RESCAN_KIND = "serpentine"
#: ... moving this many px per tick: slow, so each px it crosses gets 1 / RESCAN_STEP ticks
#: (that much more dose) and the coils, at a sixth of the survey's 3 px per tick, lag less.
RESCAN_STEP = 0.5
#: Windows of at least this share of the field are not tried (they are nearly the fixed path).
HEDGE_MAX_SHARE = 0.8
#: The window search merges the blocks into at most this many cells a side (a window spans two
#: or more): about 0.1 ms on any field.
HEDGE_CELLS = 8
#: The completer that predicts the error (fast: it runs once per decision).
ESTIMATOR = "gan-mse"
#: The estimator name of the error predicted from the samples alone (:meth:`AdaptiveScan.sample_variance`).
SAMPLES = "samples"


@dataclass(frozen=True)
class Budget:
    """What a scan may spend.

    Attributes:
        time_s: scan time, s, flyback and settling included (> 0).
        dose: electrons per sample (> 0), or None for no dose noise; the total is ``dose x``
            the unblanked ticks.
    """

    time_s: float
    dose: float | None = None

    def __post_init__(self) -> None:
        check_number(self.time_s, "time budget (s)", 0.0, 1e6, low_open=True)
        if self.dose is not None:
            check_number(self.dose, "dose (electrons per sample)", 0.0, 1e12, low_open=True)

    @classmethod
    def of_coverage(
        cls, shape: tuple[int, int], coverage: float, preset: str | Preset, dose: float | None = None
    ) -> Budget:
        """The time a spiral at ``coverage`` takes on ``shape`` under ``preset``
        (:func:`rl.equal_time.spiral_time`)."""
        return cls(spiral_time(shape, coverage, preset), dose)

    def ticks(self, preset: str | Preset) -> int:
        """The budget in scan-clock ticks of ``preset``."""
        return int(math.floor(self.time_s / get_preset(preset).dwell_s + 1e-9))


def block_mean(a: np.ndarray, block: int) -> np.ndarray:
    """(By, Bx) float64 mean of (H, W) ``a`` over blocks of ``block`` px (the last ones partial)."""
    h, w = a.shape
    by, bx = -(-h // block), -(-w // block)
    if h % block == 0 and w % block == 0:  # no partial blocks: the same sums without the padding
        return a.reshape(by, block, bx, block).sum(axis=(1, 3), dtype=np.float64) / float(block * block)
    pad = np.zeros((by * block, bx * block))
    n = np.zeros_like(pad)
    pad[:h, :w] = a
    n[:h, :w] = 1.0
    s = pad.reshape(by, block, bx, block).sum(axis=(1, 3))
    c = n.reshape(by, block, bx, block).sum(axis=(1, 3))
    return s / c


def allocate(
    error: np.ndarray,
    density: np.ndarray,
    samples: float,
    sizes: np.ndarray,
    *,
    alpha: float = ALPHA,
    max_density: float = MAX_DENSITY,
) -> np.ndarray:
    """Extra samples per px per block that minimise the predicted error.

    Args:
        error: (By, Bx) predicted MSE per px of each block now (>= 0).
        density: (By, Bx) samples per px each block has now (>= 0); blocks with fewer than a
            third of the mean count as having a third (so an unseen block can still gain).
        samples: how many samples to add in all (> 0).
        sizes: (By, Bx) px per block.
        alpha: exponent of the model ``E (rho0 / rho) ** alpha``.
        max_density: the most samples per px a block may reach.

    Returns:
        (By, Bx) float64 extra samples per px (>= 0) with ``sum(extra * sizes) ~ samples``
        (less where every block is at ``max_density``).
    """
    e = np.maximum(np.asarray(error, dtype=np.float64), 0.0)
    # KKT: alpha E rho0^alpha rho^-(alpha+1) = lam  ->  rho = c u, c = (alpha E rho0^alpha)^(1/(alpha+1)),
    # u = lam^(-1/(alpha+1)); each block's extra clip(c u - rho0, 0, top) is piecewise linear in u
    d = np.ascontiguousarray(density, dtype=np.float64).ravel()
    sz = np.ascontiguousarray(sizes, dtype=np.float64).ravel()
    return allocate_blocks(e.ravel(), d, float(samples), sz, float(alpha), float(max_density)).reshape(e.shape)


@lru_cache(maxsize=8)
def _smoothing(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The smoothing of :func:`_marginal` along x and y of ``shape`` as matrices from blocks to
    px (:func:`rl._plan.smoothing_matrix`; scipy's Gaussian weights, sigma half a block)."""
    sigma = BLOCK_PX / 2
    lw = int(4 * sigma + 0.5)
    weights = np.exp(-0.5 / sigma**2 * np.arange(-lw, lw + 1) ** 2)
    weights = weights / weights.sum()
    h, w = shape
    return smoothing_matrix(w, BLOCK_PX, weights), smoothing_matrix(h, BLOCK_PX, weights)


def _marginal(extra: np.ndarray, sizes: np.ndarray, axis: int, n: int, floor: float) -> np.ndarray:
    """(n,) px density along one axis: the blocks' extra samples summed across the other axis,
    spread to px, smoothed over half a block and floored at ``floor`` x its mean (the NumPy
    reference of the decision kernel :func:`rl._plan.plan_positions`, which scans use)."""
    per_block = (extra * sizes).sum(axis=axis) / np.maximum(sizes.sum(axis=axis), 1.0)
    px = np.repeat(per_block, BLOCK_PX)[:n]
    px = ndimage.gaussian_filter1d(px, BLOCK_PX / 2, mode="nearest")
    mean = float(px.mean())
    if mean <= 0:
        return np.ones(n)
    px = px / mean
    return np.maximum(px, floor)


def _inverse_cdf(density: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(u, x)`` of the warp x = F^-1(u) on [0, n - 1]: uniform ``u`` lands where
    ``density`` (n,) is high more often."""
    n = len(density)
    cdf = np.r_[0.0, np.cumsum(density)]
    u = cdf / cdf[-1] * (n - 1)
    x = np.linspace(0.0, n - 1, n + 1)
    return u, x


def _variant(pos: np.ndarray, shape: tuple[int, int], variant: int) -> np.ndarray:
    """(N, 2) positions of a base path made for ``shape`` (transposed for odd ``variant``),
    transposed back and mirrored per :func:`warped_path`'s ``variant``."""
    h, w = shape
    out = pos[:, ::-1].copy() if variant % 2 else pos.copy()
    if variant // 2 % 2:
        out[:, 0] = (w - 1) - out[:, 0]
    return out


@lru_cache(maxsize=16)
def base_path(
    shape: tuple[int, int], ticks: int, kind: str = COMMIT_KIND, variant: int = 0, step: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The path :func:`warped_path` warps, before the warp: (N, 2) positions px and (N,) bool
    blanked (a spiral's arcs outside the field, blanked as the fixed spiral's are), N at most
    ``ticks``: the ``kind`` path (of ``variant``) of the coverage that just fills the ticks,
    moving about 1 px per tick, or about ``step`` px per tick (:func:`_stepped`: lines ``step``
    times closer, samples ``step`` px apart along them). It depends on nothing the scan has
    seen, so a strategy makes it before its decision (cached; read-only arrays)."""
    h, w = shape
    ticks = max(int(ticks), 0)
    if step != 1.0 and ticks < 2:  # no time for a path
        base, off = np.zeros((0, 2)), np.zeros(0, bool)
        base.flags.writeable = off.flags.writeable = False
        return base, off
    if step != 1.0:
        made = _stepped(kind, (w, h) if variant % 2 else shape, ticks, step)
        base, off = _variant(made.positions, shape, variant)[:ticks].copy(), made.blanked[:ticks].copy()
        base.flags.writeable = off.flags.writeable = False
        return base, off
    cov = min(0.5, max(0.005, ticks / (h * w)))
    base, off = np.zeros((0, 2)), np.zeros(0, bool)
    for _ in range(8):  # the base coverage whose path just covers the ticks
        made = make_path(kind, (w, h) if variant % 2 else shape, coverage=cov, seed=0)
        base, off = _variant(made.positions, shape, variant), made.blanked
        if len(base) >= ticks or cov >= 0.5:
            break
        cov = min(0.5, cov * 1.1 * ticks / max(len(base), 1))
    base, off = base[:ticks].copy(), off[:ticks].copy()
    base.flags.writeable = off.flags.writeable = False
    return base, off


def _stepped(kind: str, shape: tuple[int, int], ticks: int, step: float) -> ScanPath:
    """The ``kind`` path (a kind with a ``spacing`` or ``lobes``) of about ``ticks`` positions
    moving about ``step`` px per tick (a Lissajous: at most, as its sine drive does): the densest
    whose positions do not exceed the ticks (:func:`rl.equal_time.densest`), then its step
    lowered (by less than a line's worth) so that they fill them."""
    name, value = densest(kind, shape, step, lambda path: len(path.positions) <= ticks, f"fit {ticks} ticks")
    made = make_path(kind, shape, seed=0, step=step, **{name: value})
    return make_path(kind, shape, seed=0, step=step * min(1.0, len(made.positions) / ticks), **{name: value})


def warped_path(
    shape: tuple[int, int],
    density_x: np.ndarray,
    density_y: np.ndarray,
    ticks: int,
    *,
    kind: str = COMMIT_KIND,
    start: np.ndarray | None = None,
    name: str = "adaptive",
    variant: int = 0,
) -> ScanPath:
    """A ``kind`` path whose lines crowd where the density is: its positions are warped per
    axis by the inverse cumulative densities (so the density of lines goes as
    ``density_x(x) density_y(y)``), one tick per position of the base path, cut at ``ticks``
    ticks (a jump from ``start``, blanked, comes first; the scanner adds its settling, so allow
    for it in ``ticks``). The base path moves about one px per tick, so the warped beam slows
    where the density is high (several samples per px: a longer dwell, more dose) and speeds
    over the rest (up to ``1 / min(density)`` px per tick): dwell modulation along a smooth,
    coil-friendly path. Where the base path leaves the field (a spiral's arcs beyond the
    inscribed circle) the beam is blanked, as on the fixed spiral, and moves on past the
    warped edge. (Skipping those arcs with jumps instead scored no better on 256 px specimens:
    the jumps' settling transients cost what the arcs' time gave back.)

    Args:
        shape: image (H, W) px.
        density_x: (W,) relative density along x (> 0).
        density_y: (H,) relative density along y (> 0).
        ticks: the most ticks the path may take.
        kind: the fixed path kind warped (continuous kinds: spiral, lissajous).
        start: (x, y) px where the beam is, or None.
        name: the kind name of the returned path.
        variant: 0-3, the base path as it is, transposed, mirrored in x, or both (so that
            successive rounds do not retrace one figure).
    """
    h, w = shape
    ux, gx = _inverse_cdf(np.asarray(density_x, dtype=np.float64))
    uy, gy = _inverse_cdf(np.asarray(density_y, dtype=np.float64))
    base, off = base_path(shape, int(ticks), kind, variant)
    # inside the field the warp; outside it, the same distance beyond the warped edge
    cx, cy = np.clip(base[:, 0], 0, w - 1), np.clip(base[:, 1], 0, h - 1)
    pos = np.column_stack([np.interp(cx, ux, gx) + base[:, 0] - cx, np.interp(cy, uy, gy) + base[:, 1] - cy])
    return _with_start(ScanPath(name, shape, pos, off.copy(), params={"base": kind}), start)


def _with_start(path: ScanPath, start: np.ndarray | None) -> ScanPath:
    """``path`` after a blanked jump from ``start`` (x, y) px (the scanner adds its settling),
    or as it is for None."""
    if start is None:
        return path
    full = np.vstack([np.asarray(start, dtype=np.float64).reshape(1, 2), path.positions])
    blanked = np.r_[True, path.blanked]
    jumps = np.array([1] if len(full) > 1 else [], dtype=np.int64)
    return ScanPath(path.kind, path.shape, full, blanked, jumps, params=path.params)


def _predicted_error(est: Completer, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """(H, W) predicted squared error per pixel of completing ``values``/``mask`` with ``est``,
    the completion itself, and where the prediction came from (``"uncertainty"`` or ``"local
    variance"``)."""
    try:
        filled, half = est.complete(values, mask, return_uncertainty=True)
        # 90 % half-width of a Gaussian error is 1.645 sigma
        return (np.asarray(half, dtype=np.float64) / 1.645) ** 2, np.asarray(filled), "uncertainty"
    except InputError:  # too sparse to calibrate: how busy the completion is
        filled = np.asarray(est.complete(values, mask), dtype=np.float64)
        mean = ndimage.gaussian_filter(filled, 4.0)
        var = np.maximum(ndimage.gaussian_filter(filled * filled, 4.0) - mean * mean, 0.0)
        return var, filled, "local variance"


class _Adaptive(Strategy):
    """What the strategies share: the budget, the survey, the rounds; :meth:`choose` sets each
    round's allocation (a learned rule overrides it)."""

    survey_share: float
    rounds: int

    def __init__(
        self,
        name: str,
        survey: float,
        rounds: int,
        estimator: str = ESTIMATOR,
        deadline_s: float | None = None,
        flat: bool = False,
    ) -> None:
        self.flat = flat
        self.survey_share = check_number(survey, "survey share", 0.0, 1.0, low_open=True, high_open=True)
        self.rounds = rounds
        self.survey_kind = SURVEY_KIND
        self.survey_step = SURVEY_STEP
        self.commit_kind = COMMIT_KIND
        self.commit_step = 1.0
        self.estimate_scale = 1  # > 1: the estimator sees the scan binned (quicker decisions)
        self.deadline_s = None if deadline_s is None else check_number(deadline_s, "decision deadline (s)", 0.0, 1e6)
        self.name = name
        self.estimator_name = estimator
        self._est: Completer | None = None
        self.coverage = math.nan
        warm()  # the decision's kernels ready before any scan (not compiled inside a decision)

    @property
    def estimator(self) -> Completer:
        if self.estimator_name == SAMPLES:
            raise InputError("the samples' variance is not a completer")
        if self._est is None:
            self._est = get_completer(self.estimator_name)
        return self._est

    def check(self, shape: tuple[int, int]) -> None:
        if min(shape) < 2 * BLOCK_PX:
            raise InputError(f"an adaptive scan needs at least {2 * BLOCK_PX} px a side; got {shape[0]}x{shape[1]}")

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
    ) -> PartialScan:
        self.coverage = float(coverage)  # the budget's coverage, for rules that look at it
        budget = Budget.of_coverage(image.shape, coverage, preset, dose)
        return self.scan_budget(image, budget, preset, seed, register)

    def scan_budget(
        self, image: np.ndarray, budget: Budget, preset: str | Preset, seed: int, register: str = "commanded"
    ) -> PartialScan:
        """Scan ``image`` (H, W) in [0, 1] within ``budget``, the samples filed per ``register``."""
        self.check(image.shape)
        commit_kind, commit_step = self.commit_for(image.shape, budget, get_preset(preset))
        run = AdaptiveScan(
            image,
            budget,
            preset,
            seed,
            survey_kind=self.survey_kind,
            survey_share=self.survey_share,
            rounds=self.rounds,
            commit_kind=commit_kind,
            name=self.name,
            survey_step=self.survey_step,
            commit_step=commit_step,
            register=register,
        )
        while not run.done:
            t0 = time.perf_counter()
            if self.flat:  # the control: the same paths, not warped
                run.step(flat=True, took=time.perf_counter() - t0, source="none (flat)")
                continue
            if self.estimator_name == SAMPLES:
                (blocks, density), err, source = run.sample_variance(), None, "sample variance"
                alpha, floor = ALPHA, DENSITY_FLOOR
            else:
                err, _, source = run.predict(self.estimator, self.estimate_scale)
                blocks, density = block_mean(err, BLOCK_PX), None
                alpha, floor = self.choose(run, err)
            took = time.perf_counter() - t0
            late = self.deadline_s is not None and took > self.deadline_s  # too late: the fixed path instead
            run.step(
                blocks=blocks,
                density=density,
                alpha=alpha,
                floor=floor,
                flat=late,
                took=took,
                source=source,
                fallback=late,
            )
        return run.result(survey=self.survey_share, commit=f"{commit_kind}@{commit_step:g}")

    def commit_for(self, shape: tuple[int, int], budget: Budget, preset: Preset) -> tuple[str, float]:
        """(kind, step) of the path the rounds warp, for this field and budget."""
        return self.commit_kind, self.commit_step

    def choose(self, run: AdaptiveScan, err: np.ndarray) -> tuple[float, float]:
        """The allocation's exponent and floor for the next round (a learned rule overrides this)."""
        return ALPHA, DENSITY_FLOOR


class AdaptiveScan:
    """One adaptive scan in progress: a survey, then rounds that each spend a share of what is
    left on a warped path (what the strategies and :mod:`rl.allocation` share).

    Args:
        image: (H, W) specimen in [0, 1].
        budget: the time (and dose per sample) to spend.
        preset: physics preset.
        seed: seed of the scanner (jitter, drift, dose noise).
        survey_kind, survey_share: the survey path and its share of the time.
        rounds: how many warped paths share the rest.
        commit_kind: the path kind each round warps.
        name: the kind name of the scan's path.
        survey_step: the survey's step along its path, px per tick (where its time allows;
            1: about 1 px per tick, the path at coverage).
        commit_step: the step of each round's base path, px per tick (:func:`base_path`); a
            strategy may set ``commit_step`` and ``commit_kind`` between rounds.
        register: where the samples are filed (:data:`scanpaths.REGISTERS`, as
            :class:`~scanpaths.scanner.Scanner` takes it).
        survey_path: the survey itself (a path without jumps), in place of the ``survey_kind``
            path of ``survey_share`` of the time.
    """

    def __init__(
        self,
        image: np.ndarray,
        budget: Budget,
        preset: str | Preset,
        seed: int,
        *,
        survey_kind: str = SURVEY_KIND,
        survey_share: float = DEFAULT_SURVEY,
        rounds: int = 1,
        commit_kind: str = COMMIT_KIND,
        name: str = "adaptive",
        survey_step: float = 1.0,
        commit_step: float = 1.0,
        register: str = "commanded",
        survey_path: ScanPath | None = None,
    ) -> None:
        self.preset = get_preset(preset)
        self.shape: tuple[int, int] = image.shape  # type: ignore[assignment]
        self.budget = budget
        self.rounds = rounds
        self.commit_kind = commit_kind
        self.commit_step = float(commit_step)  # a strategy may change it after the survey
        self.name = name
        self.scanner = Scanner(
            image, self.preset, dose=budget.dose, seed=seed, ticks=budget.ticks(self.preset), register=register
        )
        survey = survey_path
        if survey is None:
            survey = _survey_path(survey_kind, self.shape, survey_share * budget.time_s, self.preset, survey_step)
        if scan_time(survey, self.preset) > MAX_SURVEY * budget.time_s:
            h, w = self.shape
            raise InputError(
                f"{budget.time_s * 1e6:.0f} us is too short for an adaptive scan of {h}x{w} px: the sparsest "
                f"{survey_kind} survey takes {scan_time(survey, self.preset) * 1e6:.0f} us; give more time"
            )
        self.sizes = _block_sizes(self.shape)
        self.records: list[Samples] = []  # every chunk's samples
        self._stats = np.zeros((3, self.sizes.size))  # the samples' block statistics so far
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._record(self.scanner.scan(survey))
        self.round = 0
        self.decisions: list[float] = []
        self.chunks: list[float] = [self.scanner.time_s]
        self.sources: list[str] = []
        self.fallbacks = 0

    def _record(self, rec: Samples) -> None:
        """Keep a chunk's samples and add them to the block statistics as they arrive: on an
        instrument each sample costs a few additions while the beam dwells 1 us, so by the end
        of the chunk all but its last line's worth (``max(shape)`` ticks) are in; those are
        left to the decision that follows (:meth:`sample_variance`, timed)."""
        self.records.append(rec)
        by, bx = self.sizes.shape
        if self._pending is not None:  # the previous chunk's tail came in during this chunk
            block_stats(*self._pending, BLOCK_PX, by, bx, self._stats)
        n = max(len(rec.values) - max(self.shape), 0)
        block_stats(rec.values[:n], rec.commanded[:n], rec.blanked[:n], BLOCK_PX, by, bx, self._stats)
        self._pending = (rec.values[n:], rec.commanded[n:], rec.blanked[n:])

    @property
    def done(self) -> bool:
        """True when every round is scanned (or the time is spent)."""
        return self.round >= self.rounds or self.budget.time_s - self.scanner.time_s <= 0

    def predict(self, estimator: Completer, scale: int = 1) -> tuple[np.ndarray, np.ndarray, str]:
        """(predicted squared error (H, W), the estimator's completion (H, W), its source) of the
        scan so far; with ``scale`` > 1 the estimator sees the scan binned ``scale`` x ``scale``
        (each bin the mean of its samples; a quicker decision) and both maps are spread back
        to full size."""
        values, mask = self.scanner.values()
        if scale <= 1:
            return _predicted_error(estimator, values, mask)
        h, w = self.shape
        hb, wb = h // scale, w // scale
        sums = self.scanner.sums[: hb * scale, : wb * scale].reshape(hb, scale, wb, scale).sum(axis=(1, 3))
        counts = self.scanner.counts[: hb * scale, : wb * scale].reshape(hb, scale, wb, scale).sum(axis=(1, 3))
        seen = counts > 0
        binned = np.zeros((hb, wb), np.float32)
        binned[seen] = np.clip(sums[seen] / counts[seen], 0.0, 1.0)
        err, filled, source = _predicted_error(estimator, binned, seen)
        full = np.ones((scale, scale))
        pad = ((0, h - hb * scale), (0, w - wb * scale))
        return (
            np.pad(np.kron(err, full), pad, mode="edge"),
            np.pad(np.kron(filled, full), pad, mode="edge"),
            f"{source} (binned {scale}x{scale})",
        )

    def sample_variance(self) -> tuple[np.ndarray, np.ndarray]:
        """((By, Bx) float64 predicted squared error per px of each :data:`BLOCK_PX` px block,
        (By, Bx) samples per px of each block) from the samples alone, no completion (a
        fraction of a millisecond): the variance of the sample values in the block, less the
        dose's Poisson variance (the mean value over the dose), floored at 1e-3 of the largest.
        It is what the completer's local variance stands in for where its uncertainty map
        cannot be calibrated; a block without samples takes the mean of the others."""
        by, bx = self.sizes.shape
        stats = self._stats.copy()  # all but the last line's samples, added as they arrived
        if self._pending is not None:
            block_stats(*self._pending, BLOCK_PX, by, bx, stats)
        dose = self.budget.dose
        return block_variance(stats, -1.0 if dose is None else float(dose), self.sizes)

    def step(
        self,
        err: np.ndarray | None = None,
        *,
        blocks: np.ndarray | None = None,
        density: np.ndarray | None = None,
        alpha: float = ALPHA,
        floor: float = DENSITY_FLOOR,
        flat: bool = False,
        took: float = 0.0,
        source: str = "",
        fallback: bool = False,
    ) -> None:
        """Scan the next round: its share of the time left, warped by the allocation of ``err``
        (H, W) or of ``blocks``, the predicted error per block (:data:`BLOCK_PX` px) (exponent
        ``alpha``, floor ``floor``), or not warped (``flat``, or neither given); ``density``,
        samples per px per block, where the caller has it (else from the scan). ``took`` is the
        decision's time so far (the prediction); the scan's ``decision_s`` adds the time to
        allocate and plan the path."""
        if self.done:
            raise RuntimeError("this adaptive scan has no round left")
        shape, preset = self.shape, self.preset
        left = self.budget.time_s - self.scanner.time_s
        share = left / (self.rounds - self.round)
        hold = _jump_hold(preset)
        ticks = int(share / preset.dwell_s) - hold
        # made while the survey was scanned: they depend on nothing seen
        base, off = base_path(shape, ticks, self.commit_kind, self.round, self.commit_step)
        smooth_x, smooth_y = _smoothing(shape)
        planning = time.perf_counter()
        if blocks is None and err is not None:
            blocks = block_mean(err, BLOCK_PX)
        if flat or blocks is None:
            extra = np.zeros(self.sizes.shape)  # no warp
        else:
            rho0 = block_mean(self.scanner.counts, BLOCK_PX) if density is None else density
            extra = allocate(blocks, rho0, share / preset.dwell_s, self.sizes, alpha=alpha)
        # warped_path's arithmetic in kernels (the same positions to ~1e-13 px). The decision ends
        # when a line's worth of the path is ready: the beam scans it (1 tick, 1 us, per position)
        # while the rest is warped (~0.05 us per position)
        start = self.scanner.last_command
        line = max(shape)
        pos, blanked, dx, dy = plan_positions(
            extra,
            self.sizes,
            float(floor),
            smooth_x,
            smooth_y,
            base,
            off,
            np.zeros(2) if start is None else start,
            line,
        )
        decided = time.perf_counter()
        plan_rest(pos, blanked, base, off, dx, dy, line)
        if start is None:
            path = ScanPath(self.name, shape, pos[1:], blanked[1:], params={"base": self.commit_kind})
        else:  # a blanked jump from where the beam is (the scanner adds its settling)
            jumps = np.array([1] if len(pos) > 1 else [], dtype=np.int64)
            path = ScanPath(self.name, shape, pos, blanked, jumps, params={"base": self.commit_kind})
        self.decisions.append(took + decided - planning)  # the decision: the path's first line is ready
        self.sources.append(source)
        self.fallbacks += int(fallback)
        before = self.scanner.time_s
        self.round += 1
        if path.n_samples > 1:
            self._record(self.scanner.scan(path, last=self.round == self.rounds))
        self.chunks.append(self.scanner.time_s - before)

    def follow(self, *paths: ScanPath, took: float = 0.0, source: str = "", fallback: bool = False) -> None:
        """Scan the next round along ``paths``, one after the other, as they are (parts of a
        fixed path, a figure after its jump: no warp), cut at the time left; ``took`` is the
        decision's time (recorded as :meth:`step` records it)."""
        if self.done:
            raise RuntimeError("this adaptive scan has no round left")
        self.decisions.append(took)
        self.sources.append(source)
        self.fallbacks += int(fallback)
        before = self.scanner.time_s
        self.round += 1
        for i, path in enumerate(paths):
            ticks = min(int((self.budget.time_s - self.scanner.time_s) / self.preset.dwell_s + 1e-9), path.n_samples)
            if ticks > 1:
                last = self.round == self.rounds and i == len(paths) - 1
                self._record(self.scanner.scan(part_of(path, 0, ticks), last=last))
        self.chunks.append(self.scanner.time_s - before)

    def result(self, **params: Any) -> PartialScan:
        """The scan as a :class:`PartialScan`; its path's params say what was decided."""
        return self.scanner.partial_scan(
            kind=self.name,
            rounds=self.rounds,
            decision_s=self.decisions,
            chunk_s=self.chunks,
            error_source=self.sources,
            budget_s=self.budget.time_s,
            survey_s=self.chunks[0],
            fallbacks=self.fallbacks,
            **params,
        )


def _survey_path(kind: str, shape: tuple[int, int], time_s: float, preset: Preset, step: float = 1.0) -> ScanPath:
    """The ``kind`` path that takes ``time_s`` (moving ``step`` px per tick where it can), or its
    sparsest version where even that takes longer (the survey then takes more than its share;
    the scan's ``survey_s`` says how much)."""
    if step != 1.0:
        try:
            return make_path(kind, shape, seed=0, **density_for_time(kind, shape, preset, time_s, step))
        except InputError:
            pass  # too short a time for this step: the survey at coverage, below
    try:
        return sample_path(kind, shape, coverage_for_time(kind, shape, preset, time_s), 0)
    except InputError:
        cov = 0.004
        while True:
            try:
                return sample_path(kind, shape, cov, 0)
            except InputError:
                if cov > 0.2:
                    raise
                cov *= 1.25


def part_of(path: ScanPath, start: int, stop: int) -> ScanPath:
    """Ticks ``start`` to ``stop`` of ``path`` as a path of its own (its first position continues
    from wherever the beam is, so a part may not start at one of the path's jumps)."""
    if not 0 <= start < stop <= path.n_samples:
        raise InputError(f"a part of a path of {path.n_samples} ticks must lie in it, got [{start}, {stop})")
    if start in set(path.jumps.tolist()):
        raise InputError(f"a part of a path may not start at one of its jumps (tick {start} of {path.kind})")
    jumps = path.jumps[(path.jumps > start) & (path.jumps < stop)] - start
    return ScanPath(
        path.kind,
        path.shape,
        path.positions[start:stop],
        path.blanked[start:stop],
        jumps,
        params=path.params,
        settle_px=path.settle_px,
    )


def _jump_hold(preset: Preset) -> int:
    """Ticks a jump to a path's start may hold the beam: settling plus slew-limited travel (at
    most 1.5 fields), two ticks to spare."""
    return int(math.ceil((preset.settle_s + 1.5 / preset.slew_fov_per_s) / preset.dwell_s)) + 2


def _block_sizes(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    ys = np.minimum(BLOCK_PX, h - np.arange(0, h, BLOCK_PX))
    xs = np.minimum(BLOCK_PX, w - np.arange(0, w, BLOCK_PX))
    return np.outer(ys, xs).astype(np.float64)


class SurveyCommit(_Adaptive):
    """Survey, then commit: one decision after a Lissajous survey of ``survey`` of the time;
    ``commit`` is the path the rest warps (a kind, or ``KIND@STEP``: its base path moves STEP px
    per tick; default the 1 px spiral; ``survey-lines``: :data:`LINES_COMMIT`)."""

    def __init__(
        self,
        survey: float = DEFAULT_SURVEY,
        estimator: str = ESTIMATOR,
        deadline_s: float | None = None,
        flat: bool = False,
        commit: str = COMMIT_KIND,
        max_spacing: float | None = None,
    ) -> None:
        base = "survey-flat" if flat else "survey-fast" if estimator == SAMPLES else "survey"
        if commit == LINES_COMMIT and estimator == SAMPLES and not flat:
            base = "survey-lines"
        elif commit != COMMIT_KIND:
            base += f"[{commit}]"
        name = base + ("" if survey == DEFAULT_SURVEY else f":{survey:g}")
        super().__init__(name, survey, 1, estimator, deadline_s, flat)
        kind, step = split_step(commit)
        if kind not in COMMIT_KINDS:
            raise InputError(f"a commit warps a path without jumps ({', '.join(COMMIT_KINDS)}); got {commit!r}")
        self.commit_kind, self.commit_step = kind, step
        self.max_spacing = max_spacing

    def commit_for(self, shape: tuple[int, int], budget: Budget, preset: Preset) -> tuple[str, float]:
        """The commit, or the 1 px spiral where ``max_spacing`` is set and the commit's lines
        (a kind with a spacing), unwarped, would lie further apart than that in the time after
        the survey, or where that time is too short for the commit at its step."""
        if self.max_spacing is None:
            return self.commit_kind, self.commit_step
        time_s = (1.0 - self.survey_share) * budget.time_s
        try:
            spacing = density_for_time(self.commit_kind, shape, preset, time_s, self.commit_step).get("spacing", 0.0)
        except InputError:
            return COMMIT_KIND, 1.0
        return (self.commit_kind, self.commit_step) if spacing <= self.max_spacing else (COMMIT_KIND, 1.0)


class GreedyERD(_Adaptive):
    """Greedy expected error reduction in ``rounds`` rounds after a survey of ``survey``."""

    def __init__(
        self,
        survey: float = GREEDY_SURVEY,
        rounds: int = GREEDY_ROUNDS,
        estimator: str = ESTIMATOR,
        deadline_s: float | None = None,
    ) -> None:
        name = "greedy" if (survey, rounds) == (GREEDY_SURVEY, GREEDY_ROUNDS) else f"greedy:{survey:g}"
        super().__init__(name, survey, rounds, estimator, deadline_s)


def hedge_path(shape: tuple[int, int], budget_s: float, preset: str | Preset) -> str:
    """The fixed path ``survey-hedge`` keeps on ``shape`` (H, W) px in ``budget_s``: ``KIND@STEP``
    of :data:`HEDGE_PATH`'s kind at the fastest of :data:`HEDGE_STEPS` whose lines, in that time,
    lie at least STEP px apart (about H W / (ticks STEP) px). At 1/10 on 256 px lissajous@2 is the
    best fixed path on lattices, point defects and edges, lissajous@3 at 1/20 and 1/50
    (``benchmarks/results/adaptive_10.md``, ``adaptive.md``)."""
    kind, _ = split_step(HEDGE_PATH)
    ticks = max(budget_s / get_preset(preset).dwell_s, 1.0)
    h, w = shape
    for step in HEDGE_STEPS:
        if h * w / (ticks * step) >= step:
            return f"{kind}@{step:g}"
    return f"{kind}@{HEDGE_STEPS[-1]:g}"


def window_path(
    shape: tuple[int, int],
    window: tuple[int, int, int, int],
    time_s: float,
    preset: str | Preset,
    start: np.ndarray | None = None,
    step: float | None = None,
    kind: str | None = None,
) -> ScanPath | None:
    """A figure of ``kind`` (default :data:`HEDGE_PATH`'s, a Lissajous; ``"serpentine"``: rows
    over the window, :data:`RESCAN_STEP`) over ``window`` (y0, y1, x0, x1 px) of a ``shape``
    field that takes ``time_s``, after a blanked jump from ``start`` (the scanner adds its
    settling), or None where no figure fits that time. It moves up to ``step`` px per tick
    (default for the Lissajous: 3 px, the step of :data:`HEDGE_PATH`, scaled by the window's
    side over the field's, so that its drive runs at the whole-field figure's frequencies, which
    the coils follow as well; ``survey-hedge`` passes its own path's step so scaled), or faster
    where that does not fit (1, 2, 3, 4 px per tick, the first that fits)."""
    y0, y1, x0, x1 = (int(v) for v in window)
    h, w = shape
    if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
        raise InputError(f"a window must lie in the {h}x{w} px field, got rows {y0}-{y1}, columns {x0}-{x1}")
    if kind is None:
        kind, full = split_step(HEDGE_PATH)
        first = max(1.0, full * max(y1 - y0, x1 - x0) / max(shape)) if step is None else float(step)
    elif kind in COMMIT_KINDS:
        first = (RESCAN_STEP if kind == RESCAN_KIND else 1.0) if step is None else float(step)
    else:
        raise InputError(f"a window's figure is one of {', '.join(COMMIT_KINDS)}, got {kind!r}")
    for st in sorted({first, *(v for v in (1.0, 2.0, 3.0, 4.0) if v > first)}):
        try:
            params = density_for_time(kind, (y1 - y0, x1 - x0), preset, float(time_s), st)
        except InputError:
            continue
        made = make_path(kind, (y1 - y0, x1 - x0), seed=0, **params)
        path = ScanPath("window", shape, made.positions + np.array([x0, y0]), made.blanked.copy(), params=params)
        return _with_start(path, start)
    return None


def _coarse(
    error: np.ndarray, density: np.ndarray, sizes: np.ndarray, most: int = HEDGE_CELLS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The blocks' (By, Bx) predicted error, samples per px and px merged into at most ``most``
    x ``most`` cells (each the px-weighted mean or the sum of its blocks; the blocks as they
    are where there are no more), and the (Ky + 1,), (Kx + 1,) block indices where the cells
    start and end: the window search then takes the same time on any field."""
    by, bx = error.shape
    if by <= most and bx <= most:  # the blocks themselves
        return error, density, sizes, np.arange(by + 1, dtype=np.int64), np.arange(bx + 1, dtype=np.int64)
    ey = np.unique(np.round(np.linspace(0, by, min(by, most) + 1)).astype(np.int64))
    ex = np.unique(np.round(np.linspace(0, bx, min(bx, most) + 1)).astype(np.int64))

    def merge(a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.add.reduceat(a, ey[:-1], axis=0), ex[:-1], axis=1)

    px = merge(sizes)
    return merge(error * sizes) / px, merge(density * sizes) / px, px, ey, ex


class SurveyHedge(_Adaptive):
    """Survey, then commit only where it pays (``survey-hedge``; module docstring).

    The survey is the first ``survey`` of the time of the fixed path :func:`hedge_path`; the
    beam goes on along it for one more line while the strategy decides from the survey's
    samples alone (:meth:`AdaptiveScan.sample_variance`): over windows of blocks and shares of
    the rest (:data:`HEDGE_FRACS`), the one that minimises the predicted error
    (:func:`rl._plan.best_window`, the model of :func:`allocate`). Where it predicts less than
    ``gain`` of the error of going on along the fixed path, the beam scans the fixed path's
    next (1 - share) of the rest and then a Lissajous figure over the window
    (:func:`window_path`); elsewhere (and where the decision is late or no figure fits) the
    rest of the fixed path, so that where looking cannot help the scan is that fixed path.

    Measured (``pstem eval adaptive --n 64``, typical physics, gan-mse): 0.89 x the best fixed
    path on nanoparticles at 1/20, 0.98-1.03 x on lattices, point defects, edges and the real
    frames; the thresholds (0.7, shares up to 0.75, a survey of 0.5) were set on other seeds
    (``benchmarks/RESULTS.md``)."""

    def __init__(
        self,
        survey: float = HEDGE_SURVEY,
        deadline_s: float | None = None,
        gain: float | None = None,
        rescan: bool = False,
    ) -> None:
        base = "survey-rescan" if rescan else "survey-hedge"
        name = base + ("" if survey == HEDGE_SURVEY else f":{survey:g}")
        super().__init__(name, survey, 1, SAMPLES, deadline_s)
        self.rescan = bool(rescan)
        if self.survey_share > MAX_SURVEY:
            raise InputError(f"the survey of {base} may take at most {MAX_SURVEY:g} of the time, got {survey:g}")
        self.gain = HEDGE_GAIN if gain is None else check_number(gain, "hedge gain", 0.0, 1.0)

    def scan_budget(
        self, image: np.ndarray, budget: Budget, preset: str | Preset, seed: int, register: str = "commanded"
    ) -> PartialScan:
        """Scan ``image`` (H, W) in [0, 1] within ``budget``, the samples filed per ``register``."""
        self.check(image.shape)
        name = hedge_path(image.shape, budget.time_s, preset)
        fixed = fixed_path(name, image.shape, budget.time_s, preset, seed)
        cut = int(self.survey_share * fixed.n_samples)
        lead = min(cut + max(image.shape), fixed.n_samples)  # the line scanned while deciding
        if not 2 <= cut < lead < fixed.n_samples - 1:
            raise InputError(
                f"a survey of {self.survey_share:g} of {fixed.n_samples} ticks leaves no survey or no rest"
            )
        run = AdaptiveScan(
            image,
            budget,
            preset,
            seed,
            survey_share=self.survey_share,
            rounds=1,
            name=self.name,
            register=register,
            survey_path=part_of(fixed, 0, cut),
        )
        t0 = time.perf_counter()
        blocks, density = run.sample_variance()
        rest = (budget.time_s - run.scanner.time_s) / run.preset.dwell_s - (lead - cut)
        e, d, px_cells, ey, ex = _coarse(blocks, density, run.sizes)
        cells_y, cells_x = np.arange(len(ey), dtype=np.int64), np.arange(len(ex), dtype=np.int64)
        ratio, cy0, cy1, cx0, cx1, share = best_window(
            e, d, px_cells, rest, cells_y, cells_x, np.asarray(HEDGE_FRACS), HEDGE_MAX_SHARE
        )
        y0, y1, x0, x1 = int(ey[cy0]), int(ey[cy1]), int(ex[cx0]), int(ex[cx1])
        took = time.perf_counter() - t0  # the decision: the window, or none; made while the lead line is scanned
        late = self.deadline_s is not None and took > self.deadline_s
        window, keep, px, plan_s = None, 0, (0, 0, 0, 0), 0.0
        if ratio < self.gain and not late:
            # the window's figure is planned while the beam goes on along the fixed path's share
            t1 = time.perf_counter()
            h, w = image.shape
            px = (y0 * BLOCK_PX, min(y1 * BLOCK_PX, h), x0 * BLOCK_PX, min(x1 * BLOCK_PX, w))
            keep = int((1.0 - share) * (fixed.n_samples - lead))  # the fixed path's share of the rest
            end = fixed.positions[lead + keep - 1] if keep else fixed.positions[lead - 1]
            hold = _jump_hold(run.preset)
            time_left = budget.time_s - run.scanner.time_s - (lead - cut + keep + hold) * run.preset.dwell_s
            if self.rescan:  # slow rows: RESCAN_STEP
                step, figure = None, RESCAN_KIND
            else:  # the window's drive at the whole figure's frequencies
                step, figure = max(1.0, split_step(name)[1] * max(px[1] - px[0], px[3] - px[2]) / max(h, w)), None
            window = window_path(image.shape, px, time_left, run.preset, end, step, figure) if time_left > 0 else None
            plan_s = time.perf_counter() - t1
        line = part_of(fixed, cut, lead)  # scanned while deciding
        if window is None:
            run.follow(line, part_of(fixed, lead, fixed.n_samples), took=took, source="sample variance", fallback=late)
            commit = f"rest of {name}"
        else:
            parts = (line, part_of(fixed, lead, lead + keep), window) if keep > 1 else (line, window)
            run.follow(*parts, took=took, source="sample variance")
            what = f"rows at {window.params['step']:.2g} px per tick over" if self.rescan else "Lissajous over"
            commit = f"{what} window rows {px[0]}-{px[1]}, columns {px[2]}-{px[3]}, {share:g} of the rest"
        return run.result(
            survey=self.survey_share,
            commit=commit,
            predicted_gain=ratio,
            plan_s=plan_s,
            plan_room_s=keep * run.preset.dwell_s,
        )


def _share(arg: str | None, default: float) -> float:
    if arg is None:
        return default
    try:
        v = float(arg)
    except ValueError:
        raise InputError(f"a survey share must be a number in (0, 1), got {arg!r}") from None
    if not 0.0 < v < 1.0:
        raise InputError(f"a survey share must be in (0, 1), got {arg}")
    return v


def _survey(arg: str | None, _base: Path) -> Strategy:
    return SurveyCommit(_share(arg, DEFAULT_SURVEY))


def _survey_flat(arg: str | None, _base: Path) -> Strategy:
    return SurveyCommit(_share(arg, DEFAULT_SURVEY), flat=True)


def _survey_fast(arg: str | None, _base: Path) -> Strategy:
    return SurveyCommit(_share(arg, DEFAULT_SURVEY), estimator=SAMPLES)


def _survey_lines(arg: str | None, _base: Path) -> Strategy:
    return SurveyCommit(
        _share(arg, DEFAULT_SURVEY), estimator=SAMPLES, commit=LINES_COMMIT, max_spacing=LINES_MAX_SPACING
    )


def _survey_hedge(arg: str | None, _base: Path) -> Strategy:
    return SurveyHedge(_share(arg, HEDGE_SURVEY))


def _survey_rescan(arg: str | None, _base: Path) -> Strategy:
    return SurveyHedge(_share(arg, HEDGE_SURVEY), rescan=True)


def _greedy(arg: str | None, _base: Path) -> Strategy:
    return GreedyERD(_share(arg, GREEDY_SURVEY))


STRATEGIES.register(
    "survey",
    _survey,
    help="a Lissajous survey (lissajous@3, 0.3 of the time), then a spiral warped to the predicted error",
)
STRATEGIES.register_prefix("survey", _survey, arg="SHARE", help="survey then commit, the survey SHARE of the time")
STRATEGIES.register(
    "survey-flat", _survey_flat, help="the control of survey: the same survey and spiral, not warped (sees nothing)"
)
STRATEGIES.register_prefix("survey-flat", _survey_flat, arg="SHARE", help="survey-flat, the survey SHARE of the time")
STRATEGIES.register(
    "survey-fast",
    _survey_fast,
    help="survey with the error predicted from the survey samples' variance, no completion "
    "(decides within a line, 256 to 4096 px)",
)
STRATEGIES.register_prefix("survey-fast", _survey_fast, arg="SHARE", help="survey-fast, the survey SHARE of the time")
STRATEGIES.register(
    "survey-lines",
    _survey_lines,
    help="survey-fast's survey and decision, then serpentine lines (serpentine@2) packed where the samples vary "
    "most (the spiral where the lines would lie over 20 px apart); pays with samples filed by the coil model",
)
STRATEGIES.register_prefix(
    "survey-lines", _survey_lines, arg="SHARE", help="survey-lines, the survey SHARE of the time"
)
STRATEGIES.register(
    "survey-hedge",
    _survey_hedge,
    help="the first half of lissajous@3 as the survey, then its rest, or part of it and a Lissajous over the window "
    "where the survey predicts the error falls below 0.7 of the rest's (costs nothing where looking cannot help)",
)
STRATEGIES.register_prefix(
    "survey-hedge", _survey_hedge, arg="SHARE", help="survey-hedge, the survey SHARE of lissajous@3's time"
)
STRATEGIES.register(
    "survey-rescan",
    _survey_rescan,
    help="survey-hedge's fast pass and decision, then slow rows (0.5 px per tick: twice the dose per px, less "
    "coil lag) over the window in place of its Lissajous (SmartEM-style rescans)",
)
STRATEGIES.register_prefix(
    "survey-rescan", _survey_rescan, arg="SHARE", help="survey-rescan, the survey SHARE of the fixed path's time"
)
STRATEGIES.register("greedy", _greedy, help="greedy expected error reduction: a 0.15 survey, then 4 rounds")
STRATEGIES.register_prefix("greedy", _greedy, arg="SHARE", help="greedy, the survey taking SHARE of the time")

"""Keep what was measured, and invent nothing at the scan's own period.

**Columns.** Correct each atomic column of a completion to the samples on it.

A completer that has learned what crystals look like, or that fits a lattice, can paint a
column where the scan measured a vacancy, or give a substituted column its neighbours'
brightness: the samples on it said otherwise, but one or two samples at the edge of a
column weigh little against the pattern. :func:`column_correction` asks every column of the
completion what the samples that touch it say: with the column's shape a Gaussian of width
``sigma`` px centred on a local maximum ``c`` of the completion, the residual ``r = values -
completion`` of the samples ``x_i`` near it gives the column's amplitude correction by ridge
least squares,

    a = sum_i g(x_i - c) r_i / (sum_i g(x_i - c)^2 + ridge),   g(d) = exp(-|d|^2 / (2 sigma^2)),

and the completion gains ``a g(x - c)`` around every column. A sample at one column width
from the centre of a vacancy thus removes the whole column, not the 60 % of it that the
sample's own residual is. In a dense lattice the kernels of neighbouring columns overlap, so
all amplitudes are solved together (one sparse ridge solve; about 0.05 s for a 512 px scan at
1/20).

:class:`ColumnConsistency` measures ``sigma`` on the completion's own columns
(:func:`column_sigma`: peak height over curvature; within 10-15 % of the specimen's probe
sigma on synthetic crystals) and uses a fixed ridge (``auto``: :data:`AUTO_RIDGE`), or picks
one per image on held-out samples. Measured on 8 synthetic specimens (4 of the benchmark mix,
4 crystals; spiral and Lissajous at 1/20, typical physics) on ``gan-prism``'s completions: the
defects the scan touched were kept 0.44 of times by the generator alone, 0.73 with the
correction at ridge 0.3 (MSE unchanged), 0.78 at ridge 0.03 (MSE +6 %).

**Evidence.** A ridge small enough to remove a touched vacancy whole also fits the samples'
noise on every other column. With ``evidence``, :class:`ColumnConsistency` measures the
samples' noise (:func:`sample_noise`: the nugget of the residuals' variogram) and solves each
column's amplitude nearly free (ridge :data:`EVIDENCE_RIDGE`), with its noise from the samples
on it; a two-Gaussian scale mixture fitted over the image's columns (:func:`evidence_weights`)
then says how likely each column departs from the completion by more than its ordinary error.
A column that clearly does (a vacancy, a substitution, a column the completion missed) is
corrected by its own amplitude, the rest by the ridge as before; with noisy samples few
columns are clear and little changes.

**Guide.** A completion can blur a touched vacancy into its neighbour's shoulder, leaving no
local maximum there to correct. ``guide`` (``auto``: its lattice fill, which draws every
column of the lattice whatever the samples on it say) adds the guide's columns where the
completion has none within a column width (:func:`guide_sites`); where ``auto``'s recipe does
not use the lattice fill, the fill of the held-out scan it has already made serves (no second
lattice fit). On scans made of lines, where ``auto`` does not use the lattice fill, there is no
guide.

Measured on 24 benchmark specimens of the mix (512 px, typical physics, ``auto``; a throwaway
script): touched defects kept at spiral 1/20 0.67 of times before, 0.76 with the guide, 0.78
with the guide and the evidence step (Lissajous 0.68 -> 0.79; spiral 1/50 0.69 -> 0.71;
grid and raster, evidence alone, 0.33 -> 0.34); mean MSE within 0.2 % of before. With the
held-out scan's lattice fill as the guide (as now), spiral 0.79 and Lissajous 0.78. Most of the
defects still lost at spiral 1/20 are on one crystal scanned at 21 counts per pixel, where one
sample's noise is larger than a vacancy's contrast.

**Samples.** The column correction moves only columns the completion drew; where it blurred a
vacancy into its neighbours (no local maximum is left to correct) the samples on it are still
ignored. :func:`residual_correction` then spreads every sample's residual over a Gaussian of
the columns' width, normalised as a kernel regression that the completion itself weighs into
as ``residual`` samples' worth at the centre: ``sum_i g r_i / (sum_i g + residual g(0))``.
Where samples are dense it follows them; a lone sample's residual is kept ``1 / (1 +
residual)``; away from the path it fades within a column width. Measured on 18 synthetic
specimens (crystals, nanoparticles, grain boundaries; spiral 1/20, typical physics) after
``auto``'s column correction: touched defects kept 0.76 of times without it, 0.86 with
``residual`` 1 (MSE +0.4 %), 0.88 with 0.25 (MSE +1.5 %).

**Line period.** A scan made of lines (raster, serpentine, grid) says nothing about what lies
between its lines at their own period: a structure at that period, sampled once per period,
aliases to a constant. A generator asked to fill such gaps on a lattice it cannot resolve
draws columns on the scan lines instead, a phantom lattice at the line period that a
microscopist reads as structure. :func:`suppress_line_peaks` finds the lines
(:func:`line_periods`) and lowers any peak of the completion's spectrum across them at the
line frequency and its second harmonic to the level of the neighbouring frequencies. A grid
(lines both ways) is left alone: its lines across sample the other direction densely.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy import ndimage
from scipy.spatial import cKDTree

from scanpaths.errors import InputError

from .tiles import gaussian, local_filter
from .uncertainty import held_out_tiles

__all__ = [
    "AUTO_RESIDUAL",
    "AUTO_RIDGE",
    "KEEP_RESIDUAL",
    "KEEP_RIDGE",
    "RESIDUAL_SIGMA",
    "RESIDUAL_WEIGHTS",
    "RIDGES",
    "SIGMAS",
    "ColumnConsistency",
    "ColumnSetting",
    "column_correction",
    "column_sites",
    "evidence_weights",
    "guide_sites",
    "sample_noise",
    "residual_correction",
    "line_periods",
    "sampled_lines",
    "suppress_line_peaks",
]

log = logging.getLogger(__name__)

#: Column widths (Gaussian sigma, px) tried per image where :func:`column_sigma` finds none.
SIGMAS: tuple[float, ...] = (1.0, 1.4, 2.0, 2.8, 4.0)
#: Ridges tried, relative to the summed squared kernel of a column sampled along one line.
RIDGES: tuple[float, ...] = (0.03, 0.1, 0.3)
#: The ridge ``auto`` corrects columns with, wherever it measures them (MSE-neutral on the
#: synthetic and real sets; touched defects kept 0.73 of times on gan-prism's completions).
AUTO_RIDGE = 0.3
#: The ridge of ``auto-keep``: touched defects kept more often, at some MSE.
KEEP_RIDGE = 0.03
#: The ridge of the nearly free amplitudes the evidence step weighs (stable where columns overlap).
EVIDENCE_RIDGE = 0.03
#: The evidence step's prior share of columns that depart from the completion is fitted per
#: image, at most this: defects and the completion's misses are the exception, not the rule.
DEPARTURE_SHARE_MAX = 0.2
#: The residual step of ``auto``: its weight (of the completion against one sample; 1: a lone
#: sample's residual is kept half) chosen per image on held-out tiles among
#: :data:`RESIDUAL_WEIGHTS`, or no step; ``auto-keep`` always uses 0.25.
AUTO_RESIDUAL = "held-out"
KEEP_RESIDUAL = 0.25
RESIDUAL_WEIGHTS: tuple[float, ...] = (4.0, 1.0, 0.25)
#: The residual step's width where the completion has no columns to measure one from, px.
RESIDUAL_SIGMA = 2.0


def column_sites(completion: np.ndarray, sigma: float, prominence: float = 0.02) -> np.ndarray:
    """(H, W) bool: the columns of a completion, local maxima of it smoothed at ``sigma`` px
    (within a window of about 2 sigma) that stand ``prominence`` above its smoothing at 3 sigma."""
    # float32 throughout: the same sites, half the memory traffic on large images
    smooth = gaussian(completion.astype(np.float32), max(sigma / 2, 0.5), mode="reflect")
    size = 2 * int(math.ceil(sigma)) + 1
    peaks = smooth == local_filter(lambda a: ndimage.maximum_filter(a, size=size, mode="reflect"), smooth, size)
    return peaks & (smooth - gaussian(smooth, 3 * sigma, mode="reflect") > prominence)


def column_sigma(completion: np.ndarray, guess: float = 2.0, min_sites: int = 8) -> float | None:
    """The width (Gaussian sigma, px) of a completion's atomic columns, or None where it has
    fewer than ``min_sites`` clear ones: at each column (:func:`column_sites` at ``guess``),
    a Gaussian of height ``a`` over the local background has a Laplacian of ``-2 a / sigma^2``
    at its centre; the median over the columns."""
    smooth = gaussian(completion.astype(np.float64), 0.7, mode="reflect")  # against pixel noise
    ys, xs = np.nonzero(column_sites(completion, guess))
    if len(ys) < min_sites:
        return None
    size = int(6 * guess) + 1
    background = local_filter(lambda a: ndimage.minimum_filter(a, size=size, mode="reflect"), smooth, size)
    height = smooth[ys, xs] - background[ys, xs]
    lap = local_filter(lambda a: ndimage.laplace(a, mode="reflect"), smooth, 2)[ys, xs]
    ok = (lap < 0) & (height > 0.02)
    if ok.sum() < min_sites:
        return None
    smoothing = 0.7  # px, the smoothing above: it adds its variance to the columns'
    sigma = float(np.sqrt(max(np.median(-2.0 * height[ok] / lap[ok]) - smoothing**2, 0.25)))
    return sigma if 0.5 <= sigma <= 16.0 else None


def guide_sites(guide: np.ndarray, sites: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) bool: the columns of ``guide`` (:func:`column_sites`) with none of ``sites``
    within ``sigma`` px (at least 1.5 px)."""
    r = max(float(sigma), 1.5)
    k = int(math.ceil(r))
    yy, xx = np.mgrid[-k : k + 1, -k : k + 1]
    taken = ndimage.binary_dilation(sites, structure=(yy**2 + xx**2) <= r * r)
    return column_sites(guide, sigma) & ~taken


def _kernel_sum(image: np.ndarray, sigma: float) -> np.ndarray:
    """sum over pixels p of image[p] * exp(-|x - p|^2 / (2 sigma^2)), at every x."""
    return gaussian(image, sigma, mode="constant", truncate=3.0) * (2 * math.pi * sigma**2)


def sample_noise(values: np.ndarray, mask: np.ndarray, completion: np.ndarray) -> float:
    """The standard deviation of the samples' own noise, in image units, from the variogram of
    their residuals ``values - completion``: half the median squared difference of residual
    pairs 2-3 px apart and 3-4 px apart (closer samples share the frame's pixels through
    bilinear detection, so their noise is not independent), extrapolated in squared distance
    to zero lag (what the completion's smooth errors add shrinks with distance; the noise does
    not). The median (over 0.455, the median of a chi-square of one degree) keeps defects and
    edges from inflating it.

    Args:
        values: (H, W) the scan, 0 where unseen. mask: (H, W) bool, True where scanned.
        completion: (H, W) a completion of the scan.
    """
    my, mx = np.nonzero(mask)
    if len(my) < 16:
        return 0.0
    resid = values[my, mx].astype(np.float64) - completion[my, mx].astype(np.float64)
    pts = np.column_stack([my, mx]).astype(np.float64)
    if len(pts) > 40000:  # a random subset is plenty for two medians
        keep = np.random.default_rng(0).choice(len(pts), 40000, replace=False)
        pts, resid = pts[keep], resid[keep]
    pairs = cKDTree(pts).query_pairs(4.0, output_type="ndarray")
    if len(pairs) == 0:
        return 0.0
    d2 = ((pts[pairs[:, 0]] - pts[pairs[:, 1]]) ** 2).sum(1)
    half_sq = 0.5 * (resid[pairs[:, 0]] - resid[pairs[:, 1]]) ** 2
    gam = []
    for lo, hi in ((4.0, 9.0), (9.0, 16.0)):
        sel = (d2 >= lo) & (d2 < hi)
        if sel.sum() < 16:
            return float(math.sqrt(np.median(half_sq) / 0.455)) if len(half_sq) else 0.0
        gam.append((float(np.mean(d2[sel])), float(np.median(half_sq[sel]) / 0.455)))
    (d_a, g_a), (d_b, g_b) = gam
    slope = max((g_b - g_a) / max(d_b - d_a, 1e-9), 0.0)
    nugget = min(max(g_a - slope * d_a, 0.25 * g_a), g_a)
    return float(math.sqrt(nugget))


def evidence_weights(amp: np.ndarray, se2: np.ndarray, iters: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(weight, shrink), each (K,): for column amplitudes ``amp`` measured with noise variance
    ``se2`` (``inf``: not measured), the posterior probability that a column departs from the
    completion by more than its ordinary error, and the shrinkage of ``amp`` if it does.

    The true corrections are modelled as a scale mixture of two zero-mean Gaussians, a narrow
    one (the completion's ordinary error, variance ``tau0``) and a broad one (defects and
    misses, ``tau1 >= 16 tau0``, a share ``pi <= DEPARTURE_SHARE_MAX``); each measured
    amplitude adds its own noise, and EM fits ``pi``, ``tau0`` and ``tau1`` over the image's
    columns."""
    ok = np.isfinite(se2)
    a2 = amp[ok] ** 2
    s2 = se2[ok]
    if len(a2) < 8:
        return np.zeros_like(amp), np.zeros_like(amp)
    floor = 1e-8
    tau0 = max(float(np.median(a2)) / 0.455 - float(np.median(s2)), floor)
    tau1 = max(float(np.percentile(a2, 99)), 16.0 * tau0)
    pi = 0.05

    def posterior() -> np.ndarray:  # of the broad component, per column
        v0, v1 = s2 + tau0, s2 + tau1
        l0 = np.exp(-0.5 * a2 / v0) / np.sqrt(v0)
        l1 = np.exp(-0.5 * a2 / v1) / np.sqrt(v1)
        return pi * l1 / np.maximum(pi * l1 + (1 - pi) * l0, 1e-300)

    for _ in range(iters):
        w = posterior()
        pi = float(np.clip(w.mean(), 1e-3, DEPARTURE_SHARE_MAX))
        tau0 = max(float(np.sum((1 - w) * (a2 - s2)) / max(np.sum(1 - w), 1e-9)), floor)
        tau1 = max(float(np.sum(w * (a2 - s2)) / max(np.sum(w), 1e-9)), 16.0 * tau0)
    weight = np.zeros_like(amp)
    shrink = np.zeros_like(amp)
    weight[ok] = posterior()
    shrink[ok] = tau1 / (tau1 + s2)
    return weight, shrink


def column_correction(
    values: np.ndarray,
    mask: np.ndarray,
    completion: np.ndarray,
    sigma: float,
    ridges: tuple[float, ...],
    sites: np.ndarray | None = None,
    noise: float | None = None,
    info: dict[str, float] | None = None,
) -> list[np.ndarray]:
    """(H, W) float64: the column-amplitude correction of ``completion`` (module docstring).

    The amplitudes of all columns are solved together (ridge least squares over the samples
    within 3 sigma of any column), so that in a dense lattice a sample between two columns
    is not counted twice.

    Args:
        values: (H, W) the scan, 0 where unseen. mask: (H, W) bool, True where scanned.
        completion: (H, W) the completion to correct.
        sigma: column width, px. ridges: shrinkages of each amplitude, relative to ``sigma
            * sqrt(pi)`` (the summed squared kernel of a column crossed through its centre
            by one line of samples).
        sites: (H, W) bool, ``column_sites(completion, sigma)`` where the caller has it already.
        noise: the samples' noise (standard deviation, image units; :func:`sample_noise`):
            weigh each column's evidence (module docstring) and correct the columns the samples
            clearly say depart from the completion by their nearly free amplitude; None: every
            column by the ridge alone.
        info: a dict to receive ``"departures"``, how many columns the evidence step took for
            departures (posterior above one half).

    Returns:
        one (H, W) float64 correction per ridge.
    """
    pred = completion.astype(np.float64)
    sy, sx = np.nonzero(column_sites(pred, sigma) if sites is None else sites)
    my, mx = np.nonzero(mask)
    if len(sy) == 0 or len(my) == 0:
        return [np.zeros_like(pred) for _ in ridges]
    resid = values[my, mx].astype(np.float64) - pred[my, mx]
    tree = cKDTree(np.column_stack([my, mx]))
    near = tree.query_ball_point(np.column_stack([sy, sx]), 3.0 * sigma)
    lengths = np.fromiter(map(len, near), dtype=np.int64, count=len(near))
    if lengths.sum() == 0:
        return [np.zeros_like(pred) for _ in ridges]
    rows = np.fromiter(itertools.chain.from_iterable(near), dtype=np.int64, count=int(lengths.sum()))
    cols = np.repeat(np.arange(len(sy)), lengths)
    d2 = (my[rows] - sy[cols]) ** 2 + (mx[rows] - sx[cols]) ** 2
    design = sp.csr_matrix((np.exp(-d2 / (2.0 * sigma**2)), (rows, cols)), shape=(len(my), len(sy)))
    normal = (design.T @ design).tocsc()
    rhs = design.T @ resid
    unit = sigma * math.sqrt(math.pi)
    eye = sp.identity(len(sy), format="csc")
    weight = None
    if noise is not None and noise > 0:
        free = spl.spsolve(normal + EVIDENCE_RIDGE * unit * eye, rhs)
        diag = normal.diagonal()
        se2 = np.where(diag > 0.05 * unit, noise**2 / np.maximum(diag + EVIDENCE_RIDGE * unit, 1e-12), np.inf)
        weight, shrink = evidence_weights(free, se2)
        if info is not None:
            info["departures"] = float(np.sum(weight > 0.5))
    out = []
    for ridge in ridges:
        amp = spl.spsolve(normal + ridge * unit * eye, rhs)
        if weight is not None:
            amp = weight * shrink * free + (1 - weight) * amp
        image = np.zeros_like(pred)
        image[sy, sx] = amp
        out.append(_kernel_sum(image, sigma))
    return out


def residual_correction(
    values: np.ndarray,
    mask: np.ndarray,
    completion: np.ndarray,
    sigma: float,
    residual: float | tuple[float, ...],
    at: np.ndarray | None = None,
) -> np.ndarray | list[np.ndarray]:
    """(H, W) float64: the samples' residuals ``values - completion`` spread over a Gaussian
    of ``sigma`` px, ``sum_i g r_i / (sum_i g + residual g(0))`` (module docstring); for a
    tuple of weights, one such array per weight (the two filters done once). With ``at``, an
    (H, W) bool, only the values there (1-D, in ``np.nonzero`` order): no full-size arrays per
    weight."""
    m = mask.astype(np.float64)
    r = (values.astype(np.float64) - completion) * m
    s = max(float(sigma), 1.0)
    g0 = 1.0 / (2.0 * math.pi * s * s)  # the normalised Gaussian's weight at its centre
    num, den = gaussian(r, s), gaussian(m, s)
    if at is not None:
        num, den = num[at], den[at]
    if isinstance(residual, tuple):
        return [num / (den + w * g0) for w in residual]
    return num / (den + residual * g0)


@dataclass(frozen=True)
class ColumnSetting:
    """What :class:`ColumnConsistency` chose for one image: ``sigma`` and ``ridge`` (None:
    off), the held-out mean squared error without and with it, and the residual step's width
    (px) and weight (None: off); with the evidence step, the samples' noise it measured
    (image units), how many columns it took for departures, and how many of the corrected
    columns came from the guide (the lattice's, where the completion drew none)."""

    sigma: float | None
    ridge: float | None
    mse_before: float
    mse_after: float
    residual_sigma: float | None = None
    residual: float | None = None
    noise: float | None = None
    departures: int | None = None
    guided: int = 0


class ColumnConsistency:
    """Per image, the column correction that best predicts held-out samples (module docstring).

    Args:
        holdout: fraction of the samples held out to choose the setting (in ``tile`` px tiles).
        seed: seed of the held-out samples.
        min_gain: the correction is kept only when it lowers the held-out error by this
            fraction.
        tile: side of the held-out tiles, px.
        ridge: where the completion has columns to measure, always correct them with this
            ridge instead of the one the held-out samples like best (None: choose it, and
            leave the completion alone where no ridge helps). ``auto`` uses
            :data:`AUTO_RIDGE`, ``auto-keep`` :data:`KEEP_RIDGE` (defects kept more often,
            sample noise too).
        evidence: weigh each column's evidence against the samples' noise and correct those
            the samples clearly say depart from the completion (a vacancy, a substitution, a
            column the completion missed) by their nearly free amplitude, the rest by the ridge
            (module docstring; ``auto`` and ``auto-keep`` use it). Only with a fixed ``ridge``.
        residual: then spread the samples' remaining residuals (:func:`residual_correction`)
            with this weight of the completion, or ``"held-out"``: the weight of
            :data:`RESIDUAL_WEIGHTS` (or none) that best predicts held-out samples (None: no
            step). ``auto`` uses :data:`AUTO_RESIDUAL`, ``auto-keep`` :data:`KEEP_RESIDUAL`.
    """

    def __init__(
        self,
        holdout: float = 0.1,
        seed: int = 0,
        min_gain: float = 0.01,
        tile: int = 4,
        ridge: float | None = None,
        residual: float | str | None = None,
        evidence: bool = False,
    ) -> None:
        if ridge is not None and not ridge > 0:
            raise InputError(f"ridge must be > 0, got {ridge}")
        if evidence and ridge is None:
            raise InputError("the evidence step needs a fixed ridge (ridge=...)")
        if (
            residual is not None
            and residual != "held-out"
            and not (isinstance(residual, int | float) and not isinstance(residual, bool) and residual > 0)
        ):
            raise InputError(f"residual must be > 0 or 'held-out', got {residual!r}")
        self.ridge = ridge
        self.residual = residual
        self.holdout = float(holdout)
        self.tile = int(tile)
        self.seed = int(seed)
        self.min_gain = float(min_gain)
        self.evidence = bool(evidence)
        self.last_setting: ColumnSetting | None = None

    def __call__(
        self, values: np.ndarray, mask: np.ndarray, completion: np.ndarray, guide: np.ndarray | None = None
    ) -> np.ndarray:
        """(H, W) float32: ``completion`` corrected to the samples, clipped to [0, 1].

        ``guide``: (H, W) a completion that draws every column of the lattice whatever the
        samples on it say (the lattice fill): its columns join the completion's own where the
        completion has none within a column width (a vacancy it blurred away)."""
        self._measured: float | None = None
        self._train_out: np.ndarray | None = None
        self._held: np.ndarray | None = None
        self._guide = None if guide is None else np.asarray(guide, dtype=np.float64)
        if self._guide is not None and self._guide.shape != np.shape(completion):
            raise InputError(f"the guide is {self._guide.shape}, the completion {np.shape(completion)}")
        out = self._columns(values, mask, completion)
        if self.residual is None:
            return out
        sigma = self._measured if self._measured is not None else RESIDUAL_SIGMA
        weight = self._residual_weight(values, mask, out, sigma)
        if weight is not None:
            step = residual_correction(values, mask, out, sigma, weight)
            out = np.clip(out + step, 0, 1).astype(np.float32)  # type: ignore[operator]
        if self.last_setting is not None:
            self.last_setting = dataclasses.replace(
                self.last_setting, residual_sigma=sigma if weight is not None else None, residual=weight
            )
        return out

    def _residual_weight(self, values: np.ndarray, mask: np.ndarray, out: np.ndarray, sigma: float) -> float | None:
        """The residual step's weight: a fixed one (a number), or under ``"held-out"`` the one of
        :data:`RESIDUAL_WEIGHTS` (or none) whose step, made from the other samples, best predicts
        the held-out tiles (noisy samples: a heavier completion or none; clean ones: lighter)."""
        if self.residual != "held-out":
            return float(self.residual)  # type: ignore[arg-type]
        held = self._held if self._held is not None else held_out_tiles(mask, self.tile, self.holdout, self.seed)
        if held.sum() < 32:
            return None
        train = mask & ~held
        v = values.astype(np.float64)
        base = self._train_out if self._train_out is not None else out.astype(np.float64)
        at_held, v_held = base[held], v[held]
        best_err, best = float(np.mean((at_held - v_held) ** 2)), None
        steps = residual_correction(v, train, base, sigma, RESIDUAL_WEIGHTS, at=held)
        for w, step in zip(RESIDUAL_WEIGHTS, steps, strict=True):
            err = float(np.mean((np.clip(at_held + step, 0, 1) - v_held) ** 2))
            if err < best_err * (1 - self.min_gain):
                best_err, best = err, w
        return best

    def _columns(self, values: np.ndarray, mask: np.ndarray, completion: np.ndarray) -> np.ndarray:
        """The column correction alone (module docstring)."""
        # held out in 4 px tiles, not single pixels: neighbouring samples share the frame's
        # noise (bilinear detection), and a held-out sample next to a kept one would reward
        # a correction that fits that noise
        held = held_out_tiles(mask, self.tile, self.holdout, self.seed)
        self._held = held
        train = mask & ~held
        v = values.astype(np.float64)
        pred = completion.astype(np.float64)
        base = float(np.mean((pred[held] - v[held]) ** 2)) if held.any() else 0.0
        best = (base, None, None)
        measured = column_sigma(pred)
        self._measured = measured
        if self.ridge is not None and measured is not None:
            sites = column_sites(pred, measured)  # the same columns for both solves
            guided = 0
            if self._guide is not None:
                extra = guide_sites(self._guide, sites, measured)
                guided = int(extra.sum())
                sites = sites | extra
            noise = sample_noise(v, mask, pred) if self.evidence else None
            after = column_correction(v, train, pred, measured, (self.ridge,), sites, noise)[0]
            self._train_out = np.clip(pred + after, 0, 1)  # what the held-out samples did not shape
            err = float(np.mean((np.clip(pred[held] + after[held], 0, 1) - v[held]) ** 2)) if held.any() else 0.0
            info: dict[str, float] = {}
            corr = column_correction(v, mask, pred, measured, (self.ridge,), sites, noise, info)[0]
            departures = int(info["departures"]) if "departures" in info else None
            self.last_setting = ColumnSetting(
                measured, self.ridge, base, err, noise=noise, departures=departures, guided=guided
            )
            return np.clip(pred + corr, 0, 1).astype(np.float32)
        if held.sum() >= 32:
            for sigma in (measured,) if measured is not None else SIGMAS:
                for ridge, corr in zip(RIDGES, column_correction(v, train, pred, sigma, RIDGES), strict=True):
                    err = float(np.mean((np.clip(pred[held] + corr[held], 0, 1) - v[held]) ** 2))
                    if err < best[0]:
                        best = (err, sigma, ridge)
        err, sigma, ridge = best
        if sigma is None or ridge is None or err > base * (1 - self.min_gain):
            self.last_setting = ColumnSetting(None, None, base, base)
            return completion.astype(np.float32)
        self.last_setting = ColumnSetting(sigma, ridge, base, err)
        log.info("column correction: sigma %.1f px, ridge %.2f (held-out MSE %.3e -> %.3e)", sigma, ridge, base, err)
        return np.clip(pred + column_correction(v, mask, pred, sigma, (ridge,))[0], 0, 1).astype(np.float32)


def sampled_lines(mask: np.ndarray, axis: int) -> np.ndarray:
    """Indices of the rows (axis 0) or columns (axis 1) more than 30 % sampled."""
    return np.flatnonzero(mask.mean(axis=1 - axis) > 0.3)


def line_periods(mask: np.ndarray) -> tuple[float | None, float | None]:
    """(row period, column period) px of a scan made of lines, None for a direction without
    regular lines (or for a scan whose samples are not at least 80 % on its lines)."""
    rows, cols = sampled_lines(mask, 0), sampled_lines(mask, 1)
    on = np.zeros_like(mask, dtype=bool)
    on[rows, :] = True
    on[:, cols] = True
    if not mask.any() or (mask & on).sum() < 0.8 * mask.sum():
        return None, None

    def period(lines: np.ndarray) -> float | None:
        gaps = np.diff(lines)
        gaps = gaps[gaps > 1]
        if len(gaps) < 2:  # fewer than three lines (a serpentine's two turning columns are not lines)
            return None
        p = float(np.median(gaps))
        return p if p >= 3 else None

    return period(rows), period(cols)


def _clip_peaks(image: np.ndarray, period: float, axis: int, harmonics: int = 2) -> np.ndarray:
    n = image.shape[axis]
    spec = np.fft.rfft(image, axis=axis)
    power = np.mean(np.abs(spec) ** 2, axis=1 - axis)  # across the lines, averaged along them
    f0 = n / period
    for k in range(1, harmonics + 1):
        c = int(round(k * f0))
        if c + 1 >= len(power) - 1:
            break
        near = np.arange(max(1, int(c - f0 / 2)), min(len(power), int(c + f0 / 2) + 1))
        near = near[np.abs(near - c) > 1]
        if len(near) < 2:
            continue
        level = float(np.median(power[near]))
        for b in range(max(1, c - 1), c + 2):
            if power[b] > level > 0:
                idx = [slice(None), slice(None)]
                idx[axis] = slice(b, b + 1)
                spec[tuple(idx)] *= math.sqrt(level / power[b])
    return np.fft.irfft(spec, n=n, axis=axis)


def suppress_line_peaks(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W) float32: ``image`` (a completion of the scan ``mask``) with the peaks of its
    spectrum across the scan's lines, at the line frequency and twice it, lowered to the level
    of the neighbouring frequencies (module docstring); unchanged for scans not made of lines
    in one direction only."""
    rows, cols = line_periods(mask)
    out = image.astype(np.float64)
    if rows is None and cols is None:
        return image.astype(np.float32)
    mean = out.mean()
    out = out - mean
    # lines in the other direction sample this one densely: there the period is observed
    if rows is not None and cols is None:
        out = _clip_peaks(out, rows, axis=0)
    if cols is not None and rows is None:
        out = _clip_peaks(out, cols, axis=1)
    return np.clip(out + mean, 0.0, 1.0).astype(np.float32)

"""Scores of a completion against its truth, and intervals over many of them.

All scores take ``(H, W)`` float images with intensities in [0, 1] (``data_range`` 1) and
return plain floats or small arrays, so a benchmark row is a flat dict. ``rl`` and
``benchmarks`` both score with this module.

- :func:`ssim` is the original Gaussian-window SSIM (Wang et al. 2004: window sigma 1.5 px,
  K1 = 0.01, K2 = 0.03, population statistics), i.e. scikit-image's ``structural_similarity``
  with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1``.
- :func:`error_vs_distance` bins the absolute error by the distance (px) from each pixel to
  the nearest sampled pixel, as Ede & Beanland showed error growing away from the path.
- :func:`defect_recall` asks, for every planted vacancy and substitution of a synthetic
  specimen, whether the completion still shows it; :func:`touched_defects` selects those the
  scan touched (a sample inside the column's radius), which a completion must keep.
- :func:`calibration` scores an uncertainty map (:mod:`completion.uncertainty`): how often
  the truth falls inside the predicted interval, and how well the map ranks 16 x 16 px blocks
  by their actual error.
- :func:`bootstrap_ci` (a mean) and :func:`ratio_ci` (a ratio of paired means) give 95 %
  percentile bootstrap intervals over images.
"""

from __future__ import annotations

import base64
import itertools
import math

import numpy as np
from scipy import ndimage, stats

#: Edges (px) of the distance bins of :func:`error_vs_distance`; the last bin is open.
DISTANCE_EDGES: tuple[float, ...] = (0.0, 0.5, 1.5, 2.5, 4.0, 6.0, 9.0, 13.0, 19.0, 28.0, 40.0, math.inf)
#: Column names of the distance bins, ``evd_<lo>_<hi>`` (e.g. ``evd_0.5_1.5``).
DISTANCE_COLUMNS: tuple[str, ...] = tuple(
    f"evd_{lo:g}_{'inf' if math.isinf(hi) else f'{hi:g}'}" for lo, hi in itertools.pairwise(DISTANCE_EDGES)
)
#: Column names of the share of the image's pixels in each distance bin, ``evs_<lo>_<hi>``.
DISTANCE_SHARE_COLUMNS: tuple[str, ...] = tuple(c.replace("evd_", "evs_", 1) for c in DISTANCE_COLUMNS)
#: Side of the coarse error map stored with each benchmark row.
MAP_SIZE = 32


def mse(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((pred.astype(np.float64) - truth) ** 2))


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(pred.astype(np.float64) - truth)))


def psnr(pred: np.ndarray, truth: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for ``data_range`` 1 (inf when identical)."""
    m = mse(pred, truth)
    return math.inf if m == 0 else float(10 * math.log10(1.0 / m))


def ssim(pred: np.ndarray, truth: np.ndarray, sigma: float = 1.5) -> float:
    """Mean structural similarity with a Gaussian window of ``sigma`` px, ``data_range`` 1.

    The window is truncated at 3.5 sigma and the mean is taken over pixels at least that far
    from the border, as scikit-image does.
    """
    x = pred.astype(np.float64)
    y = truth.astype(np.float64)
    c1, c2 = 0.01**2, 0.03**2

    def blur(a: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(a, sigma, truncate=3.5, mode="reflect")

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = int(3.5 * sigma + 0.5)
    inner = s[pad:-pad, pad:-pad] if min(s.shape) > 2 * pad else s
    return float(inner.mean())


def blurred(image: np.ndarray) -> np.ndarray:
    """The truth as Ede & Beanland scored against it: a 5x5 Gaussian of sigma 2.5 px."""
    return ndimage.gaussian_filter(image.astype(np.float64), 2.5, truncate=2.0 / 2.5, mode="reflect")


def distance_to_samples(mask: np.ndarray) -> np.ndarray:
    """(H, W) float64 Euclidean distance (px) from each pixel to the nearest True pixel of ``mask``."""
    return ndimage.distance_transform_edt(~mask)


def error_vs_distance(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean absolute error per distance bin of :data:`DISTANCE_EDGES` (NaN where a bin is empty).

    Returns:
        (len(DISTANCE_EDGES) - 1,) float64.
    """
    dist = distance_to_samples(mask).ravel()
    err = np.abs(pred.astype(np.float64) - truth).ravel()
    idx = np.digitize(dist, DISTANCE_EDGES[1:-1])
    n = len(DISTANCE_EDGES) - 1
    total = np.bincount(idx, weights=err, minlength=n)
    count = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def distance_shares(mask: np.ndarray) -> np.ndarray:
    """The share of the image's pixels in each distance bin of :data:`DISTANCE_EDGES` (the
    first bin: the sampled pixels themselves); (len(DISTANCE_EDGES) - 1,) float64, sums to 1."""
    idx = np.digitize(distance_to_samples(mask).ravel(), DISTANCE_EDGES[1:-1])
    return np.bincount(idx, minlength=len(DISTANCE_EDGES) - 1) / idx.size


def error_map(pred: np.ndarray, truth: np.ndarray, size: int = MAP_SIZE) -> np.ndarray:
    """(size, size) float32 mean absolute error over a size x size grid of blocks."""
    err = np.abs(pred.astype(np.float64) - truth)
    h, w = err.shape
    rows = np.minimum((np.arange(h) * size) // h, size - 1)
    cols = np.minimum((np.arange(w) * size) // w, size - 1)
    cell = (rows[:, None] * size + cols[None, :]).ravel()
    total = np.bincount(cell, weights=err.ravel(), minlength=size * size)
    count = np.bincount(cell, minlength=size * size)
    return (total / np.maximum(count, 1)).reshape(size, size).astype(np.float32)


def encode_map(m: np.ndarray) -> str:
    """A small float map as text for a CSV cell: float16 little-endian, base64."""
    return base64.b64encode(np.ascontiguousarray(m, dtype="<f2").tobytes()).decode("ascii")


def decode_map(text: str, size: int = MAP_SIZE) -> np.ndarray:
    """Inverse of :func:`encode_map`: (size, size) float32."""
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32).reshape(size, size)


def calibration(
    pred: np.ndarray, halfwidth: np.ndarray, truth: np.ndarray, mask: np.ndarray, block: int = 16
) -> tuple[float, float]:
    """How well an uncertainty map fits the actual error, over the pixels the scan missed.

    Args:
        pred: (H, W) completion. halfwidth: (H, W) predicted half-width of its interval.
        truth: (H, W). mask: (H, W) bool, True where scanned (those pixels are left out).
        block: side of the blocks the rank correlation compares, px.

    Returns:
        ``(coverage, spearman)``: the fraction of unscanned pixels with ``|pred - truth| <=
        halfwidth``, and Spearman's rank correlation between the RMS predicted half-width and
        the RMS actual error of the blocks holding at least ``block`` unscanned pixels (NaN
        with fewer than 4 such blocks, or when either side is constant).
    """
    err = np.abs(pred.astype(np.float64) - truth)
    un = ~np.asarray(mask, dtype=bool)
    if not un.any():
        return math.nan, math.nan
    coverage = float(np.mean(err[un] <= halfwidth[un]))
    h, w = err.shape
    cell = ((np.arange(h) // block)[:, None] * ((w + block - 1) // block) + (np.arange(w) // block)[None, :])[un]
    n_cells = int(cell.max()) + 1
    count = np.bincount(cell, minlength=n_cells)
    actual = np.bincount(cell, weights=err[un] ** 2, minlength=n_cells)
    predicted = np.bincount(cell, weights=halfwidth[un].astype(np.float64) ** 2, minlength=n_cells)
    ok = count >= block
    a, p = actual[ok] / np.maximum(count[ok], 1), predicted[ok] / np.maximum(count[ok], 1)
    if ok.sum() < 4 or np.ptp(a) <= 1e-9 * a.max() or np.ptp(p) <= 1e-9 * p.max():  # nothing to rank
        return coverage, math.nan
    return coverage, float(stats.spearmanr(a, p).statistic)


def _local_means(image: np.ndarray, pos: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted mean of ``image`` around each (x, y) of ``pos``: (K,) float64."""
    smooth = ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="nearest")
    return ndimage.map_coordinates(smooth, [pos[:, 1], pos[:, 0]], order=1, mode="nearest")


def defect_recall(
    pred: np.ndarray,
    clean: np.ndarray,
    defect_positions: np.ndarray,
    columns: np.ndarray,
    probe_sigma_px: float,
    min_contrast: float = 0.02,
    keep: float = 0.5,
    select: np.ndarray | None = None,
) -> tuple[float, int]:
    """Fraction of planted point defects that the completion still shows.

    A defect's contrast in an image is the Gaussian-weighted mean intensity at its site
    (window sigma = the probe's, at least 1 px) minus the median of the same at its four
    nearest intact columns: negative for a vacancy, either sign for a substitution. A defect
    counts when its contrast in the noise-free truth is at least ``min_contrast`` in size, and
    is recalled when the completion's contrast has the same sign and at least ``keep`` of
    that size.

    Args:
        pred: (H, W) completion.
        clean: (H, W) noise-free truth.
        defect_positions: (D, 2) (x, y) px.
        columns: (K, 2) (x, y) px of the intact columns.
        probe_sigma_px: probe sigma of the specimen, px.
        select: (D,) bool, the defects to score (e.g. :func:`touched_defects`); default all.

    Returns:
        (recall, n) where n is the number of defects that count; recall is NaN when n is 0.
    """
    if len(defect_positions) == 0 or len(columns) < 4:
        return math.nan, 0
    sigma = max(float(probe_sigma_px), 1.0)
    d2 = ((defect_positions[:, None, :] - columns[None, :, :]) ** 2).sum(-1)
    near = np.argsort(d2, axis=1)[:, :4]

    def contrast(image: np.ndarray) -> np.ndarray:
        at_defect = _local_means(image, defect_positions, sigma)
        at_cols = _local_means(image, columns[near.ravel()], sigma).reshape(near.shape)
        return at_defect - np.median(at_cols, axis=1)

    c_true = contrast(clean)
    c_pred = contrast(pred)
    counts = np.abs(c_true) >= min_contrast
    if select is not None:
        counts &= np.asarray(select, dtype=bool)
    n = int(counts.sum())
    if n == 0:
        return math.nan, 0
    ratio = c_pred[counts] / c_true[counts]
    return float(np.mean(ratio >= keep)), n


def column_recall(
    pred: np.ndarray,
    clean: np.ndarray,
    columns: np.ndarray,
    probe_sigma_px: float,
    min_contrast: float = 0.02,
    keep: float = 0.5,
) -> tuple[float, int]:
    """Fraction of the intact atomic columns that the completion still shows as columns.

    A column's contrast in an image is its Gaussian-weighted mean intensity (window sigma =
    the probe's, at least 1 px) minus the same at three times that width around it (its local
    surroundings: the gaps and, in a lattice, the neighbouring columns). A column counts when
    its contrast in the noise-free truth is at least ``min_contrast`` (brighter than around
    it), and is recalled when the completion's contrast is at least ``keep`` of that.

    Args:
        pred: (H, W) completion. clean: (H, W) noise-free truth.
        columns: (K, 2) (x, y) px of the intact columns (a specimen's ``columns``).
        probe_sigma_px: probe sigma of the specimen, px.

    Returns:
        (recall, n) where n is the number of columns that count; recall is NaN when n is 0.
    """
    if len(columns) == 0:
        return math.nan, 0
    sigma = max(float(probe_sigma_px), 1.0)

    def contrast(image: np.ndarray) -> np.ndarray:
        return _local_means(image, columns, sigma) - _local_means(image, columns, 3 * sigma)

    c_true = contrast(clean)
    counts = c_true >= min_contrast
    n = int(counts.sum())
    if n == 0:
        return math.nan, 0
    return float(np.mean(contrast(pred)[counts] >= keep * c_true[counts])), n


def touched_defects(defect_positions: np.ndarray, mask: np.ndarray, radius_px: float) -> np.ndarray:
    """(D,) bool: the defects the scan touched, with a sample within ``radius_px`` of the
    defect's site (use the column radius: the specimen's probe sigma, at least 1 px).

    Args:
        defect_positions: (D, 2) (x, y) px. mask: (H, W) bool, True where scanned.
    """
    if len(defect_positions) == 0:
        return np.zeros(0, dtype=bool)
    dist = ndimage.distance_transform_edt(~np.asarray(mask, dtype=bool))
    h, w = dist.shape
    xs = np.clip(np.rint(defect_positions[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.rint(defect_positions[:, 1]).astype(int), 0, h - 1)
    # the site is off-grid: the nearest pixel's distance plus at most half a pixel diagonal
    return dist[ys, xs] <= max(float(radius_px), 1.0)


# --------------------------------------------------------------------------- intervals
def _resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) indices of bootstrap resamples of n items."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def finite_mean(values: object) -> float:
    """Mean of the finite values of a sequence or array (NaN when there are none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def bootstrap_ci(values: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean and its 95 % percentile bootstrap interval (NaNs dropped)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    if len(v) == 1:
        return float(v[0]), float(v[0]), float(v[0])
    means = v[_resamples(len(v), n_boot, seed)].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(v.mean()), float(lo), float(hi)


def ratio_ci(a: np.ndarray, b: np.ndarray, n_boot: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """Ratio of mean values ``a / b`` (paired per image, e.g. MSE of two paths on the same
    specimens) with a paired 95 % bootstrap interval: (ratio, low, high)."""
    idx = _resamples(len(a), n_boot, seed)
    ratios = a[idx].mean(axis=1) / b[idx].mean(axis=1)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    r = float(a.mean() / b.mean()) if b.mean() > 0 else math.nan
    return r, float(lo), float(hi)

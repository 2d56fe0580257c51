"""Completing large images in overlapping tiles, so that memory stays bounded and the cost per
pixel stays near that of a small image.

:func:`tile_spans` lays the fewest tiles of at most ``tile`` px over an image side, spread
evenly and all of one length the FFT does fast (2, 3 and 5 its only factors, counting a free
band the fill pads each tile with); :func:`tiled` runs a fill on each tile and blends the
tiles with linear ramps over their overlaps. The generator (640 px tiles) and the classical
FFT and Laplace fills (576 px tiles; ``auto``'s lattice candidate takes its generator's) use
them, where the FFT fills' thresholding and the Laplace fill's direct solve grow faster than
the pixel count on the whole image. :func:`local_filter` and :func:`gaussian` run local
filters (Gaussian smoothing, minimum and maximum filters) tile by tile with margins, the same
numbers bit for bit, so their passes over a large image stay in the cache
(``pstem speed --completion`` prints the cost per pixel against a 512 px image).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.fft
from scipy import ndimage
from tqdm.auto import tqdm

__all__ = [
    "CLASSICAL_OVERLAP",
    "CLASSICAL_TILE",
    "GENERATOR_OVERLAP",
    "GENERATOR_TILE",
    "LOCAL_TILE",
    "gaussian",
    "local_filter",
    "tile_spans",
    "tiled",
    "tiled_2d",
]

#: Tiles of the classical FFT and Laplace fills (px) and their overlap: images up to
#: ``CLASSICAL_TILE`` px are filled whole.
CLASSICAL_TILE = 576
CLASSICAL_OVERLAP = 32
#: Tiles of the generator and their overlap (px).
GENERATOR_TILE = 640
GENERATOR_OVERLAP = 32
#: Tiles of :func:`local_filter` (px): small enough to stay in the CPU's cache.
LOCAL_TILE = 512


def tile_spans(size: int, tile: int, overlap: int, fft_pad: int = 0) -> list[tuple[int, int]]:
    """(start, length) of the fewest tiles of at most ``tile`` px that cover ``size`` px with
    at least ``overlap`` px shared on each side, spread evenly, all of one length whose FFT
    (``length + 2 * fft_pad``) is fast.

    >>> tile_spans(2048, 1024, 96)
    [(0, 864), (592, 864), (1184, 864)]
    """
    if size <= tile:
        return [(0, size)]
    k = math.ceil((size - 2 * overlap) / (tile - 2 * overlap))
    need = math.ceil((size + (k - 1) * 2 * overlap) / k)
    # the transform's length a multiple of 32 whose other factors are 2, 3 and 5 (625 = 5^4 is
    # "fast" but twice as slow per pixel as 640 = 2^7 x 5)
    fast = 32 * scipy.fft.next_fast_len(math.ceil((need + 2 * fft_pad) / 32), real=True)
    length = min(tile, fast - 2 * fft_pad)
    starts = np.round(np.linspace(0, size - length, k)).astype(int)
    return [(int(s), length) for s in starts]


def tiled(
    fill: Callable[[np.ndarray, np.ndarray], np.ndarray],
    values: np.ndarray,
    mask: np.ndarray,
    tile: int,
    overlap: int,
    *,
    fft_pad: int = 0,
    desc: str = "tiles",
    whole: int | None = None,
) -> np.ndarray:
    """Run ``fill`` on overlapping tiles of a batch and blend them.

    Args:
        fill: (N, h, w) float32 values and bool mask -> (N, h, w) completion.
        values, mask: (N, H, W) float32 and bool (or (H, W): a batch of one).
        tile, overlap, fft_pad: see :func:`tile_spans`.
        desc: the progress bar's label (shown on a terminal when there are several tiles).
        whole: images no larger than this go to ``fill`` whole (default ``tile``).

    Returns:
        (N, H, W) float32 (or (H, W) for (H, W) input). Images no larger than ``whole`` go to
        ``fill`` whole. A tile without a sample is completed from one at its centre holding
        the image's mean and weighs next to nothing in the blend.
    """
    single = values.ndim == 2
    if single:
        values, mask = values[None], mask[None]
    n, h, w = values.shape
    whole = tile if whole is None else whole
    if h <= whole and w <= whole:
        out = fill(values, mask)
        return out[0] if single else out
    acc = np.zeros((n, h, w), dtype=np.float32)
    wsum = np.zeros((h, w), dtype=np.float32)
    ys, xs = tile_spans(h, tile, overlap, fft_pad), tile_spans(w, tile, overlap, fft_pad)
    bar = tqdm(total=len(ys) * len(xs), desc=desc, unit="tile", leave=False, disable=None)
    for y, th in ys:
        for x, tw in xs:
            ramp_y = np.minimum(np.arange(th) + 1, overlap + 1).astype(np.float32)
            ramp_x = np.minimum(np.arange(tw) + 1, overlap + 1).astype(np.float32)
            ry = np.minimum(ramp_y, ramp_y[::-1]) if h > tile else np.ones(th, np.float32)
            rx = np.minimum(ramp_x, ramp_x[::-1]) if w > tile else np.ones(tw, np.float32)
            weight = np.outer(ry, rx)
            sub_m = mask[:, y : y + th, x : x + tw]
            sub_v = values[:, y : y + th, x : x + tw]
            if not sub_m.reshape(n, -1).any(axis=1).all():
                weight = weight * 1e-6  # left to the overlapping tiles, or to the mean
                sub_m = sub_m.copy()
                sub_v = sub_v.copy()
                for i in np.flatnonzero(~sub_m.reshape(n, -1).any(axis=1)):
                    sub_m[i, th // 2, tw // 2] = True
                    sub_v[i, th // 2, tw // 2] = values[i][mask[i]].mean()
            acc[:, y : y + th, x : x + tw] += fill(np.ascontiguousarray(sub_v), np.ascontiguousarray(sub_m)) * weight
            wsum[y : y + th, x : x + tw] += weight
            bar.update()
    bar.close()
    out = acc / wsum
    return out[0] if single else out


def tiled_2d(
    fill: Callable[[np.ndarray, np.ndarray], np.ndarray],
    values: np.ndarray,
    mask: np.ndarray,
    tile: int = CLASSICAL_TILE,
    overlap: int = CLASSICAL_OVERLAP,
    *,
    fft_pad: int = 0,
    desc: str = "tiles",
) -> np.ndarray:
    """:func:`tiled` for a fill of one (h, w) image: (H, W) in, (H, W) float32 out."""
    return tiled(lambda v, m: fill(v[0], m[0])[None], values, mask, tile, overlap, fft_pad=fft_pad, desc=desc)


def local_filter(
    fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray, radius: int, tile: int = LOCAL_TILE
) -> np.ndarray:
    """``fn(image)`` for a local filter ``fn`` of (H, W) arrays (its output at a pixel depends
    only on the input within ``radius`` px, and on the image's own borders), computed in
    ``tile`` px tiles each with a ``radius`` px margin: the same numbers bit for bit, but a
    large image's filter passes stay in the CPU's cache (2-3 x quicker on 4096 px images;
    images up to ``tile + 2 radius`` px go to ``fn`` whole)."""
    h, w = image.shape
    r = int(radius)
    if h <= tile + 2 * r and w <= tile + 2 * r:
        return fn(image)
    out: np.ndarray | None = None
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            y0, x0 = max(y - r, 0), max(x - r, 0)
            sub = fn(image[y0 : min(y + tile + r, h), x0 : min(x + tile + r, w)])
            if out is None:
                out = np.empty((h, w), dtype=sub.dtype)
            th, tw = min(tile, h - y), min(tile, w - x)
            out[y : y + th, x : x + tw] = sub[y - y0 : y - y0 + th, x - x0 : x - x0 + tw]
    assert out is not None
    return out


def gaussian(image: np.ndarray, sigma: float, mode: str = "reflect", truncate: float = 4.0) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(image, sigma, mode=mode, truncate=truncate)`` of an
    (H, W) array, bit for bit, through :func:`local_filter` (the filter reaches
    ``int(truncate sigma + 0.5)`` px, as scipy counts it)."""
    radius = int(truncate * float(sigma) + 0.5)
    return local_filter(lambda a: ndimage.gaussian_filter(a, sigma, mode=mode, truncate=truncate), image, radius)

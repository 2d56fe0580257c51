"""Completing large images in overlapping tiles, so that memory stays bounded and the cost per
pixel stays near that of a small image.

:func:`tile_spans` lays the fewest tiles of at most ``tile`` px over an image side, spread
evenly and all of one length the FFT does fast (2, 3 and 5 its only factors, counting a free
band the fill pads each tile with); :func:`tiled` runs a fill on each tile and blends the
tiles with linear ramps over their overlaps. The generator (640 px tiles) and the classical
FFT and Laplace fills (576 px tiles on images over 1024 px) use them: a 4096 px image costs about as much per pixel
as a 512 px one (``pstem speed --completion``), where the FFT fills' thresholding and the
Laplace fill's direct solve grow faster than the pixel count on the whole image.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.fft
from tqdm.auto import tqdm

__all__ = ["CLASSICAL_OVERLAP", "CLASSICAL_TILE", "tile_spans", "tiled", "tiled_2d"]

#: Tiles of the classical FFT and Laplace fills (px), their overlap, and the largest image they
#: fill whole (so images up to 1024 px get exactly the fill they always got).
CLASSICAL_TILE = 576
CLASSICAL_OVERLAP = 32
CLASSICAL_WHOLE = 1024


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

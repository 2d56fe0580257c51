"""Tiles of large completions: they cover the image, overlap as asked, have FFT-friendly
lengths, and blend to the fill's own answer where every tile agrees."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.fft

from completion.tiles import tile_spans, tiled, tiled_2d


@pytest.mark.parametrize("size", [641, 1000, 2048, 3001, 4096, 8192])
@pytest.mark.parametrize(("tile", "overlap", "pad"), [(640, 32, 0), (576, 32, 32), (1024, 96, 0)])
def test_spans_cover_overlap_and_are_fast(size: int, tile: int, overlap: int, pad: int) -> None:
    spans = tile_spans(size, tile, overlap, pad)
    lengths = {n for _, n in spans}
    assert len(lengths) == 1 and max(lengths) <= tile
    (length,) = lengths
    fft = length + 2 * pad
    assert len(spans) == 1 or length == tile or (fft % 32 == 0 and scipy.fft.next_fast_len(fft, real=True) == fft)
    assert spans[0][0] == 0 and spans[-1][0] + length == size
    for (a, _), (b, _) in itertools.pairwise(spans):
        assert a + length - b >= 2 * overlap  # each seam shares at least the overlap on both sides
    # no fewer tiles would do
    assert len(spans) == 1 or (len(spans) - 1) * (tile - 2 * overlap) + 2 * overlap < size


def test_tiled_fill_blends_to_the_fills_answer() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((1, 700, 1300)).astype(np.float32)
    mask = rng.random((1, 700, 1300)) < 0.05
    calls = []

    def fill(v: np.ndarray, m: np.ndarray) -> np.ndarray:
        calls.append(v.shape)
        return np.where(m, v, 0.25).astype(np.float32)

    out = tiled(fill, values, mask, 640, 32)
    assert len(calls) > 1 and max(s[-1] for s in calls) <= 640
    np.testing.assert_allclose(out, np.where(mask, values, 0.25), atol=1e-6)
    whole = tiled_2d(lambda v, m: np.where(m, v, 0.5).astype(np.float32), values[0], mask[0])
    assert whole.shape == (700, 1300)  # over 1024 px on a side: the classical fills tile it
    np.testing.assert_allclose(whole, np.where(mask[0], values[0], 0.5), atol=1e-6)

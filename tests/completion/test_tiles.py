"""Tiles of large completions: they cover the image, overlap as asked, have FFT-friendly
lengths, and blend to the fill's own answer where every tile agrees; local filters in tiles
are the whole image's bit for bit; auto's lattice candidate shares its generator's tiles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.fft
from scipy import ndimage

import scanpaths
from completion.tiles import gaussian, local_filter, tile_spans, tiled, tiled_2d


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_local_filters_in_tiles_are_the_whole_image_filters_bit_for_bit(dtype: type) -> None:
    img = np.random.default_rng(1).random((301, 347)).astype(dtype)
    for sigma, mode, truncate in [(0.7, "reflect", 4.0), (2.5, "constant", 3.0), (6.0, "reflect", 4.0)]:
        want = ndimage.gaussian_filter(img, sigma, mode=mode, truncate=truncate)
        got = local_filter(
            lambda a, s=sigma, m=mode, t=truncate: ndimage.gaussian_filter(a, s, mode=m, truncate=t), img, 25, 64
        )
        assert got.dtype == want.dtype and np.array_equal(got, want)
        assert np.array_equal(gaussian(img, sigma, mode=mode, truncate=truncate), want)
    for size in (5, 13):
        want = ndimage.minimum_filter(img, size=size, mode="reflect")
        assert np.array_equal(
            local_filter(lambda a, k=size: ndimage.minimum_filter(a, size=k, mode="reflect"), img, size, 50), want
        )
    assert np.array_equal(local_filter(lambda a: ndimage.laplace(a), img, 2, 40), ndimage.laplace(img))


def test_autos_lattice_candidate_tiles_as_its_generator_so_each_tiles_fill_is_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from completion import fills, reuse
    from completion.registry import get_completer

    shape = (700, 760)  # over one tile; here the classical fills' tiles differ from the generator's
    assert tile_spans(shape[0], 576, 32, 32) != tile_spans(shape[0], 640, 32)
    spec = scanpaths.specimens.generate(shape, seed=2, scene="crystal")
    scan = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", shape, coverage=1 / 20), "ideal", seed=0)
    v, m = np.clip(scan.values, 0, 1).astype(np.float32), scan.mask
    computed = [0]
    inner = fills._sparse_spectrum_fill

    def counted(*args: object) -> object:
        computed[0] += 1
        return inner(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fills, "_sparse_spectrum_fill", counted)
    auto = get_completer("auto")
    with reuse.reuse_fills():
        auto.candidates["gan-prism"].complete(v, m)
        by_generator = computed[0]
        auto.candidates["lattice"].complete(v, m)
    assert by_generator == len(tile_spans(shape[0], 640, 32)) * len(tile_spans(shape[1], 640, 32)) == 4
    assert computed[0] == by_generator  # the lattice candidate found every tile's fill made
    with reuse.reuse_fills():
        get_completer("lattice").complete(v, m)  # the plain lattice fill keeps the classical tiles
    assert computed[0] > by_generator

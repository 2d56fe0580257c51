"""The lattice fill: peak finding, the row-sampling guard, the fit and its cross-validation gate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scanpaths
from completion import baselines
from completion.lattice import find_peaks, lattice_fill, line_sampled


def _off_grid_lattice(size: int = 160) -> np.ndarray:
    """A rotated lattice at 7.3 px spacing: its peaks fall between FFT bins."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    a = 0.37
    u = (np.cos(a) * xx + np.sin(a) * yy) / 7.3
    v = (-np.sin(a) * xx + np.cos(a) * yy) / 7.3
    img = 0.45 + 0.2 * np.cos(2 * np.pi * u) + 0.2 * np.cos(2 * np.pi * v) + 0.08 * np.cos(2 * np.pi * (u + v))
    return img.astype(np.float32)


def _scan(img: np.ndarray, kind: str, coverage: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    path = scanpaths.make_path(kind, img.shape, coverage=coverage, seed=0)
    s = scanpaths.simulate(img, path, preset="ideal", seed=0)
    return s.values, s.mask


def test_find_peaks_locates_off_grid_frequencies_to_a_fraction_of_a_bin() -> None:
    img = torch.from_numpy(_off_grid_lattice())
    peaks = find_peaks(img, max_peaks=4).numpy()
    a, f = 0.37, 1 / 7.3
    expected = np.array([[np.sin(a) * f, np.cos(a) * f], [np.cos(a) * f, -np.sin(a) * f]])  # (fy, fx)
    for e in expected:
        # either the peak or its conjugate is listed (one per pair)
        d = np.minimum(np.abs(peaks - e).max(axis=1), np.abs(peaks + e).max(axis=1))
        assert d.min() < 0.25 / 160  # a quarter of a bin of the 160 px field


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("raster", True),
        ("serpentine", True),
        ("grid", True),
        ("spiral", False),
        ("lissajous", False),
        ("random", False),
    ],
)
def test_line_sampled_flags_row_scans_only(kind: str, expected: bool) -> None:
    _, mask = _scan(np.zeros((256, 256), np.float32), kind)
    assert line_sampled(torch.from_numpy(mask)) is expected


def test_lattice_fill_recovers_an_off_grid_lattice_that_the_fft_fill_smears() -> None:
    img = _off_grid_lattice()
    v, m = _scan(img, "spiral")
    fourier = baselines.FourierCompleter().complete(v, m)
    lattice = baselines.get_baseline("lattice").complete(v, m)
    err_f = np.mean((fourier - img) ** 2)
    err_l = np.mean((lattice - img) ** 2)
    assert err_l < 0.2 * err_f


def test_lattice_fill_leaves_row_scans_and_non_lattices_to_the_first_estimate() -> None:
    img = _off_grid_lattice()
    v, m = _scan(img, "raster")
    first = baselines.FourierCompleter(pad=0).complete(v, m)  # the lattice fill looks for peaks in it
    assert np.array_equal(baselines.lattice_refine(v, m, first), first)
    # smooth random texture: no lattice to fit, the cross-validation gate refuses it
    rng = np.random.default_rng(3)
    from scipy import ndimage

    tex = ndimage.gaussian_filter(rng.random((160, 160)), 6)
    tex = ((tex - tex.min()) / (tex.max() - tex.min())).astype(np.float32)
    v, m = _scan(tex, "spiral")
    first = baselines.FourierCompleter(pad=0).complete(v, m)  # the lattice fill looks for peaks in it
    assert np.array_equal(baselines.lattice_refine(v, m, first), first)


def test_lattice_fill_is_per_image_and_deterministic() -> None:
    imgs = [_off_grid_lattice(), np.full((160, 160), 0.3, np.float32)]
    vs, ms = zip(*(_scan(i, "lissajous") for i in imgs), strict=True)
    v = torch.from_numpy(np.stack(vs))[:, None]
    m = torch.from_numpy(np.stack(ms).astype(np.float32))[:, None]
    first = torch.full_like(v, 0.3)
    batch = lattice_fill(v * m, m, first)
    for i in range(2):
        one = lattice_fill(v[i : i + 1] * m[i : i + 1], m[i : i + 1], first[i : i + 1])
        torch.testing.assert_close(batch[i : i + 1], one, rtol=0, atol=0)
    torch.testing.assert_close(lattice_fill(v * m, m, first), batch, rtol=0, atol=0)
    assert batch.min() >= 0 and batch.max() <= 1


def test_lattice_fill_with_too_few_samples_returns_the_first_estimate() -> None:
    v = torch.zeros(1, 1, 64, 64)
    m = torch.zeros(1, 1, 64, 64)
    m[0, 0, 10, ::8] = 1
    v[0, 0, 10, ::8] = 0.7
    first = torch.full_like(v, 0.5)
    assert torch.equal(lattice_fill(v, m, first), first)

"""Classical completers and the shared input rules."""

from __future__ import annotations

import numpy as np
import pytest

import scanpaths
from completion import baselines, check_inputs, get_completer
from scanpaths import InputError


@pytest.fixture(scope="module")
def scan() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    spec = scanpaths.specimens.generate((96, 96), seed=4, scene="crystal", spacing=12)
    path = scanpaths.make_path("spiral", (96, 96), coverage=0.1)
    s = scanpaths.simulate(spec.image, path, preset="ideal")
    return s.values, s.mask, spec.image


@pytest.mark.parametrize("name", list(baselines.BASELINES))
def test_baselines_keep_samples_and_fill_in_range(name: str, scan: tuple) -> None:
    values, mask, truth = scan
    out = baselines.get_baseline(name).complete(values, mask)
    assert out.shape == values.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    mean_fill = np.where(mask, values, values[mask].mean())
    if name == "lattice" and not np.array_equal(out, baselines.FourierCompleter().complete(values, mask)):
        # a least-squares fit, not an interpolant: it explains the samples better than their mean
        assert np.mean((out[mask] - values[mask]) ** 2) < np.var(values[mask])
    else:
        np.testing.assert_allclose(out[mask], values[mask], atol=1e-5)
    # every baseline beats filling with the mean of the samples
    assert np.mean((out - truth) ** 2) < np.mean((mean_fill - truth) ** 2)


def test_linear_and_harmonic_are_exact_on_a_plane() -> None:
    yy, xx = np.mgrid[0:40, 0:50]
    plane = (0.2 + 0.01 * xx + 0.005 * yy).astype(np.float32)
    mask = np.zeros_like(plane, dtype=bool)
    mask[::7, :] = True
    mask[:, ::9] = True
    mask[-1, :] = True
    mask[:, -1] = True
    for name in ("linear", "harmonic"):
        out = baselines.get_baseline(name).complete(np.where(mask, plane, 0), mask)
        np.testing.assert_allclose(out, plane, atol=2e-3 if name == "harmonic" else 1e-5)


def test_nearest_copies_the_nearest_sample() -> None:
    values = np.zeros((10, 10), np.float32)
    mask = np.zeros((10, 10), bool)
    values[2, 2], mask[2, 2] = 0.3, True
    values[8, 8], mask[8, 8] = 0.9, True
    out = baselines.NearestCompleter().complete(values, mask)
    assert out[0, 0] == pytest.approx(0.3) and out[9, 9] == pytest.approx(0.9)


def test_linear_with_collinear_samples_falls_back_to_nearest() -> None:
    values = np.zeros((16, 16), np.float32)
    mask = np.zeros((16, 16), bool)
    mask[5, :] = True
    values[5, :] = np.linspace(0, 1, 16)
    out = baselines.LinearCompleter().complete(values, mask)
    np.testing.assert_allclose(out[0], values[5], atol=1e-6)


def test_batch_equals_one_by_one(scan: tuple) -> None:
    values, mask, _ = scan
    v = np.stack([values, values[::-1]])
    m = np.stack([mask, mask[::-1]])
    c = baselines.get_baseline("harmonic")
    np.testing.assert_allclose(c.complete_batch(v, m)[1], c.complete(values[::-1], mask[::-1]), atol=1e-6)


def test_input_rules() -> None:
    v = np.full((16, 16), 0.5, np.float32)
    m = np.zeros((16, 16), bool)
    m[3, 3] = True
    with pytest.raises(InputError, match="mask has no True pixel"):
        check_inputs(v, np.zeros((16, 16), bool))
    with pytest.raises(InputError, match="shapes differ"):
        check_inputs(v, m[:8])
    np.testing.assert_array_equal(check_inputs(v, m.astype(np.float32))[1], m)  # 0/1 numbers are a mask
    with pytest.raises(InputError, match="mask must be bool"):
        check_inputs(v, m.astype(np.float32) * 0.5)
    with pytest.raises(InputError, match="values must be a real float array"):
        check_inputs(v.astype(bool), m)
    bad = v.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN or inf"):
        check_inputs(bad, m)
    with pytest.raises(InputError, match="normalised to"):
        check_inputs(v * 100, m)
    with pytest.raises(InputError, match="must be \\(H, W\\)"):
        check_inputs(v[None], m[None])
    with pytest.raises(InputError, match="image size must be in"):
        check_inputs(v[:4, :4], m[:4, :4])
    # clipped, not rejected: dose noise pushes samples a little past 1
    out, mm = check_inputs(np.where(m, 1.3, 7.0), m.astype(np.uint8))
    assert out[3, 3] == 1.0 and out.sum() == 1.0 and mm.dtype == bool  # unseen values ignored


def test_all_true_mask_returns_the_values() -> None:
    v = np.random.default_rng(0).random((12, 12)).astype(np.float32)
    for name in baselines.BASELINES:
        np.testing.assert_array_equal(baselines.get_baseline(name).complete(v, np.ones((12, 12), bool)), v)


def test_unknown_completer_names_the_choices() -> None:
    with pytest.raises(InputError, match="completer must be one of"):
        get_completer("bicubic")
    with pytest.raises(InputError, match="baseline must be one of"):
        baselines.get_baseline("bicubic")


def test_the_sparse_spectrum_fill_does_not_wrap_around_the_borders() -> None:
    # a ramp is as non-periodic as an image gets: the plain transform ties its dark left
    # border to its bright right one
    yy, xx = np.mgrid[0:128, 0:128]
    ramp = (0.1 + 0.8 * xx / 127 + 0.02 * np.sin(yy / 3)).astype(np.float32)
    s = scanpaths.simulate(ramp, scanpaths.make_path("spiral", ramp.shape, coverage=0.1), preset="ideal")
    band = np.zeros(ramp.shape, bool)
    band[:, :8] = band[:, -8:] = True

    def band_error(pad: int) -> float:
        out = baselines.FourierCompleter(pad=pad).complete(s.values, s.mask)
        return float(np.mean((out[band] - ramp[band]) ** 2))

    assert band_error(32) < 0.5 * band_error(0)
    with pytest.raises(InputError):
        baselines.FourierCompleter(pad=-1)

"""Keep what was measured: columns corrected to the samples on them."""

from __future__ import annotations

import numpy as np
import pytest

from completion.consistency import (
    KEEP_RIDGE,
    ColumnConsistency,
    column_correction,
    column_sigma,
    column_sites,
    residual_correction,
)
from scanpaths.errors import InputError


def _lattice(sigma: float, vacancies: tuple[tuple[int, int], ...] = (), size: int = 96, a: int = 12) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    img = np.full((size, size), 0.1)
    for cy in range(a // 2, size, a):
        for cx in range(a // 2, size, a):
            if (cx, cy) not in vacancies:
                img += 0.6 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return img


def _site_value(img: np.ndarray, x: int, y: int) -> float:
    return float(img[y, x])


def test_a_touched_vacancy_is_removed_whole() -> None:
    sigma = 2.0
    site = (42, 42)
    truth = _lattice(sigma, vacancies=(site,))
    pattern = _lattice(sigma)  # what a completer that knows the lattice paints: no vacancy
    mask = np.zeros(truth.shape, bool)
    mask[site[1] - 2, :] = True  # one scan line, 1 sigma from the vacancy's centre
    mask[::6, ::6] = True
    values = np.where(mask, truth, 0.0)
    assert column_sites(pattern, sigma)[site[1], site[0]]
    corr = column_correction(values, mask, pattern, sigma, (0.03,))[0]
    fixed = pattern + corr
    before = _site_value(pattern, *site) - _site_value(truth, *site)
    after = _site_value(fixed, *site) - _site_value(truth, *site)
    assert before > 0.5 and abs(after) < 0.25 * before  # the column is (mostly) gone
    # columns the line passed but that are there in the truth stay
    assert abs(_site_value(fixed, 30, 42) - _site_value(truth, 30, 42)) < 0.05


def test_the_setting_is_chosen_on_held_out_samples() -> None:
    sigma = 2.0
    sites = tuple((x, 42) for x in range(6, 96, 12))  # a whole row of vacancies
    truth = _lattice(sigma, vacancies=sites)
    pattern = _lattice(sigma)
    mask = np.zeros(truth.shape, bool)
    mask[40, :] = mask[44, :] = True  # every vacancy touched 1 sigma from its centre, from both sides
    mask[::6, ::6] = True
    values = np.where(mask, truth, 0.0)
    cc = ColumnConsistency()
    out = cc(values, mask, pattern)
    assert cc.last_setting is not None and cc.last_setting.sigma == pytest.approx(sigma, rel=0.15)  # measured
    assert cc.last_setting.mse_after < 0.5 * cc.last_setting.mse_before
    for site in sites:  # at least half of each column removed
        assert _site_value(out, *site) < _site_value(pattern, *site) - 0.3
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    keep = ColumnConsistency(ridge=KEEP_RIDGE)
    kept = keep(values, mask, pattern)
    assert keep.last_setting is not None and keep.last_setting.ridge == KEEP_RIDGE
    for site in sites:
        assert _site_value(kept, *site) < _site_value(pattern, *site) - 0.3


def test_the_column_width_is_measured_on_the_completion() -> None:
    for sigma in (1.2, 2.0, 3.5):
        assert column_sigma(_lattice(sigma, a=16, size=128)) == pytest.approx(sigma, rel=0.15)
    assert column_sigma(np.full((64, 64), 0.4)) is None  # no columns


def test_it_is_off_where_the_completion_already_fits_the_samples() -> None:
    truth = _lattice(1.5)
    mask = np.random.default_rng(0).random(truth.shape) < 0.1
    values = np.where(mask, truth, 0.0)
    cc = ColumnConsistency()
    out = cc(values, mask, truth)
    assert cc.last_setting is not None and cc.last_setting.sigma is None
    np.testing.assert_array_equal(out, truth.astype(np.float32))


def test_the_residual_step_keeps_a_vacancy_the_completion_blurred() -> None:
    """Where a completion blurred a vacancy into its neighbours (no column is left there to
    correct), the samples on it still darken it; a lone sample's residual is kept in the
    proportion 1 / (1 + residual), and far from every sample nothing moves."""
    sigma = 2.0
    site = (42, 42)
    truth = _lattice(sigma, vacancies=(site,))
    blurred = np.full(truth.shape, float(truth.mean()))  # no columns at all
    mask = np.zeros(truth.shape, bool)
    mask[site[1], site[0] - 1 : site[0] + 2] = True  # three samples on the vacancy
    values = np.where(mask, truth, 0.0)
    fixed = blurred + residual_correction(values, mask, blurred, sigma, 1.0)
    assert fixed[site[1], site[0]] < blurred[site[1], site[0]] - 0.5 * (blurred[42, 42] - truth[42, 42])
    assert fixed[10, 10] == pytest.approx(blurred[10, 10], abs=1e-9)
    lone = np.zeros(truth.shape, bool)
    lone[20, 20] = True
    step = residual_correction(np.where(lone, 1.0, 0.0), lone, np.zeros(truth.shape), sigma, 1.0)
    assert step[20, 20] == pytest.approx(0.5, rel=0.02)
    cc = ColumnConsistency(ridge=0.3, residual=1.0)
    cc(values, mask, blurred)
    assert cc.last_setting is not None and cc.last_setting.residual == 1.0
    with pytest.raises(InputError, match="residual must be > 0"):
        ColumnConsistency(residual=0)


def test_the_held_out_residual_weight_follows_the_noise() -> None:
    """On clean samples of fine structure the held-out tiles want the step; on pure noise
    around a flat truth they want none."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:128]
    truth = 0.5 + 0.3 * np.sin(xx / 3.0) * np.cos(yy / 4.0)
    mask = rng.random(truth.shape) < 0.2
    smooth = np.full(truth.shape, 0.5)  # a completion that missed the structure
    cc = ColumnConsistency(residual="held-out")
    cc(np.where(mask, truth, 0.0), mask, smooth)
    assert cc.last_setting is not None and cc.last_setting.residual is not None
    noisy = np.clip(0.5 + rng.normal(0, 0.2, truth.shape), 0, 1)
    cc(np.where(mask, noisy, 0.0), mask, smooth)
    assert cc.last_setting is not None and cc.last_setting.residual is None

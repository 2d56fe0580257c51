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
    evidence_weights,
    guide_sites,
    residual_correction,
    sample_noise,
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


def test_the_samples_noise_is_measured_from_their_residuals() -> None:
    """Independent noise of known size on samples of a smooth truth, against a completion
    that is the truth but for a gentle error the variogram must not count as noise."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:256, 0:256]
    truth = 0.4 + 0.2 * np.sin(xx / 9.0) * np.cos(yy / 11.0)
    completion = truth + 0.03 * np.sin(xx / 14.0 + yy / 17.0)
    mask = rng.random(truth.shape) < 0.08
    for noise in (0.01, 0.05, 0.12):
        values = np.where(mask, truth + rng.normal(0, noise, truth.shape), 0.0)
        assert sample_noise(values, mask, completion) == pytest.approx(noise, rel=0.25)
    assert sample_noise(np.zeros((8, 8)), np.zeros((8, 8), bool), np.zeros((8, 8))) == 0.0


def test_the_evidence_weights_pick_out_the_few_clear_departures() -> None:
    rng = np.random.default_rng(2)
    se2 = np.full(2000, 0.03**2)
    amp = rng.normal(0, np.sqrt(0.01**2 + se2))  # ordinary columns
    big = rng.choice(2000, 40, replace=False)
    amp[big] = rng.choice([-0.3, 0.25], 40) + rng.normal(0, 0.03, 40)  # vacancies, substitutions
    se2[:5] = np.inf  # unmeasured columns are never departures
    weight, shrink = evidence_weights(amp, se2)
    assert np.mean(weight[big] > 0.5) >= 0.95
    ordinary = np.setdiff1d(np.arange(5, 2000), big)
    assert np.mean(weight[ordinary] > 0.5) < 0.01
    assert np.all(weight[:5] == 0) and np.all(shrink[big] > 0.9)
    # pure noise, no departures: no column is taken for one
    weight, _ = evidence_weights(rng.normal(0, 0.03, 2000), np.full(2000, 0.03**2))
    assert np.mean(weight > 0.5) < 0.01


def test_the_guide_restores_a_column_the_completion_blurred_away() -> None:
    """In a lattice of close pairs, a completion that half-painted a touched vacancy beside
    its partner draws no column of its own there (the half column is a shoulder on the
    partner's peak): with the lattice fill's columns as a guide the correction finds the site
    and the samples on it darken it to the truth; without, the shoulder stays."""
    sigma = 2.0
    size = 96
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)

    def column(x: float, y: float) -> np.ndarray:
        return 0.6 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))

    pairs = [(cx + dx, cy) for cy in range(8, size, 16) for cx in range(8, size - 8, 16) for dx in (0, 5)]
    site = (45, 40)  # the right-hand column of the pair at (40, 40)
    assert site in pairs
    full = 0.1 + sum(column(x, y) for x, y in pairs)
    truth = full - column(*site)
    completion = truth + 0.5 * column(*site)
    extra = guide_sites(full, column_sites(completion, sigma), sigma)
    ys, xs = np.nonzero(extra)
    assert len(ys) == 1 and abs(xs[0] - site[0]) <= 1 and abs(ys[0] - site[1]) <= 1
    rng = np.random.default_rng(3)
    mask = np.zeros(truth.shape, bool)
    mask[site[1] - 1 : site[1] + 2, :] = True  # three lines over the vacancy
    mask |= rng.random(truth.shape) < 0.1
    values = np.where(mask, np.clip(truth + rng.normal(0, 0.01, truth.shape), 0, 1), 0.0)
    err = {}
    for label, guide in (("alone", None), ("guided", full)):
        cc = ColumnConsistency(ridge=0.3, evidence=True)
        out = cc(values, mask, completion, guide=guide)
        err[label] = abs(float(out[site[1], site[0]]) - float(truth[site[1], site[0]]))
        assert cc.last_setting is not None and (cc.last_setting.guided > 0) == (guide is not None)
        assert cc.last_setting.noise == pytest.approx(0.01, rel=0.5)
    plateau = abs(float(completion[site[1], site[0]]) - float(truth[site[1], site[0]]))
    assert err["guided"] < 0.3 * plateau and err["guided"] < 0.5 * err["alone"]
    with pytest.raises(InputError, match="needs a fixed ridge"):
        ColumnConsistency(evidence=True)
    with pytest.raises(InputError, match="guide is"):
        ColumnConsistency(ridge=0.3)(values, mask, completion, guide=full[:10])

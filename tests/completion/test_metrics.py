"""Completion metrics: SSIM, PSNR, error vs distance, error maps, defect recall, bootstrap intervals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import ndimage

import scanpaths
from completion import metrics
from completion.metrics import bootstrap_ci, ratio_ci


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return scanpaths.specimens.generate((96, 96), seed=3, scene="crystal").clean


def test_ssim_is_one_for_identical_images_and_falls_with_noise(image: np.ndarray) -> None:
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    scores = [metrics.ssim(np.clip(image + rng.normal(0, s, image.shape), 0, 1), image) for s in (0.01, 0.05, 0.2)]
    assert scores[0] > scores[1] > scores[2]
    noisy = np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1)
    assert metrics.ssim(noisy, image) == pytest.approx(metrics.ssim(image, noisy))


def test_ssim_matches_a_direct_window_sum() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.random((24, 24)), rng.random((24, 24))
    r = 5  # int(3.5 * 1.5 + 0.5): the window radius and the border left out
    g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    vals = []
    for i in range(r, 24 - r):
        for j in range(r, 24 - r):
            a, b = x[i - r : i + r + 1, j - r : j + r + 1], y[i - r : i + r + 1, j - r : j + r + 1]
            mx, my = (w * a).sum(), (w * b).sum()
            vx, vy, cxy = (w * a * a).sum() - mx**2, (w * b * b).sum() - my**2, (w * a * b).sum() - mx * my
            c1, c2 = 0.01**2, 0.03**2
            vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    assert metrics.ssim(x, y) == pytest.approx(np.mean(vals), rel=1e-6)


def test_psnr_and_mse_agree() -> None:
    a = np.zeros((8, 8))
    b = np.full((8, 8), 0.1)
    assert metrics.mse(a, b) == pytest.approx(0.01)
    assert metrics.mae(a, b) == pytest.approx(0.1)
    assert metrics.psnr(a, b) == pytest.approx(20.0)
    assert math.isinf(metrics.psnr(a, a))


def test_error_vs_distance_bins_by_distance_to_the_nearest_sample() -> None:
    mask = np.zeros((41, 41), bool)
    mask[20, 20] = True
    dist = metrics.distance_to_samples(mask)
    assert dist[20, 20] == 0 and dist[20, 25] == pytest.approx(5.0) and dist[0, 0] == pytest.approx(20 * math.sqrt(2))
    truth = np.zeros((41, 41))
    prof = metrics.error_vs_distance(dist, truth, mask)  # the error equals the distance
    edges = metrics.DISTANCE_EDGES
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        inside = (dist >= lo) & (dist < hi)
        if inside.any():
            assert lo <= prof[k] < hi
            assert prof[k] == pytest.approx(dist[inside].mean())
        else:
            assert np.isnan(prof[k])
    assert len(metrics.DISTANCE_COLUMNS) == len(prof)


def test_error_map_round_trips_through_text() -> None:
    rng = np.random.default_rng(2)
    pred, truth = rng.random((100, 70)), rng.random((100, 70))
    m = metrics.error_map(pred, truth)
    assert m.shape == (metrics.MAP_SIZE, metrics.MAP_SIZE)
    assert float(m.mean()) == pytest.approx(metrics.mae(pred, truth), rel=0.05)
    back = metrics.decode_map(metrics.encode_map(m))
    np.testing.assert_allclose(back, m, rtol=1e-3, atol=1e-4)


def test_blurred_truth_is_ede_and_beanland_5x5_gaussian() -> None:
    impulse = np.zeros((11, 11))
    impulse[5, 5] = 1.0
    b = metrics.blurred(impulse)
    assert b.sum() == pytest.approx(1.0)
    assert np.count_nonzero(b > 1e-12) == 25  # 5 x 5 support
    assert b[5, 5] > b[5, 6] > b[5, 7] > 0


def test_defect_recall_sees_defects_in_the_truth_and_loses_them_in_a_blur() -> None:
    spec = scanpaths.specimens.generate((192, 192), seed=5, scene="crystal", spacing=12, defect_fraction=0.05)
    args = (spec.defect_positions, spec.columns, spec.params["probe_sigma_px"])
    recall, n = metrics.defect_recall(spec.clean, spec.clean, *args)
    assert n >= 5 and recall == 1.0
    smeared = ndimage.gaussian_filter(spec.clean, 8.0)
    recall_blur, n_blur = metrics.defect_recall(smeared, spec.clean, *args)
    assert n_blur == n and recall_blur < 0.5
    assert math.isnan(metrics.defect_recall(spec.clean, spec.clean, np.zeros((0, 2)), spec.columns, 1.0)[0])


@pytest.mark.parametrize("scene", ["crystal", "nanoparticle"])
def test_column_recall_sees_columns_in_the_truth_and_loses_them_in_a_blur(scene: str) -> None:
    spec = scanpaths.specimens.generate((192, 192), seed=7, scene=scene)
    sigma = spec.params["probe_sigma_px"]
    recall, n = metrics.column_recall(spec.clean, spec.clean, spec.columns, sigma)
    assert n >= 10 and recall == 1.0
    smeared = ndimage.gaussian_filter(spec.clean, 3 * sigma)
    recall_blur, n_blur = metrics.column_recall(smeared, spec.clean, spec.columns, sigma)
    assert n_blur == n and recall_blur < 0.5
    flat = np.full_like(spec.clean, spec.clean.mean())
    assert metrics.column_recall(flat, spec.clean, spec.columns, sigma)[0] == 0.0
    assert math.isnan(metrics.column_recall(spec.clean, spec.clean, np.zeros((0, 2)), sigma)[0])


def test_touched_defects_are_those_with_a_sample_inside_the_column() -> None:
    spec = scanpaths.specimens.generate((192, 192), seed=5, scene="crystal", spacing=12, defect_fraction=0.05)
    sigma = spec.params["probe_sigma_px"]
    pos = spec.defect_positions
    mask = np.zeros((192, 192), bool)
    first = np.rint(pos[0]).astype(int)
    mask[first[1], first[0] + int(sigma)] = True  # one sample, within a column radius of defect 0
    touched = metrics.touched_defects(pos, mask, sigma)
    assert touched[0] and touched.sum() <= 2  # its neighbours are a lattice spacing away
    # recall over the touched ones only: the truth keeps them, a flat image keeps none
    args = (spec.defect_positions, spec.columns, sigma)
    mask[::3, :] = True
    touched = metrics.touched_defects(pos, mask, sigma)
    recall, n = metrics.defect_recall(spec.clean, spec.clean, *args, select=touched)
    assert 0 < n <= touched.sum() and recall == 1.0
    assert metrics.defect_recall(np.full_like(spec.clean, 0.3), spec.clean, *args, select=touched)[0] == 0.0


def test_bootstrap_interval_holds_the_mean_and_repeats() -> None:
    v = np.random.default_rng(3).normal(1.0, 0.2, 30)
    m, lo, hi = bootstrap_ci(v)
    assert lo < m < hi and m == pytest.approx(v.mean())
    assert bootstrap_ci(v) == (m, lo, hi)
    assert bootstrap_ci(np.array([2.0])) == (2.0, 2.0, 2.0)
    assert all(math.isnan(x) for x in bootstrap_ci(np.array([np.nan])))


def test_paired_ratio_interval() -> None:
    rng = np.random.default_rng(0)
    b = rng.uniform(1, 2, 40)
    a = 0.8 * b * rng.uniform(0.95, 1.05, 40)
    r, lo, hi = ratio_ci(a, b)
    assert lo < r < hi < 1 and r == pytest.approx(a.mean() / b.mean())
    assert ratio_ci(a, b) == (r, lo, hi)

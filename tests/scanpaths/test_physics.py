"""Scan physics and the detector: ideal reproduction, flyback, lag, dose, determinism, checks."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scanpaths
from scanpaths import InputError, make_path, simulate
from scanpaths.physics import PRESETS


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return scanpaths.specimens.generate((128, 128), seed=5, scene="crystal").image


@given(
    kind=st.sampled_from([k for k in scanpaths.PATH_KINDS if k != "waypoints"]),
    coverage=st.floats(0.02, 0.2),
    seed=st.integers(0, 1000),
)
def test_ideal_preset_reproduces_the_commanded_path(kind: str, coverage: float, seed: int) -> None:
    img = np.random.default_rng(seed).random((96, 80))
    path = make_path(kind, img.shape, coverage=coverage, seed=seed)
    scan = simulate(img, path, preset="ideal", seed=seed)
    np.testing.assert_array_equal(scan.trajectory, path.positions)
    np.testing.assert_array_equal(scan.commanded, path.positions)
    np.testing.assert_array_equal(scan.mask, path.mask())
    assert scan.time_s == pytest.approx(path.n_samples * PRESETS["ideal"].dwell_s)


def test_ideal_scan_on_pixel_centres_reads_the_image_exactly(image: np.ndarray) -> None:
    path = make_path("random", image.shape, coverage=0.1, seed=0)
    scan = simulate(image, path, preset="ideal")
    np.testing.assert_allclose(scan.values[scan.mask], image[scan.mask], rtol=1e-6)
    assert (scan.values[~scan.mask] == 0).all()
    assert (scan.counts[scan.mask] == 1).all()


@given(
    kind=st.sampled_from([k for k in scanpaths.PATH_KINDS if k != "waypoints"]),
    preset=st.sampled_from(list(PRESETS)),
    register=st.sampled_from(["commanded", "actual"]),
    seed=st.integers(0, 100),
)
def test_masks_lie_inside_the_image_and_count_every_recorded_sample(
    kind: str, preset: str, register: str, seed: int
) -> None:
    img = np.random.default_rng(seed).random((48, 64))
    path = make_path(kind, img.shape, coverage=0.08, seed=seed)
    scan = simulate(img, path, preset=preset, seed=seed, register=register)
    assert scan.mask.shape == img.shape and scan.values.shape == img.shape
    where = scan.commanded if register == "commanded" else scan.trajectory
    idx = np.floor(where[~scan.blanked] + 0.5)
    inside = (idx[:, 0] >= 0) & (idx[:, 0] < 64) & (idx[:, 1] >= 0) & (idx[:, 1] < 48)
    assert scan.counts.sum() == inside.sum()
    assert (scan.mask == (scan.counts > 0)).all()
    if register == "commanded":
        np.testing.assert_array_equal(scan.mask, path.mask())


def test_raster_flyback_costs_time_and_distorts_the_start_of_each_line(image: np.ndarray) -> None:
    path = make_path("raster", image.shape, spacing=16)
    scan = simulate(image, path, preset="typical", seed=0)
    p = PRESETS["typical"]
    assert scan.time_s > path.n_samples * p.dwell_s  # flyback ticks were inserted
    assert len(scan.commanded) > path.n_samples
    err = np.hypot(*(scan.trajectory - scan.commanded).T)
    line = len(scan.commanded) // path.jumps.size  # roughly one line per jump
    on = ~scan.blanked
    # the first samples after a flyback are off by far more than the middle of the line
    starts = np.flatnonzero(on[1:] & ~on[:-1]) + 1
    assert len(starts) == path.jumps.size
    assert np.median(err[starts]) > 5 * np.median(err[starts + line // 2])


def test_serpentine_and_spiral_need_no_flyback(image: np.ndarray) -> None:
    for kind in ("serpentine", "spiral", "lissajous"):
        path = make_path(kind, image.shape, coverage=0.1)
        scan = simulate(image, path, preset="typical")
        assert len(scan.commanded) == path.n_samples


def test_feed_forward_removes_the_steady_lag_but_not_the_physics() -> None:
    """Along a long straight line the beam is where it was told; the coils still lag without
    compensation by 2 zeta / omega_n."""
    p = replace(PRESETS["typical"], jitter_lines=(), jitter_white_nm=0.0, drift_nm_per_s=0.0, drift_walk_nm=0.0)
    path = make_path("raster", (64, 2048), spacing=64)
    img = np.zeros((64, 2048))
    scan = simulate(img, path, preset=p)
    err = np.abs(scan.trajectory[:, 0] - scan.commanded[:, 0])
    assert err[500:1500].max() < 0.05  # steady state, compensated
    bare = scanpaths.Scanner(img, p, feed_forward=False)
    bare.scan(path, last=True)
    beam = bare.partial_scan().trajectory
    lag_px = p.lag_s / p.dwell_s - 0.5  # 1 px per tick; read at the end of a held tick
    assert np.median(scan.commanded[500:1500, 0] - beam[500:1500, 0]) == pytest.approx(lag_px, rel=0.02)


def test_random_points_wait_until_the_beam_has_settled(image: np.ndarray) -> None:
    p = replace(PRESETS["typical"], jitter_lines=(), jitter_white_nm=0.0, drift_nm_per_s=0.0, drift_walk_nm=0.0)
    path = make_path("random", image.shape, coverage=0.05, seed=0)
    scan = simulate(image, path, preset=p)
    on = ~scan.blanked
    assert np.hypot(*(scan.trajectory - scan.commanded)[on].T).max() < 1.0
    raster = simulate(image, make_path("raster", image.shape, coverage=0.05), preset=p)
    assert scan.time_s > 5 * raster.time_s  # settling dominates a random-point scan


def test_poisson_dose_noise_is_unbiased_and_scales_with_dose(image: np.ndarray) -> None:
    path = make_path("raster", image.shape, coverage=1.0)
    clean = simulate(image, path, preset="ideal")
    errs = []
    for dose in (5.0, 500.0):
        noisy = simulate(image, path, preset="ideal", dose=dose, seed=1)
        assert noisy.dose_e == pytest.approx(dose * path.n_samples)
        assert noisy.values.mean() == pytest.approx(clean.values.mean(), rel=0.02)
        errs.append(np.std(noisy.values - clean.values))
    assert errs[0] > 5 * errs[1]
    assert clean.dose_e is None


def test_same_seed_same_numbers_and_other_seed_other_jitter(image: np.ndarray) -> None:
    path = make_path("spiral", image.shape, coverage=0.1)
    a = simulate(image, path, preset="slow-coils", dose=10, seed=4)
    b = simulate(image, path, preset="slow-coils", dose=10, seed=4)
    c = simulate(image, path, preset="slow-coils", dose=10, seed=5)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.trajectory, b.trajectory)
    assert not np.array_equal(a.trajectory, c.trajectory)


def test_dwell_override_changes_time_and_drift(image: np.ndarray) -> None:
    path = make_path("serpentine", image.shape, coverage=0.1)
    fast = simulate(image, path, preset="typical", dwell_s=1e-7)
    slow = simulate(image, path, preset="typical", dwell_s=1e-5)
    assert slow.time_s == pytest.approx(100 * fast.time_s)


def test_every_preset_has_documented_numbers() -> None:
    for name, p in PRESETS.items():
        assert p.name == name and p.description
        assert 0.1e-6 <= p.dwell_s <= 20e-6
        if name != "ideal":
            assert 1e3 <= p.natural_freq_hz <= 1e6 and 0.2 <= p.damping <= 1.5
    assert PRESETS["ideal"].is_ideal
    assert 10e-6 < PRESETS["typical"].tau_s < 30e-6  # ~60 us unusable = a few tau (Mullarkey 2022)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"preset": "fast"}, "preset must be one of"),
        ({"dose": 0.0}, r"dose must be in \(0"),
        ({"dose": -3.0}, r"dose must be in \(0"),
        ({"dwell_s": 0.0}, r"dwell_s must be in \(0"),
        ({"dwell_s": math.inf}, r"dwell_s must be in \(0"),
        ({"register": "nominal"}, "register must be one of"),
    ],
)
def test_bad_parameters_are_rejected(image: np.ndarray, kwargs: dict, match: str) -> None:
    path = make_path("spiral", image.shape, coverage=0.1)
    with pytest.raises(InputError, match=match):
        simulate(image, path, **kwargs)


def test_bad_images_are_rejected() -> None:
    path = make_path("spiral", (32, 32), coverage=0.1)
    bad = np.zeros((32, 32))
    bad[3, 4] = np.nan
    for img, match in [
        (bad, "NaN or inf"),
        (np.zeros((32, 32, 3)), "must be 2-D"),
        (np.zeros((0, 32)), "must be 2-D|at least 2x2"),
        (np.zeros((32, 33)), "differs from the path's shape"),
        (np.zeros((32, 32), dtype=bool), "real-valued"),
        ("not an image", "real-valued"),
    ]:
        with pytest.raises(InputError, match=match):
            simulate(img, path)
    with pytest.raises(InputError, match="scanpaths.ScanPath"):
        simulate(np.zeros((32, 32)), "spiral")  # type: ignore[arg-type]


def test_typical_flyback_spoils_tens_of_microseconds_of_each_line() -> None:
    """Mullarkey et al. (2022): after a raster flyback the first ~60 us of a line are unusable."""
    p = replace(PRESETS["typical"], jitter_lines=(), jitter_white_nm=0.0, drift_nm_per_s=0.0, drift_walk_nm=0.0)
    scan = simulate(np.zeros((512, 512)), make_path("raster", (512, 512), spacing=64), preset=p)
    on = ~scan.blanked
    err = np.hypot(*(scan.trajectory - scan.commanded).T)
    start = (np.flatnonzero(on[1:] & ~on[:-1]) + 1)[3]
    spoiled_us = np.argmax(err[start:] < 1.0) * p.dwell_s * 1e6
    assert 30 <= spoiled_us <= 120

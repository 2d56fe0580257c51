"""The Numba kernels agree with their plain twins and with scipy's linear filter."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from scanpaths import _kernels as K
from scanpaths.physics import coil_matrices


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1)


@pytest.mark.parametrize("substeps,max_step", [(1, np.inf), (3, np.inf), (1, 0.7), (4, 0.2)])
def test_coil_kernel_matches_python_twin(rng: np.random.Generator, substeps: int, max_step: float) -> None:
    cmd = np.cumsum(rng.normal(0, 2.0, size=(500, 2)), axis=0)
    a, b = coil_matrices(12e3, 0.7, 1e-6 / substeps)
    vmax = max_step * substeps / 1e-6
    fast = K.coil_response(cmd, a, b, substeps, max_step, vmax)
    slow = K.coil_response_py(cmd, a, b, substeps, max_step, vmax)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)


def test_coil_kernel_without_slew_limit_equals_lfilter(rng: np.random.Generator) -> None:
    """With no slew limit the kernel is a linear filter: scipy's lfilter must give the same path."""
    freq, zeta, dt = 12e3, 0.7, 1e-6
    u = np.cumsum(rng.normal(0, 1.0, 2000))
    a, b = coil_matrices(freq, zeta, dt)
    ours = K.coil_response(np.column_stack([u, u]), a, b, 1, np.inf, np.inf)[:, 0]
    w = 2 * np.pi * freq
    ad, bd, cd, dd, _ = signal.cont2discrete(
        (np.array([[0, 1], [-(w**2), -2 * zeta * w]]), np.array([[0], [w**2]]), np.array([[1, 0]]), np.array([[0]])),
        dt,
        method="zoh",
    )
    num, den = signal.ss2tf(ad, bd, cd, dd)
    ref = signal.lfilter(num[0], den, u - u[0]) + u[0]
    np.testing.assert_allclose(ours[:-1], ref[1:], atol=1e-8)


def test_coil_settles_to_a_step_with_the_documented_overshoot() -> None:
    """A step command: the beam overshoots by exp(-pi zeta / sqrt(1 - zeta^2)) and settles."""
    zeta, freq, dt = 0.5, 10e3, 1e-7
    cmd = np.zeros((20000, 2))
    cmd[1:] = 10.0
    a, b = coil_matrices(freq, zeta, dt)
    x = K.coil_response(cmd, a, b, 1, np.inf, np.inf)[:, 0]
    expected = 10 * np.exp(-np.pi * zeta / np.sqrt(1 - zeta**2))
    assert x.max() - 10 == pytest.approx(expected, rel=0.01)
    assert abs(x[-1] - 10) < 1e-3


def test_slew_limit_bounds_the_beam_speed() -> None:
    cmd = np.zeros((400, 2))
    cmd[1:, 0] = 500.0
    a, b = coil_matrices(50e3, 0.7, 1e-6)
    x = K.coil_response(cmd, a, b, 1, 3.0, 3.0e6)[:, 0]
    assert np.abs(np.diff(x)).max() <= 3.0 + 1e-9
    assert x[-1] == pytest.approx(500.0, abs=1e-3)


def test_bilinear_matches_twin_and_is_exact_on_pixel_centres(rng: np.random.Generator) -> None:
    img = rng.random((17, 23))
    pos = rng.uniform(-3, 26, size=(300, 2))
    use = rng.random(300) > 0.2
    np.testing.assert_allclose(K.bilinear_sample(img, pos, use), K.bilinear_sample_py(img, pos, use), atol=1e-12)
    centres = np.array([[0.0, 0.0], [22.0, 16.0], [5.0, 7.0]])
    vals = K.bilinear_sample(img, centres, np.ones(3, bool))
    np.testing.assert_allclose(vals, [img[0, 0], img[16, 22], img[7, 5]])
    assert K.bilinear_sample(img, pos, np.zeros(300, bool)).sum() == 0


def test_rasterize_matches_twin_and_numpy(rng: np.random.Generator) -> None:
    pos = rng.uniform(-2, 40, size=(2000, 2))
    vals = rng.random(2000)
    use = rng.random(2000) > 0.3
    s1, c1 = K.rasterize(pos, vals, use, 31, 37)
    s2, c2 = K.rasterize_py(pos, vals, use, 31, 37)
    s3, c3 = K.rasterize_numpy(pos, vals, use, 31, 37)
    np.testing.assert_allclose(s1, s2)
    np.testing.assert_allclose(s1, s3)
    assert (c1 == c2).all() and (c1 == c3).all()
    inside = (
        use & (np.floor(pos + 0.5) >= 0).all(1) & (np.floor(pos[:, 0] + 0.5) < 37) & (np.floor(pos[:, 1] + 0.5) < 31)
    )
    assert c1.sum() == inside.sum()


def test_cumulative_coverage_matches_twin(rng: np.random.Generator) -> None:
    pos = rng.uniform(-1, 12, size=(500, 2))
    use = rng.random(500) > 0.1
    np.testing.assert_array_equal(K.cumulative_coverage(pos, use, 11, 11), K.cumulative_coverage_py(pos, use, 11, 11))


def test_random_walk_stays_inside(rng: np.random.Generator) -> None:
    pos = K.random_walk(np.array([5.0, 5.0]), 0.3, rng.normal(0, 0.5, 5000), 1.0, 12, 20)
    assert pos[:, 0].min() >= 0 and pos[:, 0].max() <= 19
    assert pos[:, 1].min() >= 0 and pos[:, 1].max() <= 11
    steps = np.hypot(*np.diff(pos, axis=0).T)
    assert steps.max() <= 1.0 + 1e-9

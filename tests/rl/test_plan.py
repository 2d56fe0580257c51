"""The decision's Numba kernels agree with their NumPy twins and with the NumPy and scipy code they
stand in for."""

from __future__ import annotations

import numpy as np
import pytest

from rl._plan import block_stats, block_stats_np, plan_positions, plan_rest, solve_allocation, solve_allocation_np


def test_block_stats_kernel_and_twin_agree() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    values = rng.random(n)
    commanded = rng.uniform(-3.0, 130.0, (n, 2))  # some outside the field: the edge blocks take them
    blanked = rng.random(n) < 0.3
    a, b = np.zeros((3, 12)), np.zeros((3, 12))
    block_stats(values, commanded, blanked, 32, 3, 4, a)
    block_stats_np(values, commanded, blanked, 32, 3, 4, b)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert a[0].sum() == (~blanked).sum()


@pytest.mark.parametrize("samples", [1.0, 500.0, 5e4, 1e9])
def test_allocation_solve_kernel_and_twin_agree(samples: float) -> None:
    rng = np.random.default_rng(1)
    c = rng.random(20) + 0.01
    r0 = rng.random(20) * 0.1
    top = rng.random(20) * 2
    sizes = np.full(20, 1024.0)
    u, v = solve_allocation(c, r0, top, sizes, samples), solve_allocation_np(c, r0, top, sizes, samples)
    assert u == pytest.approx(v, rel=1e-12)
    spent = (np.clip(c * u - r0, 0, top) * sizes).sum()
    assert spent == pytest.approx(min(samples, (top * sizes).sum()), rel=1e-9)


def test_plan_positions_then_plan_rest_is_warped_path_after_a_jump() -> None:
    from rl.adaptive import BLOCK_PX, _block_sizes, _marginal, _smoothing, base_path, warped_path

    rng = np.random.default_rng(2)
    shape = (160, 224)
    sizes = _block_sizes(shape)
    start = np.array([3.0, 150.0])
    for variant in range(4):
        extra = rng.random(sizes.shape) * (rng.random(sizes.shape) > 0.3) * (variant > 0)
        base, off = base_path(shape, 4000, "spiral", variant)
        pos, blanked, dx, dy = plan_positions(extra, sizes, 0.3, *_smoothing(shape), base, off, start, 100 * variant)
        plan_rest(pos, blanked, base, off, dx, dy, 100 * variant)  # the rest, warped after the first 0-300
        dx = _marginal(extra, sizes, 0, shape[1], 0.3) if variant else np.ones(shape[1])
        dy = _marginal(extra, sizes, 1, shape[0], 0.3) if variant else np.ones(shape[0])
        ref = warped_path(shape, dx, dy, 4000, start=start, variant=variant)
        np.testing.assert_allclose(pos, ref.positions, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(blanked, ref.blanked)
    assert BLOCK_PX == 32


def test_smoothing_matrix_is_scipys_gaussian_of_a_blockwise_constant() -> None:
    from scipy import ndimage

    from rl._plan import smoothing_matrix

    weights = np.exp(-0.5 / 16.0**2 * np.arange(-64, 65) ** 2)
    weights /= weights.sum()
    per_block = np.random.default_rng(3).random(7)
    px = np.repeat(per_block, 32)[:200]
    np.testing.assert_allclose(
        smoothing_matrix(200, 32, weights) @ per_block, ndimage.gaussian_filter1d(px, 16.0, mode="nearest"), atol=1e-14
    )


def test_block_variance_takes_the_dose_noise_out() -> None:
    from rl._plan import block_variance

    rng = np.random.default_rng(4)
    sizes = np.full((1, 2), 1024.0)
    flat = rng.poisson(0.5 * 100, 20000) / 100  # block 0: flat at 0.5, dose noise only
    busy = rng.poisson(np.where(rng.random(20000) < 0.5, 0.2, 0.8) * 100) / 100  # block 1: real contrast
    stats = np.array([[2e4, 2e4], [flat.sum(), busy.sum()], [(flat**2).sum(), (busy**2).sum()]])
    err, density = block_variance(stats, 100.0, sizes)
    assert err[0, 1] == pytest.approx(0.09, rel=0.05)  # (0.8 - 0.2)^2 / 4
    assert err[0, 0] < 0.01 * err[0, 1]
    np.testing.assert_allclose(density, stats[0].reshape(1, 2) / 1024.0)


def test_allocation_solve_is_exact_with_many_blocks_and_repeated_knots() -> None:
    """A thousand blocks, half of them alike (the floored error gives many equal knots): the
    bracketed solve spends exactly the samples, as the NumPy twin's sweep does."""
    rng = np.random.default_rng(4)
    n = 1024
    c = np.where(np.arange(n) % 2 == 0, 0.3, rng.random(n) + 0.01)
    r0 = np.where(np.arange(n) % 2 == 0, 0.05, rng.random(n) * 0.1)
    top = np.full(n, 3.0)
    sizes = np.full(n, 1024.0)
    for samples in (10.0, 1e5, 3e6, (top * sizes).sum() * 0.999):
        u = solve_allocation(c, r0, top, sizes, samples)
        spent = (np.clip(c * u - r0, 0, top) * sizes).sum()
        assert spent == pytest.approx(samples, rel=1e-9)
        assert u == pytest.approx(solve_allocation_np(c, r0, top, sizes, samples), rel=1e-9)

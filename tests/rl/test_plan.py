"""The decision's Numba kernels agree with their NumPy twins."""

from __future__ import annotations

import numpy as np
import pytest

from rl._plan import block_stats, block_stats_np, solve_allocation, solve_allocation_np


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

"""Numba hot loops of an adaptive scan's decision, each with a NumPy twin.

A strategy that must decide while the beam finishes a line has a fraction of a millisecond
(256 us for a 256 px line at 1 us dwell). These kernels do the decision's arithmetic without
NumPy's per-call overheads: the samples' statistics per block (:func:`block_stats`) and the
square-root allocation's exact solve (:func:`solve_allocation`). The twins (``*_np``) compute
the same with NumPy; the tests check that kernel and twin agree. Inputs are assumed valid:
:mod:`rl.adaptive` makes them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["block_stats", "block_stats_np", "solve_allocation", "solve_allocation_np"]


@njit(cache=True, nogil=True)
def block_stats(
    values: np.ndarray, commanded: np.ndarray, blanked: np.ndarray, block: int, by: int, bx: int, out: np.ndarray
) -> None:
    """Add each unblanked sample to its block's count, sum and sum of squares.

    Args:
        values: (N,) float64 detector readings.
        commanded: (N, 2) float64 commanded (x, y) px (where a microscope knows it sampled).
        blanked: (N,) bool, True where nothing was recorded.
        block: block side, px. by, bx: blocks down and across.
        out: (3, by * bx) float64, added to in place: count, sum, sum of squares.
    """
    for i in range(values.shape[0]):
        if blanked[i]:
            continue
        ix = min(max(int(commanded[i, 0] // block), 0), bx - 1)
        iy = min(max(int(commanded[i, 1] // block), 0), by - 1)
        k = iy * bx + ix
        v = values[i]
        out[0, k] += 1.0
        out[1, k] += v
        out[2, k] += v * v


def block_stats_np(
    values: np.ndarray, commanded: np.ndarray, blanked: np.ndarray, block: int, by: int, bx: int, out: np.ndarray
) -> None:
    """:func:`block_stats` with NumPy."""
    on = ~blanked
    v, c = values[on], commanded[on]
    ix = np.clip((c[:, 0] // block).astype(np.int64), 0, bx - 1)
    iy = np.clip((c[:, 1] // block).astype(np.int64), 0, by - 1)
    cell = iy * bx + ix
    out[0] += np.bincount(cell, minlength=by * bx)
    out[1] += np.bincount(cell, weights=v, minlength=by * bx)
    out[2] += np.bincount(cell, weights=v * v, minlength=by * bx)


@njit(cache=True, nogil=True)
def solve_allocation(c: np.ndarray, r0: np.ndarray, top: np.ndarray, sizes: np.ndarray, samples: float) -> float:
    """The ``u`` >= 0 at which ``sum_b sizes_b clip(c_b u - r0_b, 0, top_b)`` reaches
    ``samples`` (the largest useful ``u`` where it never does): each term is piecewise linear
    in ``u``, so the sum is too, between the knots where a block starts (``r0 / c``) or stops
    (``(r0 + top) / c``) gaining. ``c`` > 0 for every block passed."""
    n = c.shape[0]
    knots = np.empty(2 * n + 1)
    knots[0] = 0.0
    for b in range(n):
        knots[1 + b] = r0[b] / c[b]
        knots[1 + n + b] = (r0[b] + top[b]) / c[b]
    knots.sort()
    prev_u, prev_s = 0.0, 0.0
    for j in range(1, 2 * n + 1):
        u = knots[j]
        s = 0.0
        for b in range(n):
            s += sizes[b] * min(max(c[b] * u - r0[b], 0.0), top[b])
        if s >= samples:
            return prev_u + (u - prev_u) * (samples - prev_s) / max(s - prev_s, 1e-300)
        prev_u, prev_s = u, s
    return knots[2 * n]


def solve_allocation_np(c: np.ndarray, r0: np.ndarray, top: np.ndarray, sizes: np.ndarray, samples: float) -> float:
    """:func:`solve_allocation` with NumPy."""
    knots = np.unique(np.r_[0.0, r0 / c, (r0 + top) / c])
    spent = (np.clip(c[None, :] * knots[:, None] - r0[None, :], 0.0, top[None, :]) * sizes[None, :]).sum(axis=1)
    k = int(np.searchsorted(spent, samples))  # spent[k - 1] < samples <= spent[k]
    if k >= len(knots):
        return float(knots[-1])
    lo, hi = knots[k - 1], knots[k]
    return float(lo + (hi - lo) * (samples - spent[k - 1]) / max(spent[k] - spent[k - 1], 1e-300))

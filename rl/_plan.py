"""Numba hot loops of an adaptive scan's decision, each checked against NumPy code.

A strategy that must decide while the beam finishes a line has a fraction of a millisecond
(256 us for a 256 px line at 1 us dwell). These kernels do the decision's arithmetic without
NumPy's per-call overheads: the samples' statistics per block (:func:`block_stats`,
:func:`block_variance`), the square-root allocation (:func:`allocate_blocks`, its exact solve
:func:`solve_allocation`), the warp of the commit path (:func:`plan_positions`,
:func:`plan_rest`) and the window a share of the rest is best spent on (:func:`best_window`).
Their references: the twins here (``*_np``) and, for the warp, :func:`rl.adaptive.warped_path`
and ``_marginal``; the tests check that each kernel agrees with its reference. Inputs are
assumed valid: :mod:`rl.adaptive` makes them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "allocate_blocks",
    "best_window",
    "best_window_np",
    "block_stats",
    "block_stats_np",
    "block_variance",
    "plan_positions",
    "plan_rest",
    "smoothing_matrix",
    "solve_allocation",
    "solve_allocation_np",
    "warm",
]


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
def _spent(c: np.ndarray, r0: np.ndarray, top: np.ndarray, sizes: np.ndarray, u: float) -> float:
    s = 0.0
    for b in range(c.shape[0]):
        s += sizes[b] * min(max(c[b] * u - r0[b], 0.0), top[b])
    return s


#: Halvings of the bracket before the exact step of :func:`solve_allocation`.
BRACKET_HALVINGS = 24


@njit(cache=True, nogil=True)
def solve_allocation(c: np.ndarray, r0: np.ndarray, top: np.ndarray, sizes: np.ndarray, samples: float) -> float:
    """The ``u`` >= 0 at which ``sum_b sizes_b clip(c_b u - r0_b, 0, top_b)`` reaches
    ``samples`` (the largest useful ``u`` where it never does): each term is piecewise linear
    in ``u``, rising at ``c_b sizes_b`` between the knots where a block starts (``r0 / c``) and
    stops (``(r0 + top) / c``) gaining. :data:`BRACKET_HALVINGS` halvings of the bracket from
    the first knot to the last leave a few knots at most inside it; between them the sum is
    linear, so the crossing is found exactly (O(B) per halving for B blocks, no sort).
    ``c`` > 0 for every block passed."""
    n = c.shape[0]
    lo, hi = np.inf, 0.0
    for b in range(n):
        lo = min(lo, r0[b] / c[b])
        hi = max(hi, (r0[b] + top[b]) / c[b])
    lo = max(min(lo, hi), 0.0)
    if _spent(c, r0, top, sizes, hi) < samples:
        return hi
    for _ in range(BRACKET_HALVINGS):  # _spent(lo) < samples <= _spent(hi)
        mid = 0.5 * (lo + hi)
        if _spent(c, r0, top, sizes, mid) >= samples:
            hi = mid
        else:
            lo = mid
    knots = np.empty(2 * n + 1)  # the knots left inside the bracket, then its end
    j = 0
    for b in range(n):
        for k in (r0[b] / c[b], (r0[b] + top[b]) / c[b]):
            if lo < k < hi:
                knots[j] = k
                j += 1
    knots[j] = hi
    u, spent = lo, _spent(c, r0, top, sizes, lo)
    for k in np.sort(knots[: j + 1]):  # linear between consecutive knots
        now = _spent(c, r0, top, sizes, k)
        if now >= samples:
            return u + (k - u) * (samples - spent) / max(now - spent, 1e-300)
        u, spent = k, now
    return hi


def solve_allocation_np(c: np.ndarray, r0: np.ndarray, top: np.ndarray, sizes: np.ndarray, samples: float) -> float:
    """:func:`solve_allocation` with NumPy."""
    knots = np.unique(np.r_[0.0, r0 / c, (r0 + top) / c])
    spent = (np.clip(c[None, :] * knots[:, None] - r0[None, :], 0.0, top[None, :]) * sizes[None, :]).sum(axis=1)
    k = int(np.searchsorted(spent, samples))  # spent[k - 1] < samples <= spent[k]
    if k >= len(knots):
        return float(knots[-1])
    lo, hi = knots[k - 1], knots[k]
    return float(lo + (hi - lo) * (samples - spent[k - 1]) / max(spent[k] - spent[k - 1], 1e-300))


def smoothing_matrix(n: int, block: int, weights: np.ndarray) -> np.ndarray:
    """(n, ceil(n / block)) float64: row k holds, per block, the weights of a symmetric
    correlation with ``weights`` (edges held, as scipy's ``mode="nearest"``) that land on that
    block's px. A density constant over each block smoothed this way is one small product."""
    lw = (len(weights) - 1) // 2
    nb = -(-n // block)
    taps = np.clip(np.arange(n)[:, None] + np.arange(-lw, lw + 1)[None, :], 0, n - 1) // block  # (n, 2 lw + 1)
    out = np.zeros((n, nb))
    np.add.at(out, (np.repeat(np.arange(n), 2 * lw + 1), taps.ravel()), np.tile(weights, n))
    return out


@njit(cache=True, nogil=True)
def _axis_density(extra: np.ndarray, sizes: np.ndarray, axis: int, floor: float, smooth: np.ndarray) -> np.ndarray:
    """(n,) density along one axis: the blocks' extra samples per px (summed across the other
    axis), smoothed by ``smooth`` (:func:`smoothing_matrix`) and floored at ``floor`` x its
    mean (all ones where nothing was allocated): :func:`rl.adaptive._marginal`'s density."""
    by, bx = extra.shape
    nb = bx if axis == 0 else by
    per_block = np.empty(nb)
    for j in range(nb):
        num, den = 0.0, 0.0
        for i in range(by if axis == 0 else bx):
            e, s = (extra[i, j], sizes[i, j]) if axis == 0 else (extra[j, i], sizes[j, i])
            num += e * s
            den += s
        per_block[j] = num / max(den, 1.0)
    n = smooth.shape[0]
    out = np.empty(n)
    total = 0.0
    j0 = 0
    for k in range(n):  # each row's weights are one run of positive ones, starting further on
        while j0 < nb - 1 and smooth[k, j0] == 0.0:
            j0 += 1
        acc = 0.0
        j = j0
        while j < nb and smooth[k, j] != 0.0:  # the zeros around the run add nothing
            acc += smooth[k, j] * per_block[j]
            j += 1
        out[k] = acc
        total += acc
    mean = total / n
    if mean <= 0:
        return np.ones(n)
    for k in range(n):
        out[k] = max(out[k] / mean, floor)
    return out


@njit(cache=True, nogil=True)
def _warp_axis(base: np.ndarray, density: np.ndarray, n: int) -> np.ndarray:
    """Base coordinates (M,) warped by the inverse cumulative ``density`` (:func:`rl.adaptive.
    _inverse_cdf` and ``np.interp``); beyond the field, the same distance beyond the edge."""
    cdf = np.empty(n + 1)
    cdf[0] = 0.0
    for k in range(n):
        cdf[k + 1] = cdf[k] + density[k]
    u = cdf / cdf[n] * (n - 1)
    step = (n - 1) / n
    x = np.arange(n + 1) * step
    x[n] = n - 1.0
    # np.interp(c, u, x) for u rising from 0 to n - 1: each query's knot found from a table
    # of the first knot past every whole px (a step or two of search instead of a bisection)
    first = np.empty(n + 1, dtype=np.int64)
    k = 0
    for p in range(n + 1):
        while k < n and u[k + 1] <= p:
            k += 1
        first[p] = k
    out = np.empty(base.shape[0])
    for i in range(base.shape[0]):
        b = base[i]
        c = min(max(b, 0.0), n - 1.0)
        if c >= u[n]:
            v = x[n]
        else:
            j = first[int(c)]
            while j > 0 and u[j] > c:
                j -= 1
            while u[j + 1] <= c:
                j += 1
            slope = (x[j + 1] - x[j]) / (u[j + 1] - u[j])
            v = slope * (c - u[j]) + x[j]
        out[i] = v + b - c
    return out


@njit(cache=True, nogil=True)
def plan_positions(
    extra: np.ndarray,
    sizes: np.ndarray,
    floor: float,
    smooth_x: np.ndarray,
    smooth_y: np.ndarray,
    base: np.ndarray,
    blanked: np.ndarray,
    start: np.ndarray,
    first: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The commit path's start: ((1 + M, 2) positions px, (1 + M,) blanked, (W,) and (H,)
    densities): a blanked jump from ``start`` (x, y), then the base path (M, 2) (``blanked``
    (M,)) warped by the allocation ``extra`` (By, Bx), extra samples per px of blocks of
    ``sizes`` px: per axis the allocation's marginal smoothed by ``smooth_x`` / ``smooth_y``
    (:func:`smoothing_matrix`) and floored at ``floor`` x its mean, then its inverse cumulative
    warp (:func:`rl.adaptive.warped_path`'s arithmetic; all zeros: no warp). Only the first
    ``first`` base positions are warped (and their flags copied) here: :func:`plan_rest` does
    the others (each position's warp is its own, so the beam can scan the first ones
    meanwhile)."""
    w, h = smooth_x.shape[0], smooth_y.shape[0]
    dx = _axis_density(extra, sizes, 0, floor, smooth_x)
    dy = _axis_density(extra, sizes, 1, floor, smooth_y)
    m = base.shape[0]
    k = min(max(first, 0), m)
    pos = np.empty((m + 1, 2))
    off = np.empty(m + 1, dtype=np.bool_)
    pos[0, 0], pos[0, 1], off[0] = start[0], start[1], True
    pos[1 : 1 + k, 0] = _warp_axis(np.ascontiguousarray(base[:k, 0]), dx, w)
    pos[1 : 1 + k, 1] = _warp_axis(np.ascontiguousarray(base[:k, 1]), dy, h)
    off[1 : 1 + k] = blanked[:k]
    return pos, off, dx, dy


@njit(cache=True, nogil=True)
def plan_rest(
    pos: np.ndarray,
    off: np.ndarray,
    base: np.ndarray,
    blanked: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    first: int,
) -> None:
    """Warp the base positions from ``first`` on into ``pos`` and copy their ``blanked`` flags
    into ``off`` (after :func:`plan_positions`, with its ``pos``, ``off``, ``dx``, ``dy``)."""
    m = base.shape[0]
    k = min(max(first, 0), m)
    if k < m:
        off[1 + k :] = blanked[k:]
        pos[1 + k :, 0] = _warp_axis(np.ascontiguousarray(base[k:, 0]), dx, dx.shape[0])
        pos[1 + k :, 1] = _warp_axis(np.ascontiguousarray(base[k:, 1]), dy, dy.shape[0])


@njit(cache=True, nogil=True)
def block_variance(stats: np.ndarray, dose: float, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted error (By, Bx), samples per px (By, Bx)) of :func:`block_stats`' ``stats``:
    each block's sample variance less the Poisson variance ``mean / dose`` (``dose`` <= 0: no
    noise), at least 0; a block with fewer than two samples takes the mean over the others;
    all floored at 1e-3 of the largest (all 1 where no block has two samples)."""
    by, bx = sizes.shape
    nb = by * bx
    err = np.empty(nb)
    density = np.empty(nb)
    total, seen = 0.0, 0
    for k in range(nb):
        n = stats[0, k]
        density[k] = n / sizes.flat[k]
        if n > 1:
            mean = stats[1, k] / n
            var = stats[2, k] / n - mean * mean
            if dose > 0:
                var -= mean / dose
            err[k] = max(var, 0.0)
            total += err[k]
            seen += 1
        else:
            err[k] = -1.0
    if seen == 0:
        return np.ones((by, bx)), density.reshape(by, bx)
    fill = total / seen
    top = 0.0
    for k in range(nb):
        if err[k] < 0:
            err[k] = fill
        top = max(top, err[k])
    low = 1e-3 * max(top, 1e-12)
    for k in range(nb):
        err[k] = max(err[k], low)
    return err.reshape(by, bx), density.reshape(by, bx)


@njit(cache=True, nogil=True)
def allocate_blocks(
    error: np.ndarray, density: np.ndarray, samples: float, sizes: np.ndarray, alpha: float, max_density: float
) -> np.ndarray:
    """:func:`rl.adaptive.allocate` (its docstring) on flat (B,) arrays: the square-root rule's
    extra samples per px, solved exactly by :func:`solve_allocation`."""
    n = error.shape[0]
    out = np.zeros(n)
    if samples <= 0:
        return out
    floor = max(density.mean() / 3.0, 1e-4)
    live = 0
    for b in range(n):
        if error[b] > 0:
            live += 1
    if live == 0:
        return out
    c, r0, top, sz = np.empty(live), np.empty(live), np.empty(live), np.empty(live)
    idx = np.empty(live, dtype=np.int64)
    j = 0
    for b in range(n):
        rho = max(density[b], floor)
        if error[b] > 0:
            c[j] = (alpha * error[b] * rho**alpha) ** (1.0 / (alpha + 1.0))
            r0[j], top[j], sz[j], idx[j] = rho, max(max_density - rho, 0.0), sizes[b], b
            j += 1
    u = solve_allocation(c, r0, top, sz, samples)
    for j in range(live):
        out[idx[j]] = min(max(c[j] * u - r0[j], 0.0), top[j])
    return out


@njit(cache=True, nogil=True)
def best_window(
    error: np.ndarray,
    density: np.ndarray,
    sizes: np.ndarray,
    samples: float,
    cuts_y: np.ndarray,
    cuts_x: np.ndarray,
    fracs: np.ndarray,
    max_share: float,
) -> tuple[float, int, int, int, int, float]:
    """The window of blocks and the share of ``samples`` to scan over it that minimise the
    predicted error ``sum_b sizes_b error_b rho0_b / (rho0_b + add_b)`` (``rho0`` the blocks'
    samples per px, floored at a third of the mean as :func:`allocate_blocks` does): a share
    ``f`` of the samples spread over the window, the rest over the whole field.

    Args:
        error: (By, Bx) predicted MSE per px of each block (>= 0).
        density: (By, Bx) samples per px each block has.
        sizes: (By, Bx) px per block.
        samples: samples to add (> 0).
        cuts_y, cuts_x: (Ky,), (Kx,) int64 sorted block indices a window may start or end at
            (0 and By / Bx among them); a window spans at least two blocks each way.
        fracs: (F,) shares of the samples tried for the window, in (0, 1].
        max_share: windows of at least this share of the field's px are not tried.

    Returns:
        (predicted error over that of spreading every sample evenly, y0, y1, x0, x1 blocks,
        the share): (1.0, 0, By, 0, Bx, 0.0) where no window is predicted to do better.
    """
    by, bx = error.shape
    floor = max(density.mean() / 3.0, 1e-4)
    total = sizes.sum()
    r0 = np.empty((by, bx))
    g = np.empty((by, bx))  # g / (r0 + a): a block's predicted error with a samples per px added
    area = np.zeros((by + 1, bx + 1))  # px of blocks [0, i) x [0, j)
    for i in range(by):
        for j in range(bx):
            r0[i, j] = max(density[i, j], floor)
            g[i, j] = sizes[i, j] * error[i, j] * r0[i, j]
            area[i + 1, j + 1] = area[i, j + 1] + area[i + 1, j] - area[i, j] + sizes[i, j]
    even = 0.0
    for i in range(by):
        for j in range(bx):
            even += g[i, j] / (r0[i, j] + samples / total)
    best = (1.0, 0, by, 0, bx, 0.0)
    if even <= 0.0:
        return best
    nf = fracs.shape[0]
    outside = np.zeros(nf)  # every block's error with the rest spread over the field, per share
    for k in range(nf):
        a = (1.0 - fracs[k]) * samples / total
        for i in range(by):
            for j in range(bx):
                outside[k] += g[i, j] / (r0[i, j] + a)
    for p in range(cuts_y.shape[0]):
        for q in range(p + 1, cuts_y.shape[0]):
            y0, y1 = cuts_y[p], cuts_y[q]
            if y1 - y0 < 2:
                continue
            for u in range(cuts_x.shape[0]):
                for v in range(u + 1, cuts_x.shape[0]):
                    x0, x1 = cuts_x[u], cuts_x[v]
                    if x1 - x0 < 2:
                        continue
                    px = area[y1, x1] - area[y0, x1] - area[y1, x0] + area[y0, x0]
                    if px >= max_share * total:
                        continue
                    for k in range(nf):
                        a = (1.0 - fracs[k]) * samples / total
                        a_in = a + fracs[k] * samples / px
                        pred = outside[k]
                        for i in range(y0, y1):
                            for j in range(x0, x1):
                                pred += g[i, j] / (r0[i, j] + a_in) - g[i, j] / (r0[i, j] + a)
                        ratio = pred / even
                        if ratio < best[0]:
                            best = (ratio, y0, y1, x0, x1, fracs[k])
    return best


def best_window_np(
    error: np.ndarray,
    density: np.ndarray,
    sizes: np.ndarray,
    samples: float,
    cuts_y: np.ndarray,
    cuts_x: np.ndarray,
    fracs: np.ndarray,
    max_share: float,
) -> tuple[float, int, int, int, int, float]:
    """:func:`best_window` with NumPy, every window's prediction from scratch."""
    by, bx = error.shape
    r0 = np.maximum(density, max(float(density.mean()) / 3.0, 1e-4))
    total = float(sizes.sum())

    def predicted(add: np.ndarray) -> float:
        return float(np.sum(sizes * error * r0 / (r0 + add)))

    even = predicted(np.full((by, bx), samples / total))
    best = (1.0, 0, by, 0, bx, 0.0)
    if even <= 0:
        return best
    for p, y0 in enumerate(cuts_y):
        for y1 in cuts_y[p + 1 :]:
            for u, x0 in enumerate(cuts_x):
                for x1 in cuts_x[u + 1 :]:
                    if y1 - y0 < 2 or x1 - x0 < 2:
                        continue
                    inside = np.zeros((by, bx), bool)
                    inside[y0:y1, x0:x1] = True
                    area = float(sizes[inside].sum())
                    if area >= max_share * total:
                        continue
                    for f in fracs:
                        add = np.full((by, bx), (1 - f) * samples / total) + inside * (f * samples / area)
                        ratio = predicted(add) / even
                        if ratio < best[0]:
                            best = (ratio, int(y0), int(y1), int(x0), int(x1), float(f))
    return best


def warm() -> None:
    """Run every kernel once on tiny inputs, so that compiling (or loading the compiled code
    from Numba's cache) happens before a scan, not inside its first decision."""
    stats = np.zeros((3, 4))
    block_stats(np.zeros(3), np.zeros((3, 2)), np.zeros(3, dtype=np.bool_), 32, 2, 2, stats)
    sizes = np.full((2, 2), 1024.0)
    err, density = block_variance(stats, 100.0, sizes)
    extra = allocate_blocks(err.ravel(), density.ravel(), 10.0, sizes.ravel(), 1.0, 4.0).reshape(2, 2)
    smooth = smoothing_matrix(64, 32, np.array([0.25, 0.5, 0.25]))
    base, off = np.zeros((2, 2)), np.zeros(2, dtype=np.bool_)
    base.flags.writeable = off.flags.writeable = False  # as rl.adaptive.base_path hands them out
    pos, flags, dx, dy = plan_positions(extra, sizes, 0.3, smooth, smooth, base, off, np.zeros(2), 1)
    plan_rest(pos, flags, base, off, dx, dy, 1)
    cuts = np.array([0, 2], dtype=np.int64)
    best_window(err, density, sizes, 10.0, cuts, cuts, np.array([0.5]), 0.8)

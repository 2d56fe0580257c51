"""Numba hot loops of the scan simulator, each with a plain-Python twin.

The twins (``*_py``) are line-for-line the same arithmetic written without Numba; the tests
check that kernel and twin agree and :mod:`scanpaths.speed` (``pstem speed``) times one against the
other. Inputs are assumed valid: the public functions in ``scanpaths`` check them first.

Pixel convention: pixel ``(row, col)`` covers ``[col - 0.5, col + 0.5) x [row - 0.5, row + 0.5)``
so a position ``(x, y)`` falls in column ``floor(x + 0.5)`` and row ``floor(y + 0.5)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


# --------------------------------------------------------------------------- coil response
@njit(cache=True, nogil=True)
def coil_advance(
    command: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    substeps: int,
    max_step: float,
    max_vel: float,
    state: np.ndarray,
) -> np.ndarray:
    """Integrate the scan-coil response to a chunk of commands, both axes independently.

    The coil is a second-order system driven by the command ``u`` held constant over each
    tick (zero-order hold); ``a`` (2, 2) and ``b`` (2,) are its exact discrete state update
    for one substep, state ``(position px, velocity px/s)``. After each substep the position
    change is limited to ``max_step`` px and the velocity to ``max_vel`` px/s (the slew limit).

    Args:
        command: (M, 2) float64 commanded (x, y) in px, one row per scan-clock tick.
        a, b: discrete update ``s' = a @ s + b * u`` for one substep.
        substeps: substeps per tick (>= 1).
        max_step: largest position change per substep in px (``inf``: no slew limit).
        max_vel: ``max_step`` divided by the substep duration, px/s.
        state: (2, 2) float64 coil state before the chunk, ``state[axis] = (x px, v px/s)``;
            updated in place to the state after it, so the next chunk continues from there.

    Returns:
        (M, 2) float64 beam position at the end of each tick.
    """
    m = command.shape[0]
    out = np.empty((m, 2))
    for axis in range(2):
        x = state[axis, 0]
        v = state[axis, 1]
        for i in range(m):
            u = command[i, axis]
            for _ in range(substeps):
                xn = a[0, 0] * x + a[0, 1] * v + b[0] * u
                vn = a[1, 0] * x + a[1, 1] * v + b[1] * u
                dx = xn - x
                if dx > max_step:
                    xn = x + max_step
                    vn = min(vn, max_vel)
                elif dx < -max_step:
                    xn = x - max_step
                    vn = max(vn, -max_vel)
                x = xn
                v = vn
            out[i, axis] = x
        state[axis, 0] = x
        state[axis, 1] = v
    return out


@njit(cache=True, nogil=True)
def coil_response(
    command: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    substeps: int,
    max_step: float,
    max_vel: float,
) -> np.ndarray:
    """:func:`coil_advance` of a whole path, the beam starting at rest at ``command[0]``.

    Returns (M, 2) float64 beam position at the end of each tick.
    """
    state = np.zeros((2, 2))
    state[0, 0] = command[0, 0]
    state[1, 0] = command[0, 1]
    return coil_advance(command, a, b, substeps, max_step, max_vel, state)


def coil_advance_py(
    command: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    substeps: int,
    max_step: float,
    max_vel: float,
    state: np.ndarray,
) -> np.ndarray:
    """Plain-Python twin of :func:`coil_advance` (same arithmetic, no Numba)."""
    m = command.shape[0]
    out = np.empty((m, 2))
    a00, a01, a10, a11 = float(a[0, 0]), float(a[0, 1]), float(a[1, 0]), float(a[1, 1])
    b0, b1 = float(b[0]), float(b[1])
    for axis in range(2):
        col = command[:, axis].tolist()
        x = float(state[axis, 0])
        v = float(state[axis, 1])
        res = [0.0] * m
        for i in range(m):
            u = col[i]
            for _ in range(substeps):
                xn = a00 * x + a01 * v + b0 * u
                vn = a10 * x + a11 * v + b1 * u
                dx = xn - x
                if dx > max_step:
                    xn = x + max_step
                    vn = min(vn, max_vel)
                elif dx < -max_step:
                    xn = x - max_step
                    vn = max(vn, -max_vel)
                x = xn
                v = vn
            res[i] = x
        out[:, axis] = res
        state[axis, 0] = x
        state[axis, 1] = v
    return out


def coil_response_py(
    command: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    substeps: int,
    max_step: float,
    max_vel: float,
) -> np.ndarray:
    """Plain-Python twin of :func:`coil_response`."""
    state = np.zeros((2, 2))
    state[:, 0] = command[0]
    return coil_advance_py(command, a, b, substeps, max_step, max_vel, state)


# --------------------------------------------------------------------------- sampling
@njit(cache=True, nogil=True)
def bilinear_sample(image: np.ndarray, pos: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Read ``image`` (H, W) float64 at float positions ``pos`` (M, 2) (x, y) px, bilinearly.

    Positions outside the image read the nearest edge value. Entries where ``use`` (M,) bool
    is False are not read and come back as 0. Returns (M,) float64.
    """
    h, w = image.shape
    m = pos.shape[0]
    out = np.zeros(m)
    for i in range(m):
        if not use[i]:
            continue
        x = min(max(pos[i, 0], 0.0), w - 1.0)
        y = min(max(pos[i, 1], 0.0), h - 1.0)
        x0 = min(int(math.floor(x)), w - 2) if w > 1 else 0
        y0 = min(int(math.floor(y)), h - 2) if h > 1 else 0
        fx = x - x0
        fy = y - y0
        out[i] = (
            image[y0, x0] * (1.0 - fx) * (1.0 - fy)
            + image[y0, x0 + 1] * fx * (1.0 - fy)
            + image[y0 + 1, x0] * (1.0 - fx) * fy
            + image[y0 + 1, x0 + 1] * fx * fy
        )
    return out


def bilinear_sample_py(image: np.ndarray, pos: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Plain-Python twin of :func:`bilinear_sample`."""
    h, w = image.shape
    out = np.zeros(pos.shape[0])
    for i in range(pos.shape[0]):
        if not use[i]:
            continue
        x = min(max(float(pos[i, 0]), 0.0), w - 1.0)
        y = min(max(float(pos[i, 1]), 0.0), h - 1.0)
        x0 = min(math.floor(x), w - 2)
        y0 = min(math.floor(y), h - 2)
        fx, fy = x - x0, y - y0
        out[i] = (
            image[y0, x0] * (1 - fx) * (1 - fy)
            + image[y0, x0 + 1] * fx * (1 - fy)
            + image[y0 + 1, x0] * (1 - fx) * fy
            + image[y0 + 1, x0 + 1] * fx * fy
        )
    return out


# --------------------------------------------------------------------------- rasterising
@njit(cache=True, nogil=True)
def rasterize_into(pos: np.ndarray, values: np.ndarray, use: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> None:
    """Add samples to per-pixel sums (H, W) float64 and counts (H, W) int32, in place.

    Args:
        pos: (M, 2) float64 (x, y) px where each sample is registered.
        values: (M,) float64 sample values.
        use: (M,) bool; False entries (blanked) are skipped, as are positions off the image.
    """
    height, width = counts.shape
    for i in range(pos.shape[0]):
        if not use[i]:
            continue
        c = int(math.floor(pos[i, 0] + 0.5))
        r = int(math.floor(pos[i, 1] + 0.5))
        if 0 <= r < height and 0 <= c < width:
            sums[r, c] += values[i]
            counts[r, c] += 1


@njit(cache=True, nogil=True)
def rasterize(
    pos: np.ndarray, values: np.ndarray, use: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Accumulate samples into pixels (:func:`rasterize_into` on fresh arrays).

    Returns:
        ``sums`` (H, W) float64, sum of the values per pixel, and ``counts`` (H, W) int32.
    """
    sums = np.zeros((height, width))
    counts = np.zeros((height, width), dtype=np.int32)
    rasterize_into(pos, values, use, sums, counts)
    return sums, counts


def rasterize_py(
    pos: np.ndarray, values: np.ndarray, use: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Plain-Python twin of :func:`rasterize`."""
    sums = np.zeros((height, width))
    counts = np.zeros((height, width), dtype=np.int32)
    xs, ys, vs, us = pos[:, 0].tolist(), pos[:, 1].tolist(), values.tolist(), use.tolist()
    for i in range(len(xs)):
        if not us[i]:
            continue
        c = math.floor(xs[i] + 0.5)
        r = math.floor(ys[i] + 0.5)
        if 0 <= r < height and 0 <= c < width:
            sums[r, c] += vs[i]
            counts[r, c] += 1
    return sums, counts


def rasterize_numpy(
    pos: np.ndarray, values: np.ndarray, use: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised NumPy version of :func:`rasterize` (``np.add.at``), for speed comparison."""
    c = np.floor(pos[:, 0] + 0.5).astype(np.int64)
    r = np.floor(pos[:, 1] + 0.5).astype(np.int64)
    keep = use & (r >= 0) & (r < height) & (c >= 0) & (c < width)
    flat = r[keep] * width + c[keep]
    sums = np.bincount(flat, weights=values[keep], minlength=height * width)
    counts = np.bincount(flat, minlength=height * width).astype(np.int32)
    return sums.reshape(height, width), counts.reshape(height, width)


@njit(cache=True, nogil=True)
def cumulative_coverage(pos: np.ndarray, use: np.ndarray, height: int, width: int) -> np.ndarray:
    """Number of distinct pixels hit by each prefix of a path.

    Args:
        pos: (M, 2) float64 (x, y) px. use: (M,) bool, False for blanked samples.

    Returns:
        (M,) int64: entry ``i`` is the number of distinct in-image pixels hit by samples
        ``0..i``.
    """
    seen = np.zeros((height, width), dtype=np.bool_)
    out = np.empty(pos.shape[0], dtype=np.int64)
    n = 0
    for i in range(pos.shape[0]):
        if use[i]:
            c = int(math.floor(pos[i, 0] + 0.5))
            r = int(math.floor(pos[i, 1] + 0.5))
            if 0 <= r < height and 0 <= c < width and not seen[r, c]:
                seen[r, c] = True
                n += 1
        out[i] = n
    return out


def cumulative_coverage_py(pos: np.ndarray, use: np.ndarray, height: int, width: int) -> np.ndarray:
    """Plain-Python twin of :func:`cumulative_coverage`."""
    seen: set[tuple[int, int]] = set()
    out = np.empty(pos.shape[0], dtype=np.int64)
    for i in range(pos.shape[0]):
        if use[i]:
            c = math.floor(pos[i, 0] + 0.5)
            r = math.floor(pos[i, 1] + 0.5)
            if 0 <= r < height and 0 <= c < width:
                seen.add((r, c))
        out[i] = len(seen)
    return out


# --------------------------------------------------------------------------- random walk
@njit(cache=True, nogil=True)
def random_walk(
    start: np.ndarray, heading: float, turns: np.ndarray, step: float, height: int, width: int
) -> np.ndarray:
    """A persistent random walk that reflects off the image border.

    Args:
        start: (2,) float64 start (x, y) px. heading: initial direction in radians.
        turns: (M,) float64 change of heading at each step, radians.
        step: step length in px.

    Returns:
        (M + 1, 2) float64 positions, starting at ``start``.
    """
    m = turns.shape[0]
    out = np.empty((m + 1, 2))
    x, y = start[0], start[1]
    out[0, 0] = x
    out[0, 1] = y
    xmax = width - 1.0
    ymax = height - 1.0
    for i in range(m):
        heading += turns[i]
        dx = step * math.cos(heading)
        dy = step * math.sin(heading)
        x += dx
        y += dy
        if x < 0.0 or x > xmax:
            x = -x if x < 0.0 else 2.0 * xmax - x
            heading = math.pi - heading
        if y < 0.0 or y > ymax:
            y = -y if y < 0.0 else 2.0 * ymax - y
            heading = -heading
        x = min(max(x, 0.0), xmax)
        y = min(max(y, 0.0), ymax)
        out[i + 1, 0] = x
        out[i + 1, 1] = y
    return out

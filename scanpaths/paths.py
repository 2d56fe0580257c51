"""Commanded scan paths: where the scan generator tells the beam to go, tick by tick.

A :class:`ScanPath` is a list of beam positions in pixel units at the scan clock (one position
per dwell), with a ``blanked`` flag for samples where the beam is off and the indices of
``jumps``, where the command steps discontinuously (raster flyback, random-point moves); the
physics in :mod:`scanpaths.physics` spends flyback and settling time at every jump.

Every kind can be asked for by target **coverage** (fraction of the H x W pixels hit): the path's
own density parameter (line spacing, spiral pitch, Lissajous lobes, walk length, ...) is solved
for first, then, where that parameter is too coarse for the image (a 64 px image cannot hold
1/100 of its pixels in whole rows), the sample spacing along the path (``step``, px) is raised
until the coverage of the final mask is within 5 % (relative) of the target.
Coverage is measured on the mask of the commanded path: the pixels of all non-blanked samples,
which is also the mask :func:`scanpaths.simulate` records (samples are registered where the scan
generator commanded them, as a real microscope does).

Path kinds live in the registry :data:`PATH_KINDS` (name -> :class:`PathKind`); a new kind is
one :func:`register_path_kind` call, and every command-line choice, suite check and help text
that lists path kinds reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _kernels as K
from .common import parse_coverage
from .errors import InputError, check_number, check_seed, check_shape
from .registry import Registry

__all__ = [
    "PATH_KINDS",
    "PathKind",
    "PathRequest",
    "ScanPath",
    "make_path",
    "path_coverage",
    "random_polyline",
    "register_path_kind",
    "sample_path",
]

_COVERAGE_TOL = 0.05  # relative, the promise
_SOLVE_TOL = 0.01  # relative, what the solver aims for
_MAX_STEP = 24.0  # px: the sparsest sampling along a path the solver may use


@dataclass(frozen=True, eq=False)
class ScanPath:
    """A commanded scan path.

    Attributes:
        kind: the path kind (a name of :data:`PATH_KINDS`, or what made it: ``learned``, ``stream``).
        shape: image size ``(H, W)`` in pixels the path was made for.
        positions: (N, 2) float64 commanded beam positions ``(x, y)`` in px, one per scan-clock
            tick; pixel ``(r, c)`` is centred at ``x = c, y = r``.
        blanked: (N,) bool, True where the beam is blanked (nothing recorded).
        jumps: (K,) int64 sorted indices ``i >= 1`` where the command jumps from
            ``positions[i - 1]`` to ``positions[i]``; the physics inserts flyback and settling
            time before each.
        params: the parameters the path was built with (spacing, step, seed, ...).
        settle_px: after each jump, wait (beam blanked) until the coil's transient is below
            this many px (0: only the preset's fixed settle time, as a raster flyback does).
    """

    kind: str
    shape: tuple[int, int]
    positions: np.ndarray
    blanked: np.ndarray
    jumps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    params: dict[str, Any] = field(default_factory=dict)
    settle_px: float = 0.0

    def __post_init__(self) -> None:
        shape = check_shape(self.shape, "path shape")
        check_number(self.settle_px, "settle_px", 0.0, 1e6)
        pos = np.ascontiguousarray(self.positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 2 or pos.shape[0] < 1:
            raise InputError(f"path positions must have shape (N, 2) with N >= 1, got {pos.shape}")
        if not np.isfinite(pos).all():
            raise InputError("path positions contain NaN or inf")
        blanked = np.ascontiguousarray(self.blanked, dtype=bool)
        if blanked.shape != (pos.shape[0],):
            raise InputError(f"path blanked must have shape ({pos.shape[0]},), got {blanked.shape}")
        jumps = np.ascontiguousarray(self.jumps, dtype=np.int64)
        if jumps.ndim != 1 or (
            jumps.size and (jumps.min() < 1 or jumps.max() >= pos.shape[0] or (np.diff(jumps) <= 0).any())
        ):
            raise InputError("path jumps must be sorted unique indices in [1, N)")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "blanked", blanked)
        object.__setattr__(self, "jumps", jumps)

    @property
    def n_samples(self) -> int:
        """Number of scan-clock ticks N (blanked ones included)."""
        return int(self.positions.shape[0])

    def mask(self) -> np.ndarray:
        """(H, W) bool: pixels hit by the non-blanked commanded samples."""
        h, w = self.shape
        _, counts = K.rasterize(self.positions, np.zeros(self.n_samples), ~self.blanked, h, w)
        return counts > 0

    @property
    def coverage(self) -> float:
        """Fraction of the image's pixels hit by the commanded path, in [0, 1]."""
        return path_coverage(self)

    def __repr__(self) -> str:
        return (
            f"ScanPath(kind={self.kind!r}, shape={self.shape}, n_samples={self.n_samples}, "
            f"jumps={self.jumps.size}, coverage={self.coverage:.4f})"
        )


def path_coverage(path: ScanPath) -> float:
    """Fraction of ``path.shape`` pixels hit by the non-blanked samples of ``path``."""
    h, w = path.shape
    cum = K.cumulative_coverage(path.positions, ~path.blanked, h, w)
    return float(cum[-1]) / (h * w)


# --------------------------------------------------------------------------- builders
def _smooth_path(kind: str, shape: tuple[int, int], pos: np.ndarray, params: dict[str, Any]) -> ScanPath:
    """A path the beam follows continuously: never blanked, no jumps."""
    return ScanPath(kind, shape, pos, np.zeros(len(pos), bool), np.zeros(0, np.int64), params)


def _samples_on_segment(p0: np.ndarray, p1: np.ndarray, step: float, include_end: bool) -> np.ndarray:
    """(n, 2) points from ``p0`` towards ``p1`` spaced ``step`` px (``p0`` included)."""
    length = float(np.hypot(*(p1 - p0)))
    n = int(math.floor(length / step + 1e-9))
    t = np.arange(n + 1) * step
    if not include_end:
        t = t[t < length - 1e-9]
    if length == 0:
        return p0[None, :].copy()
    return p0 + np.outer(t / length, p1 - p0)


def _line_positions(width: int, step: float) -> np.ndarray:
    """x positions of one scan line: 0, step, 2 step, ... <= W - 1."""
    return np.arange(0.0, width - 1 + 1e-9, step)


def _row_positions(height: int, spacing: float) -> np.ndarray:
    """y positions of lines ``spacing`` px apart, centred in ``[0, H - 1]``."""
    n = int(math.floor((height - 1) / spacing + 1e-9)) + 1
    span = (n - 1) * spacing
    return (height - 1 - span) / 2 + np.arange(n) * spacing


def _concat(segments: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (n_i, 2) segments; return positions and the start index of each segment."""
    starts = np.cumsum([0] + [len(s) for s in segments[:-1]]).astype(np.int64)
    return np.concatenate(segments, axis=0), starts


def _build_raster(shape: tuple[int, int], spacing: float, step: float) -> ScanPath:
    h, w = shape
    xs = _line_positions(w, step)
    rows = [np.column_stack([xs, np.full_like(xs, y)]) for y in _row_positions(h, spacing)]
    pos, starts = _concat(rows)
    return ScanPath(
        "raster",
        shape,
        pos,
        np.zeros(len(pos), bool),
        starts[1:],
        {"spacing": spacing, "step": step},
    )


def _build_serpentine(shape: tuple[int, int], spacing: float, step: float) -> ScanPath:
    h, w = shape
    xs = _line_positions(w, step)
    ys = _row_positions(h, spacing)
    segs: list[np.ndarray] = []
    for i, y in enumerate(ys):
        line_x = xs if i % 2 == 0 else xs[::-1]
        segs.append(np.column_stack([line_x, np.full_like(line_x, y)]))
        if i + 1 < len(ys):  # the turn: beam on, moving down the edge to the next line
            end = segs[-1][-1]
            nxt = np.array([end[0], ys[i + 1]])
            turn = _samples_on_segment(end, nxt, step, include_end=False)[1:]
            if len(turn):
                segs.append(turn)
    pos, _ = _concat(segs)
    return _smooth_path("serpentine", shape, pos, {"spacing": spacing, "step": step})


def _build_grid(shape: tuple[int, int], spacing: float, step: float) -> ScanPath:
    h, w = shape
    xs = _line_positions(w, step)
    ys = _line_positions(h, step)
    segs = [np.column_stack([xs, np.full_like(xs, y)]) for y in _row_positions(h, spacing)]
    segs += [np.column_stack([np.full_like(ys, x), ys]) for x in _row_positions(w, spacing)]
    pos, starts = _concat(segs)
    return ScanPath("grid", shape, pos, np.zeros(len(pos), bool), starts[1:], {"spacing": spacing, "step": step})


def _spiral_theta(s: np.ndarray, b: float) -> np.ndarray:
    """Invert the arc length of the Archimedean spiral r = b * theta (Newton's method)."""
    theta = np.sqrt(2.0 * s / b)
    for _ in range(6):
        arc = 0.5 * b * (theta * np.sqrt(1 + theta**2) + np.arcsinh(theta))
        theta = theta - (arc - s) / (b * np.sqrt(1 + theta**2))
        np.maximum(theta, 0.0, out=theta)
    return theta


def _build_spiral(shape: tuple[int, int], spacing: float, step: float) -> ScanPath:
    """Archimedean spiral from the centre out to the corners at constant linear velocity.

    ``spacing`` is the distance between turns (px); samples outside the image are blanked.
    """
    h, w = shape
    b = spacing / (2 * math.pi)
    r_max = 0.5 * math.hypot(h, w)
    theta_max = r_max / b
    s_max = 0.5 * b * (theta_max * math.sqrt(1 + theta_max**2) + math.asinh(theta_max))
    s = np.arange(0.0, s_max, step)
    theta = _spiral_theta(s, b)
    r = b * theta
    cx, cy = (w - 1) / 2, (h - 1) / 2
    pos = np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])
    blanked = (pos[:, 0] < -0.5) | (pos[:, 0] >= w - 0.5) | (pos[:, 1] < -0.5) | (pos[:, 1] >= h - 0.5)
    return ScanPath("spiral", shape, pos, blanked, np.zeros(0, np.int64), {"spacing": spacing, "step": step})


#: Exponent of the squircle spiral's turns, |x|^p + |y|^p = r^p (2: circles; large: squares).
SQUIRCLE_POWER = 4.0
#: How far past the field's edges along its axes (in turn spacings) the squircle spiral's last
#: turn goes (half a spacing: the edges are scanned; the corners beyond it are not).
SQUIRCLE_OVERRUN = 0.5


def _build_squircle(shape: tuple[int, int], spacing: float, step: float) -> ScanPath:
    """A spiral whose turns are squircles (superellipses, :data:`SQUIRCLE_POWER`) fitted to the
    field, from the centre out at constant linear velocity.

    The Archimedean spiral of :func:`_build_spiral` circumscribes the field, so at equal scan
    time about a third of its ticks fall beyond the edges, blanked; these turns stay inside
    but for the last (:data:`SQUIRCLE_OVERRUN`): on 256 px fields 1.5 x the samples of a spiral
    in the same time, along a path as smooth (no corners, no jumps). ``spacing`` is the distance
    between turns along the shorter axis (px; along the longer one it is stretched by the
    aspect ratio); it widens towards the diagonals (by 2 ** (1/2 - 1/p), 1.19 x for p = 4).
    The corners beyond the last turn (about 7 % of the field, at most a sixth of the
    half-diagonal deep) are left to the completer: variants whose outer turns grow
    square enough to reach them (the exponent rising to 12-24) scored up to 1.46 x worse at
    equal time on 256 px specimens with ``gan-mse`` (better only on low-magnification scenes at
    1/20), and p = 8 or 16 throughout 1.2-1.5 x worse on lattices.
    """
    h, w = shape
    hx, hy = max((w - 1) / 2, 0.5), max((h - 1) / 2, 0.5)
    a = min(hx, hy)
    p = SQUIRCLE_POWER
    reach = min(2 ** (1 / p), 1 + SQUIRCLE_OVERRUN * spacing / a)  # the last turn's radius, in half-fields
    b = spacing / (2 * math.pi)
    theta_max = reach * a / b
    s_max = 0.5 * b * (theta_max * math.sqrt(1 + theta_max**2) + math.asinh(theta_max))
    # an Archimedean spiral at half a step, stretched onto the squircles, then resampled by arc length
    theta = _spiral_theta(np.arange(0.0, s_max, 0.5 * min(step, 1.0)), b)
    c, s = np.cos(theta), np.sin(theta)
    radius = (b * theta / a) * (np.abs(c) ** p + np.abs(s) ** p) ** (-1 / p)
    x = (w - 1) / 2 + radius * c * hx
    y = (h - 1) / 2 + radius * s * hy
    arc = np.r_[0.0, np.cumsum(np.hypot(np.diff(x), np.diff(y)))]
    t = np.arange(0.0, arc[-1] + 1e-9, step)
    pos = np.column_stack([np.interp(t, arc, x), np.interp(t, arc, y)])
    blanked = (pos[:, 0] < -0.5) | (pos[:, 0] >= w - 0.5) | (pos[:, 1] < -0.5) | (pos[:, 1] >= h - 0.5)
    return ScanPath("squircle", shape, pos, blanked, np.zeros(0, np.int64), {"spacing": spacing, "step": step})


def _build_lissajous(shape: tuple[int, int], lobes: int, step: float) -> ScanPath:
    """Closed Lissajous figure x ~ sin(2 pi n t + phi), y ~ sin(2 pi (n+1) t), uniform in time.

    The phase ``phi = pi / (4 n + 2)`` keeps the figure from folding back onto itself (at
    ``pi / 2`` it degenerates for some ``n``), so its coverage grows steadily with ``n``.

    The coils are driven by pure sines, so the beam is fastest at the centre and slowest at the
    edges; the time step is chosen so the *fastest* beam speed is ``step`` px per tick (no gaps
    along the path at ``step = 1``).
    """
    h, w = shape
    n = int(lobes)
    ax, ay = (w - 1) / 2, (h - 1) / 2
    vmax = 2 * np.pi * math.hypot(n * ax, (n + 1) * ay)  # px per period, an upper bound
    count = max(int(math.ceil(vmax / step)), 2)
    t = np.arange(count) / count
    phase = np.pi / (4 * n + 2)
    pos = np.column_stack(
        [
            ax + ax * np.sin(2 * np.pi * n * t + phase),
            ay + ay * np.sin(2 * np.pi * (n + 1) * t),
        ]
    )
    return _smooth_path("lissajous", shape, pos, {"lobes": n, "step": step})


def _build_random(shape: tuple[int, int], n_points: int, rng: np.random.Generator) -> ScanPath:
    """Distinct random pixels, visited row by row in serpentine order; every move is a jump."""
    h, w = shape
    flat = rng.choice(h * w, size=n_points, replace=False)
    r, c = np.divmod(flat, w)
    order = np.lexsort((np.where(r % 2 == 0, c, -c), r))
    pos = np.column_stack([c[order], r[order]]).astype(np.float64)
    return ScanPath(
        "random",
        shape,
        pos,
        np.zeros(len(pos), bool),
        np.arange(1, len(pos), dtype=np.int64),
        {"n_points": int(n_points)},
        settle_px=0.5,
    )


def _truncate_to_coverage(path: ScanPath, target_pixels: int | None) -> ScanPath:
    """Keep the shortest prefix of ``path`` that hits ``target_pixels`` distinct pixels."""
    if target_pixels is None:
        return path
    h, w = path.shape
    cum = K.cumulative_coverage(path.positions, ~path.blanked, h, w)
    if cum[-1] < target_pixels:
        raise InputError(
            f"coverage: this {path.kind} path reaches only {cum[-1] / (h * w):.4g} of the image, "
            f"less than the target {target_pixels / (h * w):.4g}"
        )
    n = int(np.searchsorted(cum, target_pixels)) + 1
    jumps = path.jumps[path.jumps < n]
    return ScanPath(
        path.kind,
        path.shape,
        path.positions[:n],
        path.blanked[:n],
        jumps,
        path.params,
        path.settle_px,
    )


def _build_random_walk(
    shape: tuple[int, int],
    target_pixels: int,
    step: float,
    turn_sigma: float,
    rng: np.random.Generator,
) -> ScanPath:
    """Persistent random walk from the centre, reflecting at the border, until it has hit
    ``target_pixels`` distinct pixels."""
    h, w = shape
    start = np.array([(w - 1) / 2, (h - 1) / 2])
    heading = float(rng.uniform(0, 2 * np.pi))
    n = max(int(2 * target_pixels / max(step, 1.0)), 16)
    turns = rng.normal(0.0, turn_sigma, size=n)
    limit = 64 * h * w
    while True:
        pos = K.random_walk(start, heading, turns, step, h, w)
        cum = K.cumulative_coverage(pos, np.ones(len(pos), bool), h, w)
        if cum[-1] >= target_pixels:
            break
        if len(turns) > limit:
            raise InputError(
                f"coverage: a random walk reached only {cum[-1] / (h * w):.3g} of the image "
                f"within {limit} steps; ask for a lower coverage"
            )
        turns = np.concatenate([turns, rng.normal(0.0, turn_sigma, size=len(turns))])
    path = _smooth_path("random-walk", shape, pos, {"step": step, "turn_sigma": turn_sigma})
    return _truncate_to_coverage(path, target_pixels)


def _build_waypoints(shape: tuple[int, int], waypoints: Any, step: float) -> ScanPath:
    """A polyline through ``waypoints`` (K, 2) (x, y) px, sampled every ``step`` px."""
    h, w = shape
    pts = np.asarray(waypoints, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 1:
        raise InputError(f"waypoints must have shape (K, 2) with K >= 1, got {pts.shape}")
    if not np.isfinite(pts).all():
        raise InputError("waypoints contain NaN or inf")
    inside = (pts[:, 0] >= -0.5) & (pts[:, 0] <= w - 0.5) & (pts[:, 1] >= -0.5) & (pts[:, 1] <= h - 0.5)
    if not inside.all():
        bad = pts[~inside][0]
        raise InputError(
            f"waypoints must lie in x in [-0.5, {w - 0.5}], y in [-0.5, {h - 0.5}]; got ({bad[0]:g}, {bad[1]:g})"
        )
    segs = [_samples_on_segment(pts[i], pts[i + 1], step, include_end=False) for i in range(len(pts) - 1)]
    segs.append(pts[-1:].copy())
    pos = np.concatenate(segs, axis=0)
    return _smooth_path("waypoints", shape, pos, {"step": step, "n_waypoints": len(pts)})


_SPACING_BUILDERS: dict[str, Callable[[tuple[int, int], float, float], ScanPath]] = {
    "raster": _build_raster,
    "serpentine": _build_serpentine,
    "grid": _build_grid,
    "spiral": _build_spiral,
    "squircle": _build_squircle,
}


# --------------------------------------------------------------------------- coverage solver
def _solve_spacing(
    build: Callable[[float, float], ScanPath],
    shape: tuple[int, int],
    target: float,
    integer: bool,
    guess: float | None = None,
) -> ScanPath:
    """Solve a path's density parameter, then the along-path step, for a target coverage.

    ``build(param, step)`` must give a coverage that falls as ``param`` rises (a spacing) for
    ``integer=False``, and that rises with ``param`` (a count of lobes) for ``integer=True``.
    ``guess`` is an estimate of the spacing, used to start with a narrow bracket.
    """
    h, w = shape

    def close(c: float) -> bool:
        return abs(c - target) <= _SOLVE_TOL * target

    # Stage 1, at step 1 px: bisect for the sparsest path whose coverage is still >= target.
    # ``dense`` is the parameter end with coverage >= target, ``sparse`` the other.
    if integer:
        dense_p: float = 1.0
        while path_coverage(build(dense_p, 1.0)) < target and dense_p < 4 * max(h, w):
            dense_p *= 2
        sparse_p: float = max(dense_p // 2, 1.0)
    else:
        lo_lim, hi_lim = 0.5, 2.0 * max(h, w)
        dense_p, sparse_p = lo_lim, hi_lim
        if guess is not None:  # narrow the bracket around the guess, widening it if it misses
            dense_p = min(max(guess / 1.2, lo_lim), hi_lim)
            sparse_p = min(max(guess * 1.2, lo_lim), hi_lim)
            while dense_p > lo_lim and path_coverage(build(dense_p, 1.0)) < target:
                sparse_p, dense_p = dense_p, max(lo_lim, dense_p / 1.5)
            while sparse_p < hi_lim and path_coverage(build(sparse_p, 1.0)) >= target:
                dense_p, sparse_p = sparse_p, min(hi_lim, sparse_p * 1.5)
    best = build(dense_p, 1.0)
    c = path_coverage(best)
    if close(c) or c < target:
        return _checked(best, target)
    for _ in range(60):
        if integer:
            if abs(dense_p - sparse_p) <= 1:
                break
            mid = float((dense_p + sparse_p) // 2)
        else:
            if dense_p / sparse_p > 1 - 1e-6:
                break
            mid = math.sqrt(dense_p * sparse_p)
        p = build(mid, 1.0)
        c = path_coverage(p)
        if close(c):
            return p
        if c >= target:
            dense_p, best = mid, p
        else:
            sparse_p = mid

    # Stage 2: the density parameter is too coarse here; thin the samples along the path.
    lo_s, hi_s = 1.0, _MAX_STEP
    result, err = best, abs(path_coverage(best) - target)
    for _ in range(40):
        mid = 0.5 * (lo_s + hi_s)
        p = build(dense_p, mid)
        c = path_coverage(p)
        if abs(c - target) < err:
            result, err = p, abs(c - target)
        if close(c):
            break
        if c > target:
            lo_s = mid
        else:
            hi_s = mid
    return _checked(result, target)


def _checked(path: ScanPath, target: float) -> ScanPath:
    c = path_coverage(path)
    if abs(c - target) > _COVERAGE_TOL * target:
        h, w = path.shape
        raise InputError(
            f"coverage: a {path.kind} path on {h}x{w} px cannot reach {target:.4g} within "
            f"{_COVERAGE_TOL:.0%} (best {c:.4g}); choose another coverage or path kind"
        )
    return path


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class PathRequest:
    """A checked request for a path, handed to a kind's builder.

    ``coverage`` is None when the caller gave an explicit density instead (``spacing`` or one
    of the kind's ``density`` parameters); ``target_pixels`` is ``round(coverage * H * W)``.
    """

    kind: str
    shape: tuple[int, int]
    coverage: float | None
    spacing: float | None
    step: float
    rng: np.random.Generator
    params: dict[str, Any]

    @property
    def target_pixels(self) -> int | None:
        h, w = self.shape
        return None if self.coverage is None else max(1, int(round(self.coverage * h * w)))


@dataclass(frozen=True)
class PathKind:
    """A registered path kind.

    Attributes:
        name: the kind's name.
        help: one line for ``--help`` texts and tables.
        build: ``build(request) -> ScanPath``.
        density: the kind's own density parameters (``spacing`` counts for kinds that take it),
            given instead of a coverage.
        params: every keyword parameter the kind takes besides ``coverage``, ``seed``,
            ``spacing`` and ``step``.
        default_coverage: the coverage used when neither a coverage nor a density is given
            (None: the kind has a natural extent, e.g. a given polyline).
        sample: ``sample(shape, seed, coverage) -> params`` that a path of this kind needs and
            that a benchmark can draw (a waypoints path's random polyline); None when the kind
            needs nothing beyond its coverage.
    """

    name: str
    help: str
    build: Callable[[PathRequest], ScanPath]
    density: frozenset[str] = frozenset()
    params: frozenset[str] = frozenset()
    default_coverage: float | None = 0.1
    sample: Callable[[tuple[int, int], Any, float], dict[str, Any]] | None = None


#: The path kinds :func:`make_path` knows, by name.
PATH_KINDS: Registry[PathKind] = Registry("path kind")


def register_path_kind(kind: PathKind, *, replace: bool = False) -> PathKind:
    """Add a path kind to :data:`PATH_KINDS` (and so to the CLI, suites and scan strategies)."""
    return PATH_KINDS.register(kind.name, kind, help=kind.help, replace=replace)


def _spacing_kind(name: str, build: Callable[[tuple[int, int], float, float], ScanPath], help: str) -> PathKind:
    def make(req: PathRequest) -> ScanPath:
        if req.spacing is not None:
            return build(req.shape, req.spacing, req.step)
        if req.coverage is None:
            raise InputError(f"{name} takes coverage or spacing")
        guess = (2.0 if name == "grid" else 1.0) / req.coverage  # a line of 1 px width every `spacing` px
        return _solve_spacing(lambda p, s: build(req.shape, p, s), req.shape, req.coverage, integer=False, guess=guess)

    return PathKind(name, help, make, density=frozenset({"spacing"}))


def _make_lissajous(req: PathRequest) -> ScanPath:
    if "lobes" in req.params:
        lobes = check_number(req.params["lobes"], "lobes", 1, 1e5)
        return _build_lissajous(req.shape, int(lobes), req.step)
    if req.coverage is None:
        raise InputError("lissajous takes coverage or lobes")
    return _solve_spacing(lambda p, s: _build_lissajous(req.shape, int(p), s), req.shape, req.coverage, integer=True)


def _make_random(req: PathRequest) -> ScanPath:
    h, w = req.shape
    if "n_points" in req.params:
        n = int(check_number(req.params["n_points"], "n_points", 1, h * w))
    else:
        n = req.target_pixels  # type: ignore[assignment]
    return _build_random(req.shape, n, req.rng)


def _make_random_walk(req: PathRequest) -> ScanPath:
    h, w = req.shape
    sigma = check_number(req.params.get("turn_sigma", 0.25), "turn_sigma", 0.0, 2 * math.pi)
    if "n_steps" in req.params:
        n = int(check_number(req.params["n_steps"], "n_steps", 1, 1e9))
        start = np.array([(w - 1) / 2, (h - 1) / 2])
        pos = K.random_walk(start, float(req.rng.uniform(0, 2 * np.pi)), req.rng.normal(0, sigma, n), req.step, h, w)
        return _smooth_path("random-walk", req.shape, pos, {"step": req.step, "turn_sigma": sigma})
    path = _build_random_walk(req.shape, req.target_pixels, 1.0, sigma, req.rng)  # type: ignore[arg-type]
    return _checked(path, req.coverage) if req.coverage is not None else path


def _make_waypoints(req: PathRequest) -> ScanPath:
    if "waypoints" not in req.params:
        raise InputError("waypoints path needs waypoints=(K, 2) array of (x, y) px")
    path = _build_waypoints(req.shape, req.params["waypoints"], req.step)
    path = _truncate_to_coverage(path, req.target_pixels)
    return _checked(path, req.coverage) if req.coverage is not None else path


def _sample_waypoints(shape: tuple[int, int], seed: Any, coverage: float) -> dict[str, Any]:
    return {"waypoints": random_polyline(shape, seed, coverage)}


for _kind in (
    _spacing_kind("raster", _build_raster, "rows left to right, a flyback jump before each"),
    _spacing_kind("serpentine", _build_serpentine, "rows alternately left-right and right-left, no flyback"),
    _spacing_kind("grid", _build_grid, "rows then columns (flyback before each line)"),
    _spacing_kind("spiral", _build_spiral, "Archimedean spiral from the centre at constant speed"),
    _spacing_kind(
        "squircle", _build_squircle, "spiral of rounded squares filling the field: 1.5 x a spiral's samples per second"
    ),
    PathKind(
        "lissajous", "closed Lissajous figure of sine-driven coils", _make_lissajous, density=frozenset({"lobes"})
    ),
    PathKind(
        "random",
        "distinct random pixels, each a jump that waits for the coils to settle",
        _make_random,
        density=frozenset({"n_points"}),
    ),
    PathKind(
        "random-walk",
        "persistent random walk reflecting off the edges",
        _make_random_walk,
        density=frozenset({"n_steps"}),
        params=frozenset({"turn_sigma"}),
    ),
    PathKind(
        "waypoints",
        "a polyline through given (x, y) points (benchmarks draw a random one)",
        _make_waypoints,
        params=frozenset({"waypoints"}),
        default_coverage=None,
        sample=_sample_waypoints,
    ),
):
    register_path_kind(_kind)


# --------------------------------------------------------------------------- public API
def make_path(
    kind: str,
    shape: tuple[int, int],
    coverage: float | str | None = None,
    *,
    seed: int | np.random.Generator | None = 0,
    spacing: float | None = None,
    step: float = 1.0,
    **params: Any,
) -> ScanPath:
    """Make a commanded scan path.

    Args:
        kind: a name of :data:`PATH_KINDS`.
        shape: image size ``(H, W)`` in px, each in [2, 16384].
        coverage: target fraction of pixels hit, in (0, 1] (a number, or text such as
            ``"1/20"``); the path's density is solved so the
            mask's coverage is within 5 % (relative) of it. Give either ``coverage`` or the
            kind's own density parameter (``spacing`` px for raster, serpentine, grid and spiral;
            ``lobes`` for lissajous; ``n_points`` for random; ``n_steps`` for random-walk);
            with neither, coverage 1/10 is used. For ``waypoints`` the polyline is cut where
            it first reaches the coverage, or kept whole when coverage is None.
        seed: seed or generator for the random kinds (random, random-walk).
        spacing: line or turn spacing in px (> 0), instead of ``coverage``.
        step: sample spacing along the path in px (> 0), used with ``spacing`` and the other
            explicit density parameters; the coverage solver picks its own.
        **params: kind-specific: ``lobes`` (int >= 1), ``n_points`` (int >= 1), ``n_steps``
            (int >= 1), ``turn_sigma`` (radians per step, default 0.25), ``waypoints`` ((K, 2)
            array of (x, y) px).

    Returns:
        The :class:`ScanPath`.

    Raises:
        InputError: for an unknown kind or a parameter out of range.
    """
    entry = PATH_KINDS[kind]
    shape = check_shape(shape)
    step = check_number(step, "step", 0.0, 1e6, low_open=True)
    if isinstance(coverage, str):  # "1/20" or "0.05", as the command line takes it
        coverage = parse_coverage(coverage)
    if coverage is not None:
        coverage = check_number(coverage, "coverage", 0.0, 1.0, low_open=True)
    if spacing is not None:
        if "spacing" not in entry.density:
            raise InputError(f"a {kind} path takes no spacing")
        spacing = check_number(spacing, "spacing", 0.0, 1e6, low_open=True)
    known = entry.density | entry.params
    unknown = set(params) - known
    if unknown:
        names = ", ".join(sorted(known - {"spacing"})) or "none"
        raise InputError(f"unknown path parameter(s) {sorted(unknown)} for a {kind} path; it takes: {names}")
    explicit = spacing is not None or any(k in params for k in entry.density)
    if coverage is not None and explicit:
        raise InputError(f"give either coverage or an explicit density ({', '.join(sorted(entry.density))}), not both")
    if coverage is None and not explicit:
        coverage = entry.default_coverage
    seed = check_seed(seed)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return entry.build(PathRequest(kind, shape, coverage, spacing, step, rng, params))


def sample_path(
    kind: str, shape: tuple[int, int], coverage: float, seed: int | np.random.Generator | None = 0
) -> ScanPath:
    """A path of ``kind`` at ``coverage`` with whatever else the kind needs drawn from ``seed``
    (a waypoints path gets a random polyline): what benchmarks and training scan.

    With an int seed, the extra parameters and the path each start from that seed; with a
    generator, both draw from it in turn.
    """
    entry = PATH_KINDS[kind]
    extra = entry.sample(shape, seed, coverage) if entry.sample is not None else {}
    return make_path(kind, shape, coverage=coverage, seed=seed, **extra)


def random_polyline(
    shape: tuple[int, int], seed: int | np.random.Generator | None = 0, coverage: float = 0.1
) -> np.ndarray:
    """A smooth random polyline (n, 2) (x, y) px, standing in for an agent's path, long enough
    to cover ``coverage`` of the image with room to spare."""
    h, w = shape
    seed = check_seed(seed)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    seg = 0.06 * min(h, w)
    n = int(np.ceil(2.0 * coverage * h * w / seg)) + 2
    heading = np.cumsum(rng.normal(0, 0.35, n))
    pts = np.empty((n, 2))
    pts[0] = ((w - 1) / 2, (h - 1) / 2)
    for i in range(1, n):
        nxt = pts[i - 1] + seg * np.array([np.cos(heading[i]), np.sin(heading[i])])
        if not (0 <= nxt[0] <= w - 1 and 0 <= nxt[1] <= h - 1):
            heading[i:] += np.pi / 2 + rng.uniform(0, np.pi / 2)
            nxt = np.clip(nxt, 0, [w - 1, h - 1])
        pts[i] = nxt
    return pts

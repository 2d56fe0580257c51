"""Commanded paths: coverage targeting, monotonicity, determinism and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scanpaths
from scanpaths import InputError, make_path

KINDS = [k for k in scanpaths.PATH_KINDS if k != "waypoints"]
COVERAGES = [1 / 10, 1 / 20, 1 / 50, 1 / 100]


def _waypoints(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    h, w = shape
    return np.random.default_rng(seed).uniform([0, 0], [w - 1, h - 1], size=(400, 2))


@pytest.mark.parametrize("shape", [(64, 64), (100, 300), (256, 256), (512, 512)])
@pytest.mark.parametrize("kind", scanpaths.PATH_KINDS)
def test_coverage_is_within_5_percent_of_target(kind: str, shape: tuple[int, int]) -> None:
    extra = {"waypoints": _waypoints(shape)} if kind == "waypoints" else {}
    for target in COVERAGES:
        path = make_path(kind, shape, coverage=target, seed=3, **extra)
        assert abs(path.coverage - target) <= 0.05 * target, (kind, shape, target, path.coverage)
        assert path.mask().mean() == pytest.approx(path.coverage)


@pytest.mark.parametrize("kind", ["raster", "serpentine", "grid", "spiral", "lissajous", "random"])
def test_coverage_target_holds_at_2048(kind: str) -> None:
    for target in (1 / 10, 1 / 100):
        path = make_path(kind, (2048, 2048), coverage=target)
        assert abs(path.coverage - target) <= 0.05 * target


@given(
    kind=st.sampled_from(["raster", "serpentine", "grid", "spiral"]),
    size=st.integers(32, 300),
    spacing=st.floats(1.0, 60.0),
    factor=st.floats(1.05, 3.0),
)
def test_coverage_falls_as_spacing_grows(kind: str, size: int, spacing: float, factor: float) -> None:
    dense = make_path(kind, (size, size), spacing=spacing)
    sparse = make_path(kind, (size, size), spacing=spacing * factor)
    assert sparse.coverage <= dense.coverage * 1.01


@given(size=st.integers(32, 300), frac=st.floats(0.0, 1.0))
def test_lissajous_coverage_grows_with_lobes(size: int, frac: float) -> None:
    lobes = 1 + int(frac * size / 10)  # below saturation: up to ~coverage 0.5
    more = make_path("lissajous", (size, size), lobes=lobes + 1).coverage
    assert more >= make_path("lissajous", (size, size), lobes=lobes).coverage


@given(
    kind=st.sampled_from(KINDS),
    h=st.integers(16, 200),
    w=st.integers(16, 200),
    coverage=st.floats(0.01, 0.3),
    seed=st.integers(0, 10_000),
)
def test_commanded_samples_lie_in_the_image_or_are_blanked(
    kind: str, h: int, w: int, coverage: float, seed: int
) -> None:
    try:
        path = make_path(kind, (h, w), coverage=coverage, seed=seed)
    except InputError as exc:  # only allowed when the kind cannot reach this coverage here
        assert "cannot reach" in str(exc) or "reaches only" in str(exc) or "reached only" in str(exc)
        return
    on = path.positions[~path.blanked]
    assert (on[:, 0] >= -0.5).all() and (on[:, 0] < w - 0.5).all()
    assert (on[:, 1] >= -0.5).all() and (on[:, 1] < h - 0.5).all()
    assert path.mask().shape == (h, w)


def test_random_kinds_are_seeded() -> None:
    for kind in ("random", "random-walk"):
        a = make_path(kind, (128, 128), coverage=0.05, seed=7)
        b = make_path(kind, (128, 128), coverage=0.05, seed=7)
        c = make_path(kind, (128, 128), coverage=0.05, seed=8)
        np.testing.assert_array_equal(a.positions, b.positions)
        assert a.positions.shape != c.positions.shape or not np.array_equal(a.positions, c.positions)


def test_raster_has_one_jump_per_line_and_serpentine_none() -> None:
    raster = make_path("raster", (64, 64), spacing=8)
    assert raster.jumps.size == 8 - 1
    jump_dx = raster.positions[raster.jumps, 0] - raster.positions[raster.jumps - 1, 0]
    np.testing.assert_allclose(jump_dx, -63.0)
    assert make_path("serpentine", (64, 64), spacing=8).jumps.size == 0


def test_spiral_has_constant_linear_velocity() -> None:
    path = make_path("spiral", (256, 256), spacing=12, step=1.0)
    steps = np.hypot(*np.diff(path.positions, axis=0).T)
    assert steps[20:].min() > 0.97 and steps.max() < 1.0 + 1e-6


@pytest.mark.parametrize("spacing", [4.0, 12.0, 30.0])
def test_squircle_moves_at_constant_speed_and_covers_the_field(spacing: float) -> None:
    path = make_path("squircle", (256, 256), spacing=spacing, step=1.0)
    steps = np.hypot(*np.diff(path.positions, axis=0).T)
    assert steps[20:].min() > 0.97 and steps.max() < 1.0 + 1e-6
    assert path.jumps.size == 0
    # inside the last turn no pixel is further from a sample than about a turn spacing; the
    # corners beyond it are left to the completer, within a fifth of the half-diagonal
    from scipy import ndimage

    gap = ndimage.distance_transform_edt(~path.mask())
    assert gap[32:-32, 32:-32].max() <= 1.2 * spacing + 2, (spacing, gap.max())
    assert gap.max() <= max(0.2 * math.hypot(128, 128), 1.5 * spacing) + 2
    for corner in (gap[:24, :24], gap[:24, -24:], gap[-24:, :24], gap[-24:, -24:]):
        assert corner.min() <= 0.5 * spacing + 4


def test_squircle_spends_less_time_outside_the_field_than_a_spiral() -> None:
    def time_per_pixel(kind: str) -> float:
        path = make_path(kind, (256, 256), coverage=1 / 20)
        return scanpaths.scan_time(path, "typical") / path.mask().sum()

    assert time_per_pixel("squircle") < 0.75 * time_per_pixel("spiral")  # ~1.5 x the samples per second
    assert make_path("squircle", (256, 256), coverage=1 / 20).blanked.mean() < 0.5 * (
        make_path("spiral", (256, 256), coverage=1 / 20).blanked.mean()
    )


def test_waypoints_follow_the_polyline_and_cut_at_the_coverage() -> None:
    pts = np.array([[0.0, 0.0], [63.0, 0.0], [63.0, 63.0]])
    whole = make_path("waypoints", (64, 64), waypoints=pts)
    assert whole.coverage == pytest.approx(127 / 64**2)
    cut = make_path("waypoints", (64, 64), coverage=50 / 64**2, waypoints=pts)
    assert cut.mask().sum() == 50
    np.testing.assert_allclose(cut.positions[:50, 1], 0.0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"kind": "zigzag"}, "path kind must be one of"),
        ({"coverage": 0.0}, r"coverage must be in \(0, 1\]"),
        ({"coverage": 1.5}, r"coverage must be in \(0, 1\]"),
        ({"coverage": math.nan}, "coverage must be a number"),
        ({"shape": (0, 64)}, "shape must be two integers"),
        ({"shape": (-5, 64)}, "shape must be two integers"),
        ({"shape": (64,)}, "shape must be two integers"),
        ({"spacing": 4.0, "coverage": 0.1}, "either coverage or"),
        ({"spacing": -1.0}, r"spacing must be in \(0"),
        ({"step": 0.0, "spacing": 4.0}, r"step must be in \(0"),
        ({"bogus": 1}, "unknown path parameter"),
    ],
)
def test_bad_input_gives_one_line_naming_the_parameter(kwargs: dict, match: str) -> None:
    args = {"kind": "raster", "shape": (64, 64)} | kwargs
    with pytest.raises(InputError, match=match) as info:
        make_path(args.pop("kind"), args.pop("shape"), **args)
    assert "\n" not in str(info.value)


def test_waypoints_outside_the_image_are_rejected() -> None:
    with pytest.raises(InputError, match="waypoints must lie in"):
        make_path("waypoints", (64, 64), waypoints=[[0, 0], [70, 10]])
    with pytest.raises(InputError, match="waypoints contain NaN"):
        make_path("waypoints", (64, 64), waypoints=[[0, 0], [np.nan, 10]])
    with pytest.raises(InputError, match="reaches only"):
        make_path("waypoints", (64, 64), coverage=0.5, waypoints=[[0, 0], [10, 10]])


def test_path_constructor_validates() -> None:
    with pytest.raises(InputError, match="positions must have shape"):
        scanpaths.ScanPath("waypoints", (8, 8), np.zeros((3, 3)), np.zeros(3, bool))
    with pytest.raises(InputError, match="NaN or inf"):
        scanpaths.ScanPath("waypoints", (8, 8), np.array([[0.0, np.inf]]), np.zeros(1, bool))
    with pytest.raises(InputError, match="jumps must be sorted"):
        scanpaths.ScanPath("waypoints", (8, 8), np.zeros((3, 2)), np.zeros(3, bool), np.array([0]))

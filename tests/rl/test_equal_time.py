"""Fixed paths at equal scan time, at a step along the path (``KIND@STEP``)."""

from __future__ import annotations

import numpy as np
import pytest

import scanpaths
from rl.adaptive import Budget
from rl.equal_time import density_for_time, fixed_path, fixed_scan, split_step
from scanpaths.errors import InputError


def test_split_step_names_the_kind_and_the_step() -> None:
    assert split_step("lissajous") == ("lissajous", 1.0)
    assert split_step("lissajous@1.5") == ("lissajous", 1.5)
    assert split_step("squircle@2") == ("squircle", 2.0)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("lissajous@x", "must be a number"),
        ("spiral@0", "must be in"),
        ("spiral@nan", "must be in"),
        ("spiral@99", "must be in"),
        ("random@2", "takes no step"),
        ("nope@2", "path kind must be one of"),
    ],
)
def test_split_step_rejects_bad_names_in_one_line(name: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as err:
        split_step(name)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["spiral@1.5", "squircle@2", "serpentine@2", "lissajous@2", "lissajous@3", "grid@1.5"])
@pytest.mark.parametrize("coverage", [0.05, 0.02])
def test_a_stepped_path_fills_the_budget_and_moves_about_its_step(name: str, coverage: float) -> None:
    shape = (256, 256)  # on smaller fields a grid's few lines may leave more of the budget over
    budget = Budget.of_coverage(shape, coverage, "typical")
    path = fixed_path(name, shape, budget.time_s, "typical")
    t = scanpaths.scan_time(path, "typical")
    assert 0.985 * budget.time_s <= t <= budget.time_s * (1 + 1e-9)  # the same time as the spiral it stands beside
    kind, step = split_step(name)
    moves = np.hypot(*np.diff(path.positions, axis=0).T)
    moves = moves[moves < 3 * step]  # leave out the jumps (grid flybacks)
    # at most the step (a Lissajous drive is fastest at the centre); the step lowered by at most 1.25 x
    assert moves.max() <= step * (1 + 1e-6)
    assert moves.max() >= step / 1.25 - 1e-6


def test_a_larger_step_spreads_the_same_time_over_more_of_the_field() -> None:
    """At equal time, lines twice as close, samples twice as far apart along them: the mask
    reaches more pixels' neighbourhoods (its mean distance to the nearest sample falls)."""
    from scipy import ndimage

    shape = (128, 128)
    budget = Budget.of_coverage(shape, 0.02, "typical")
    dist = []
    for name in ("squircle", "squircle@2"):
        scan = fixed_scan(name, np.zeros(shape), budget.time_s, "typical", seed=0)
        dist.append(ndimage.distance_transform_edt(~scan.mask).mean())
    assert dist[1] < 0.8 * dist[0]


def test_density_for_time_says_when_even_the_sparsest_path_takes_too_long() -> None:
    with pytest.raises(InputError, match="cannot be scanned in"):
        density_for_time("lissajous", (256, 256), "typical", 50e-6, 3.0)
    assert set(density_for_time("spiral", 64, "typical", 1e-3, 1.5)) == {"spacing", "step"}


def test_a_plain_kind_is_the_coverage_solve_as_before() -> None:
    from rl.equal_time import coverage_for_time

    shape = (96, 96)
    budget = Budget.of_coverage(shape, 0.05, "typical")
    cov = coverage_for_time("spiral", shape, "typical", budget.time_s)
    a = fixed_path("spiral", shape, budget.time_s, "typical")
    b = scanpaths.make_path("spiral", shape, coverage=cov, seed=0)
    assert np.array_equal(a.positions, b.positions)


def test_a_stepped_path_is_a_scan_strategy_spending_a_spirals_time() -> None:
    import rl  # noqa: F401 - registers the strategies
    from scanpaths.strategies import get_strategy, strategy_names

    assert "KIND@STEP" in strategy_names()
    strat = get_strategy("lissajous@3")
    assert strat.name == "lissajous@3"
    image = np.random.default_rng(0).random((96, 96))
    scan = strat.scan(image, coverage=0.05, preset="typical", seed=0, dose=100.0)
    budget = Budget.of_coverage((96, 96), 0.05, "typical")
    assert 0.97 * budget.time_s <= scan.time_s <= budget.time_s * (1 + 1e-9)
    with pytest.raises(InputError, match="takes no step"):
        get_strategy("random@2")

"""Adaptive strategies: the allocation, the warped path, the budget, the registry, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import rl  # noqa: F401 - registers the strategies
import scanpaths
from rl.adaptive import (
    BLOCK_PX,
    Budget,
    GreedyERD,
    SurveyCommit,
    allocate,
    block_mean,
    warped_path,
)
from scanpaths.errors import InputError
from scanpaths.strategies import get_strategy, strategy_names


def test_allocate_spends_the_samples_where_the_error_is() -> None:
    error = np.array([[4.0, 1.0], [1.0, 0.0]])
    density = np.full((2, 2), 0.05)
    sizes = np.full((2, 2), 100.0)
    extra = allocate(error, density, 20.0, sizes)
    assert (extra * sizes).sum() == pytest.approx(20.0, rel=1e-3)
    assert extra[1, 1] == 0.0  # no predicted error: nothing to gain
    assert extra[0, 0] > extra[0, 1] > 0
    # the square-root law: four times the error, twice the total density (when both gain)
    rho = extra + density
    assert rho[0, 0] / rho[0, 1] == pytest.approx(2.0, rel=1e-3)


def test_allocate_with_no_error_or_no_samples_adds_nothing() -> None:
    sizes = np.ones((2, 2))
    assert not allocate(np.zeros((2, 2)), np.ones((2, 2)), 5.0, sizes).any()
    assert not allocate(np.ones((2, 2)), np.ones((2, 2)), 0.0, sizes).any()


def test_block_mean_of_partial_blocks() -> None:
    a = np.arange(40 * 70, dtype=float).reshape(40, 70)
    m = block_mean(a, 32)
    assert m.shape == (2, 3)
    assert m[1, 2] == pytest.approx(a[32:, 64:].mean())


def test_warped_path_crowds_where_the_density_is() -> None:
    shape = (128, 128)
    dx = np.where(np.arange(128) < 64, 4.0, 1.0)
    path = warped_path(shape, dx, np.ones(128), 3000, kind="lissajous", start=np.array([5.0, 5.0]))
    assert path.n_samples <= 3001
    assert path.blanked[0] and not path.blanked[1:].any() and list(path.jumps) == [1]
    left = (path.positions[1:, 0] < 63.5).mean()
    assert left > 0.65  # four times the density on the left half (flat: half of the path)
    flat = warped_path(shape, np.ones(128), np.ones(128), 3000, kind="lissajous")
    assert 0.4 < (flat.positions[:, 0] < 63.5).mean() < 0.6


def test_a_warped_spiral_blanks_its_arcs_outside_the_field() -> None:
    path = warped_path((128, 128), np.linspace(1, 3, 128), np.ones(128), 4000, kind="spiral")
    on = path.positions[~path.blanked]
    assert path.blanked.any()
    assert on.min() >= -0.5 and on.max() <= 127.5
    assert np.abs(np.diff(path.positions, axis=0)).max() < 4.0  # continuous: no jump at the edge


def test_warped_path_variants_differ() -> None:
    shape = (96, 128)
    a = warped_path(shape, np.ones(128), np.ones(96), 2000, variant=0).mask()
    b = warped_path(shape, np.ones(128), np.ones(96), 2000, variant=1).mask()
    assert (a & b).sum() < 0.5 * a.sum()


def test_allocate_solves_the_budget_exactly_as_a_bisection_would() -> None:
    """The piecewise-linear solve against 100 steps of bisection on the multiplier, for
    several exponents, with blocks that gain nothing and blocks at their cap."""
    rng = np.random.default_rng(0)
    sizes = np.full((4, 5), 64.0)
    for alpha in (0.5, 1.0, 2.0):
        for total in (3.0, 300.0, 3000.0, 1e6):
            error = rng.random((4, 5)) ** 3 * (rng.random((4, 5)) > 0.2)
            density = rng.random((4, 5)) * 0.2
            got = allocate(error, density, total, sizes, alpha=alpha, max_density=1.0)
            rho0 = np.maximum(density, density.mean() / 3)
            gain = alpha * error * rho0**alpha

            def extra(log_lam: float, gain: np.ndarray = gain, rho0: np.ndarray = rho0, a: float = alpha) -> np.ndarray:
                rho = (gain / np.exp(log_lam)) ** (1 / (a + 1))
                return np.clip(rho - rho0, 0.0, np.maximum(1.0 - rho0, 0.0))

            lo, hi = -60.0, 60.0
            for _ in range(100):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if (extra(mid) * sizes).sum() > total else (lo, mid)
            np.testing.assert_allclose(got, extra(hi), atol=1e-9)
            assert (got * sizes).sum() <= total * (1 + 1e-9)


@pytest.mark.parametrize(
    "strategy", [SurveyCommit(), GreedyERD(), get_strategy("survey-fast")], ids=["survey", "greedy", "fast"]
)
def test_strategy_keeps_the_budget_and_its_seed(strategy: SurveyCommit) -> None:
    spec = scanpaths.specimens.generate((96, 96), seed=3, scene="nanoparticle")
    budget = Budget.of_coverage((96, 96), 1 / 10, "typical", 100.0)
    a = strategy.scan(spec.clean, coverage=1 / 10, preset="typical", seed=1, dose=100.0)
    b = strategy.scan(spec.clean, coverage=1 / 10, preset="typical", seed=1, dose=100.0)
    assert 0.9 * budget.time_s <= a.time_s <= budget.time_s
    np.testing.assert_array_equal(a.values, b.values)
    p = a.path.params
    assert len(p["decision_s"]) == strategy.rounds and p["fallbacks"] == 0
    assert a.dose_e is not None and a.dose_e <= 100.0 * budget.ticks("typical")


def test_survey_fast_predicts_from_the_samples_and_crowds_where_they_vary() -> None:
    """A field flat on its left half and busy on its right: the samples' variance, less the
    dose noise, sends the commit's samples right; no completer runs."""
    rng = np.random.default_rng(2)
    image = np.full((128, 128), 0.4)
    image[:, 64:] = 0.2 + 0.6 * (rng.random((128, 64)) > 0.5)
    fast = get_strategy("survey-fast")
    scan = fast.scan(image, coverage=1 / 10, preset="typical", seed=0, dose=100.0)
    p = scan.path.params
    assert p["error_source"] == ["sample variance"] and fast._est is None  # type: ignore[attr-defined]
    flat = get_strategy("survey-flat").scan(image, coverage=1 / 10, preset="typical", seed=0, dose=100.0)
    right, right_flat = scan.mask[:, 64:].sum() / scan.mask.sum(), flat.mask[:, 64:].sum() / flat.mask.sum()
    assert right > right_flat + 0.05
    assert len(p["decision_s"]) == 1  # its time: pstem eval adaptive reports it (no timed assertion here)


def test_a_missed_deadline_falls_back_to_the_fixed_path_and_is_counted() -> None:
    spec = scanpaths.specimens.generate((96, 96), seed=3, scene="edge")
    scan = SurveyCommit(deadline_s=0.0).scan(spec.clean, coverage=1 / 10, preset="typical", seed=0)
    assert scan.path.params["fallbacks"] == 1


def test_strategies_are_registered() -> None:
    names = strategy_names()
    assert {"survey", "greedy", "survey-fast", "survey:SHARE", "greedy:SHARE", "survey-fast:SHARE"} <= set(names)
    assert get_strategy("survey:0.2").survey_share == pytest.approx(0.2)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: get_strategy("survey:1.5"), "a survey share must be in (0, 1)"),
        (lambda: get_strategy("survey:abc"), "a survey share must be a number"),
        (lambda: get_strategy("zigzag"), "scan strategy must be one of"),
        (lambda: Budget(0.0), "time budget (s) must be"),
        (lambda: Budget(1e-3, dose=-1.0), "dose (electrons per sample) must be"),
        (lambda: SurveyCommit(survey=0.0), "survey share must be"),
    ],
)
def test_bad_input_is_one_line(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_too_small_a_field_or_budget_is_refused() -> None:
    with pytest.raises(InputError, match=f"at least {2 * BLOCK_PX} px"):
        SurveyCommit().scan(np.zeros((48, 48)), coverage=0.1, preset="typical", seed=0)
    with pytest.raises(InputError, match="too short for an adaptive scan"):
        SurveyCommit().scan(np.zeros((256, 256)), coverage=1 / 2000, preset="typical", seed=0)


def test_a_binned_estimate_is_spread_back_to_full_size() -> None:
    from rl.adaptive import AdaptiveScan

    spec = scanpaths.specimens.generate((100, 100), seed=2, scene="edge")
    run = AdaptiveScan(spec.clean, Budget.of_coverage((100, 100), 0.1, "typical"), "typical", 0)
    est = SurveyCommit().estimator
    err, filled, source = run.predict(est, scale=2)
    assert err.shape == filled.shape == (100, 100) and "binned 2x2" in source
    assert np.isfinite(err).all() and (err >= 0).all()
    full_err, _, _ = run.predict(est)
    # the same places are predicted to be hard, at a quarter of the pixels
    assert np.corrcoef(block_mean(err, 25).ravel(), block_mean(full_err, 25).ravel())[0, 1] > 0.5


def test_a_round_with_no_time_left_scans_nothing_and_keeps_the_budget() -> None:
    from rl.adaptive import AdaptiveScan, base_path

    assert base_path((64, 64), -5)[0].shape == (0, 2)  # no ticks: no path (not all but the last five)
    image = np.random.default_rng(0).random((64, 64))
    budget = Budget.of_coverage((64, 64), 0.1, "typical")
    run = AdaptiveScan(image, budget, "typical", 0, survey_share=0.6, rounds=40)
    while not run.done:
        run.step(flat=True)
    assert run.scanner.time_s <= budget.time_s * 1.001


def test_block_statistics_added_as_samples_arrive_are_those_of_every_sample() -> None:
    """The statistics kept chunk by chunk (all but each chunk's last line while it is scanned)
    give exactly what a pass over every sample at decision time gives."""
    from rl._plan import block_stats, block_variance
    from rl.adaptive import AdaptiveScan

    spec = scanpaths.specimens.generate((128, 128), seed=2)
    budget = Budget.of_coverage((128, 128), 0.1, "typical", dose=100.0)
    run = AdaptiveScan(spec.image, budget, "typical", 0, rounds=3)
    for _ in range(2):  # two chunks after the survey: every chunk's tail is handed on once
        run.step(blocks=run.sample_variance()[0])
        by, bx = run.sizes.shape
        stats = np.zeros((3, by * bx))
        for rec in run.records:
            block_stats(rec.values, rec.commanded, rec.blanked, BLOCK_PX, by, bx, stats)
        want = block_variance(stats, 100.0, run.sizes)
        got = run.sample_variance()
        assert len(run.records) >= 2 and all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize(("kind", "step"), [("spiral", 1.5), ("squircle", 2.0), ("lissajous", 3.0)])
def test_a_stepped_base_path_fills_the_ticks_at_about_its_step(kind: str, step: float) -> None:
    from rl.adaptive import base_path

    pos, off = base_path((128, 128), 2000, kind, 1, step)
    assert len(pos) == len(off) == 2000 and not pos.flags.writeable
    moves = np.hypot(*np.diff(pos, axis=0).T)
    assert moves.max() <= step * (1 + 1e-6)  # a Lissajous: at most (its drive is fastest at the centre)
    assert moves.max() >= step / 1.5  # lowered only to fill the ticks with whole lines
    on = pos[~off]  # beyond the field the beam is blanked (a spiral's arcs, a squircle's corners)
    assert ((on >= -0.5) & (on <= 127.5)).all()


def test_the_survey_moves_at_its_step_where_its_time_allows() -> None:
    from rl.adaptive import SURVEY_STEP, AdaptiveScan

    image = np.random.default_rng(0).random((128, 128))
    shape = image.shape
    run = AdaptiveScan(image, Budget.of_coverage(shape, 0.1, "typical"), "typical", 0, survey_step=SURVEY_STEP)
    moves = np.hypot(*np.diff(run.records[0].commanded, axis=0).T)
    assert SURVEY_STEP / 1.25 <= moves[moves < 2 * SURVEY_STEP].max() <= SURVEY_STEP * (1 + 1e-6)
    # too short for one figure at the step: the survey at coverage, as with no step
    short = Budget.of_coverage(shape, 0.005, "typical")
    a = AdaptiveScan(image, short, "typical", 0, survey_step=SURVEY_STEP).records[0].commanded
    b = AdaptiveScan(image, short, "typical", 0).records[0].commanded
    assert np.array_equal(a, b)


def test_a_stepped_base_path_with_no_ticks_is_empty() -> None:
    from rl.adaptive import base_path

    for ticks in (-5, 0, 1):
        assert base_path((64, 64), ticks, "lissajous", 0, 3.0)[0].shape == (0, 2)


def test_survey_lines_warps_lines_where_they_lie_close_and_the_spiral_where_not() -> None:
    """256 px at 1/20: serpentine@2 lines 14 px apart after the survey, warped; at 1/50 they
    would lie 36 px apart, so the 1 px spiral is warped instead (LINES_MAX_SPACING)."""
    lines = get_strategy("survey-lines")
    preset = scanpaths.get_preset("typical")
    near = lines.commit_for((256, 256), Budget.of_coverage((256, 256), 1 / 20, preset, 100.0), preset)  # type: ignore[attr-defined]
    far = lines.commit_for((256, 256), Budget.of_coverage((256, 256), 1 / 50, preset, 100.0), preset)  # type: ignore[attr-defined]
    assert near == ("serpentine", 2.0) and far == ("spiral", 1.0)
    spec = scanpaths.specimens.generate((128, 128), seed=4, scene="nanoparticle")
    budget = Budget.of_coverage((128, 128), 1 / 10, "typical", 100.0)
    scan = lines.scan(spec.clean, coverage=1 / 10, preset="typical", seed=2, dose=100.0, register="model")
    assert scan.path.params["commit"] == "serpentine@2" and scan.path.params["error_source"] == ["sample variance"]
    assert 0.9 * budget.time_s <= scan.time_s <= budget.time_s
    # the commit is lines: after the survey the beam moves along rows, about 2 px a tick
    n_survey = int(round(scan.path.params["survey_s"] / scanpaths.get_preset("typical").dwell_s))
    steps = np.abs(np.diff(scan.commanded[n_survey + 50 :], axis=0))
    assert np.median(steps[:, 0]) > 1.0 and np.median(steps[:, 1]) < 0.5


@pytest.mark.parametrize("name", ["survey-fast", "survey-lines", "spiral", "lissajous@3"])
def test_a_strategy_files_its_samples_as_asked(name: str) -> None:
    """register reaches the scanner: with an ideal beam every filing is the same scan; under
    typical physics filing by the coil model moves the samples."""
    spec = scanpaths.specimens.generate((128, 128), seed=5, scene="edge")
    strategy = get_strategy(name)

    def scan(preset: str, register: str) -> scanpaths.PartialScan:
        return strategy.scan(spec.clean, coverage=1 / 10, preset=preset, seed=3, dose=100.0, register=register)

    np.testing.assert_array_equal(scan("ideal", "model").values, scan("ideal", "commanded").values)
    a, b = scan("typical", "model"), scan("typical", "commanded")
    assert a.time_s == pytest.approx(b.time_s) and not np.array_equal(a.mask, b.mask)


def test_a_commit_must_be_a_path_without_jumps() -> None:
    with pytest.raises(InputError, match="a commit warps a path without jumps"):
        SurveyCommit(commit="raster@2")
    with pytest.raises(InputError, match="must be one of"):
        SurveyCommit(commit="zigzag")


def test_the_learned_path_refuses_a_filing_its_environment_does_not_make() -> None:
    learned = get_strategy("learned")
    size = learned.policy.config.obs_size  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="register='model' is not supported"):
        learned.scan(np.zeros((size, size)), coverage=0.05, preset="typical", seed=0, register="model")


def test_survey_hedge_keeps_the_fixed_path_where_looking_predicts_little() -> None:
    """A flat field: nothing varies, so the rest of the kept Lissajous follows its first share (and the
    line scanned while deciding) and the scan is that fixed path, sample for sample."""
    from rl.adaptive import hedge_path
    from rl.equal_time import fixed_scan, spiral_time

    image = np.full((128, 128), 0.5)
    hedge = get_strategy("survey-hedge")
    scan = hedge.scan(image, coverage=1 / 10, preset="typical", seed=4)
    budget_s = spiral_time((128, 128), 1 / 10, "typical")
    kept = hedge_path((128, 128), budget_s, "typical")
    fixed = fixed_scan(kept, image, budget_s, "typical", seed=4)
    p = scan.path.params
    assert p["commit"] == f"rest of {kept}" and p["predicted_gain"] > 0.9  # only the survey's uneven density
    np.testing.assert_array_equal(scan.mask, fixed.mask)
    assert scan.time_s == pytest.approx(fixed.time_s) and p["fallbacks"] == 0 and len(p["decision_s"]) == 1


def test_survey_hedge_scans_a_window_where_the_survey_predicts_a_gain_and_falls_back_when_late() -> None:
    """Busy on the right half of the field only: the window lies there, its figure after the
    fixed path's share of the rest; a decision past its deadline keeps the fixed path."""
    from rl.adaptive import SurveyHedge
    from rl.equal_time import fixed_scan

    rng = np.random.default_rng(2)
    image = np.full((128, 128), 0.4)
    image[:, 64:] = 0.2 + 0.6 * (rng.random((128, 64)) > 0.5)
    budget = Budget.of_coverage((128, 128), 1 / 10, "typical", 100.0)
    scan = SurveyHedge(gain=1.0).scan(image, coverage=1 / 10, preset="typical", seed=0, dose=100.0)
    p = scan.path.params
    assert p["commit"].startswith("Lissajous over window rows 0-128, columns 64-128") and p["predicted_gain"] < 1.0
    fixed = fixed_scan("lissajous@2", image, budget.time_s, "typical", seed=0, dose=100.0)  # what it keeps
    assert scan.mask[:, 64:].sum() > 1.2 * fixed.mask[:, 64:].sum()
    assert 0.9 * budget.time_s <= scan.time_s <= budget.time_s
    assert p["plan_s"] > 0 and p["plan_room_s"] > 0 and len(p["decision_s"]) == 1
    late = SurveyHedge(gain=1.0, deadline_s=0.0).scan(image, coverage=1 / 10, preset="typical", seed=0, dose=100.0)
    assert late.path.params["commit"] == "rest of lissajous@2" and late.path.params["fallbacks"] == 1


def test_survey_rescan_rescans_the_window_slowly_with_more_dose_per_px() -> None:
    """The same image and decision as survey-hedge's: slow rows over the window in place of its
    Lissajous, so the px they cross hold two samples (twice the dose) each."""
    from rl.adaptive import RESCAN_STEP, SurveyHedge

    rng = np.random.default_rng(2)
    image = np.full((128, 128), 0.4)
    image[:, 64:] = 0.2 + 0.6 * (rng.random((128, 64)) > 0.5)
    budget = Budget.of_coverage((128, 128), 1 / 10, "typical", 100.0)
    hedge = SurveyHedge(gain=1.0).scan(image, coverage=1 / 10, preset="typical", seed=0, dose=100.0)
    scan = SurveyHedge(gain=1.0, rescan=True).scan(image, coverage=1 / 10, preset="typical", seed=0, dose=100.0)
    p = scan.path.params
    assert p["commit"].startswith("rows at 0.") and "over window rows 0-128, columns 64-128" in p["commit"]
    assert p["predicted_gain"] == hedge.path.params["predicted_gain"]  # the same decision
    assert 0.9 * budget.time_s <= scan.time_s <= budget.time_s
    twice, twice_hedge = (scan.counts[:, 64:] >= 2).sum(), (hedge.counts[:, 64:] >= 2).sum()
    assert twice > 2 * twice_hedge  # the rows' px hold 1 / RESCAN_STEP samples each
    assert scan.mask[:, 64:].sum() < hedge.mask[:, 64:].sum()  # fewer px for it
    assert RESCAN_STEP == 0.5 and get_strategy("survey-rescan").name == "survey-rescan"
    assert get_strategy("survey-rescan:0.4").survey_share == pytest.approx(0.4)  # type: ignore[attr-defined]


def test_a_rescan_figure_is_rows_over_its_window_at_the_slow_step() -> None:
    from rl.adaptive import RESCAN_KIND, window_path

    preset = scanpaths.get_preset("typical")
    path = window_path((256, 256), (64, 160, 32, 224), 1.5e-3, preset, kind=RESCAN_KIND)
    assert path is not None and 0.4 <= path.params["step"] <= 0.5
    xs, ys = path.positions[:, 0], path.positions[:, 1]
    assert xs.min() >= 32 - 1e-9 and xs.max() <= 223 + 1e-9 and ys.min() >= 64 - 1e-9 and ys.max() <= 159 + 1e-9
    assert len(np.unique(np.round(ys, 6))) >= 2  # rows, each crossing the window
    assert 0.95 * 1.5e-3 <= scanpaths.scan_time(path, preset) <= 1.5e-3 * 1.02
    with pytest.raises(InputError, match="a window's figure is one of"):
        window_path((256, 256), (64, 160, 32, 224), 1e-3, preset, kind="raster")


def test_the_window_search_kernel_and_twin_agree() -> None:
    from rl._plan import best_window, best_window_np

    rng = np.random.default_rng(5)
    error, density = rng.random((6, 7)) ** 3, rng.random((6, 7)) * 0.05
    sizes = np.full((6, 7), 1024.0)
    sizes[-1] = 512.0  # a partial last row of blocks
    cy, cx, fracs = np.arange(7), np.array([0, 2, 3, 5, 7]), np.array([0.25, 0.5, 0.75])
    got = best_window(error, density, sizes, 2000.0, cy, cx, fracs, 0.8)
    want = best_window_np(error, density, sizes, 2000.0, cy, cx, fracs, 0.8)
    assert got[1:5] == want[1:5] and got[5] == want[5] and got[0] == pytest.approx(want[0], rel=1e-12)
    assert got[0] < 1.0 and (got[2] - got[1]) * (got[4] - got[3]) * 1024 < 0.8 * sizes.sum()
    flat = best_window(np.ones((6, 7)), np.full((6, 7), 0.02), np.full((6, 7), 1024.0), 2000.0, cy, cx, fracs, 0.8)
    assert flat[0] >= 1.0 - 1e-12  # an even error: no window beats the even spread


def test_a_window_figure_lies_in_its_window_and_takes_its_time() -> None:
    from rl.adaptive import window_path

    preset = scanpaths.get_preset("typical")
    path = window_path((256, 256), (64, 160, 32, 224), 1.5e-3, preset, start=np.array([10.0, 10.0]))
    assert path is not None and path.jumps.tolist() == [1]
    inside = path.positions[1:]
    assert inside[:, 0].min() >= 32 - 1e-9 and inside[:, 0].max() <= 223 + 1e-9
    assert inside[:, 1].min() >= 64 - 1e-9 and inside[:, 1].max() <= 159 + 1e-9
    assert scanpaths.scan_time(path, preset) <= 1.5e-3 * 1.02
    assert window_path((256, 256), (64, 160, 32, 224), 1e-6, preset) is None  # no figure that quick
    with pytest.raises(InputError, match="a window must lie in"):
        window_path((256, 256), (64, 300, 32, 224), 1e-3, preset)


def test_the_hedged_path_steps_no_further_than_its_lines_lie_apart() -> None:
    from rl.adaptive import hedge_path
    from rl.equal_time import spiral_time

    def kept(coverage: float) -> str:
        return hedge_path((256, 256), spiral_time((256, 256), coverage, "typical"), "typical")

    assert (kept(1 / 50), kept(1 / 20), kept(1 / 10), kept(1 / 3)) == (
        "lissajous@3",
        "lissajous@3",
        "lissajous@2",
        "lissajous@1",
    )


def test_survey_hedge_is_registered_and_refuses_bad_input() -> None:
    from rl.adaptive import SurveyHedge, part_of

    assert {"survey-hedge", "survey-hedge:SHARE"} <= set(strategy_names())
    assert get_strategy("survey-hedge:0.2").survey_share == pytest.approx(0.2)  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="hedge gain must be"):
        SurveyHedge(gain=1.5)
    with pytest.raises(InputError, match="a survey share must be in"):
        get_strategy("survey-hedge:0")
    with pytest.raises(InputError, match="may take at most 0.6 of the time"):
        get_strategy("survey-hedge:0.8")
    raster = scanpaths.make_path("raster", (64, 64), coverage=0.1)
    with pytest.raises(InputError, match="may not start at one of its jumps"):
        part_of(raster, int(raster.jumps[0]), raster.n_samples)
    piece = part_of(raster, 1, int(raster.jumps[1]) + 5)
    assert piece.jumps.tolist() == [int(raster.jumps[0]) - 1, int(raster.jumps[1]) - 1]
    lissajous = scanpaths.make_path("lissajous", (64, 64), coverage=0.1)
    with pytest.raises(InputError, match="must lie in it"):
        part_of(lissajous, 5, lissajous.n_samples + 1)

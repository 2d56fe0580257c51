"""The adaptive-scan environment: Gymnasium and SB3 checks, exact seeding, physics, reward, bad input."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rl
import scanpaths
from rl.env import AdaptiveScanEnv
from rl.fixed import coverage_for_time, fixed_scan
from scanpaths.errors import InputError

SMALL = {"size": 48, "obs_size": 48, "seeds": [11, 12, 13], "coverage": 1 / 12}


def _episode(env: AdaptiveScanEnv, seed: int, actions: np.ndarray) -> tuple[list, list, dict]:
    obs, _ = env.reset(seed=seed)
    observations, rewards, k, done, info = [obs], [], 0, False, {}
    while not done:
        obs, r, done, trunc, info = env.step(actions[k % len(actions)])
        assert not trunc
        observations.append(obs)
        rewards.append(r)
        k += 1
    return observations, rewards, info


def test_registered_and_passes_gymnasium_checker() -> None:
    env = gym.make(rl.ENV_ID, **SMALL)
    check_env(env.unwrapped)
    assert isinstance(env.unwrapped, AdaptiveScanEnv)


def test_passes_sb3_checker() -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check

    sb3_check(AdaptiveScanEnv(**SMALL), warn=False)


def _assert_same_episode(kwargs: dict, seed: int, actions: np.ndarray) -> None:
    """Two fresh envs with the same settings, seed and actions give the same episode."""
    a = _episode(AdaptiveScanEnv(**kwargs), seed, actions)
    b = _episode(AdaptiveScanEnv(**kwargs), seed, actions)
    assert a[1] == b[1]
    for x, y in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["vector"], y["vector"])


def test_same_seed_same_episode() -> None:
    _assert_same_episode(SMALL, 5, np.random.default_rng(0).uniform(-1, 1, (40, 1)).astype(np.float32))


def test_budget_is_a_spirals_scan_time_and_is_spent_exactly() -> None:
    env = AdaptiveScanEnv(**SMALL)
    spiral = scanpaths.make_path("spiral", (48, 48), coverage=1 / 12, seed=0)
    t = scanpaths.simulate(np.zeros((48, 48)), spiral, preset="typical").time_s
    assert env.budget_s == pytest.approx(t)
    _, _, info = _episode(env, 0, np.zeros((1, 1), np.float32))
    assert info["ticks"] == env.budget_ticks == round(t / env.preset.dwell_s)
    assert env.partial_scan().time_s == pytest.approx(t)


def test_final_and_dense_rewards_sum_to_the_same_return() -> None:
    actions = np.random.default_rng(1).uniform(-1, 1, (40, 1)).astype(np.float32)
    _, final, info_f = _episode(AdaptiveScanEnv(**SMALL), 2, actions)
    env = AdaptiveScanEnv(**SMALL, reward_mode="dense")
    _, dense, info_d = _episode(env, 2, actions)
    assert all(r == 0 for r in final[:-1])
    assert sum(final) == pytest.approx(sum(dense), abs=1e-9)
    assert sum(final) == pytest.approx(1 - info_f["mse"] / env.var)
    assert info_f["mse"] == pytest.approx(info_d["mse"])


def test_ideal_beam_follows_the_command_and_typical_cuts_corners() -> None:
    def median_error(preset: str, turns: list[list[float]], lookahead: bool = True) -> float:
        env = AdaptiveScanEnv(size=96, seeds=[1], preset=preset, lookahead=lookahead)
        _episode(env, 0, np.array(turns, np.float32))
        scan = env.partial_scan()
        assert scan.mask.sum() > 0 and scan.path.kind == "learned"
        return float(np.median(np.hypot(*(scan.trajectory - scan.commanded).T)))

    zigzag, gentle = [[0.3], [-0.5]], [[0.1]]
    assert median_error("ideal", zigzag) < 1e-9
    # 20 us segments are about one coil time constant: sharp turns leave the beam px behind,
    # gentle ones less; knowing the next segment (lookahead) lets the feed-forward anticipate
    assert median_error("typical", gentle) < 0.8 * median_error("typical", zigzag)
    assert median_error("typical", zigzag) < 0.8 * median_error("typical", zigzag, lookahead=False)
    assert 1.0 < median_error("typical", zigzag) < 20


def test_the_beam_stays_in_the_field_reflecting_off_its_edges() -> None:
    env = AdaptiveScanEnv(**SMALL)
    env.reset(seed=0)
    env.step(np.zeros(1, np.float32))
    cmd = env.partial_scan().commanded
    assert np.allclose(cmd[:, 1], cmd[0, 1])  # straight on, along +x ...
    assert cmd[:, 0].max() <= 47 and cmd[-1, 0] < cmd[-2, 0]  # ... and back off the right edge
    assert math.cos(env.heading) < 0
    _episode(env, 0, np.array([[0.1]], np.float32))
    cmd = env.partial_scan().commanded
    assert cmd.min() >= 0 and cmd.max() <= 47
    assert np.all(np.abs(np.hypot(*np.diff(cmd, axis=0).T)) <= env.step_px + 1e-9)  # no jumps


def test_nan_actions_are_clipped_and_counted() -> None:
    env = AdaptiveScanEnv(**SMALL)
    env.reset(seed=0)
    obs, r, done, _, info = env.step(np.array([np.nan], np.float32))
    assert info["bad_actions"] == 1 and math.isfinite(r)
    obs, r, done, _, info = env.step(np.array([np.inf], np.float32))
    assert info["bad_actions"] == 2
    assert env.observation_space.contains(obs)


def test_user_images_are_cropped_and_checked() -> None:
    rng = np.random.default_rng(0)
    env = AdaptiveScanEnv(size=48, obs_size=48, images=[rng.random((60, 70))], coverage=1 / 12)
    obs, _ = env.reset(seed=1)
    assert env.image.shape == (48, 48)
    with pytest.raises(InputError, match="smaller than size"):
        AdaptiveScanEnv(size=48, obs_size=48, images=[rng.random((40, 70))])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preset": "warp"}, "preset"),
        ({"completer": "magic"}, "completer"),
        ({"budget_s": 0.0}, "budget_s"),
        ({"budget_s": -1.0}, "budget_s"),
        ({"size": 40, "obs_size": 48}, "obs_size"),
        ({"reward_mode": "sometimes"}, "reward_mode"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        AdaptiveScanEnv(**{**SMALL, **kwargs})


def test_fixed_paths_take_the_same_scan_time() -> None:
    env = AdaptiveScanEnv(size=96, seeds=[0])
    spec = scanpaths.specimens.generate((96, 96), seed=0)
    for kind in ("spiral", "lissajous", "grid", "serpentine"):
        cov = coverage_for_time(kind, 96, "typical", env.budget_s)
        scan = fixed_scan(kind, spec.image, env.budget_s)
        # the grid's time moves in steps of a whole line; the rest come within a few %
        low = 0.85 if kind == "grid" else 0.95
        assert low * env.budget_s <= scan.time_s <= env.budget_s * 1.001, (kind, cov, scan.time_s)


def test_works_in_subprocess_vector_envs() -> None:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = make_vec_env(
        AdaptiveScanEnv,
        n_envs=2,
        seed=0,
        env_kwargs=SMALL,
        vec_env_cls=SubprocVecEnv,
        vec_env_kwargs={"start_method": "forkserver"},
    )
    try:
        obs = venv.reset()
        for _ in range(5):
            obs, rew, done, info = venv.step(np.zeros((2, 1), np.float32))
        assert obs["image"].shape == (2, 3, 48, 48)
    finally:
        venv.close()


def test_spiral_reference_shifts_the_return_to_beating_the_spiral() -> None:
    actions = np.random.default_rng(4).uniform(-0.2, 0.2, (40, 1)).astype(np.float32)
    plain = AdaptiveScanEnv(**SMALL)
    _, r_plain, info = _episode(plain, 3, actions)
    ref = AdaptiveScanEnv(**SMALL, reference="spiral")
    _, r_ref, info_ref = _episode(ref, 3, actions)
    assert info["mse"] == pytest.approx(info_ref["mse"])
    spiral_mse = ref._reference_mse()
    assert sum(r_ref) == pytest.approx((spiral_mse - info["mse"]) / ref.var)
    assert sum(r_ref) - sum(r_plain) == pytest.approx((spiral_mse - ref.var) / ref.var)


LINES = {**SMALL, "mode": "lines", "step_px": 1.0}


def test_line_mode_passes_both_checkers_and_repeats_exactly() -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check

    check_env(AdaptiveScanEnv(**LINES))
    sb3_check(AdaptiveScanEnv(**LINES), warn=False)
    _assert_same_episode(LINES, 2, np.random.default_rng(1).uniform(-1, 1, (20, 2)).astype(np.float32))


def test_line_mode_zero_action_is_a_serpentine_of_rows() -> None:
    env = AdaptiveScanEnv(**{**LINES, "size": 64, "preset": "ideal"})
    _, rewards, info = _episode(env, 0, np.zeros((1, 2), np.float32))
    assert info["ticks"] == env.budget_ticks  # the budget is spent exactly
    assert len(rewards) <= env.max_segments + 1
    cmd = np.concatenate(env.commands)
    hi = env.size - 1.0
    ys = np.round(cmd[(cmd[:, 0] > 0.5) & (cmd[:, 0] < hi - 0.5), 1], 6)
    n = round(hi / env.gap)
    assert env.gap == pytest.approx(hi / n)
    rows = ys[np.sort(np.unique(ys, return_index=True)[1])][:n]  # in the order they were scanned
    # rows half a gap in from the top, one gap apart, sweeping down (then back, in between)
    assert rows[0] == pytest.approx(env.gap / 2)
    np.testing.assert_allclose(np.diff(rows), env.gap, rtol=1e-6)
    assert len(np.unique(ys)) > n  # what the budget left after the sweep went back between rows
    np.testing.assert_allclose(env.trajectory, cmd)  # ideal physics: the beam is where it was sent
    steps = np.hypot(*np.diff(cmd, axis=0).T)  # no jump: 1 px a tick along the path (less across a corner)
    assert steps.max() <= 1.0 + 1e-6 and np.median(steps) == pytest.approx(1.0)


def test_line_mode_turns_and_spaces_lines_and_stays_in_the_field() -> None:
    env = AdaptiveScanEnv(**{**LINES, "size": 64, "preset": "ideal"})
    env.reset(seed=0)
    env.step(np.array([0.5, 0.0], np.float32))  # the first line at 45 degrees
    first = env.commands[0]
    d = first[-1] - first[0]
    assert math.degrees(math.atan2(d[1], d[0])) == pytest.approx(45.0, abs=0.5)
    env.step(np.array([1.0, 1.0], np.float32))  # turn by max_turn, twice the gap
    assert env.heading == pytest.approx(math.pi / 4 + env.max_turn)
    rng = np.random.default_rng(3)
    for seed in range(3):
        _episode(env, seed, rng.uniform(-1, 1, (30, 2)).astype(np.float32))
        cmd = np.concatenate(env.commands)
        assert cmd.min() >= 0.0 and cmd.max() <= env.size - 1.0
        assert len(cmd) == env.budget_ticks


def test_line_mode_generator_knows_the_next_line() -> None:
    # under typical physics the scan generator's feed-forward must see each row's turn coming:
    # the beam then stays close to the commanded serpentine, as on a fixed serpentine path
    env = AdaptiveScanEnv(**{**LINES, "size": 96, "seeds": [0]})
    _episode(env, 0, np.zeros((1, 2), np.float32))
    cmd = np.concatenate(env.commands)
    off = np.hypot(*(env.trajectory - cmd).T)
    path = scanpaths.make_path("serpentine", (96, 96), spacing=env.gap, step=1.0)
    fixed = scanpaths.simulate(np.zeros((96, 96)), path, preset="typical", seed=0)
    fixed_off = np.hypot(*(fixed.trajectory - fixed.commanded).T)
    for q in (50, 95, 99):  # (1.62 / 4.71 / 5.58 px against 1.55 / 4.60 / 6.20 when written)
        assert np.percentile(off, q) < 1.15 * np.percentile(fixed_off, q) + 0.1, q


def test_serpentine_reference_and_line_mode_errors() -> None:
    env = AdaptiveScanEnv(**LINES, reference="serpentine")
    _, rewards, info = _episode(env, 1, np.zeros((1, 2), np.float32))
    assert sum(rewards) == pytest.approx((env._reference_mse() - info["mse"]) / env.var)
    with pytest.raises(InputError, match="residual"):
        AdaptiveScanEnv(**LINES, steering="absolute", variable_length=True, residual="serpentine")
    with pytest.raises(InputError, match="max_turn"):
        AdaptiveScanEnv(**LINES, max_turn=4.0)
    with pytest.raises(InputError, match="mode"):
        AdaptiveScanEnv(**{**LINES, "mode": "zigzag"})

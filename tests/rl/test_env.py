"""The adaptive-scan environments: Gymnasium and SB3 checks, exact seeding, physics, reward,
wrappers, linear cost, bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rl
import scanpaths
from rl import EnvConfig, LineScanEnv, SegmentScanEnv, make_env
from rl.equal_time import coverage_for_time, fixed_scan
from rl.wrappers import ReferenceReturn, ResidualSerpentine
from scanpaths.errors import ConfigError, InputError

TinyEnv = Callable[..., Any]


def _episode(env: gym.Env, seed: int, actions: np.ndarray) -> tuple[list, list, dict]:
    obs, _ = env.reset(seed=seed)
    observations, rewards, k, done, info = [obs], [], 0, False, {}
    while not done:
        obs, r, done, trunc, info = env.step(actions[k % len(actions)])
        assert not trunc
        observations.append(obs)
        rewards.append(r)
        k += 1
    return observations, rewards, info


def test_registered_ids_build_the_same_composition() -> None:
    env = gym.make(rl.ENV_ID, size=48, obs_size=48, coverage=1 / 12, pool_size=3)
    check_env(env.unwrapped)
    assert isinstance(env.unwrapped, SegmentScanEnv)
    lines = gym.make(rl.LINES_ENV_ID, size=48, obs_size=48, coverage=1 / 12, pool_size=3, reference="serpentine")
    assert isinstance(lines.unwrapped, LineScanEnv) and isinstance(lines.env.env, ReferenceReturn)


def test_passes_sb3_checker(tiny_env: TinyEnv) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check

    sb3_check(tiny_env(), warn=False)


def _assert_same_episode(build: Callable[[], gym.Env], seed: int, actions: np.ndarray) -> None:
    """Two fresh envs with the same settings, seed and actions give the same episode."""
    a = _episode(build(), seed, actions)
    b = _episode(build(), seed, actions)
    assert a[1] == b[1]
    for x, y in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["vector"], y["vector"])


def test_same_seed_same_episode(tiny_env: TinyEnv) -> None:
    _assert_same_episode(tiny_env, 5, np.random.default_rng(0).uniform(-1, 1, (40, 1)).astype(np.float32))


def test_budget_is_a_spirals_scan_time_and_is_spent_exactly(tiny_env: TinyEnv) -> None:
    env = tiny_env()
    spiral = scanpaths.make_path("spiral", (48, 48), coverage=1 / 12, seed=0)
    t = scanpaths.simulate(np.zeros((48, 48)), spiral, preset="typical").time_s
    assert env.budget_s == pytest.approx(t)
    _, _, info = _episode(env, 0, np.zeros((1, 1), np.float32))
    assert info["ticks"] == env.budget_ticks == round(t / env.preset.dwell_s)
    assert env.partial_scan().time_s == pytest.approx(t)


def test_an_episode_integrates_each_tick_of_the_coils_once(tiny_env: TinyEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear cost: the Scanner carries the coil state, so no step re-integrates the past."""
    import scanpaths.scanner as scanner_module

    integrated = []
    original = scanner_module.K.coil_advance

    def counting(command: np.ndarray, *args: Any) -> np.ndarray:
        integrated.append(len(command))
        return original(command, *args)

    monkeypatch.setattr(scanner_module.K, "coil_advance", counting)
    for mode in ("segments", "lines"):
        integrated.clear()
        env = tiny_env(mode=mode, budget_s=4 * EnvConfig(**{"size": 48, "coverage": 1 / 12}).budget_seconds())
        _, rewards, _ = _episode(env, 0, np.zeros((1, env.action_space.shape[0]), np.float32))
        assert sum(integrated) == env.budget_ticks and len(integrated) == len(rewards)


def test_final_and_dense_rewards_sum_to_the_same_return(tiny_env: TinyEnv) -> None:
    actions = np.random.default_rng(1).uniform(-1, 1, (40, 1)).astype(np.float32)
    _, final, info_f = _episode(tiny_env(), 2, actions)
    env = tiny_env(reward_mode="dense")
    _, dense, info_d = _episode(env, 2, actions)
    assert all(r == 0 for r in final[:-1])
    assert sum(final) == pytest.approx(sum(dense), abs=1e-9)
    assert sum(final) == pytest.approx(1 - info_f["mse"] / env.var)
    assert info_f["mse"] == pytest.approx(info_d["mse"])


def test_ideal_beam_follows_the_command_and_typical_cuts_corners() -> None:
    def median_error(preset: str, turns: list[list[float]], lookahead: bool = True) -> float:
        env = make_env(EnvConfig(size=96, preset=preset, lookahead=lookahead, pool_size=1), seeds=[1])
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


def test_the_beam_stays_in_the_field_reflecting_off_its_edges(tiny_env: TinyEnv) -> None:
    env = tiny_env()
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


def test_nan_actions_are_clipped_and_counted(tiny_env: TinyEnv) -> None:
    env = tiny_env()
    env.reset(seed=0)
    obs, r, done, _, info = env.step(np.array([np.nan], np.float32))
    assert info["bad_actions"] == 1 and math.isfinite(r)
    obs, r, done, _, info = env.step(np.array([np.inf], np.float32))
    assert info["bad_actions"] == 2
    assert env.observation_space.contains(obs)


def test_user_images_are_cropped_and_checked() -> None:
    rng = np.random.default_rng(0)
    env = make_env(size=48, obs_size=48, coverage=1 / 12, images=[rng.random((60, 70))])
    env.reset(seed=1)
    assert env.image.shape == (48, 48)
    with pytest.raises(InputError, match="smaller than size"):
        make_env(size=48, obs_size=48, images=[rng.random((40, 70))])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preset": "warp"}, "preset"),
        ({"completer": "magic"}, "completer"),
        ({"budget_s": 0.0}, "budget_s"),
        ({"budget_s": -1.0}, "budget_s"),
        ({"size": 40, "obs_size": 48}, "obs_size"),
        ({"reward_mode": "sometimes"}, "reward_mode"),
        ({"mode": "zigzag"}, "mode"),
        ({"max_turn": 4.0}, "max_turn"),
        ({"mode": "lines", "steering": "absolute", "variable_length": True, "residual": "serpentine"}, "residual"),
        ({"residual": "serpentine"}, "residual"),
        ({"observation": "everything"}, "observation"),
        ({"mode": "lines", "observation": "segment"}, "observation"),
    ],
)
def test_bad_settings_name_their_field(changes: dict, field: str, tiny_env: TinyEnv) -> None:
    with pytest.raises(ConfigError) as info:
        tiny_env(**changes)
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_segment_observation_is_what_the_last_segment_recorded(tiny_env: TinyEnv) -> None:
    """Ede 2021's observation: the last segment's samples (-1 where none), no map."""
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = tiny_env(observation="segment", segment_len=12, variable_length=True)
    sb3_check(env, warn=False)
    assert set(env.observation_space.spaces) == {"segment", "vector"}
    obs, _ = env.reset(seed=3)
    assert obs["segment"].shape == (12,) and np.all(obs["segment"] == -1.0)  # nothing recorded yet
    before = env.scanner.ticks
    obs, *_ = env.step(np.array([0.2, -1.0]))  # lookahead: scans the first (full) segment
    n = env.scanner.ticks - before
    seen = env.partial_scan().trajectory[-n:]  # where the beam was for this segment's ticks
    assert n == 12 and np.all(obs["segment"] > -1.0)
    ref = np.clip(2 * scanpaths._kernels.bilinear_sample(env.image, seen, np.ones(n, bool)) - 1, -1, 1)
    np.testing.assert_allclose(obs["segment"], ref, atol=1e-6)
    obs, *_ = env.step(np.array([0.0, 1.0]))  # the short segment (1/4 of 12 = 3 samples) chosen before
    assert np.all(obs["segment"][:3] > -1.0) and np.all(obs["segment"][3:] == -1.0)
    np.testing.assert_array_equal(obs["vector"], env._vector())


def test_fixed_paths_take_the_same_scan_time() -> None:
    env = make_env(size=96, pool_size=1)
    spec = scanpaths.specimens.generate((96, 96), seed=0)
    for kind in ("spiral", "lissajous", "grid", "serpentine"):
        cov = coverage_for_time(kind, 96, "typical", env.budget_s)
        scan = fixed_scan(kind, spec.image, env.budget_s)
        # the grid's time moves in steps of a whole line; the rest come within a few %
        low = 0.85 if kind == "grid" else 0.95
        assert low * env.budget_s <= scan.time_s <= env.budget_s * 1.001, (kind, cov, scan.time_s)
    custom = scanpaths.Preset("custom", "a custom scan system", natural_freq_hz=20e3, slew_fov_per_s=1e5)
    assert fixed_scan("spiral", spec.image, env.budget_s, custom).preset is custom  # objects, not only names


def test_works_in_subprocess_vector_envs() -> None:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    config = EnvConfig(size=48, obs_size=48, coverage=1 / 12, pool_size=3)
    venv = make_vec_env(
        make_env,
        n_envs=2,
        seed=0,
        env_kwargs={"config": config},
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


def test_spiral_reference_shifts_the_return_to_beating_the_spiral(tiny_env: TinyEnv) -> None:
    actions = np.random.default_rng(4).uniform(-0.2, 0.2, (40, 1)).astype(np.float32)
    plain = tiny_env()
    _, r_plain, info = _episode(plain, 3, actions)
    ref = tiny_env(reference="spiral")
    assert isinstance(ref, ReferenceReturn) and isinstance(ref.unwrapped, SegmentScanEnv)
    _, r_ref, info_ref = _episode(ref, 3, actions)
    assert info["mse"] == pytest.approx(info_ref["mse"])
    spiral_mse = ref.reference_mse()
    assert sum(r_ref) == pytest.approx((spiral_mse - info["mse"]) / ref.unwrapped.var)
    assert sum(r_ref) - sum(r_plain) == pytest.approx((spiral_mse - ref.unwrapped.var) / ref.unwrapped.var)


def test_residual_steering_is_an_action_wrapper(tiny_env: TinyEnv) -> None:
    env = tiny_env(steering="absolute", variable_length=True, residual="serpentine")
    assert isinstance(env, ResidualSerpentine) and env.follows_serpentine
    _, rewards, info = _episode(env, 0, np.zeros((1, 2), np.float32))
    assert info["ticks"] == env.unwrapped.budget_ticks
    with pytest.raises(InputError, match="absolute"):
        ResidualSerpentine(tiny_env())


LINES: dict[str, Any] = {"mode": "lines", "step_px": 1.0}


def test_line_mode_passes_both_checkers_and_repeats_exactly(tiny_env: TinyEnv) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check

    check_env(tiny_env(**LINES))
    sb3_check(tiny_env(**LINES), warn=False)
    actions = np.random.default_rng(1).uniform(-1, 1, (20, 2)).astype(np.float32)
    _assert_same_episode(lambda: tiny_env(**LINES), 2, actions)


def test_line_mode_zero_action_is_a_serpentine_of_rows(tiny_env: TinyEnv) -> None:
    env = tiny_env(**LINES, size=64, preset="ideal")
    _, rewards, info = _episode(env, 0, np.zeros((1, 2), np.float32))
    assert info["ticks"] == env.budget_ticks  # the budget is spent exactly
    assert len(rewards) <= env.max_steps + 1
    scan = env.partial_scan()
    cmd = scan.commanded
    hi = env.size - 1.0
    ys = np.round(cmd[(cmd[:, 0] > 0.5) & (cmd[:, 0] < hi - 0.5), 1], 6)
    n = round(hi / env.gap)
    assert env.gap == pytest.approx(hi / n)
    rows = ys[np.sort(np.unique(ys, return_index=True)[1])][:n]  # in the order they were scanned
    # rows half a gap in from the top, one gap apart, sweeping down (then back, in between)
    assert rows[0] == pytest.approx(env.gap / 2)
    np.testing.assert_allclose(np.diff(rows), env.gap, rtol=1e-6)
    assert len(np.unique(ys)) > n  # what the budget left after the sweep went back between rows
    np.testing.assert_allclose(scan.trajectory, cmd)  # ideal physics: the beam is where it was sent
    steps = np.hypot(*np.diff(cmd, axis=0).T)  # no jump: 1 px a tick along the path (less across a corner)
    assert steps.max() <= 1.0 + 1e-6 and np.median(steps) == pytest.approx(1.0)


def test_line_mode_turns_and_spaces_lines_and_stays_in_the_field(tiny_env: TinyEnv) -> None:
    env = tiny_env(**LINES, size=64, preset="ideal")
    env.reset(seed=0)
    env.step(np.array([0.5, 0.0], np.float32))  # the first line at 45 degrees
    first = env.partial_scan().commanded
    d = first[-1] - first[0]
    assert math.degrees(math.atan2(d[1], d[0])) == pytest.approx(45.0, abs=0.5)
    env.step(np.array([1.0, 1.0], np.float32))  # turn by max_turn, twice the gap
    assert env.heading == pytest.approx(math.pi / 4 + env.max_turn)
    rng = np.random.default_rng(3)
    for seed in range(3):
        _episode(env, seed, rng.uniform(-1, 1, (30, 2)).astype(np.float32))
        cmd = env.partial_scan().commanded
        assert cmd.min() >= 0.0 and cmd.max() <= env.size - 1.0
        assert len(cmd) == env.budget_ticks


def test_line_mode_generator_knows_the_next_line() -> None:
    # under typical physics the scan generator's feed-forward must see each row's turn coming:
    # the beam then stays close to the commanded serpentine, as on a fixed serpentine path
    env = make_env(EnvConfig(size=96, pool_size=1, **LINES), seeds=[0])
    _episode(env, 0, np.zeros((1, 2), np.float32))
    scan = env.partial_scan()
    off = np.hypot(*(scan.trajectory - scan.commanded).T)
    path = scanpaths.make_path("serpentine", (96, 96), spacing=env.gap, step=1.0)
    fixed = scanpaths.simulate(np.zeros((96, 96)), path, preset="typical", seed=0)
    fixed_off = np.hypot(*(fixed.trajectory - fixed.commanded).T)
    for q in (50, 95, 99):  # (1.62 / 4.71 / 5.58 px against 1.55 / 4.60 / 6.20 when written)
        assert np.percentile(off, q) < 1.15 * np.percentile(fixed_off, q) + 0.1, q


def test_serpentine_reference_in_line_mode(tiny_env: TinyEnv) -> None:
    env = tiny_env(**LINES, reference="serpentine")
    _, rewards, info = _episode(env, 1, np.zeros((1, 2), np.float32))
    assert sum(rewards) == pytest.approx((env.reference_mse() - info["mse"]) / env.unwrapped.var)


def test_a_fork_continues_without_touching_the_original(tiny_env: TinyEnv) -> None:
    env = tiny_env(**LINES)
    env.reset(seed=0)
    env.step(np.zeros(2, np.float32))
    ticks = env.ticks
    fork = env.fork()
    fork.step(np.array([0.5, 0.5], np.float32))
    assert env.ticks == ticks < fork.ticks
    assert env.scanner.counts.sum() < fork.scanner.counts.sum()


def test_the_config_round_trips_through_a_dict() -> None:
    cfg = EnvConfig(mode="lines", preset=scanpaths.PRESETS["slow-coils"], max_turn=0.5)
    again = EnvConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.resolved().step_px == 1.0 and EnvConfig().resolved().step_px == math.sqrt(2)
    with pytest.raises(InputError, match="unknown environment setting"):
        EnvConfig.from_dict({"size": 96, "colour": "red"})

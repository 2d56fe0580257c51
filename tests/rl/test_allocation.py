"""RL on the greedy rule's actions: the environment, the action mapping, the learned strategy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scanpaths
from rl.adaptive import ALPHA, DENSITY_FLOOR, GREEDY_ROUNDS
from rl.allocation import AllocationEnv, LearnedAllocation, action_to_rule, rule_to_action
from scanpaths.errors import InputError
from scanpaths.strategies import get_strategy


def test_the_greedy_rule_is_an_action() -> None:
    alpha, floor = action_to_rule(rule_to_action(ALPHA, DENSITY_FLOOR))
    assert alpha == pytest.approx(ALPHA) and floor == pytest.approx(DENSITY_FLOOR)
    assert action_to_rule(np.array([5.0, -5.0])) == pytest.approx((4.0, 0.05))  # clipped to the box


@pytest.fixture(scope="module")
def env() -> AllocationEnv:
    return AllocationEnv()


def test_an_episode_is_the_greedy_rounds(env: AllocationEnv) -> None:
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs) and info["coverage"] in (1 / 20, 1 / 50)
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, again)
    steps, total, done = 0, 0.0, False
    while not done:
        obs, reward, done, truncated, info = env.step(rule_to_action(ALPHA, DENSITY_FLOOR))
        assert np.isfinite(reward) and not truncated
        total += reward
        steps += 1
    assert steps == GREEDY_ROUNDS
    assert 0 < info["mse_over_var"] < 1 and total > 0  # the rounds removed error


def test_a_policy_file_is_a_strategy(tmp_path: Path, env: AllocationEnv) -> None:
    from stable_baselines3 import PPO

    PPO("MlpPolicy", env, n_steps=8, batch_size=8, seed=0, device="cpu").save(tmp_path / "policy.zip")
    strategy = get_strategy(f"greedy-rl:{tmp_path / 'policy.zip'}")
    assert isinstance(strategy, LearnedAllocation)
    spec = scanpaths.specimens.generate((256, 256), seed=1, scene="edge")
    scan = strategy.scan(spec.clean, coverage=1 / 20, preset="typical", seed=0, dose=100.0)
    assert len(scan.path.params["decision_s"]) == GREEDY_ROUNDS
    with pytest.raises(InputError, match="trained on 256 px"):
        strategy.check((128, 128))


def test_a_missing_or_foreign_policy_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no allocation policy"):
        get_strategy(f"greedy-rl:{tmp_path / 'none.zip'}")
    (tmp_path / "bad.zip").write_text("not a policy")
    with pytest.raises(InputError, match="is not an allocation policy"):
        get_strategy(f"greedy-rl:{tmp_path / 'bad.zip'}")

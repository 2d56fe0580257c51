"""The scripted serpentine expert and the behaviour-cloning warm start of ``pstem train-rl``."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from completion import get_completer
from rl import RLConfig
from rl.evaluation import rollout
from rl.expert import ExpertPolicy, SerpentineExpert, expert_dataset, serpentine_corners
from rl.policy_file import load_policy
from rl.train import train
from scanpaths import specimens
from scanpaths.errors import ConfigError, InputError

#: The expert steers with absolute headings and variable lengths.
STEER: dict[str, Any] = {"steering": "absolute", "variable_length": True, "pool_size": 4}
TinyEnv = Callable[..., Any]


def test_serpentine_corners_fill_the_length_and_stay_in_the_field() -> None:
    c = serpentine_corners(96, 1000.0, (47.5, 47.5))
    length = np.linalg.norm(np.diff(c, axis=0), axis=1).sum()
    assert 900 < length <= 1000
    assert c.min() >= 0 and c.max() <= 95
    rows = np.unique(c[1:, 1])
    assert np.allclose(np.diff(rows), rows[1] - rows[0])  # evenly spaced rows


def test_expert_scans_the_whole_field_and_beats_random_steering(tiny_env: TinyEnv) -> None:
    env = tiny_env(**STEER, completer="none")
    with pytest.raises(InputError, match="absolute"):
        SerpentineExpert(tiny_env(completer="none"))
    harmonic = get_completer("harmonic")
    rng = np.random.default_rng(0)
    err_expert, err_random = [], []
    for seed in range(3):
        spec = specimens.generate((48, 48), seed=seed)
        scan = rollout(ExpertPolicy(env), env, spec.image, spec.clean, seed=seed)
        rows_seen = scan.mask.any(axis=1)
        assert rows_seen[:12].any() and rows_seen[-12:].any()  # top and bottom quarters
        assert scan.time_s == pytest.approx(env.budget_s, rel=1e-6)
        err_expert.append(np.mean((harmonic.complete(scan.values, scan.mask) - spec.clean) ** 2))
        env.reset(seed=seed, options={"image": spec.image, "truth": spec.clean})
        done = False
        while not done:
            done = env.step(rng.uniform(-1, 1, 2).astype(np.float32))[2]
        v, m = env.scan()
        err_random.append(np.mean((harmonic.complete(v, m) - spec.clean) ** 2))
    assert np.mean(err_expert) < 0.8 * np.mean(err_random)


def test_expert_dataset_shapes_and_labels(tiny_env: TinyEnv) -> None:
    env = tiny_env(**STEER)
    obs, actions, returns, mean_return = expert_dataset(env, 2, seed=0, gamma=0.99)
    n = len(actions)
    assert obs["image"].shape == (n, 3, 48, 48) and obs["vector"].shape == (n, 6)
    assert actions.shape == (n, 2) and np.all(np.abs(actions) <= 1)
    assert returns.shape == (n,) and np.isfinite(returns).all() and np.isfinite(mean_return)


def test_warm_start_clones_then_trains(tmp_path: Path, tiny_rl_config: RLConfig, cli: Callable[..., Any]) -> None:
    out = tmp_path / "run"
    cfg = replace(
        tiny_rl_config,
        out=str(out),
        total_steps=128,
        n_steps=64,
        batch_size=64,
        eval_every=128,
        warm_start="serpentine",
        bc_episodes=3,
        bc_epochs=3,
        env=replace(tiny_rl_config.env, **STEER),
    )
    train(cfg, progress=False)
    with open(out / "eval.csv") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps == [0, 128]  # the cloned policy is evaluated before PPO changes it
    ws = json.loads((out / "state.json").read_text())["warm_start"]
    assert ws["expert"] == "serpentine" and ws["samples"] > 0 and np.isfinite(ws["action_mse"])
    assert load_policy(out / "best_policy.pt").config.steering == "absolute"
    # the expert needs absolute steering with variable length; only PPO is warm-started
    run = cli("train-rl", "--out", tmp_path / "x", "--warm-start", "serpentine")
    assert run.code == 2 and "--warm-start serpentine needs absolute steering" in run.err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="works with algo ppo"):
        train(replace(cfg, algo="sac"), progress=False)


def test_residual_env_with_zero_actions_is_the_expert(tiny_env: TinyEnv) -> None:
    spec = specimens.generate((48, 48), seed=5)
    env = tiny_env(**STEER, completer="none")
    expert = rollout(ExpertPolicy(env), env, spec.image, spec.clean, seed=1)
    res = tiny_env(**STEER, completer="none", residual="serpentine")
    res.reset(seed=1, options={"image": spec.image, "truth": spec.clean})
    done = False
    while not done:
        done = res.step(np.zeros(2, dtype=np.float32))[2]
    np.testing.assert_allclose(res.unwrapped.partial_scan().commanded, expert.commanded, atol=1e-9)
    np.testing.assert_array_equal(res.unwrapped.scan()[1], expert.mask)
    again = rollout(ExpertPolicy(res), res, spec.image, spec.clean, seed=1)  # the expert in a residual env
    np.testing.assert_allclose(again.commanded, expert.commanded, atol=1e-9)
    with pytest.raises(ConfigError, match="absolute"):
        tiny_env(completer="none", residual="serpentine")
    with pytest.raises(ConfigError, match="residual"):
        tiny_env(**STEER, completer="none", residual="spiral")

"""The scripted serpentine expert and the behaviour-cloning warm start of ``pstem train-rl``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main
from completion import get_completer
from rl.env import AdaptiveScanEnv
from rl.expert import ExpertPolicy, SerpentineExpert, expert_dataset, serpentine_corners
from rl.policy import load_policy, rollout
from rl.train import RLConfig, train
from scanpaths import specimens
from scanpaths.errors import InputError

ENV = {"size": 48, "obs_size": 48, "coverage": 1 / 12, "pool_size": 4, "steering": "absolute", "variable_length": True}


def test_serpentine_corners_fill_the_length_and_stay_in_the_field() -> None:
    c = serpentine_corners(96, 1000.0, (47.5, 47.5))
    length = np.linalg.norm(np.diff(c, axis=0), axis=1).sum()
    assert 900 < length <= 1000
    assert c.min() >= 0 and c.max() <= 95
    rows = np.unique(c[1:, 1])
    assert np.allclose(np.diff(rows), rows[1] - rows[0])  # evenly spaced rows


def test_expert_scans_the_whole_field_and_beats_random_steering() -> None:
    env = AdaptiveScanEnv(**{**ENV, "completer": "none"})
    with pytest.raises(InputError, match="absolute"):
        SerpentineExpert(AdaptiveScanEnv(size=48, obs_size=48, pool_size=1, completer="none"))
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


def test_expert_dataset_shapes_and_labels() -> None:
    env = AdaptiveScanEnv(**ENV)
    obs, actions, returns, mean_return = expert_dataset(env, 2, seed=0, gamma=0.99)
    n = len(actions)
    assert obs["image"].shape == (n, 3, 48, 48) and obs["vector"].shape == (n, 6)
    assert actions.shape == (n, 2) and np.all(np.abs(actions) <= 1)
    assert returns.shape == (n,) and np.isfinite(returns).all() and np.isfinite(mean_return)


def test_warm_start_clones_then_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    cfg = RLConfig(
        out=str(out),
        total_steps=128,
        n_envs=2,
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        eval_every=128,
        n_eval=2,
        threads=1,
        warm_start="serpentine",
        bc_episodes=3,
        bc_epochs=3,
    )
    cfg.env.update(ENV)
    train(cfg, progress=False)
    with open(out / "eval.csv") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps == [0, 128]  # the cloned policy is evaluated before PPO changes it
    ws = json.loads((out / "state.json").read_text())["warm_start"]
    assert ws["expert"] == "serpentine" and ws["samples"] > 0 and np.isfinite(ws["action_mse"])
    assert load_policy(out / "best_policy.pt").env_kwargs["steering"] == "absolute"
    # the expert needs absolute steering with variable length; only PPO is warm-started
    code = main(["train-rl", "--out", str(tmp_path / "x"), "--warm-start", "serpentine"])
    assert code == 2 and "--steering absolute" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_residual_env_with_zero_actions_is_the_expert() -> None:
    spec = specimens.generate((48, 48), seed=5)
    env = AdaptiveScanEnv(**{**ENV, "completer": "none"})
    expert = rollout(ExpertPolicy(env), env, spec.image, spec.clean, seed=1)
    res = AdaptiveScanEnv(**{**ENV, "completer": "none", "residual": "serpentine"})
    res.reset(seed=1, options={"image": spec.image, "truth": spec.clean})
    done = False
    while not done:
        done = res.step(np.zeros(2, dtype=np.float32))[2]
    np.testing.assert_allclose(res.partial_scan().commanded, expert.commanded)
    np.testing.assert_array_equal(res.scan()[1], expert.mask)
    again = rollout(ExpertPolicy(res), res, spec.image, spec.clean, seed=1)  # the expert in a residual env
    np.testing.assert_allclose(again.commanded, expert.commanded)
    with pytest.raises(InputError, match="absolute"):
        AdaptiveScanEnv(size=48, obs_size=48, pool_size=1, completer="none", residual="serpentine")
    with pytest.raises(InputError, match="residual"):
        AdaptiveScanEnv(**{**ENV, "completer": "none", "residual": "spiral"})

"""RL on the greedy rule's own actions: an agent that sets, each round, how the next round's
samples are shared out, held against the rule it replaces.

The ``greedy`` strategy (:mod:`rl.adaptive`) shares each round's samples by the square-root
rule (exponent :data:`rl.adaptive.ALPHA`) and floors the warped path's density at
:data:`rl.adaptive.DENSITY_FLOOR`. :class:`AllocationEnv` gives those two numbers to an agent:

- **observation** (``2 + 2 B^2`` float32, B = 8 blocks a side): the budget (log10 coverage),
  the share of rounds done, the predicted error per block (log10, less its mean) and the
  samples per px per block (over their mean), both from the scan so far;
- **action** (2 in [-1, 1]): the allocation's exponent ``alpha = 4 ** a0`` (0.25: nearly
  proportional to the error; 4: nearly flat; the rule's 1 is ``a0 = 0``) and the floor ``0.05 +
  0.95 (a1 + 1) / 2`` (the rule's 0.3 is ``a1 = -0.47``);
- **reward**: the drop in the estimator's completion error over the round, over the
  specimen's variance (so an episode's return is the fraction of the error removed after the
  survey);
- an episode is one scan of a 256 px specimen drawn from the sparse-feature and lattice scenes
  (seeds of :data:`scanpaths.seeds.RL_TRAIN`), at 1/20 or 1/50, typical physics, 100 e per
  sample.

``python -m rl.allocation --out runs/allocation`` trains PPO (SB3) on it and writes
``policy.zip``; the strategy ``greedy-rl:FILE`` scans with it, so ``pstem eval adaptive
--strategies greedy greedy-rl:runs/allocation/policy.zip`` says whether it earns its place.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import scanpaths
from completion.base import Completer
from completion.device import set_threads
from completion.registry import get_completer
from scanpaths.errors import InputError
from scanpaths.seeds import RL_TRAIN
from scanpaths.strategies import STRATEGIES, Strategy

from .adaptive import (
    ALPHA,
    BLOCK_PX,
    DENSITY_FLOOR,
    ESTIMATOR,
    GREEDY_ROUNDS,
    GREEDY_SURVEY,
    SURVEY_STEP,
    AdaptiveScan,
    Budget,
    GreedyERD,
    block_mean,
)

__all__ = ["AllocationEnv", "LearnedAllocation", "action_to_rule", "rule_to_action", "train"]

log = logging.getLogger(__name__)

SIZE = 256
BLOCKS = SIZE // BLOCK_PX
SCENES = ("nanoparticle", "edge", "low-mag", "crystal")
COVERAGES = (1 / 20, 1 / 50)
DOSE = 100.0


def action_to_rule(action: np.ndarray) -> tuple[float, float]:
    """(alpha, floor) of an action in [-1, 1]^2."""
    a = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0)
    return float(4.0 ** a[0]), float(0.05 + 0.95 * (a[1] + 1.0) / 2.0)


def rule_to_action(alpha: float, floor: float) -> np.ndarray:
    """The action of the rule ``(alpha, floor)``: ``rule_to_action(ALPHA, DENSITY_FLOOR)`` is greedy."""
    return np.array([math.log(alpha, 4.0), 2.0 * (floor - 0.05) / 0.95 - 1.0], dtype=np.float32)


def observe(run: AdaptiveScan, err: np.ndarray, coverage: float) -> np.ndarray:
    """The observation (see the module docstring) of ``run`` with predicted error ``err``."""
    e = np.log10(block_mean(err, BLOCK_PX) + 1e-8)
    rho = block_mean(run.scanner.counts.astype(np.float64), BLOCK_PX)
    head = [math.log10(coverage), run.round / run.rounds]
    out = np.concatenate([head, (e - e.mean()).ravel(), (rho / max(rho.mean(), 1e-9)).ravel()])
    return out.astype(np.float32)


class AllocationEnv(gym.Env):  # type: ignore[type-arg]
    """The greedy strategy's rounds, with the allocation rule as the action (module docstring)."""

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium's convention

    def __init__(self, estimator: str = ESTIMATOR, first_seed: int = RL_TRAIN.start) -> None:
        self.estimator: Completer = get_completer(estimator)
        self.first_seed = first_seed
        n = 2 + 2 * BLOCKS * BLOCKS
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._episode = 0
        self._run: AdaptiveScan | None = None

    def _error(self, filled: np.ndarray) -> float:
        assert self._truth is not None
        return float(np.mean((np.asarray(filled, dtype=np.float64) - self._truth) ** 2)) / self._var

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        rng = self.np_random
        spec_seed = self.first_seed + int(rng.integers(0, 10**6))
        scene = SCENES[int(rng.integers(len(SCENES)))]
        self.coverage = COVERAGES[int(rng.integers(len(COVERAGES)))]
        spec = scanpaths.specimens.generate((SIZE, SIZE), seed=spec_seed, scene=scene)
        self._truth = spec.clean.astype(np.float64)
        self._var = max(float(self._truth.var()), 1e-6)
        budget = Budget.of_coverage((SIZE, SIZE), self.coverage, "typical", DOSE)
        self._run = AdaptiveScan(
            spec.clean,
            budget,
            "typical",
            int(spec_seed % 2**31),
            survey_share=GREEDY_SURVEY,
            rounds=GREEDY_ROUNDS,
            name="greedy-rl",
            survey_step=SURVEY_STEP,
        )
        self._err, filled, _ = self._run.predict(self.estimator)
        self._before = self._error(filled)
        self._episode += 1
        return observe(self._run, self._err, self.coverage), {"scene": scene, "coverage": self.coverage}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert self._run is not None
        alpha, floor = action_to_rule(action)
        self._run.step(self._err, alpha=alpha, floor=floor)
        if self._run.done:
            values, mask = self._run.scanner.values()
            after = self._error(self.estimator.complete(values, mask))
            obs = observe(self._run, self._err, self.coverage)
        else:
            self._err, filled, _ = self._run.predict(self.estimator)
            after = self._error(filled)
            obs = observe(self._run, self._err, self.coverage)
        reward = self._before - after
        self._before = after
        return obs, float(reward), self._run.done, False, {"mse_over_var": after}


class LearnedAllocation(GreedyERD):
    """``greedy`` with a trained agent choosing each round's exponent and floor."""

    def __init__(self, file: Path) -> None:
        from stable_baselines3 import PPO

        if not file.is_file():
            raise InputError(f"no allocation policy at {file}; train one with: python -m rl.allocation --out DIR")
        try:
            self.model = PPO.load(str(file), device="cpu")
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same one-line error
            raise InputError(f"{file} is not an allocation policy written by rl.allocation ({exc})") from None
        super().__init__()
        self.file = file.resolve()
        self.name = f"greedy-rl:{self.file}"

    def check(self, shape: tuple[int, int]) -> None:
        super().check(shape)
        if shape != (SIZE, SIZE):
            raise InputError(f"the allocation policy was trained on {SIZE} px fields; got {shape[0]}x{shape[1]}")

    def choose(self, run: AdaptiveScan, err: np.ndarray) -> tuple[float, float]:
        if not math.isfinite(self.coverage):
            raise InputError("a learned allocation observes the budget's coverage: scan with scan(coverage=...)")
        action, _ = self.model.predict(observe(run, err, self.coverage), deterministic=True)
        return action_to_rule(action)


def _learned(arg: str | None, base: Path) -> Strategy:
    assert arg is not None
    p = Path(arg)
    return LearnedAllocation(p if p.is_absolute() else base / p)


if __name__ != "__main__":  # importing rl registers it once (python -m rl.allocation imports rl first)
    STRATEGIES.register_prefix(
        "greedy-rl",
        _learned,
        arg="FILE",
        help="greedy with a PPO agent choosing each round's allocation (rl.allocation)",
    )


def train(out: str | Path, steps: int = 3000, seed: int = 0, threads: int = 0) -> dict[str, Any]:
    """Train PPO on :class:`AllocationEnv` for ``steps`` rounds; write ``OUT/policy.zip`` and
    ``OUT/training.json`` (settings, time, the mean return of the last 50 episodes beside the
    greedy rule's on the same 50 specimens). Returns the record."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.monitor import Monitor

    set_threads(threads)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    env = Monitor(AllocationEnv())
    start = time.perf_counter()
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=5, learning_rate=3e-4, gamma=1.0, seed=seed)
    model.learn(total_timesteps=int(steps), progress_bar=False)
    train_s = time.perf_counter() - start
    model.save(out / "policy.zip")
    # held-out check: the agent and the rule on the same 50 evaluation episodes
    returns: dict[str, list[float]] = {"agent": [], "greedy": []}
    for who in returns:
        ev = AllocationEnv(first_seed=RL_TRAIN.start + 5_000_000)
        for i in range(50):
            obs, _ = ev.reset(seed=10_000 + i)
            total, done = 0.0, False
            while not done:
                act = (
                    model.predict(obs, deterministic=True)[0]
                    if who == "agent"
                    else rule_to_action(ALPHA, DENSITY_FLOOR)
                )
                obs, r, done, _, _ = ev.step(act)
                total += r
            returns[who].append(total)
    record = {
        "command": f"python -m rl.allocation --out {out} --steps {steps} --seed {seed}",
        "steps": int(steps),
        "seed": seed,
        "train_s": round(train_s, 1),
        "episodes": len(env.get_episode_rewards()),
        "eval_return_agent": float(np.mean(returns["agent"])),
        "eval_return_greedy": float(np.mean(returns["greedy"])),
        "mean_action": [float(v) for v in model.predict(np.zeros(2 + 2 * BLOCKS * BLOCKS, np.float32), True)[0]],
    }
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m rl.allocation",
        description="Train PPO (stable-baselines3) to do the greedy strategy's job: in each of its 4 rounds after "
        "the survey, choose how the round's samples are shared out (the allocation's exponent and the warped "
        "spiral's density floor) from the predicted error and the sample density per 32 px block. Episodes scan "
        "256 px synthetic specimens (nanoparticle, edge, low-mag, crystal) at 1/20 or 1/50; the reward is the "
        "completion error removed. Writes OUT/policy.zip (scan with it as the strategy greedy-rl:OUT/policy.zip) "
        "and OUT/training.json (time, and the agent's return beside the rule's on 50 held-out episodes). About "
        "10 minutes for the default steps on 2 CPU cores.",
    )
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--steps", type=int, default=3000, help="rounds to train on (4 per episode; default 3000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    args = p.parse_args(argv)
    if args.steps < 128:
        p.error("--steps must be >= 128 (one PPO rollout)")
    if args.seed < 0:
        p.error("--seed must be >= 0")
    logging.basicConfig(level=logging.INFO)
    try:
        record = train(args.out, args.steps, args.seed, args.threads)
    except InputError as exc:
        p.exit(2, f"python -m rl.allocation: error: {exc}\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":  # run as python -m rl.allocation: the package's copy holds the registration
    from rl.allocation import main as _main

    raise SystemExit(_main())

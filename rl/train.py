"""``pstem train-rl``: train an SB3 agent on the adaptive-scan environments (:mod:`rl.make`).

PPO by default (SAC and sb3-contrib's RecurrentPPO selectable), with :class:`ScanExtractor`,
vectorised environments (in subprocesses with ``subproc``), a progress bar, TensorBoard when it
is installed, and periodic evaluation of the deterministic policy against the fixed paths
(spiral, Lissajous, grid, serpentine) of equal scan time on held-out specimens. Writes to ``out``:

- ``last.zip`` (SB3 checkpoint, for ``resume``) and ``state.json``;
- ``policy.pt`` (the last policy) and ``best_policy.pt`` (best evaluation), as safe policy files;
- ``eval.csv``: step, wall time, the learned path's mean MSE and the fixed paths'.

Ctrl-C saves the checkpoint first. The same command uses CUDA when it is there.

``algo="search"`` (line mode) is not SB3: search-labelled imitation with DAgger rounds
(:mod:`rl.search`), writing ``states_<round>.npz``, ``policy.pt``, ``best_policy.pt``,
``eval.csv`` and ``state.json`` (``resume`` keeps the rounds done).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from tqdm.auto import tqdm

from scanpaths.common import atomic_write
from scanpaths.seeds import EVALUATION

from .config import RLConfig
from .equal_time import FIXED_KINDS
from .evaluation import evaluate
from .expert import expert_dataset
from .make import make_env
from .networks import POLICY_CLASSES, algo_class, policy_kwargs
from .policy_file import save_policy
from .runs import RunFolder, run_device
from .search import train_search

__all__ = ["RLConfig", "train", "warm_start"]

log = logging.getLogger(__name__)


def warm_start(model: Any, cfg: RLConfig, progress: bool = True) -> dict[str, float]:
    """Behaviour cloning: fit a fresh PPO policy to the serpentine expert before PPO starts.

    The expert (:class:`rl.expert.SerpentineExpert`) scans ``bc_episodes`` training episodes
    with noise injected into the executed actions; the actor's mean action is regressed onto the
    expert's clean actions and the critic onto the discounted returns (MSE each, Adam 1e-3,
    ``bc_epochs`` passes, batches of 256). The action noise is then set to
    ``exp(bc_log_std)`` so PPO explores around the expert instead of forgetting it at once.

    Returns the cloning statistics (also written to ``state.json``).
    """
    env = make_env(cfg.env)
    obs, actions, returns, expert_return = expert_dataset(
        env, cfg.bc_episodes, seed=cfg.seed * 1_000_003 + 7, gamma=cfg.gamma, progress=progress
    )
    policy = model.policy
    policy.set_training_mode(True)
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    rng = np.random.default_rng(cfg.seed)
    n = len(actions)
    act_t = torch.as_tensor(actions, device=policy.device)
    ret_t = torch.as_tensor(returns, device=policy.device)
    act_loss = val_loss = math.nan
    for _ in tqdm(range(cfg.bc_epochs), desc="clone", unit="epoch", disable=not progress, leave=False):
        order = rng.permutation(n)
        a_sum = v_sum = 0.0
        for start in range(0, n, 256):
            b = order[start : start + 256]
            obs_t, _ = policy.obs_to_tensor({k: v[b] for k, v in obs.items()})
            mean = policy.get_distribution(obs_t).distribution.mean
            values = policy.predict_values(obs_t).flatten()
            la = F.mse_loss(mean, act_t[b])
            lv = F.mse_loss(values, ret_t[b])
            opt.zero_grad(set_to_none=True)
            (la + 0.5 * lv).backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            a_sum += la.item() * len(b)
            v_sum += lv.item() * len(b)
        act_loss, val_loss = a_sum / n, v_sum / n
    with torch.no_grad():
        policy.log_std.fill_(cfg.bc_log_std)
    policy.set_training_mode(False)
    stats = {
        "expert": cfg.warm_start,
        "episodes": cfg.bc_episodes,
        "samples": n,
        "action_mse": act_loss,
        "value_mse": val_loss,
        "expert_return": expert_return,
    }
    log.info("warm start: cloned %d expert steps, action MSE %.4f", n, act_loss)
    return stats


def _make_vec_env(cfg: RLConfig) -> Any:
    return make_vec_env(
        make_env,
        n_envs=cfg.n_envs,
        seed=cfg.seed,
        env_kwargs={"config": cfg.env},
        vec_env_cls=SubprocVecEnv if cfg.subproc else DummyVecEnv,
        vec_env_kwargs={"start_method": "forkserver"} if cfg.subproc else None,
    )


def _callback(cfg: RLConfig, folder: RunFolder, state: dict[str, Any], progress: bool) -> Any:
    out = folder.path
    eval_env = make_env(replace(cfg.env, pool_size=1, completer="none"))
    seeds = EVALUATION.seeds(cfg.n_eval)

    class Monitor(BaseCallback):
        """Progress bar, periodic evaluation and checkpoints."""

        def __init__(self) -> None:
            super().__init__()
            self.bar: Any = None
            self.t0 = time.perf_counter() - state.get("wall_s", 0.0)
            self.fixed: dict[str, np.ndarray] | None = None
            self.next_eval = state.get("next_eval", cfg.eval_every)

        def _on_training_start(self) -> None:
            self.bar = tqdm(
                total=cfg.total_steps,
                initial=self.num_timesteps,
                unit="step",
                desc="train-rl",
                disable=not progress,
                smoothing=0.05,
            )
            if state.pop("eval_at_start", False):
                self.evaluate()

        def _on_step(self) -> bool:
            self.bar.update(self.model.n_envs)
            for info in self.locals.get("infos", []):
                if "mse" in info:
                    self.logger.record_mean("scan/final_mse", info["mse"])
                    self.logger.record_mean("scan/coverage", info["coverage"])
                    self.logger.record_mean("scan/bad_actions", info["bad_actions"])
            if self.num_timesteps >= self.next_eval:
                self.next_eval += cfg.eval_every
                self.evaluate()
            return True

        def evaluate(self) -> None:
            if self.fixed is None:
                self.fixed = evaluate(None, eval_env, seeds, kinds=FIXED_KINDS, completers=(cfg.eval_completer,))[
                    cfg.eval_completer
                ]
            learned = evaluate(self.model.policy, eval_env, seeds, kinds=(), completers=(cfg.eval_completer,))
            mse = float(learned[cfg.eval_completer]["learned"].mean())
            fixed = {k: float(v.mean()) for k, v in self.fixed.items()}
            best_fixed = min(fixed.values())
            wall = time.perf_counter() - self.t0
            self.logger.record("eval/learned_mse", mse)
            self.logger.record("eval/ratio_to_best_fixed", mse / best_fixed)
            row = {"step": self.num_timesteps, "wall_s": round(wall, 1), "learned_mse": mse, **fixed}
            folder.append_eval(row)
            state["last_eval_step"] = self.num_timesteps
            msg = (
                f"step {self.num_timesteps}: learned MSE {mse:.3e}, "
                + ", ".join(f"{k} {v:.3e}" for k, v in fixed.items())
                + f" (ratio to best fixed {mse / best_fixed:.3f})"
            )
            if self.bar is not None and progress:
                self.bar.write(msg)
            log.info(msg)
            if mse < state.get("best_mse", math.inf):
                state["best_mse"] = mse
                state["best_step"] = self.num_timesteps
                save_policy(self.model, out / "best_policy.pt", cfg.algo, cfg.env, self.extra())
            self.checkpoint()

        def extra(self) -> dict[str, Any]:
            return {"step": self.num_timesteps, "wall_s": time.perf_counter() - self.t0, "seed": cfg.seed}

        def checkpoint(self) -> None:
            state["wall_s"] = time.perf_counter() - self.t0
            state["next_eval"] = self.next_eval
            state["num_timesteps"] = self.num_timesteps
            with atomic_write(out / "last.zip") as fh:
                self.model.save(fh)
            save_policy(self.model, out / "policy.pt", cfg.algo, cfg.env, self.extra())
            folder.write_json("state.json", state)

        def _on_training_end(self) -> None:
            self.bar.close()

    return Monitor()


def train(cfg: RLConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train (or, with ``resume``, continue) an agent; return the run folder.

    ``cfg`` is resolved and checked first (:meth:`RLConfig.resolved`); nothing is written
    before every check has passed.
    """
    cfg = cfg.resolved()
    if cfg.algo == "search":
        folder = RunFolder(cfg.out, resume, "state.json")
        device = run_device(cfg.device, cfg.threads)
        folder.create()
        if not resume:
            folder.write_json("config.json", cfg.to_dict())
            folder.write_json("state.json", {})
        train_search(cfg, folder, device, resume=resume, progress=progress)
        return folder.path
    folder = RunFolder(cfg.out, resume, "last.zip")
    device = run_device(cfg.device, cfg.threads)
    cls = algo_class(cfg.algo)
    folder.create()
    out = folder.path
    venv = _make_vec_env(cfg)
    tb = None
    try:
        import tensorboard  # noqa: F401 - optional: logs only where it is installed

        tb = str(out / "tb")
    except ImportError:
        log.info("TensorBoard is not installed; no TensorBoard logs")
    state: dict[str, Any] = {}
    if resume:
        state = folder.read_json("state.json")
        model = cls.load(out / "last.zip", env=venv, device=device)
        model.tensorboard_log = tb
    else:
        folder.write_json("config.json", cfg.to_dict())
        kw: dict[str, Any] = {"learning_rate": cfg.lr, "gamma": cfg.gamma}
        if cfg.algo in ("ppo", "recurrent-ppo"):
            kw |= {
                "n_steps": cfg.n_steps,
                "batch_size": cfg.batch_size,
                "n_epochs": cfg.n_epochs,
                "ent_coef": cfg.ent_coef,
            }
        else:
            kw |= {"buffer_size": 50_000, "batch_size": cfg.batch_size, "learning_starts": 1000}
        model = cls(
            POLICY_CLASSES[cfg.algo],
            venv,
            policy_kwargs=policy_kwargs(cfg.algo),
            seed=cfg.seed,
            device=device,
            tensorboard_log=tb,
            verbose=0,
            **kw,
        )
    monitor = _callback(cfg, folder, state, progress)
    if not resume and cfg.warm_start != "none":
        state["warm_start"] = warm_start(model, cfg, progress)
    if not resume and (cfg.warm_start != "none" or cfg.env.residual != "none" or cfg.env.mode == "lines"):
        state["eval_at_start"] = True  # step 0 of eval.csv: where PPO starts (the clone, the expert, a serpentine)
    remaining = cfg.total_steps - model.num_timesteps
    try:
        if remaining > 0:
            model.learn(remaining, callback=monitor, reset_num_timesteps=not resume, tb_log_name="rl")
        if state.get("last_eval_step") != model.num_timesteps:
            monitor.num_timesteps = model.num_timesteps
            monitor.model = model
            monitor.evaluate()
    except KeyboardInterrupt:
        monitor.checkpoint()
        raise
    finally:
        venv.close()
    return out

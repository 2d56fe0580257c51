"""``pstem train-rl``: train an SB3 agent on ``partialstem/AdaptiveScan-v0``.

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

import csv
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path as FsPath
from typing import Any

import numpy as np
import torch

from scanpaths.errors import InputError, check_choice

from .env import AdaptiveScanEnv
from .fixed import FIXED_KINDS
from .policy import ALGOS, algo_class, evaluate, policy_kwargs, save_policy

log = logging.getLogger(__name__)

#: Seeds of the held-out specimens evaluated during training (benchmarks use 0, 1, ...).
EVAL_SEED_BASE = 900_000


@dataclass
class RLConfig:
    """Settings of a training run (all recorded in ``out/config.json``)."""

    out: str = "runs/rl"
    algo: str = "ppo"
    total_steps: int = 100_000
    n_envs: int = 8
    subproc: bool = False
    seed: int = 0
    lr: float = 3e-4
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 4
    gamma: float = 0.995
    ent_coef: float = 0.0
    eval_every: int = 10_000
    n_eval: int = 16
    eval_completer: str = "harmonic"
    device: str = "auto"
    threads: int = 0
    warm_start: str = "none"
    bc_episodes: int = 300
    bc_epochs: int = 30
    bc_log_std: float = -2.0
    search_rounds: int = 3
    search_episodes: int = 300
    search_coverages: tuple[float, ...] = (1 / 20, 1 / 30, 1 / 40)
    search_epochs: int = 40
    workers: int = 0
    env: dict[str, Any] = field(
        default_factory=lambda: {
            "size": 96,
            "preset": "typical",
            "coverage": 1 / 23,
            "segment_len": 20,
            "completer": "harmonic",
            "reward_mode": "final",
            "reference": "spiral",
            "obs_size": 48,
            "variable_length": False,
            "steering": "relative",
            "pool_size": 2000,
        }
    )


#: Scripted experts a run can start from (``warm_start``).
WARM_STARTS: tuple[str, ...] = ("none", "serpentine")


def warm_start(model: Any, cfg: RLConfig, progress: bool = True) -> dict[str, float]:
    """Behaviour cloning: fit a fresh PPO policy to the serpentine expert before PPO starts.

    The expert (:class:`rl.expert.SerpentineExpert`) scans ``bc_episodes`` training episodes
    with noise injected into the executed actions; the actor's mean action is regressed onto the
    expert's clean actions and the critic onto the discounted returns (MSE each, Adam 1e-3,
    ``bc_epochs`` passes, batches of 256). The action noise is then set to
    ``exp(bc_log_std)`` so PPO explores around the expert instead of forgetting it at once.

    Returns the cloning statistics (also written to ``state.json``).
    """
    import torch.nn.functional as F

    from .expert import expert_dataset

    env = AdaptiveScanEnv(**cfg.env)
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
    from tqdm.auto import tqdm

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


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine")
    check_choice(name.split(":")[0], "--device", ("cpu", "cuda"))
    return name


def _make_vec_env(cfg: RLConfig) -> Any:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    env_kwargs = dict(cfg.env)
    return make_vec_env(
        AdaptiveScanEnv,
        n_envs=cfg.n_envs,
        seed=cfg.seed,
        env_kwargs=env_kwargs,
        vec_env_cls=SubprocVecEnv if cfg.subproc else DummyVecEnv,
        vec_env_kwargs={"start_method": "forkserver"} if cfg.subproc else None,
    )


def _callback(cfg: RLConfig, out: FsPath, state: dict[str, Any], progress: bool) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm.auto import tqdm

    eval_env = AdaptiveScanEnv(**{**cfg.env, "pool_size": 1, "completer": "none"})
    seeds = [EVAL_SEED_BASE + i for i in range(cfg.n_eval)]

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
            append_csv_row(out / "eval.csv", row)
            state["last_eval_step"] = self.num_timesteps
            (self.bar.write if self.bar is not None else print)(
                f"step {self.num_timesteps}: learned MSE {mse:.3e}, "
                + ", ".join(f"{k} {v:.3e}" for k, v in fixed.items())
                + f" (ratio to best fixed {mse / best_fixed:.3f})"
            )
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
            tmp = out / "last.tmp.zip"
            self.model.save(tmp)
            os.replace(tmp, out / "last.zip")
            save_policy(self.model, out / "policy.pt", cfg.algo, cfg.env, self.extra())
            (out / "state.json").write_text(json.dumps(state, indent=1))

        def _on_training_end(self) -> None:
            self.bar.close()

    return Monitor()


def _device_and_out(cfg: RLConfig) -> tuple[str, FsPath]:
    """The run's device (torch threads set for it) and its checked output folder."""
    device = _device(cfg.device)
    if cfg.threads > 0 or device == "cpu":
        torch.set_num_threads(cfg.threads if cfg.threads > 0 else (os.cpu_count() or 1))
    out = FsPath(cfg.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file")
    return device, out


def append_csv_row(path: FsPath, row: dict[str, Any]) -> None:
    """Append ``row`` to the CSV file ``path``, with a header when the file is new."""
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def _train_search(cfg: RLConfig, resume: bool, progress: bool) -> FsPath:
    """``--algo search``: checks, then :func:`rl.search.train_search`."""
    from .search import train_search

    if cfg.env.get("mode") != "lines":
        raise InputError("--algo search works in line mode: add --mode lines")
    if cfg.env.get("completer", "harmonic") == "none":
        raise InputError("--algo search needs a completer to label states (e.g. --completer harmonic)")
    if cfg.search_rounds < 1 or cfg.search_episodes < 1 or cfg.search_epochs < 1 or cfg.n_eval < 1:
        raise InputError("--rounds, --episodes, --fit-epochs and --n-eval must be at least 1")
    if not cfg.search_coverages or not all(0.0 < c <= 1.0 for c in cfg.search_coverages):
        raise InputError("--label-coverages must be fractions in (0, 1]")
    if cfg.workers < 0:
        raise InputError(f"--workers must be 0 (all cores) or more, got {cfg.workers}")
    _, out = _device_and_out(cfg)
    for cov in {cfg.env.get("coverage", 1 / 23), *cfg.search_coverages}:  # every budget is valid
        AdaptiveScanEnv(**{**cfg.env, "coverage": cov, "pool_size": 1})
    if resume and not (out / "state.json").is_file():
        raise InputError(f"--resume: {out}/state.json does not exist")
    if not resume and (out / "state.json").exists():
        raise InputError(f"{out} already holds a run; use --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
        (out / "state.json").write_text("{}")
    train_search(cfg, out, resume=resume, progress=progress)
    return out


def train(cfg: RLConfig, resume: bool = False, progress: bool = True) -> FsPath:
    """Train (or, with ``resume``, continue) an agent; return the run folder."""
    check_choice(cfg.algo, "--algo", ALGOS)
    check_choice(cfg.warm_start, "--warm-start", WARM_STARTS)
    if cfg.warm_start != "none":
        if cfg.algo != "ppo":
            raise InputError("--warm-start works with --algo ppo")
        if cfg.env.get("steering") != "absolute" or not cfg.env.get("variable_length"):
            raise InputError("--warm-start serpentine needs --steering absolute and --variable-length")
        if cfg.bc_episodes < 1 or cfg.bc_epochs < 1:
            raise InputError("--bc-episodes and the cloning epochs must be at least 1")
    if cfg.algo == "search":
        return _train_search(cfg, resume, progress)
    if cfg.total_steps < 1 or cfg.n_envs < 1 or cfg.eval_every < 1 or cfg.n_eval < 1:
        raise InputError("--steps, --envs, --eval-every and --n-eval must be at least 1")
    if cfg.n_steps < 1 or cfg.batch_size < 1 or cfg.n_epochs < 1:
        raise InputError("--n-steps, --batch and --epochs must be at least 1")
    if not 0.0 < cfg.gamma <= 1.0:
        raise InputError(f"--gamma must be in (0, 1], got {cfg.gamma:g}")
    device, out = _device_and_out(cfg)
    cls = algo_class(cfg.algo)
    AdaptiveScanEnv(**{**cfg.env, "pool_size": 1})  # validates the env settings before anything is written
    if resume and not (out / "last.zip").is_file():
        raise InputError(f"--resume: {out}/last.zip does not exist")
    if not resume and (out / "last.zip").exists():
        raise InputError(f"{out} already holds a run; use --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    venv = _make_vec_env(cfg)
    tb = None
    try:
        import tensorboard  # noqa: F401

        tb = str(out / "tb")
    except ImportError:
        log.info("TensorBoard is not installed; no TensorBoard logs")
    state: dict[str, Any] = {}
    if resume:
        state = json.loads((out / "state.json").read_text())
        model = cls.load(out / "last.zip", env=venv, device=device)
        model.tensorboard_log = tb
    else:
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
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
            ALGOS[cfg.algo],
            venv,
            policy_kwargs=policy_kwargs(cfg.algo),
            seed=cfg.seed,
            device=device,
            tensorboard_log=tb,
            verbose=0,
            **kw,
        )
    monitor = _callback(cfg, out, state, progress)
    if not resume and cfg.warm_start != "none":
        state["warm_start"] = warm_start(model, cfg, progress)
    if not resume and (
        cfg.warm_start != "none" or cfg.env.get("residual", "none") != "none" or cfg.env.get("mode") == "lines"
    ):
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

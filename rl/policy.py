"""Policies: the CNN feature extractor, safe policy files, rollouts and evaluation.

A policy file (``.pt``) holds only tensors and plain data: the algorithm, the environment's
settings and the policy's ``state_dict``. It loads with ``torch.load(weights_only=True)``,
so, unlike an SB3 ``.zip`` (which unpickles objects), a policy file cannot run code.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

import scanpaths
from scanpaths.errors import InputError

from .env import AdaptiveScanEnv
from .fixed import fixed_scan

#: The shipped default policy (see rl/POLICY_CARD.md).
DEFAULT_POLICY = FsPath(__file__).parent / "policies" / "default.pt"
POLICY_FORMAT = "partialstem-policy"
POLICY_VERSION = 1
#: Algorithms ``pstem train-rl`` knows, and the SB3 policy class each uses.
#: ``search`` is not SB3: search-labelled imitation in line mode (:mod:`rl.search`).
ALGOS: dict[str, str] = {
    "ppo": "MultiInputPolicy",
    "sac": "MultiInputPolicy",
    "recurrent-ppo": "MultiInputLstmPolicy",
    "search": "SearchNet",
}


class ScanExtractor(BaseFeaturesExtractor):
    """Features of the observation: a small strided CNN over the (3, S, S) image, concatenated
    with the (6,) vector. Sized for CPU training (about 60 k parameters at S = 48)."""

    def __init__(self, observation_space: gym.spaces.Dict, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        c, s, _ = observation_space["image"].shape
        self.cnn = nn.Sequential(
            nn.Conv2d(c, 16, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        n_vec = observation_space["vector"].shape[0]
        self.head = nn.Sequential(nn.Linear(32 * 16 + n_vec, features_dim), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        # SB3 has already scaled the uint8 image to [0, 1]
        return self.head(torch.cat([self.cnn(obs["image"].float()), obs["vector"].float()], dim=1))


def policy_kwargs(algo: str) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` for ``algo``."""
    kw: dict[str, Any] = {"features_extractor_class": ScanExtractor, "features_extractor_kwargs": {"features_dim": 128}}
    kw["net_arch"] = [128, 128] if algo == "sac" else {"pi": [64], "vf": [64]}
    if algo == "recurrent-ppo":
        kw["lstm_hidden_size"] = 64
    if algo != "sac":
        kw["log_std_init"] = -1.5  # start from gentle steering (turns of ~40 deg), not random flailing
    return kw


def algo_class(algo: str) -> type:
    """The SB3 (or sb3-contrib) class of ``algo``."""
    if algo == "ppo":
        from stable_baselines3 import PPO

        return PPO
    if algo == "sac":
        from stable_baselines3 import SAC

        return SAC
    if algo == "recurrent-ppo":
        try:
            from sb3_contrib import RecurrentPPO
        except ImportError:
            raise InputError("recurrent-ppo needs sb3-contrib: pip install 'partialstem[rl]'") from None
        return RecurrentPPO
    raise InputError(f"algo must be one of {', '.join(ALGOS)}; got {algo!r}")


def save_policy(
    model: Any, path: str | os.PathLike[str], algo: str, env_kwargs: dict[str, Any], extra: dict[str, Any] | None = None
) -> None:
    """Write ``model``'s policy weights and settings to ``path`` (atomically)."""
    write_policy_file(path, algo, env_kwargs, model.policy.state_dict(), extra)


def write_policy_file(
    path: str | os.PathLike[str],
    algo: str,
    env_kwargs: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a policy file (weights ``state_dict`` of an ``algo`` policy) to ``path`` atomically."""
    blob = {
        "format": POLICY_FORMAT,
        "version": POLICY_VERSION,
        "algo": algo,
        "env_kwargs": env_kwargs,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "extra": extra or {},
    }
    path = FsPath(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)


@dataclass
class LoadedPolicy:
    """A policy ready to scan: the SB3 policy, its algorithm and the env settings it was trained with."""

    policy: Any
    algo: str
    env_kwargs: dict[str, Any]
    extra: dict[str, Any]

    def make_env(self, **overrides: Any) -> AdaptiveScanEnv:
        """An environment with the policy's settings (``overrides`` change some)."""
        return AdaptiveScanEnv(**{**self.env_kwargs, **overrides})


def load_policy(path: str | os.PathLike[str], device: str = "cpu") -> LoadedPolicy:
    """Load a policy file written by :func:`save_policy` (``weights_only``: no code runs)."""
    p = FsPath(path)
    if not p.is_file():
        raise InputError(f"policy file {p} does not exist")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise InputError(f"{p} is not a readable policy file ({type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != POLICY_FORMAT:
        raise InputError(f"{p} is not a partialstem policy file")
    if not {"algo", "env_kwargs", "state_dict"} <= set(blob) or blob["algo"] not in ALGOS:
        raise InputError(f"{p} is an incomplete policy file")
    algo = blob["algo"]
    env = AdaptiveScanEnv(**{**blob["env_kwargs"], "pool_size": 1, "completer": "none"})
    if algo == "search":
        from .search import SearchNet, SearchPolicy

        if env.mode != "lines":
            raise InputError(f"{p}: a search policy must be a line-mode policy")
        module: Any = SearchNet(env.observation_space)
    else:
        module = algo_class(algo)(ALGOS[algo], env, policy_kwargs=policy_kwargs(algo), device=device, seed=0).policy
    try:
        module.load_state_dict(blob["state_dict"])
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise InputError(f"{p}: the weights do not fit the {algo} policy this version builds ({first})") from None
    policy = SearchPolicy(module) if algo == "search" else module
    policy.set_training_mode(False)
    return LoadedPolicy(policy=policy, algo=algo, env_kwargs=dict(blob["env_kwargs"]), extra=blob["extra"])


def rollout(
    policy: Any, env: AdaptiveScanEnv, image: np.ndarray, truth: np.ndarray | None = None, seed: int = 0
) -> scanpaths.PartialScan:
    """Scan ``image`` (size x size) with ``policy`` acting deterministically; the PartialScan."""
    obs, _ = env.reset(seed=seed, options={"image": image, "truth": image if truth is None else truth})
    state, start, done = None, np.ones((1,), dtype=bool), False
    while not done:
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        start = np.zeros((1,), dtype=bool)
        obs, _, done, _, _ = env.step(action)
    return env.partial_scan()


def evaluate(
    policy: Any,
    env: AdaptiveScanEnv,
    seeds: list[int],
    kinds: tuple[str, ...] = ("spiral", "lissajous"),
    completers: tuple[str, ...] = ("harmonic",),
    defects: bool = False,
) -> dict[str, dict[str, np.ndarray]]:
    """Completion MSE (and defect recall) of the learned path and of fixed paths at equal scan time.

    Returns ``{completer: {path: (len(seeds),) MSE}}``, with ``"<path>/recall"`` entries when
    ``defects`` is set. ``policy`` None scores the fixed paths only. ``kinds`` may include
    ``"expert"``: the scripted serpentine of :mod:`rl.expert`, steered through the env like the
    policy (needs absolute steering and variable length).
    """
    from benchmarks.metrics import defect_recall
    from completion import get_completer

    comps = {c: get_completer(c, device="cpu") for c in completers}
    names = (("learned",) if policy is not None else ()) + tuple(kinds)
    out: dict[str, dict[str, list[float]]] = {c: {} for c in completers}
    for s in seeds:
        spec = scanpaths.specimens.generate((env.size, env.size), seed=s)
        scans = {}
        if policy is not None:
            scans["learned"] = rollout(policy, env, spec.image, spec.clean, seed=s)
        for k in kinds:
            if k == "expert":  # the scripted serpentine, steered through the env like the policy
                from .expert import ExpertPolicy

                scans[k] = rollout(ExpertPolicy(env), env, spec.image, spec.clean, seed=s)
            else:
                scans[k] = fixed_scan(k, spec.image, env.budget_s, env.preset.name, seed=s)
        for cname, comp in comps.items():
            for name in names:
                sc = scans[name]
                pred = comp.complete(sc.values, sc.mask)
                out[cname].setdefault(name, []).append(float(np.mean((pred - spec.clean) ** 2)))
                if defects:
                    r, _ = defect_recall(
                        pred, spec.clean, spec.defect_positions, spec.columns, spec.params["probe_sigma_px"]
                    )
                    out[cname].setdefault(f"{name}/recall", []).append(r)
    return {c: {k: np.array(v) for k, v in d.items()} for c, d in out.items()}


def ratio_ci(learned: np.ndarray, fixed: np.ndarray, n_boot: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """Ratio of mean MSEs (learned / fixed) with a paired 95 % bootstrap interval over specimens."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(learned), size=(n_boot, len(learned)))
    ratios = learned[idx].mean(axis=1) / fixed[idx].mean(axis=1)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    r = float(learned.mean() / fixed.mean()) if fixed.mean() > 0 else math.nan
    return r, float(lo), float(hi)

"""Policy files: a trained policy as weights and settings only, safe to load.

A policy file (``.pt``) holds only tensors and plain data: the format tag, the algorithm, the
environment's settings (:meth:`rl.config.EnvConfig.to_dict`) and the policy's ``state_dict``.
It loads with ``torch.load(weights_only=True)``, so, unlike an SB3 ``.zip`` (which unpickles
objects), a policy file cannot run code. Files of earlier releases (the same keys, some
settings missing) load unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from scanpaths.common import atomic_write
from scanpaths.errors import InputError

from .config import ALGOS, EnvConfig
from .make import make_env
from .networks import POLICY_CLASSES, algo_class, policy_kwargs
from .search_policy import SearchNet, SearchPolicy

__all__ = ["DEFAULT_POLICY", "LoadedPolicy", "load_policy", "save_policy", "write_policy_file"]

#: The shipped default policy (see rl/POLICY_CARD.md).
DEFAULT_POLICY = Path(__file__).parent / "policies" / "default.pt"
POLICY_FORMAT = "partialstem-policy"
POLICY_VERSION = 1


def save_policy(
    model: Any, path: str | os.PathLike[str], algo: str, env: EnvConfig, extra: dict[str, Any] | None = None
) -> None:
    """Write an SB3 ``model``'s policy weights and settings to ``path`` (atomically)."""
    write_policy_file(path, algo, env, model.policy.state_dict(), extra)


def write_policy_file(
    path: str | os.PathLike[str],
    algo: str,
    env: EnvConfig,
    state_dict: dict[str, torch.Tensor],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a policy file (weights ``state_dict`` of an ``algo`` policy) to ``path`` atomically."""
    blob = {
        "format": POLICY_FORMAT,
        "version": POLICY_VERSION,
        "algo": algo,
        "env_kwargs": env.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "extra": extra or {},
    }
    with atomic_write(path) as fh:
        torch.save(blob, fh)


@dataclass
class LoadedPolicy:
    """A policy ready to scan: the policy (SB3's ``predict`` interface), its algorithm, the
    environment settings it was trained with and what the file says of its training."""

    policy: Any
    algo: str
    config: EnvConfig
    extra: dict[str, Any]

    def make_env(self, **overrides: Any) -> gym.Env:
        """An environment with the policy's settings (``overrides`` change some fields)."""
        return make_env(replace(self.config, **overrides))


def load_policy(path: str | os.PathLike[str], device: str = "cpu") -> LoadedPolicy:
    """Load a policy file written by :func:`save_policy` (``weights_only``: no code runs)."""
    p = Path(path)
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
    try:
        config = EnvConfig.from_dict(blob["env_kwargs"])
        env = make_env(replace(config, pool_size=1, completer="none"))
    except (InputError, TypeError) as exc:
        raise InputError(f"{p}: its environment settings are not valid here ({exc})") from None
    if algo == "search":
        if config.mode != "lines":
            raise InputError(f"{p}: a search policy must be a line-mode policy")
        module: Any = SearchNet(env.observation_space)
    else:
        model = algo_class(algo)(POLICY_CLASSES[algo], env, policy_kwargs=policy_kwargs(algo), device=device, seed=0)
        module = model.policy
    try:
        module.load_state_dict(blob["state_dict"])
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise InputError(f"{p}: the weights do not fit the {algo} policy this version builds ({first})") from None
    policy = SearchPolicy(module) if algo == "search" else module
    policy.set_training_mode(False)
    return LoadedPolicy(policy=policy, algo=algo, config=config, extra=blob["extra"])

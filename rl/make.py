"""Building an environment from its settings: the action style's class plus its wrappers.

:func:`make_env` is what training, evaluation, policy files and benchmarks call; the registered
Gymnasium ids call it too, so ``gymnasium.make("partialstem/AdaptiveScan-v0", reference="spiral")``
gives the same composition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from .base import ScanEnv
from .config import EnvConfig
from .lines import LineScanEnv
from .segments import SegmentScanEnv
from .wrappers import ReferenceReturn, ResidualSerpentine

__all__ = ["ENV_CLASSES", "make_env"]

#: The environment class of each action style.
ENV_CLASSES: dict[str, type[ScanEnv]] = {"segments": SegmentScanEnv, "lines": LineScanEnv}


def make_env(
    config: EnvConfig | Mapping[str, Any] | None = None,
    *,
    images: list[np.ndarray] | None = None,
    seeds: list[int] | None = None,
    render_mode: str | None = None,
    **settings: Any,
) -> gym.Env:
    """The environment of ``config`` (an :class:`~rl.config.EnvConfig`, its dict, or the
    ``settings`` as keywords): the class of its ``mode``, wrapped in
    :class:`~rl.wrappers.ResidualSerpentine` when ``residual`` is set and in
    :class:`~rl.wrappers.ReferenceReturn` when ``reference`` is (and there is a completer).

    >>> env = make_env(mode="lines", size=64, obs_size=48, pool_size=4, reference="serpentine")
    >>> type(env).__name__, type(env.unwrapped).__name__
    ('ReferenceReturn', 'LineScanEnv')
    """
    if config is None:
        cfg = EnvConfig(**settings)
    elif settings:
        raise TypeError("give a config or settings, not both")
    else:
        cfg = config if isinstance(config, EnvConfig) else EnvConfig.from_dict(dict(config))
    cfg = cfg.resolved()
    env: gym.Env = ENV_CLASSES[cfg.mode](cfg, images=images, seeds=seeds, render_mode=render_mode)
    if cfg.residual != "none":
        env = ResidualSerpentine(env, cfg.residual_scale)
    if cfg.reference != "none" and cfg.completer != "none":
        env = ReferenceReturn(env, cfg.reference)
    return env


def segments_env(**settings: Any) -> gym.Env:
    """Entry point of ``partialstem/AdaptiveScan-v0``: :func:`make_env` in segment mode."""
    return make_env(**{"mode": "segments", **settings})


def lines_env(**settings: Any) -> gym.Env:
    """Entry point of ``partialstem/LineScan-v0``: :func:`make_env` in line mode."""
    return make_env(**{"mode": "lines", **settings})

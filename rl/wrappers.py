"""Behaviours that change an environment from outside, Gymnasium-style.

- :class:`ResidualSerpentine` (an ``ActionWrapper``): every action is a correction to what the
  scripted serpentine of :mod:`rl.expert` would do from the current state (heading and
  length), times ``scale``; a zero action follows the serpentine. The policy learns where and
  how to leave it, from what it has seen, and cannot do much worse than it while it learns
  (residual policy learning). Needs a segment env with absolute steering and variable length.
- :class:`ReferenceReturn` (a reward wrapper): the last step also pays
  ``(mse_ref - var) / var``, where ``mse_ref`` is the completion error of a fixed path
  (``spiral`` or ``serpentine``) of the same scan time on the same specimen, so the return
  becomes ``(mse_ref - mse_final) / var``: positive exactly when the agent beat that path. That
  takes the specimen's difficulty out of the return (much less variance for a critic) without
  changing which path is best.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from scanpaths.errors import InputError

from .base import ScanEnv
from .equal_time import fixed_scan
from .expert import SerpentineExpert

__all__ = ["ReferenceReturn", "ResidualSerpentine"]


class ResidualSerpentine(gym.ActionWrapper):
    """Actions are corrections to the scripted serpentine (see the module docstring).

    Args:
        env: a :class:`~rl.segments.SegmentScanEnv` (possibly wrapped) with absolute steering
            and variable length.
        scale: the size of a full correction, in action units (heading / pi, length).
    """

    #: read by :class:`rl.expert.ExpertPolicy`: a zero action follows the serpentine here
    follows_serpentine = True

    def __init__(self, env: gym.Env, scale: float = 0.25) -> None:
        super().__init__(env)
        if not 0 < scale <= 2:
            raise InputError(f"residual scale must be in (0, 2], got {scale:g}")
        self.expert = SerpentineExpert(env)  # raises unless steering is absolute with variable length
        self.scale = float(scale)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.expert.reset()
        return obs, info

    def action(self, action: np.ndarray) -> np.ndarray:
        """The serpentine's action plus ``scale`` times ``action`` (NaN -> 0, counted)."""
        base: ScanEnv = self.env.unwrapped  # type: ignore[assignment]
        a = self.expert.act() + self.scale * base.clean_action(action)
        a[1] = min(1.0, max(-1.0, a[1]))
        if abs(a[0]) > 1.0:  # the heading wrapped past +-pi: the same heading, in the action's range
            a[0] -= math.copysign(2.0, a[0])
        return a


class ReferenceReturn(gym.Wrapper):
    """The return relative to a fixed path of equal scan time (see the module docstring).

    Args:
        env: an environment with a completer (``completer`` not ``none``).
        reference: ``spiral`` or ``serpentine``.
    """

    def __init__(self, env: gym.Env, reference: str) -> None:
        super().__init__(env)
        if reference not in ("spiral", "serpentine"):
            raise InputError(f"reference must be spiral or serpentine, got {reference!r}")
        if getattr(env.unwrapped, "completer", None) is None:
            raise InputError("a reference return needs a completer to score the reference path")
        self.reference = reference
        self._cache: dict[int, float] = {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated:
            base: ScanEnv = self.env.unwrapped  # type: ignore[assignment]
            reward = reward + (self.reference_mse() - base.var) / base.var
        return obs, float(reward), terminated, truncated, info

    def reference_mse(self) -> float:
        """Completion MSE of the reference path with the same budget on this episode's
        specimen (cached per synthetic specimen seed)."""
        base: ScanEnv = self.env.unwrapped  # type: ignore[assignment]
        seed = base._seed
        if seed is not None and seed in self._cache:
            return self._cache[seed]
        scan = fixed_scan(self.reference, base.image, base.budget_s, base.preset, seed=0)
        assert base.completer is not None
        mse = float(np.mean((base.completer.complete(scan.values, scan.mask) - base.truth) ** 2))
        if seed is not None:
            self._cache[seed] = mse
        return mse

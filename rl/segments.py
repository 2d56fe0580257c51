"""``partialstem/AdaptiveScan-v0``: each step a short straight segment of the scan.

The beam starts at the centre; each step the agent gives the direction (and optionally the
length) of a straight segment, and the scan generator commands it sample by sample
(``step_px`` apart, one sample per scan-clock tick). By default (``lookahead``) the agent
chooses one segment ahead: each step scans the segment chosen at the previous step while the
generator already knows the new one, so its feed-forward can anticipate the turn (the first
segment heads along +x). A segment that reaches the edge of the field of view reflects off it,
like a billiard ball (so going straight on never wastes scan time against a wall).

**Action**: ``Box(-1, 1, (1,))``: with ``steering="relative"`` (default) a turn of ``pi * a``
from the last heading (0 = straight on); with ``"absolute"`` the heading ``pi * a`` itself
(0 = +x, positive towards +y). With ``variable_length=True`` a second entry sets the segment
length from 1/4 to all of ``segment_len`` samples. NaN or infinite actions are replaced by 0
and counted (``info["bad_actions"]``).

Observation, reward and budget: :mod:`rl.base`. Residual steering on a scripted serpentine is
the wrapper :class:`rl.wrappers.ResidualSerpentine`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from .base import ScanEnv
from .config import EnvConfig

__all__ = ["SegmentScanEnv"]


class SegmentScanEnv(ScanEnv):
    """Adaptive scanning by short segments (see the module docstring).

    Keyword arguments are the fields of :class:`rl.config.EnvConfig` that apply to this mode
    (``size``, ``preset``, ``coverage``, ``budget_s``, ``completer``, ``reward_mode``,
    ``obs_size``, ``pool_size``, ``step_px``, ``segment_len``, ``variable_length``,
    ``steering``, ``lookahead``), plus ``images``, ``seeds`` and ``render_mode``; or pass a
    whole ``config``.
    """

    mode = "segments"

    def __init__(self, config: EnvConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        cfg = self.config
        self.segment_len = cfg.segment_len
        self.variable_length = cfg.variable_length
        self.steering = cfg.steering
        self.lookahead = cfg.lookahead
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2 if cfg.variable_length else 1,), dtype=np.float32)
        self._max_steps = math.ceil(self.budget_ticks / max(1, self.segment_len // 4))

    @property
    def max_steps(self) -> int:
        return self._max_steps

    def _begin(self) -> None:
        self.scanner.park(self.position)
        self.pending = np.zeros((0, 2))  # with lookahead: the segment scanned at the next step
        if self.lookahead:
            self.pending = self._line(self.segment_len, self.budget_ticks)

    def _fork_state(self, copy_: ScanEnv) -> None:
        copy_.pending = self.pending.copy()  # type: ignore[attr-defined]

    def _direction(self) -> tuple[float, float]:
        return math.cos(self.heading), math.sin(self.heading)

    def _commands(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.lookahead:  # scan the segment chosen last step, knowing the one chosen now
            nxt = self._segment(action)
            cmd, self.pending = self.pending, nxt
            return cmd, nxt
        # the generator knows this segment only: a turn it cannot foresee cuts the corner
        return self._segment(action), np.zeros((0, 2))

    def _segment(self, action: np.ndarray) -> np.ndarray:
        """Commanded (n, 2) (x, y) px of the next segment from ``action``."""
        a = self.clean_action(action)
        turn = math.pi * float(a[0])
        self.heading = turn if self.steering == "absolute" else math.remainder(self.heading + turn, 2 * math.pi)
        n = self.segment_len
        if self.variable_length:
            n = max(1, int(round(n * (0.625 + 0.375 * float(a[1])))))
        return self._line(n, self.budget_ticks - self.ticks - len(self.pending))

    def _line(self, n: int, left: int | None = None) -> np.ndarray:
        """(n, 2) commanded points from ``position`` along ``heading`` (at most ``left`` of them),
        reflected off the field's edges; moves ``position`` and ``heading`` to its end."""
        n = max(0, n if left is None else min(n, left))
        if n == 0:
            return np.zeros((0, 2))
        d = np.array([math.cos(self.heading), math.sin(self.heading)]) * self.step_px
        # the segment reflects off the edges of the field, like a billiard ball: fold the straight
        # line into [0, hi] with a triangle wave, and mirror the heading once per bounce
        hi = self.size - 1.0
        line = self.position + np.arange(1, n + 1)[:, None] * d
        bounces = np.floor(line / hi)
        folded = np.clip(np.where(bounces % 2 == 0, line - bounces * hi, (bounces + 1) * hi - line), 0.0, hi)
        flips = bounces[-1] % 2 == 1
        cx, cy = math.cos(self.heading), math.sin(self.heading)
        self.heading = math.atan2(-cy if flips[1] else cy, -cx if flips[0] else cx)
        self.position = folded[-1].copy()
        return folded

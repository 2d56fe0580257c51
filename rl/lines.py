"""``partialstem/LineScan-v0``: each step a whole straight line across the field of view.

An episode is a handful of decisions (about 8 at the default budget) instead of dozens. The
first action sets the lines' angle, ``pi / 2 * a[0]`` from +x, and the first line lies half a
gap in from the field's edge (``2 ** a[1]`` times that), the beam parked at its start before the
scan begins (as a scan generator parks it before a frame). Every later action turns the next
line by ``max_turn * a[0]`` from the last one and sets its gap from the last one's end,
``gap * 2 ** a[1]``, where ``gap`` is the spacing of a serpentine whose length fills the budget.
The beam goes straight from where the last line ended to the nearer end of the next one
(sampling on the way) and scans it; the lines sweep across the field and, past its far edge,
sweep back half a gap in. A zero action is a serpentine of rows; the agent learns which angle
suits the specimen, where to pack lines closer (fanning them, it packs one side more than the
other) and where to leave wider gaps.

The agent decides the next line while the beam is still on the last few samples of the
current one (as many as the feed-forward looks ahead, about the coil lag), so the scan
generator always knows where the beam goes next.

**Action**: ``Box(-1, 1, (2,))``: turn and gap as above. **Vector observation**: where the last
line ends, the sweep's unit normal, the budget left and the lines done (:mod:`rl.base`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from .base import ScanEnv
from .config import EnvConfig

__all__ = ["LineScanEnv", "line_gap"]


class LineScanEnv(ScanEnv):
    """Adaptive scanning by whole lines (see the module docstring).

    Keyword arguments are the fields of :class:`rl.config.EnvConfig` that apply to this mode
    (``size``, ``preset``, ``coverage``, ``budget_s``, ``completer``, ``reward_mode``,
    ``obs_size``, ``pool_size``, ``step_px``, ``max_turn``), plus ``images``, ``seeds`` and
    ``render_mode``; or pass a whole ``config``.
    """

    mode = "lines"

    def __init__(self, config: EnvConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.max_turn = self.config.max_turn
        self.gap = line_gap(self.size, self.budget_ticks * self.step_px)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._max_steps = max(1, math.ceil(self.budget_ticks * self.step_px / (self.size - 1)))

    @property
    def max_steps(self) -> int:
        return self._max_steps

    def _begin(self) -> None:
        self.start = self.position.copy()
        self.normal = np.array([0.0, 1.0])  # the direction the lines sweep
        self.tail = np.zeros((0, 2))  # the end of the last line, scanned at the next step

    def _fork_state(self, copy_: ScanEnv) -> None:
        for name in ("start", "normal", "tail"):
            setattr(copy_, name, getattr(self, name).copy())

    def _direction(self) -> tuple[float, float]:
        return float(self.normal[0]), float(self.normal[1])

    def _commands(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The commands scanned this step: the held-back end of the last line, the way to the new
        line and the new line up to its own held-back end (which the generator already knows)."""
        lead = self.scanner.lead_ticks
        hold = int(math.ceil(lead)) + 1 if lead > 0 else 0
        new = self._next_line(action, self.budget_ticks - self.ticks - len(self.tail))
        known = np.concatenate([self.tail, new])
        if self.ticks + len(known) >= self.budget_ticks or len(known) <= hold:
            cmd, self.tail = known, np.zeros((0, 2))  # the budget ends with this line
        else:
            cmd, self.tail = known[: len(known) - hold], known[len(known) - hold :]
        return cmd, self.tail

    def _next_line(self, action: np.ndarray, left: int) -> np.ndarray:
        """Commanded (n, 2) (x, y) px of the way to the next line and along it (at most
        ``left`` of them)."""
        a = self.clean_action(action)
        hi = self.size - 1.0
        if self.segments == 0:  # the first line: its angle, half a gap in from the field's edge
            self.heading = 0.5 * math.pi * float(a[0])
            u = np.array([math.cos(self.heading), math.sin(self.heading)])
            self.normal = np.array([-u[1], u[0]])
            corners = np.array([[0.0, 0.0], [hi, 0.0], [0.0, hi], [hi, hi]])
            corner = corners[np.argmin(corners @ self.normal)]
            chord = _chord(corner + 0.5 * self.gap * 2.0 ** float(a[1]) * self.normal, u, hi)
            if chord is None:  # a gap past the whole field: the line through the centre
                chord = _chord(np.array([hi / 2, hi / 2]), u, hi)
            assert chord is not None
            self.start = chord[0].copy()
            self.scanner.park(self.start)  # the beam waits at the first line's start
            cmd = _sampled([chord[0], chord[1]], self.step_px, left, first=True)
            self.position = cmd[-1].copy()
            return cmd
        self.heading += self.max_turn * float(a[0])
        u = np.array([math.cos(self.heading), math.sin(self.heading)])
        n = np.array([-u[1], u[0]])
        if n @ self.normal < 0:
            n = -n
        gap = self.gap * 2.0 ** float(a[1])
        chord = _chord(self.position + gap * n, u, hi)
        if chord is None:  # past the far edge: sweep back, half a gap in
            n = -n
            chord = _chord(self.position + 0.5 * gap * n, u, hi)
        if chord is None:  # (a field narrower than the gap) back through the centre
            chord = _chord(np.array([hi / 2, hi / 2]), u, hi)
        assert chord is not None
        self.normal = n
        a_end, b_end = chord
        if np.hypot(*(b_end - self.position)) < np.hypot(*(a_end - self.position)):
            a_end, b_end = b_end, a_end
        cmd = _sampled([self.position, a_end, b_end], self.step_px, left, first=False)
        if not len(cmd):  # a step always scans something
            cmd = b_end[None].copy()
        self.position = cmd[-1].copy()
        return cmd


def line_gap(size: int, length_px: float) -> float:
    """Spacing ``(size - 1) / n`` px of the serpentine of ``n`` rows (half a spacing in from the
    edges) across a ``size`` px field, with the most rows whose length (rows plus the steps
    between them) fits ``length_px``; at least one row."""
    hi = size - 1.0
    n = 1
    while (n + 1) * hi + n * hi / (n + 1) <= length_px:
        n += 1
    return hi / n


def _chord(point: np.ndarray, u: np.ndarray, hi: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The ends of the line through ``point`` along unit ``u`` inside ``[0, hi]^2`` (None when it
    misses the field or crosses it for less than 1 px)."""
    t0, t1 = -math.inf, math.inf
    for k in range(2):
        if abs(u[k]) < 1e-12:
            if not 0.0 <= point[k] <= hi:
                return None
            continue
        ta, tb = (0.0 - point[k]) / u[k], (hi - point[k]) / u[k]
        t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
    if t1 - t0 < 1.0:
        return None
    return np.clip(point + t0 * u, 0.0, hi), np.clip(point + t1 * u, 0.0, hi)


def _sampled(corners: list[np.ndarray], step: float, left: int, first: bool) -> np.ndarray:
    """(n, 2) points every ``step`` px along the polyline ``corners`` (its first corner included
    only when ``first``: otherwise the beam is already there), at most ``left`` of them."""
    pts = [corners[0][None]] if first else []
    carry = 0.0  # distance already walked past the last sample
    for p0, p1 in zip(corners[:-1], corners[1:], strict=True):
        d = p1 - p0
        length = float(np.hypot(*d))
        if length < 1e-9:
            continue
        t = np.arange(step - carry, length + 1e-9, step)
        if len(t):
            pts.append(p0 + np.outer(t / length, d))
            carry = length - float(t[-1])
        else:
            carry += length
    out = np.concatenate(pts) if pts else np.zeros((0, 2))
    return out[: max(0, left)]

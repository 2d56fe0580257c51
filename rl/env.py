"""``partialstem/AdaptiveScan-v0``: choose each next scan segment from what has been seen.

One episode scans one specimen crop. The beam starts at the centre; each step the agent gives
the direction (and optionally the length) of a straight segment, the scan generator
commands it sample by sample (``step_px`` apart, one sample per scan-clock tick), and the beam
follows through the preset's coil physics (lag, overshoot, slew limit, jitter, drift): the
samples land where the *actual* beam was, and are filed under the commanded pixel, as on a
microscope. By default (``lookahead``) the agent chooses one segment ahead: each step scans
the segment chosen at the previous step while the generator already knows the new one, so its
feed-forward can anticipate the turn (the first segment heads along +x). A segment that
reaches the edge of the field of view reflects off it, like a billiard ball (so going straight
on never wastes scan time against a wall).

The episode ends when the scan-time budget is spent: the time a spiral of ``coverage`` takes
on the same field of view under the same preset (``budget_s`` overrides it).

**Observation** (``Dict``; ``MultiInputPolicy`` sends ``image`` to a CNN):

- ``image``: (3, S, S) uint8, S = ``obs_size``: the seen values (mean per block, 0-255), the
  square root of the fraction of each block that was sampled (0-255), and a marker where the
  next chosen segment starts.
- ``vector``: (6,) float32, each in [-1, 1]: x and y where the next chosen segment starts,
  cos and sin of the heading there, the fraction of the budget left and of the segments done.

**Action**: ``Box(-1, 1, (1,))``: with ``steering="relative"`` (default) a turn of ``pi * a``
from the last heading (0 = straight on; the first segment heads along +x); with
``"absolute"`` the heading ``pi * a`` itself (0 = +x, positive towards +y). With
``variable_length=True`` a second entry sets the segment length from 1/4 to all of
``segment_len`` samples. NaN or infinite actions are replaced by 0 and counted
(``info["bad_actions"]``), so a diverging policy cannot crash a training run.

**Residual steering** (``residual="serpentine"``, with absolute steering and variable length):
the action is added, times ``residual_scale``, to what the scripted serpentine of
:mod:`rl.expert` would do from the current state (heading and length); a zero action follows
the serpentine. The policy learns where and how to leave it, from what it has seen, and cannot
do much worse than it while it learns (residual policy learning).

**Line mode** (``mode="lines"``): each step scans one whole straight line across the field of
view (a chord), so an episode is a handful of decisions (about 8 at the default budget) instead
of dozens. The first action sets the lines' angle, ``pi / 2 * a[0]`` from +x, and the first
line lies half a gap in from the field's edge, the beam parked at its start before the scan
begins (as a scan generator parks it before a frame). Every later action turns the next line
by ``max_turn * a[0]`` from the last one and sets its gap from the last one's end,
``gap * 2 ** a[1]``, where ``gap`` is the spacing of a serpentine whose length fills the
budget. The beam goes straight from where the last line ended to the nearer end of the next
one (sampling on the way) and scans it; the lines sweep across the field and, past its far
edge, sweep back half a gap in. A zero action is a serpentine of rows; the agent learns which
angle suits the specimen, where to pack lines closer (fanning them, it packs one side more than
the other) and where to leave wider gaps. In this mode the vector observation holds where the
last line ends, the sweep's unit normal, the budget left and the lines done.

**Reward**: the drop in completion error that the step bought, relative to the specimen's
variance (the error of the best flat guess): ``(mse_before - mse_after) / var``. With
``reward_mode="final"`` (default) the completion runs once, at the end, and the whole drop
``1 - mse_final / var`` is paid on the last step; ``"dense"`` completes after every segment.
Either way the return of an episode is ``1 - mse_final / var``. The error is measured against
the noise-free truth for synthetic specimens. With ``reference="spiral"`` the last step also
pays ``(mse_spiral - var) / var``, where ``mse_spiral`` is the completion error of a spiral
scan of the same specimen and budget, so the return becomes ``(mse_spiral - mse_final) / var``:
positive exactly when the agent beat the spiral (``reference="serpentine"``: the same with a
fixed serpentine of equal scan time, the best fixed path on most specimens). That takes the
specimen's difficulty out of the return (much less variance for the critic) without changing which path is best.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import scanpaths
from scanpaths import _kernels as K
from scanpaths.errors import InputError, check_choice, check_number
from scanpaths.physics import beam_trajectory, feed_forward, jitter_and_drift

#: First specimen seed of the RL training pool (the completion model trains from 10,000,000;
#: benchmarks and evaluation use seeds below 1,000,000).
RL_TRAIN_SEED_BASE = 20_000_000


class AdaptiveScanEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Adaptive partial scanning of one specimen per episode (see the module docstring).

    Args:
        size: side of the field of view in px (square crops), >= ``obs_size``.
        images: optional list of (H, W) images in [0, 1] to draw crops from (the user's
            data); by default, synthetic specimens of ``size`` px.
        seeds: synthetic specimen seeds to draw from (default: a training pool of
            ``pool_size`` seeds from :data:`RL_TRAIN_SEED_BASE`).
        preset: physics preset name.
        coverage: the budget is the scan time of a spiral of this coverage.
        budget_s: scan-time budget in s (overrides ``coverage``).
        segment_len: samples per segment (ticks).
        step_px: distance between commanded samples, px.
        completer: name for :func:`completion.get_completer` (``harmonic`` is fast; ``gan-mse``
            is what the benchmarks score), or ``none`` for no reward (rollouts of a trained policy).
        reward_mode: ``final`` or ``dense``.
        reference: ``none``, ``spiral`` or ``serpentine`` (return relative to that fixed path
            at the same scan time; ignored with ``completer="none"``).
        obs_size: side of the observation image.
        variable_length: add the segment length to the action.
        steering: ``relative`` (the action turns the beam) or ``absolute`` (it sets the heading).
        lookahead: the agent chooses one segment ahead, so the scan generator knows the next
            segment while it scans the current one and its feed-forward can anticipate turns
            (as a pipelined controller would); without it, turns come as a surprise.
        residual: ``none``, or ``serpentine``: actions are corrections to the scripted
            serpentine (needs ``steering="absolute"`` and ``variable_length``).
        residual_scale: the size of a full correction, in action units (heading / pi, length).
        pool_size: size of the default synthetic pool.
        mode: ``segments`` (short segments, the defaults above) or ``lines`` (whole lines
            across the field; see the module docstring; ``segment_len``, ``variable_length``,
            ``steering``, ``lookahead`` and ``residual`` do not apply).
        max_turn: in line mode, the largest turn between lines, radians.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        size: int = 96,
        images: list[np.ndarray] | None = None,
        seeds: list[int] | None = None,
        preset: str = "typical",
        coverage: float = 1 / 23,
        budget_s: float | None = None,
        segment_len: int = 20,
        step_px: float = math.sqrt(2.0),
        completer: str = "harmonic",
        reward_mode: str = "final",
        reference: str = "none",
        obs_size: int = 48,
        variable_length: bool = False,
        steering: str = "relative",
        lookahead: bool = True,
        pool_size: int = 2000,
        render_mode: str | None = None,
        residual: str = "none",
        residual_scale: float = 0.25,
        mode: str = "segments",
        max_turn: float = math.pi / 4,
    ) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 1024:
            raise InputError(f"size must be an integer in [32, 1024], got {size!r}")
        if isinstance(obs_size, bool) or not isinstance(obs_size, int) or not 36 <= obs_size <= size:
            raise InputError(f"obs_size must be an integer in [36, size={size}] (NatureCNN needs 36), got {obs_size!r}")
        self.preset = scanpaths.get_preset(preset)
        self.size = size
        self.obs_size = obs_size
        self.segment_len = int(check_number(segment_len, "segment_len", 2, 10_000))
        self.step_px = check_number(step_px, "step_px", 0.0, size / 2, low_open=True)
        self.reward_mode = check_choice(reward_mode, "reward_mode", ("final", "dense"))
        self.reference = check_choice(reference, "reference", ("none", "spiral", "serpentine"))
        self.mode = check_choice(mode, "mode", ("segments", "lines"))
        self.max_turn = check_number(max_turn, "max_turn", 0.0, math.pi / 2)
        self._ref_cache: dict[int, float] = {}
        self.variable_length = bool(variable_length)
        self.steering = check_choice(steering, "steering", ("relative", "absolute"))
        self.lookahead = bool(lookahead)
        self.render_mode = render_mode
        from completion import get_completer

        self.completer_name = completer
        self.completer = None if completer == "none" else get_completer(completer, device="cpu")
        if self.completer is None:
            self.reference = "none"  # no reward at all
        if images is not None:
            if not images:
                raise InputError("images must not be empty")
            checked = []
            for k, im in enumerate(images):
                arr = scanpaths.errors.check_image(im, f"images[{k}]")
                if min(arr.shape) < size:
                    raise InputError(f"images[{k}] is {arr.shape[0]}x{arr.shape[1]} px, smaller than size={size}")
                checked.append(arr.astype(np.float32))
            self.images: list[np.ndarray] | None = checked
            self.seeds: list[int] = []
        else:
            self.images = None
            self.seeds = list(seeds) if seeds is not None else [RL_TRAIN_SEED_BASE + i for i in range(pool_size)]
            if not self.seeds:
                raise InputError("seeds must not be empty")
        self._spec_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if budget_s is None:
            cov = check_number(coverage, "coverage", 0.0, 1.0, low_open=True)
            spiral = scanpaths.make_path("spiral", (size, size), coverage=cov, seed=0)
            budget_s = scanpaths.simulate(np.zeros((size, size)), spiral, preset=self.preset, seed=0).time_s
        self.budget_s = check_number(budget_s, "budget_s", 0.0, 1e6, low_open=True)
        self.budget_ticks = int(round(self.budget_s / self.preset.dwell_s))
        if self.budget_ticks < self.segment_len // 4 + 1:
            raise InputError(f"the budget ({self.budget_s:.3g} s) is shorter than one segment")
        self.max_segments = math.ceil(self.budget_ticks / max(1, self.segment_len // 4))
        n_act = 2 if variable_length else 1
        if self.mode == "lines":
            if residual != "none":
                raise InputError("residual steering is for mode='segments' (line mode's zero action is a serpentine)")
            self.gap = line_gap(size, self.budget_ticks * self.step_px)
            self.max_segments = max(1, math.ceil(self.budget_ticks * self.step_px / (size - 1)))
            n_act = 2

        self.action_space = spaces.Box(-1.0, 1.0, shape=(n_act,), dtype=np.float32)
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, shape=(3, obs_size, obs_size), dtype=np.uint8),
                "vector": spaces.Box(-1.0, 1.0, shape=(6,), dtype=np.float32),
            }
        )
        self.bad_actions = 0
        blocks = (np.arange(size) * obs_size) // size
        self._cells = (blocks[:, None] * obs_size + blocks[None, :]).ravel()
        self._cell_area = np.bincount(self._cells, minlength=obs_size * obs_size).reshape(obs_size, obs_size)
        self._ff_ticks = self.preset.lag_s / self.preset.dwell_s - 0.5 if self.preset.lag_s > 0 else 0.0
        self.residual = check_choice(residual, "residual", ("none", "serpentine"))
        self.residual_scale = check_number(residual_scale, "residual_scale", 0.0, 2.0, low_open=True)
        self._expert = None
        if self.residual == "serpentine":
            from .expert import SerpentineExpert  # raises unless steering is absolute with variable length

            self._expert = SerpentineExpert(self)

    # ------------------------------------------------------------------ episode state
    def _specimen(self) -> tuple[np.ndarray, np.ndarray]:
        """(image as scanned, noise-free truth) for a new episode, drawn with ``np_random``."""
        if self.images is not None:
            img = self.images[int(self.np_random.integers(len(self.images)))]
            r = int(self.np_random.integers(img.shape[0] - self.size + 1))
            c = int(self.np_random.integers(img.shape[1] - self.size + 1))
            crop = img[r : r + self.size, c : c + self.size]
            k = int(self.np_random.integers(4))
            crop = np.ascontiguousarray(np.rot90(crop, k))
            return crop, crop
        seed = self.seeds[int(self.np_random.integers(len(self.seeds)))]
        self._seed = seed
        if seed not in self._spec_cache:
            if len(self._spec_cache) > 4096:
                self._spec_cache.clear()
            spec = scanpaths.specimens.generate((self.size, self.size), seed=seed)
            self._spec_cache[seed] = (spec.image, spec.clean)
        return self._spec_cache[seed]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start scanning a new specimen (``options={"image": arr, "truth": arr}`` to pick one)."""
        super().reset(seed=seed)
        self._seed = None
        if options and "image" in options:
            image = scanpaths.errors.check_image(options["image"], "options['image']").astype(np.float32)
            if image.shape != (self.size, self.size):
                raise InputError(f"options['image'] must be {self.size}x{self.size} px, got {image.shape}")
            truth = np.asarray(options.get("truth", image), dtype=np.float32)
        else:
            image, truth = self._specimen()
        self.image = np.ascontiguousarray(image, dtype=np.float64)
        self.truth = truth
        self.var = max(float(np.var(truth)), 1e-6)
        self.offsets = (
            np.zeros((self.budget_ticks + 1, 2))
            if self.preset.is_ideal
            else jitter_and_drift(self.budget_ticks + 1, self.preset.dwell_s, self.preset, self.np_random)
        )
        c = (self.size - 1) / 2.0
        self.position = np.array([c, c])  # where the next chosen segment starts
        self.start = self.position.copy()
        self.heading = 0.0
        self.pending = np.zeros((0, 2))  # with lookahead: the segment scanned at the next step
        self.normal = np.array([0.0, 1.0])  # line mode: the direction the lines sweep
        self.tail = np.zeros((0, 2))  # line mode: the end of the last line, scanned at the next step
        if self.lookahead and self.mode == "segments":
            self.pending = self._line(self.segment_len, self.budget_ticks)
        self.commands: list[np.ndarray] = []
        self.drives: list[np.ndarray] = []
        self.ticks = 0
        self.segments = 0
        self.sums = np.zeros((self.size, self.size))
        self.counts = np.zeros((self.size, self.size), dtype=np.int32)
        self.mse = self.var  # the error of the best flat guess, before anything is seen
        self.bad_actions = 0
        self.trajectory = np.zeros((0, 2))
        if self._expert is not None:
            self._expert.reset()
        return self._obs(), {"budget_ticks": self.budget_ticks}

    def _segment(self, action: np.ndarray) -> np.ndarray:
        """Commanded (n, 2) (x, y) px of the next segment from ``action``."""
        a = self._clean_action(action)
        if self._expert is not None:  # a correction to the serpentine; the heading may wrap
            base = self._expert.act()
            a = base + self.residual_scale * a
            a[1] = min(1.0, max(-1.0, a[1]))
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

    def _clean_action(self, action: np.ndarray) -> np.ndarray:
        """``action`` as a float64 vector of the action space's shape, NaN/inf -> 0 (counted), clipped."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != self.action_space.shape:
            raise InputError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            self.bad_actions += 1
            a = np.where(np.isfinite(a), a, 0.0)
        return np.clip(a, -1.0, 1.0)

    def _lines_step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Line mode: the commands scanned this step and their coil drive.

        The agent decides the next line while the beam is still on the last few samples of the
        current one (as many as the feed-forward looks ahead, about the coil lag), so the scan
        generator always knows where the beam goes next: each step scans the held-back end of
        the last line, the way to the new line and the new line up to its own held-back end.
        """
        hold = int(math.ceil(self._ff_ticks)) + 1 if self._ff_ticks > 0 else 0
        new = self._next_line(action, self.budget_ticks - self.ticks - len(self.tail))
        known = np.concatenate([self.tail, new])
        if self.ticks + len(known) >= self.budget_ticks or len(known) <= hold:
            cmd, self.tail = known, np.zeros((0, 2))  # the budget ends with this line
        else:
            cmd, self.tail = known[: len(known) - hold], known[len(known) - hold :]
        return cmd, self._drive(cmd, self.tail)

    def _next_line(self, action: np.ndarray, left: int) -> np.ndarray:
        """Line mode: commanded (n, 2) (x, y) px of the way to the next line and along it (at
        most ``left`` of them)."""
        a = self._clean_action(action)
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

    def _drive(self, cmd: np.ndarray, after: np.ndarray) -> np.ndarray:
        """The coil drive of ``cmd``: feed-forward that looks ahead along ``cmd``, then along
        ``after`` (the next segment, if the generator knows it), then straight on."""
        if self._ff_ticks <= 0:
            return cmd
        known = np.concatenate([cmd, after])
        before = known[-2] if len(known) > 1 else (self.commands[-1][-1] if self.commands else self.start)
        step = known[-1] - before
        extra = int(math.ceil(self._ff_ticks)) + 1
        ahead = np.concatenate([known, known[-1] + np.arange(1, extra + 1)[:, None] * step])
        return feed_forward(ahead, np.zeros(1, dtype=np.int64), self._ff_ticks)[: len(cmd)]

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Scan the next segment; see the module docstring for the reward."""
        if not hasattr(self, "image"):
            raise RuntimeError("call reset() before step()")
        if self.ticks >= self.budget_ticks:
            raise RuntimeError("the episode is over; call reset()")
        if self.mode == "lines":  # scan up to the last few samples of the new line (see _lines_step)
            cmd, drive = self._lines_step(action)
        elif self.lookahead:  # scan the segment chosen last step, knowing the one chosen now
            nxt = self._segment(action)
            cmd, self.pending = self.pending, nxt
            drive = self._drive(cmd, nxt)
        else:  # the generator knows this segment only: a turn it cannot foresee cuts the corner
            cmd = self._segment(action)
            drive = self._drive(cmd, np.zeros((0, 2)))
        self.commands.append(cmd)
        self.drives.append(drive)
        all_drive = np.concatenate(self.drives)
        start = np.concatenate([self.start[None], all_drive])  # the beam rests at its start first
        traj = beam_trajectory(start, self.preset, self.preset.dwell_s, self.size)[1:]
        new = traj[self.ticks :] + self.offsets[self.ticks : self.ticks + len(cmd)]
        use = np.ones(len(cmd), dtype=np.bool_)
        samples = K.bilinear_sample(self.image, new, use)
        sums, counts = K.rasterize(cmd, samples, use, self.size, self.size)
        self.sums += sums
        self.counts += counts
        self.trajectory = np.concatenate([self.trajectory, new])
        self.ticks += len(cmd)
        self.segments += 1
        terminated = self.ticks >= self.budget_ticks
        reward = 0.0
        if self.reward_mode == "dense" or terminated:
            before = self.mse
            self.mse = self._completion_mse()
            reward = (before - self.mse) / self.var
            if terminated and self.reference != "none":
                reward += (self._reference_mse() - self.var) / self.var
        info = {"ticks": self.ticks, "coverage": float((self.counts > 0).mean()), "bad_actions": self.bad_actions}
        if terminated:
            info["mse"] = self.mse
        return self._obs(), float(reward), terminated, False, info

    # ------------------------------------------------------------------ helpers
    def scan(self) -> tuple[np.ndarray, np.ndarray]:
        """What has been scanned: values (H, W) float32 (0 where unseen) and mask (H, W) bool."""
        mask = self.counts > 0
        values = np.zeros((self.size, self.size), dtype=np.float32)
        values[mask] = (self.sums[mask] / self.counts[mask]).astype(np.float32)
        return values, mask

    def _reference_mse(self) -> float:
        """Completion MSE of the ``reference`` fixed path with the same budget on this specimen
        (cached per seed)."""
        if self._seed is not None and self._seed in self._ref_cache:
            return self._ref_cache[self._seed]
        from .fixed import fixed_scan

        scan = fixed_scan(self.reference, self.image, self.budget_s, self.preset.name, seed=0)
        mse = float(np.mean((self.completer.complete(scan.values, scan.mask) - self.truth) ** 2))
        if self._seed is not None:
            self._ref_cache[self._seed] = mse
        return mse

    def _completion_mse(self) -> float:
        values, mask = self.scan()
        if not mask.any() or self.completer is None:
            return self.var
        out = self.completer.complete(values, mask)
        return float(np.mean((out.astype(np.float64) - self.truth) ** 2))

    def _obs(self) -> dict[str, np.ndarray]:
        values, mask = self.scan()
        s, k = self.obs_size, self.size
        cells = self._cells  # block of each pixel: any size >= obs_size maps onto s x s blocks
        vsum = np.bincount(cells, weights=values.ravel(), minlength=s * s).reshape(s, s)
        msum = np.bincount(cells, weights=mask.ravel(), minlength=s * s).reshape(s, s)
        seen = np.where(msum > 0, vsum / np.maximum(msum, 1), 0.0)
        frac = msum / self._cell_area
        bx, by = self.position * (s / k)
        g = np.arange(s)
        beam = np.exp(-((g - by) ** 2) / 2.0)[:, None] * np.exp(-((g - bx) ** 2) / 2.0)[None, :]
        image = np.stack([seen, np.sqrt(frac), beam])
        vec = np.array(
            [
                2 * self.position[0] / (k - 1) - 1,
                2 * self.position[1] / (k - 1) - 1,
                math.cos(self.heading) if self.mode == "segments" else self.normal[0],
                math.sin(self.heading) if self.mode == "segments" else self.normal[1],
                2 * (1 - self.ticks / self.budget_ticks) - 1,
                2 * min(1.0, self.segments / self.max_segments) - 1,
            ],
            dtype=np.float32,
        )
        return {"image": np.clip(np.round(image * 255), 0, 255).astype(np.uint8), "vector": vec}

    def partial_scan(self) -> scanpaths.PartialScan:
        """The episode so far as a :class:`scanpaths.PartialScan` (for benchmarks)."""
        values, mask = self.scan()
        cmd = np.concatenate(self.commands) if self.commands else np.zeros((0, 2))
        path = scanpaths.Path(
            kind="learned",
            shape=(self.size, self.size),
            positions=cmd,
            blanked=np.zeros(len(cmd), dtype=bool),
            jumps=np.zeros(0, dtype=np.int64),
            params={"segments": self.segments},
        )
        return scanpaths.PartialScan(
            values=values,
            mask=mask,
            counts=self.counts.copy(),
            trajectory=self.trajectory.copy(),
            commanded=cmd,
            blanked=np.zeros(len(cmd), dtype=bool),
            time_s=self.ticks * self.preset.dwell_s,
            dwell_s=self.preset.dwell_s,
            dose_e=None,
            preset=self.preset,
            path=path,
        )

    def render(self) -> np.ndarray | None:
        """An RGB picture (H, W, 3) uint8: the specimen dimmed, the scanned pixels bright, the beam red."""
        if self.render_mode != "rgb_array":
            return None
        values, mask = self.scan()
        base = (0.35 * self.image).clip(0, 1)
        rgb = np.stack([base, base, base], axis=-1)
        rgb[mask] = values[mask, None]
        r, c = int(round(self.position[1])), int(round(self.position[0]))
        rgb[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2] = (1.0, 0.1, 0.1)
        return (rgb * 255).astype(np.uint8)


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

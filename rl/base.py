"""What every adaptive-scan environment shares: the specimen, the Scanner, the observation and
the reward.

One episode scans one specimen crop through the streaming :class:`scanpaths.Scanner`: each step
an action style (:mod:`rl.segments`, :mod:`rl.lines`) turns the action into commanded samples,
the scanner moves the beam through the preset's coil physics (lag, overshoot, slew limit,
jitter, drift) and files the samples under the commanded pixels, as on a microscope. An
episode costs time linear in its ticks: the coil state is carried, never re-integrated.

The episode ends when the scan-time budget is spent: the time a spiral of ``coverage`` takes on
the same field of view under the same preset (``budget_s`` overrides it).

**Observation** (``Dict``; :class:`rl.networks.ScanExtractor` sends ``image`` to a CNN):

- ``image``: (3, S, S) uint8, S = ``obs_size``: the seen values (mean per block, 0-255), the
  square root of the fraction of each block that was sampled (0-255), and a marker where the
  next chosen segment (or line) starts.
- ``vector``: (6,) float32, each in [-1, 1]: x and y of that point, a direction (the heading in
  segment mode, the lines' sweep normal in line mode), the fraction of the budget left and of
  the steps done.

With ``observation="segment"`` (segments mode; Ede 2021's actor) ``image`` is replaced by
``segment``: (``segment_len``,) float32, the values the last step's samples recorded (the
detector reading v in [0, 1] as 2 v - 1; -1 past the end of a short segment and before the
first). The agent then sees the specimen only through what it remembers (a recurrent policy,
``recurrent-ppo``, is the setup of the paper).

**Reward**: the drop in completion error that the step bought, relative to the specimen's
variance (the error of the best flat guess): ``(mse_before - mse_after) / var``. With
``reward_mode="final"`` (default) the completion runs once, at the end, and the whole drop
``1 - mse_final / var`` is paid on the last step; ``"dense"`` completes after every step.
Either way the return of an episode is ``1 - mse_final / var``; the error is measured against
the noise-free truth of synthetic specimens. :class:`rl.wrappers.ReferenceReturn` makes it
relative to a fixed path.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import scanpaths
from completion.registry import get_completer
from scanpaths.errors import InputError, check_image
from scanpaths.physics import get_preset
from scanpaths.seeds import RL_TRAIN

from .config import EnvConfig

__all__ = ["ScanEnv"]


class ScanEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Adaptive partial scanning of one specimen per episode (see the module docstring).

    Args:
        config: the settings (:class:`rl.config.EnvConfig`; its ``mode`` must be this class's),
            or None to build them from ``settings`` (keyword fields of EnvConfig).
        images: optional list of (H, W) images in [0, 1] to draw crops from (the user's data);
            by default, synthetic specimens of ``size`` px.
        seeds: synthetic specimen seeds to draw from (default: ``pool_size`` seeds of the RL
            training range, :data:`scanpaths.seeds.RL_TRAIN`).
        render_mode: ``None`` or ``"rgb_array"``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    #: The ``EnvConfig.mode`` of this action style.
    mode: str = ""

    def __init__(
        self,
        config: EnvConfig | None = None,
        *,
        images: list[np.ndarray] | None = None,
        seeds: list[int] | None = None,
        render_mode: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        if config is None:
            config = EnvConfig(**{"mode": self.mode, **settings})
        elif settings:
            raise TypeError("give a config or settings, not both")
        cfg = config.resolved()
        if cfg.mode != self.mode:
            raise InputError(f"{type(self).__name__} is mode {self.mode!r}, the config says {cfg.mode!r}")
        self.config = cfg
        self.preset = get_preset(cfg.preset)
        self.size = cfg.size
        self.obs_size = cfg.obs_size
        self.step_px = float(cfg.step_px)  # type: ignore[arg-type]
        self.reward_mode = cfg.reward_mode
        self.render_mode = render_mode
        self.completer_name = cfg.completer
        self.completer = None if cfg.completer == "none" else get_completer(cfg.completer, device="cpu")
        if images is not None:
            if not images:
                raise InputError("images must not be empty")
            checked = []
            for k, im in enumerate(images):
                arr = check_image(im, f"images[{k}]")
                if min(arr.shape) < self.size:
                    raise InputError(f"images[{k}] is {arr.shape[0]}x{arr.shape[1]} px, smaller than size={self.size}")
                checked.append(arr.astype(np.float32))
            self.images: list[np.ndarray] | None = checked
            self.seeds: list[int] = []
        else:
            self.images = None
            self.seeds = list(seeds) if seeds is not None else RL_TRAIN.seeds(cfg.pool_size)
            if not self.seeds:
                raise InputError("seeds must not be empty")
        self._spec_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.budget_s = cfg.budget_seconds()
        self.budget_ticks = cfg.budget_ticks()
        self.observation = cfg.observation
        vector = spaces.Box(-1.0, 1.0, shape=(6,), dtype=np.float32)
        if self.observation == "segment":  # Ede 2021: what the last segment recorded, no map
            seg = spaces.Box(-1.0, 1.0, shape=(cfg.segment_len,), dtype=np.float32)
            self.observation_space = spaces.Dict({"segment": seg, "vector": vector})
        else:
            image = spaces.Box(0, 255, shape=(3, self.obs_size, self.obs_size), dtype=np.uint8)
            self.observation_space = spaces.Dict({"image": image, "vector": vector})
        self._last_values = np.zeros(0)
        self.bad_actions = 0
        s = self.obs_size
        blocks = (np.arange(self.size) * s) // self.size
        self._cells = (blocks[:, None] * s + blocks[None, :]).ravel()
        self._cell_area = np.bincount(self._cells, minlength=s * s).reshape(s, s)
        self._seed: int | None = None

    # ------------------------------------------------------------------ to implement
    @property
    @abstractmethod
    def max_steps(self) -> int:
        """About how many steps an episode takes (scales the vector's steps-done entry)."""

    @abstractmethod
    def _begin(self) -> None:
        """Set the action style's state for a new episode (after the scanner is made)."""

    @abstractmethod
    def _commands(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The commands (n, 2) px scanned this step and those the scan generator already
        knows will follow (m, 2) (for its feed-forward)."""

    @abstractmethod
    def _direction(self) -> tuple[float, float]:
        """The (2,) direction entry of the vector observation."""

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

    @property
    def ticks(self) -> int:
        """Scan-clock ticks spent so far this episode."""
        return self.scanner.ticks

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start scanning a new specimen (``options={"image": arr, "truth": arr}`` to pick one)."""
        super().reset(seed=seed)
        self._seed = None
        if options and "image" in options:
            image = check_image(options["image"], "options['image']").astype(np.float32)
            if image.shape != (self.size, self.size):
                raise InputError(f"options['image'] must be {self.size}x{self.size} px, got {image.shape}")
            truth = np.asarray(options.get("truth", image), dtype=np.float32)
        else:
            image, truth = self._specimen()
        self.image = np.ascontiguousarray(image, dtype=np.float64)
        self.truth = truth
        self.var = max(float(np.var(truth)), 1e-6)
        # jitter and drift for the whole budget are drawn now, from the episode's generator
        self.scanner = scanpaths.Scanner(self.image, self.preset, seed=self.np_random, ticks=self.budget_ticks + 1)
        c = (self.size - 1) / 2.0
        self.position = np.array([c, c])  # where the next chosen segment (or line) starts
        self.heading = 0.0
        self.segments = 0
        self.mse = self.var  # the error of the best flat guess, before anything is seen
        self.bad_actions = 0
        self._last_values = np.zeros(0)
        self._begin()
        return self._obs(), {"budget_ticks": self.budget_ticks}

    def clean_action(self, action: np.ndarray) -> np.ndarray:
        """``action`` as a float64 vector of the action space's shape, NaN/inf -> 0 (counted in
        ``info["bad_actions"]``, so a diverging policy cannot crash a run), clipped to [-1, 1]."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != self.action_space.shape:
            raise InputError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            self.bad_actions += 1
            a = np.where(np.isfinite(a), a, 0.0)
        return np.clip(a, -1.0, 1.0)

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Scan the commands of ``action``; see the module docstring for the reward."""
        if not hasattr(self, "scanner"):
            raise RuntimeError("call reset() before step()")
        if self.ticks >= self.budget_ticks:
            raise RuntimeError("the episode is over; call reset()")
        cmd, after = self._commands(action)
        rec = self.scanner.scan(cmd, next_chunk=after)
        self._last_values = rec.values[~rec.blanked]
        self.segments += 1
        terminated = self.ticks >= self.budget_ticks
        reward = 0.0
        if self.reward_mode == "dense" or terminated:
            before = self.mse
            self.mse = self._completion_mse()
            reward = (before - self.mse) / self.var
        info = {
            "ticks": self.ticks,
            "coverage": float((self.scanner.counts > 0).mean()),
            "bad_actions": self.bad_actions,
        }
        if terminated:
            info["mse"] = self.mse
        return self._obs(), float(reward), terminated, False, info

    # ------------------------------------------------------------------ helpers
    def scan(self) -> tuple[np.ndarray, np.ndarray]:
        """What has been scanned: values (H, W) float32 (0 where unseen) and mask (H, W) bool."""
        return self.scanner.values()

    def _completion_mse(self) -> float:
        values, mask = self.scan()
        if not mask.any() or self.completer is None:
            return self.var
        out = self.completer.complete(values, mask)
        return float(np.mean((out.astype(np.float64) - self.truth) ** 2))

    def _vector(self) -> np.ndarray:
        """The (6,) float32 vector observation (see the module docstring)."""
        k = self.size
        dx, dy = self._direction()
        return np.array(
            [
                2 * self.position[0] / (k - 1) - 1,
                2 * self.position[1] / (k - 1) - 1,
                dx,
                dy,
                2 * (1 - self.ticks / self.budget_ticks) - 1,
                2 * min(1.0, self.segments / self.max_steps) - 1,
            ],
            dtype=np.float32,
        )

    def _obs(self) -> dict[str, np.ndarray]:
        if self.observation == "segment":
            n = self.observation_space["segment"].shape[0]
            seg = np.zeros(n, dtype=np.float32)  # -1 = nothing recorded there (a short segment, the start)
            seg -= 1.0
            v = self._last_values[:n]
            seg[: len(v)] = np.clip(2.0 * v - 1.0, -1.0, 1.0)
            return {"segment": seg, "vector": self._vector()}
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
        return {"image": np.clip(np.round(image * 255), 0, 255).astype(np.uint8), "vector": self._vector()}

    def partial_scan(self) -> scanpaths.PartialScan:
        """The episode so far as a :class:`scanpaths.PartialScan` (path kind ``learned``)."""
        commanded = self.scanner.commanded()
        path = scanpaths.ScanPath(
            kind="learned",
            shape=(self.size, self.size),
            positions=commanded,
            blanked=np.zeros(len(commanded), dtype=bool),
            params={"segments": self.segments},
        )
        return self.scanner.partial_scan(path)

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

    def fork(self) -> ScanEnv:
        """An independent copy mid-episode (shares the specimen, the completer and the caches):
        try a continuation and throw it away."""
        e = copy.copy(self)
        e.scanner = self.scanner.copy()
        e.position = self.position.copy()
        self._fork_state(e)
        return e

    def _fork_state(self, copy_: ScanEnv) -> None:
        """Copy the action style's mutable arrays into ``copy_`` (see :meth:`fork`)."""

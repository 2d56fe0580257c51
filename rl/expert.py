"""A scripted expert for ``AdaptiveScan-v0``: a serpentine steered segment by segment.

It gives a learned policy a good start (``pstem train-rl --warm-start serpentine``): the
policy first imitates the expert (behaviour cloning, :func:`rl.train.warm_start`), then PPO
improves on it with the completion error as the reward; and it is what a zero action follows
under residual steering (:class:`rl.wrappers.ResidualSerpentine`). The expert only needs the
env's state (where the next chosen segment starts), so it can label any state the student
visits.

The expert's serpentine starts at the centre (where every episode starts), goes to the top
left corner, then scans rows ``spacing`` px apart, the spacing solved so the path's length fills
the scan-time budget. Each step it aims the next segment at the next corner of the path (absolute
steering), with a length that stops at that corner (``variable_length``).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from scanpaths.errors import InputError

from .lines import LineScanEnv
from .segments import SegmentScanEnv

__all__ = ["ExpertPolicy", "SerpentineExpert", "expert_dataset", "serpentine_corners"]


def serpentine_corners(size: int, length_px: float, start: tuple[float, float]) -> np.ndarray:
    """Corners (K, 2) (x, y) px of a serpentine from ``start`` whose length is about ``length_px``.

    Rows run along x between the field's edges and are ``spacing`` px apart, the smallest
    spacing whose path (with the way there from ``start``) fits in ``length_px``.
    """
    hi = size - 1.0

    def corners(spacing: float) -> np.ndarray:
        ys = np.arange(spacing / 2, hi + 1e-9, spacing)
        pts = [start]
        for k, y in enumerate(ys):
            xs = (0.0, hi) if k % 2 == 0 else (hi, 0.0)
            pts += [(xs[0], y), (xs[1], y)]
        return np.asarray(pts, dtype=np.float64)

    def length(p: np.ndarray) -> float:
        return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())

    lo, high = 1.0, float(size)
    if length(corners(high)) > length_px:
        return corners(high)
    for _ in range(40):  # the smallest spacing that fits (length falls as the spacing grows)
        mid = 0.5 * (lo + high)
        if length(corners(mid)) > length_px:
            lo = mid
        else:
            high = mid
    return corners(high)


class SerpentineExpert:
    """Steers a :class:`~rl.segments.SegmentScanEnv` along a serpentine (see the module docstring).

    The env must use ``steering="absolute"`` and ``variable_length=True``. Call :meth:`reset`
    after each ``env.reset``, then :meth:`act` before each ``env.step``.
    """

    def __init__(self, env: gym.Env) -> None:
        env = env.unwrapped
        if not isinstance(env, SegmentScanEnv) or env.steering != "absolute" or not env.variable_length:
            raise InputError("the serpentine expert needs steering='absolute' and variable_length=True")
        self.env = env
        c = (env.size - 1) / 2.0
        self.corners = serpentine_corners(env.size, env.budget_ticks * env.step_px, (c, c))
        self.next = 1

    def reset(self) -> None:
        """Start again from the first corner (the env was reset)."""
        self.next = 1

    def act(self) -> np.ndarray:
        """The action (2,) float32 that aims the next segment at the next corner."""
        env = self.env
        pos = env.position
        seg_px = env.segment_len * env.step_px
        while self.next < len(self.corners) - 1 and np.linalg.norm(self.corners[self.next] - pos) < 0.5 * env.step_px:
            self.next += 1
        target = self.corners[min(self.next, len(self.corners) - 1)]
        d = target - pos
        dist = float(np.hypot(*d))
        heading = math.atan2(d[1], d[0]) if dist > 1e-9 else env.heading
        # the action space ends at +-pi (both mean "towards -x"): fold headings near -pi onto
        # +pi, so leftward rows always get labels near +1 (a policy cannot regress onto +-1)
        if heading < -0.75 * math.pi:
            heading += 2 * math.pi
        n = min(env.segment_len, max(1, round(dist / env.step_px)))
        frac = (n / env.segment_len - 0.625) / 0.375
        if dist <= seg_px + 1e-9 and self.next < len(self.corners) - 1:
            self.next += 1  # this segment reaches the corner
        return np.array([min(heading / math.pi, 1.0), np.clip(frac, -1.0, 1.0)], dtype=np.float32)


def expert_dataset(
    env: gym.Env, episodes: int, seed: int, gamma: float, noise: float = 0.1, progress: bool = False
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, float]:
    """Observations, expert actions and returns from ``episodes`` of the serpentine expert.

    The executed action is the expert's plus Gaussian noise (``noise``, in action units), while
    the label stays the expert's clean action: the student sees states a little off the
    expert's path together with the action that steers back (noise injection, as in DART).

    Returns:
        ``obs`` (dict of stacked arrays, N rows), ``actions`` (N, 2) float32, ``returns``
        (N,) float32 (discounted reward-to-go) and the expert's mean episode return.
    """
    expert = SerpentineExpert(env)
    rng = np.random.default_rng(seed)
    obs_rows: dict[str, list[np.ndarray]] = {}
    actions: list[np.ndarray] = []
    returns: list[float] = []
    totals = []
    for ep in tqdm(range(episodes), desc="expert", unit="episode", disable=not progress, leave=False):
        obs, _ = env.reset(seed=seed + ep)
        expert.reset()
        rewards = []
        done = False
        while not done:
            for k, v in obs.items():
                obs_rows.setdefault(k, []).append(v)
            a = expert.act()
            actions.append(a)
            executed = np.clip(a + noise * rng.standard_normal(a.shape), -1.0, 1.0).astype(np.float32)
            obs, r, done, _, _ = env.step(executed)
            rewards.append(r)
        g = 0.0
        ret = []
        for r in reversed(rewards):
            g = r + gamma * g
            ret.append(g)
        returns += ret[::-1]
        totals.append(sum(rewards))
    stacked = {k: np.stack(v) for k, v in obs_rows.items()}
    return stacked, np.stack(actions), np.asarray(returns, dtype=np.float32), float(np.mean(totals))


def _follows_serpentine(env: gym.Env) -> bool:
    """True when a wrapper of ``env`` makes a zero action follow the serpentine
    (:class:`rl.wrappers.ResidualSerpentine` says so with ``follows_serpentine``)."""
    while isinstance(env, gym.Wrapper):
        if getattr(env, "follows_serpentine", False):
            return True
        env = env.env
    return False


class ExpertPolicy:
    """The serpentine expert behind SB3's ``predict`` interface (for :func:`rl.evaluation.rollout`);
    in line mode, and under residual steering, the zero action (which follows a serpentine)."""

    def __init__(self, env: gym.Env) -> None:
        zero = _follows_serpentine(env) or isinstance(env.unwrapped, LineScanEnv)
        self.zero = np.zeros(2, dtype=np.float32) if zero else None
        if self.zero is None:
            self.expert = SerpentineExpert(env)

    def predict(
        self, obs: object, state: object = None, episode_start: np.ndarray | None = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """The expert's action for the env's current state (``obs`` is not needed)."""
        if self.zero is not None:
            return self.zero.copy(), None
        if episode_start is not None and bool(np.asarray(episode_start).any()):
            self.expert.reset()
        return self.expert.act(), None

"""A trained policy as a scan strategy: ``learned`` (the shipped policy) and ``learned:FILE``.

Importing :mod:`rl` registers both in :data:`scanpaths.STRATEGIES`, so a benchmark suite lists
``paths = ["learned", "spiral"]`` and compares the policy with every fixed path. The learned
path spends the scan time of a spiral at the cell's coverage; ``dose`` does not apply to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np

from scanpaths.errors import InputError
from scanpaths.physics import Preset, get_preset
from scanpaths.scanner import PartialScan
from scanpaths.strategies import STRATEGIES, Strategy

from .evaluation import rollout
from .make import make_env
from .policy_file import DEFAULT_POLICY, LoadedPolicy, load_policy

__all__ = ["LearnedStrategy", "commanded_only"]


class LearnedStrategy(Strategy):
    """Scans with a policy file (``file`` None: the shipped policy)."""

    def __init__(self, file: Path | None = None) -> None:
        self.file = DEFAULT_POLICY if file is None else file.resolve()
        self.name = "learned" if file is None else f"learned:{self.file}"
        self.policy: LoadedPolicy = load_policy(self.file)  # checks the file
        self._envs: dict[tuple[int, Preset, float], gym.Env] = {}

    def check(self, shape: tuple[int, int]) -> None:
        h, w = shape
        obs = self.policy.config.obs_size
        if h != w or h < obs:
            raise InputError(f"a learned path scans square images of at least {obs} px; got {h}x{w}")

    def scan(
        self,
        image: np.ndarray,
        *,
        coverage: float,
        preset: str | Preset,
        seed: int,
        dose: float | None = None,
        truth: np.ndarray | None = None,
        register: str = "commanded",
    ) -> PartialScan:
        self.check(image.shape)
        if register != "commanded":
            raise InputError(
                f"a learned path files its samples where the beam was commanded (its environment's way); "
                f"register={register!r} is not supported"
            )
        key = (image.shape[0], get_preset(preset), float(coverage))
        if key not in self._envs:  # an environment of the cell's field, preset and budget
            if len(self._envs) >= 8:
                self._envs.clear()
            self._envs[key] = make_env(
                replace(self.policy.config, size=key[0], preset=key[1], coverage=key[2], pool_size=1, completer="none")
            )
        return rollout(self.policy.policy, self._envs[key], image, truth, seed=seed)


def commanded_only(names: Iterable[str]) -> list[str]:
    """The strategies of ``names`` that file their samples only where the beam was commanded
    (a learned path: its environment files them so), in order."""
    return [n for n in names if n == "learned" or n.startswith("learned:")]


def _learned(arg: str | None, base: Path) -> Strategy:
    if arg is None:
        return LearnedStrategy()
    p = Path(arg)
    return LearnedStrategy(p if p.is_absolute() else base / p)


STRATEGIES.register("learned", _learned, help="the shipped adaptive-scan policy (rl/POLICY_CARD.md)")
STRATEGIES.register_prefix("learned", _learned, arg="FILE", help="a policy file written by pstem train-rl")

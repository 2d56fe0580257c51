"""Scan strategies: what decides where the beam goes, registered by name.

A strategy scans an image within a budget and returns the :class:`PartialScan`. Every path kind
of :data:`scanpaths.PATH_KINDS` is a strategy that ignores what it sees (:class:`FixedPath`);
adaptive strategies register here (``rl`` registers a trained policy as ``learned`` and
``learned:FILE``), so a benchmark suite compares them all through one interface.

>>> import numpy as np
>>> scan = get_strategy("spiral").scan(np.zeros((64, 64)), coverage=0.1, preset="ideal", seed=0)
>>> round(scan.coverage, 2)
0.1
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .paths import PATH_KINDS, sample_path
from .physics import Preset
from .registry import Registry
from .scanner import PartialScan, simulate

__all__ = ["STRATEGIES", "FixedPath", "Strategy", "describe", "get_strategy", "strategy_names"]


class Strategy(ABC):
    """Scans an image: a fixed path, or an agent deciding as it goes.

    ``name`` is canonical: :func:`get_strategy` of it gives the same strategy back (a
    ``learned:FILE`` strategy names its file by absolute path).
    """

    name: str

    def check(self, shape: tuple[int, int]) -> None:  # noqa: B027 - a hook: most strategies scan any shape
        """Raise :class:`InputError` when this strategy cannot scan an image of ``shape``."""

    @abstractmethod
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
        """Scan ``image`` (H, W) with the budget of ``coverage``; ``truth`` is the noise-free
        image where one exists (a learned policy's environment may score against it);
        ``register``: where the samples are filed (:data:`scanpaths.REGISTERS`, as
        :class:`~scanpaths.scanner.Scanner` takes it)."""


class FixedPath(Strategy):
    """A path kind of :data:`scanpaths.PATH_KINDS` at the requested coverage."""

    def __init__(self, kind: str) -> None:
        PATH_KINDS[kind]  # noqa: B018 - raises for an unknown kind
        self.name = kind

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
        path = sample_path(self.name, image.shape, coverage, seed)
        return simulate(image, path, preset=preset, dose=dose, seed=seed, register=register)


#: Adaptive strategies by name: each entry builds the strategy from the argument of a
#: parametrised name (``learned:FILE`` gives ``FILE``; None for a plain name) and the folder
#: relative file arguments are read from.
STRATEGIES: Registry[Callable[[str | None, Path], Strategy]] = Registry("scan strategy")


def strategy_names() -> list[str]:
    """Every name a suite may use: the path kinds, then the registered strategies."""
    return [*PATH_KINDS, *STRATEGIES.choices()]


def get_strategy(name: str, base: str | os.PathLike[str] | None = None) -> Strategy:
    """The strategy of ``name`` (relative file arguments are read from ``base``, default the
    working directory)."""
    if name in PATH_KINDS:
        return FixedPath(name)
    try:
        found = STRATEGIES.resolve(name)
    except InputError:
        raise InputError(f"scan strategy must be one of {', '.join(strategy_names())}; got {name!r}") from None
    return found.value(found.arg, Path(base) if base is not None else Path.cwd())


def describe(strategy: Any) -> str:
    """A short label of a strategy name (a file argument shows as its file name)."""
    head, sep, rest = str(strategy).partition(":")
    return f"{head}:{Path(rest).name}" if sep else head

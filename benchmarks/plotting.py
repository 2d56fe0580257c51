"""Figures without a GUI backend: every plot of partialstem is a :class:`matplotlib.figure.Figure`
saved to a file.

Figures are made with matplotlib's object-oriented API (no ``pyplot``, no ``matplotlib.use``),
so drawing works in worker processes, on machines without a display and inside a user's
interactive session alike, and leaves the user's backend alone.
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib
from matplotlib.figure import Figure

__all__ = ["colours", "figure", "save"]


def figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes grid (``Figure.subplots``; ``figsize`` and the rest as keywords)."""
    fig_kw = {k: kwargs.pop(k) for k in ("figsize", "dpi", "layout") if k in kwargs}
    fig = Figure(**fig_kw)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def colours() -> list[str]:
    """matplotlib's default colour cycle."""
    return list(matplotlib.rcParams["axes.prop_cycle"].by_key()["color"])


def save(fig: Figure, path: str | os.PathLike[str], dpi: int = 100) -> None:
    """Write ``fig`` to ``path`` (PNG or PDF, by suffix)."""
    fig.savefig(path, dpi=dpi)

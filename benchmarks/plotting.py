"""Figures without a GUI backend: every plot of partialstem is a :class:`matplotlib.figure.Figure`
saved to a file.

Figures are made with matplotlib's object-oriented API (no ``pyplot``, no ``matplotlib.use``),
so drawing works in worker processes, on machines without a display and inside a user's
interactive session alike, and leaves the user's backend alone.
"""

from __future__ import annotations

import math
import os
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

__all__ = ["UNSCANNED", "colours", "figure", "save", "scale_bar", "show_scan"]

#: The colour of pixels a partial scan did not visit (a pale blue no HAADF intensity takes).
UNSCANNED = "#c9dcef"


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


def show_scan(ax: Any, values: np.ndarray, **kwargs: Any) -> Any:
    """Draw a partial scan: (H, W) float, NaN where not scanned, sampled pixels in grey on the
    :data:`UNSCANNED` colour (on black, a sparse scan looks like an empty frame)."""
    cmap = matplotlib.colormaps["gray"].with_extremes(bad=UNSCANNED)
    kwargs.setdefault("interpolation", "nearest")
    return ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, **kwargs)


def _nice(length: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``length``."""
    k = math.floor(math.log10(length))
    for m in (5, 2, 1):
        if m * 10**k <= length:
            return float(m * 10**k)
    return float(10**k)


def scale_bar(ax: Any, width_px: int, pixel_nm: float | None, *, fraction: float = 0.2) -> str:
    """Draw a scale bar in the lower left of an image axes (about ``fraction`` of its width):
    in nm (or pm, um) when the pixel size is known, in px when it is not. Returns its label."""
    if pixel_nm is not None and pixel_nm > 0:
        length_nm = _nice(fraction * width_px * pixel_nm)
        bar_px = length_nm / pixel_nm
        if length_nm < 1:
            label = f"{length_nm * 1e3:g} pm" if length_nm < 0.1 else f"{length_nm:g} nm"
        elif length_nm >= 1000:
            label = f"{length_nm / 1e3:g} µm"
        else:
            label = f"{length_nm:g} nm"
    else:
        bar_px = _nice(fraction * width_px)
        label = f"{bar_px:g} px"
    x0, y_top = ax.get_xlim()[0], max(ax.get_ylim())
    height = ax.get_ylim()
    span = abs(height[0] - height[1])
    x = x0 + 0.04 * width_px
    y = y_top - 0.05 * span
    ax.plot([x, x + bar_px], [y, y], color="white", lw=3, solid_capstyle="butt")
    ax.plot([x, x + bar_px], [y, y], color="black", lw=0.8, solid_capstyle="butt")
    ax.text(
        x + bar_px / 2, y - 0.02 * span, label, color="white", ha="center", va="bottom", fontsize=8,
        bbox={"facecolor": "black", "alpha": 0.45, "pad": 1, "edgecolor": "none"},
    )  # fmt: skip
    return label

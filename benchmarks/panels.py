"""Figures of paths and specimens: what ``pstem paths`` and ``pstem specimens`` draw."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

import scanpaths
from scanpaths import PartialScan

from . import plotting

log = logging.getLogger(__name__)

__all__ = ["paths_panel", "specimen_gallery"]


def _zoom_window(scan: PartialScan, size: int) -> tuple[float, float, float, float]:
    """A window around the worst commanded-vs-actual mismatch (x0, x1, y0, y1) px."""
    on = ~scan.blanked
    err = np.hypot(*(scan.trajectory - scan.commanded).T)
    err[~on] = -1
    cx, cy = scan.commanded[int(np.argmax(err))]
    half = max(12.0, size / 10)
    x0 = float(np.clip(cx - half, -0.5, size - 0.5 - 2 * half))
    y0 = float(np.clip(cy - half, -0.5, size - 0.5 - 2 * half))
    return x0, x0 + 2 * half, y0, y0 + 2 * half


def paths_panel(
    out: str | os.PathLike[str],
    size: int = 512,
    coverage: float = 0.05,
    preset: str = "typical",
    seed: int = 0,
    kinds: Sequence[str] | None = None,
    dpi: int = 110,
) -> list[dict[str, float]]:
    """Draw every path kind: commanded vs actual beam, a zoom on the worst distortion, the mask,
    and the partial scan of a synthetic specimen. Writes a PNG (or PDF, by suffix) to ``out``.

    Returns one row of figures per kind: coverage, scan time (s), median and max beam error (px).
    """
    kinds = list(kinds or scanpaths.PATH_KINDS)
    spec = scanpaths.specimens.generate((size, size), seed=seed, scene="crystal")
    cols = len(kinds)
    fig, axes = plotting.figure(4, cols, figsize=(2.6 * cols, 10.8), squeeze=False)
    rows: list[dict[str, float]] = []
    for c, kind in enumerate(tqdm(kinds, desc="paths", unit="path", leave=False)):
        path = scanpaths.sample_path(kind, (size, size), coverage, seed)
        scan = scanpaths.simulate(spec.image, path, preset=preset, seed=seed)
        on = ~scan.blanked
        err = np.hypot(*(scan.trajectory - scan.commanded)[on].T)
        rows.append(
            {
                "kind": kind,  # type: ignore[dict-item]
                "coverage": scan.coverage,
                "time_s": scan.time_s,
                "median_err_px": float(np.median(err)),
                "max_err_px": float(err.max()),
            }
        )
        lw = 0.35 if path.n_samples > 5000 else 0.7
        ax = axes[0, c]
        cmd = np.where(scan.blanked[:, None], np.nan, scan.commanded)
        act = np.where(scan.blanked[:, None], np.nan, scan.trajectory)
        style = {"ls": "none", "marker": ".", "ms": 1.0} if path.jumps.size > path.n_samples / 4 else {"lw": lw}
        ax.plot(cmd[:, 0], cmd[:, 1], color="tab:blue", label="commanded", **style)
        ax.plot(act[:, 0], act[:, 1], color="tab:orange", alpha=0.8, label="actual", **style)
        ax.set_title(f"{kind}\ncoverage 1/{1 / scan.coverage:.0f}, {scan.time_s * 1e3:.1f} ms", fontsize=9)
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        ax.set_aspect("equal")
        ax = axes[1, c]
        x0, x1, y0, y1 = _zoom_window(scan, size)
        ax.plot(cmd[:, 0], cmd[:, 1], ".-", ms=1.5, lw=0.6, color="tab:blue")
        ax.plot(act[:, 0], act[:, 1], ".-", ms=1.5, lw=0.6, color="tab:orange")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)
        ax.set_aspect("equal")
        ax.set_title(f"zoom: worst error {err.max():.1f} px", fontsize=8)
        axes[2, c].imshow(scan.mask, cmap="gray", interpolation="nearest")
        axes[2, c].set_title("mask", fontsize=8)
        plotting.show_scan(axes[3, c], np.where(scan.mask, scan.values, np.nan))
        axes[3, c].set_title("partial scan (unseen: blue)", fontsize=8)
        plotting.scale_bar(axes[3, c], size, scan.preset.pixel_size_nm)
        for r in range(4):
            axes[r, c].tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    axes[0, 0].set_ylabel("y (px)")
    fig.suptitle(
        f"Scan paths on {size}x{size} px at coverage {coverage:g}, '{preset}' physics "
        "(blue: commanded, orange: actual beam)",
        fontsize=11,
    )
    fig.tight_layout()
    plotting.save(fig, out, dpi=dpi)
    log.info("wrote %s", out)
    return rows


def specimen_gallery(out: str | os.PathLike[str], n: int = 8, size: int = 256, seed: int = 0, dpi: int = 110) -> None:
    """Draw ``n`` synthetic specimens (seeds ``seed .. seed + n - 1``) with their defects."""
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plotting.figure(rows, cols, figsize=(3.2 * cols, 3.6 * rows + 0.4), squeeze=False, layout="constrained")
    pixel_nm = scanpaths.get_preset("typical").pixel_size_nm
    for i in tqdm(range(rows * cols), desc="specimens", unit="img", leave=False):
        ax = axes[i // cols, i % cols]
        ax.axis("off")
        if i >= n:
            continue
        spec = scanpaths.specimens.generate((size, size), seed=seed + i)
        ax.imshow(spec.image, cmap="gray", vmin=0, vmax=1)
        for kind, marker, colour in (("vacancy", "o", "cyan"), ("substitution", "s", "yellow")):
            pts = spec.defect_positions[spec.defect_kinds == kind]
            ax.scatter(
                pts[:, 0],
                pts[:, 1],
                s=14,
                marker=marker,
                facecolors="none",
                edgecolors=colour,
                lw=0.6,
            )
        ax.set_title(f"seed {seed + i}: {spec.scene}\nspacing {spec.params['spacing_px']:.0f} px", fontsize=8)
        plotting.scale_bar(ax, size, pixel_nm)
    fig.suptitle(
        f"Synthetic HAADF specimens (cyan: vacancies, yellow: substitutions; scale bars at {pixel_nm:g} nm/px, "
        "the presets' pixel size)",
        fontsize=10,
    )
    plotting.save(fig, out, dpi=dpi)
    log.info("wrote %s", out)

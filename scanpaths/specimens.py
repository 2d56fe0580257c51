"""Synthetic HAADF-STEM-like specimens, generated from a seed, any size.

A real STEM collection mixes atomic-resolution crystals, defects, boundaries, particles on
amorphous supports and low-magnification morphology, so the generator mixes scenes
(:data:`SCENES`):

- ``crystal``: one lattice (square, rectangular, hexagonal, honeycomb, perovskite [001],
  dumbbell [110]; spacing 6-40 px, any orientation) with vacancies, substitutions and
  sometimes an amorphous patch;
- ``grain-boundary``: 2-4 grains of one lattice at different orientations (Voronoi cells);
- ``interface``: two different lattices meeting along a line;
- ``nanoparticle``: crystalline particles (thickness-weighted) on an amorphous support;
- ``amorphous``: an amorphous film with thickness variations;
- ``edge``: a crystal wedge whose thickness falls to a vacuum edge;
- ``low-mag``: particles, pores and texture at a scale where columns are not resolved.

Column intensities follow HAADF Z-contrast, ``I ~ Z^1.7`` times the local thickness. Columns
are blurred by the probe (a Gaussian core of sigma 0.1-0.2 spacings, 0.6-6 px, plus a weak
wide tail), positions are distorted by a little scan drift (shear and stretch), and the image
gets shot noise (dose
between 20 and 2000 counts at full intensity), line-to-line gain/offset noise and read noise.

``generate`` returns the noisy image, the noise-free image and the ground-truth annotations
(column positions, their Z, and the planted point defects), which the benchmarks use to
measure whether a completion keeps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from .errors import InputError, check_choice, check_seed, check_shape

__all__ = ["DEFECT_KINDS", "LATTICES", "SCENES", "Specimen", "generate"]

#: Scene kinds, with the weight each has in the random mix.
SCENES: dict[str, float] = {
    "crystal": 0.26,
    "grain-boundary": 0.14,
    "interface": 0.12,
    "nanoparticle": 0.16,
    "amorphous": 0.08,
    "edge": 0.12,
    "low-mag": 0.12,
}

#: Point defects that are planted and annotated.
DEFECT_KINDS: tuple[str, ...] = ("vacancy", "substitution")

# Unit cells in units of the lattice spacing: basis vectors a1, a2 and (fx, fy, Z-role) sites,
# where the Z-role is 0 (heavy), 1 (medium) or 2 (light) and picks one of three elements.
LATTICES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[tuple[float, float, int], ...]]] = {
    "square": ((1.0, 0.0), (0.0, 1.0), ((0.0, 0.0, 0),)),
    "rectangular": ((1.0, 0.0), (0.0, 1.4), ((0.0, 0.0, 0),)),
    "hexagonal": ((1.0, 0.0), (0.5, math.sqrt(3) / 2), ((0.0, 0.0, 0),)),
    "honeycomb": ((1.0, 0.0), (0.5, math.sqrt(3) / 2), ((0.0, 0.0, 0), (1 / 3, 1 / 3, 1))),
    "perovskite": (
        (1.0, 0.0),
        (0.0, 1.0),
        ((0.0, 0.0, 0), (0.5, 0.5, 1), (0.5, 0.0, 2), (0.0, 0.5, 2)),
    ),
    "dumbbell": (
        (1.0, 0.0),
        (0.0, 1.41),
        ((0.0, 0.0, 0), (0.0, 0.18, 1), (0.5, 0.705, 0), (0.5, 0.885, 1)),
    ),
}


@dataclass(frozen=True, eq=False)
class Specimen:
    """A synthetic specimen and its ground truth.

    Attributes:
        image: (H, W) float32 in [0, 1], what a full scan would show (with noise).
        clean: (H, W) float32 in [0, 1], the same without noise (same scale).
        scene: the scene kind (one of :data:`SCENES`).
        columns: (K, 2) float64 (x, y) px of the atomic columns inside the image (empty for
            ``low-mag``).
        column_z: (K,) int32 atomic number of each column.
        defect_positions: (D, 2) float64 (x, y) px of planted point defects.
        defect_kinds: (D,) str, each one of :data:`DEFECT_KINDS`.
        params: how the scene was built (lattice, spacing px, angles, probe sigma px, dose ...).
    """

    image: np.ndarray
    clean: np.ndarray
    scene: str
    columns: np.ndarray
    column_z: np.ndarray
    defect_positions: np.ndarray
    defect_kinds: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- building blocks
def _sites(
    lattice: str,
    spacing: float,
    angle: float,
    origin: np.ndarray,
    shape: tuple[int, int],
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Lattice sites (N, 2) (x, y) px and their Z-roles (N,) covering the image plus a margin."""
    a1, a2, basis = LATTICES[lattice]
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    basis_mat = rot @ (np.array([a1, a2]).T * spacing)  # columns are the lattice vectors
    h, w = shape
    corners = np.array([[-margin, -margin], [w + margin, -margin], [-margin, h + margin], [w + margin, h + margin]])
    frac = np.linalg.solve(basis_mat, (corners - origin).T)
    lo = np.floor(frac.min(axis=1)) - 1
    hi = np.ceil(frac.max(axis=1)) + 1
    i, j = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
    cells = np.column_stack([i.ravel(), j.ravel()])
    pts, roles = [], []
    for fx, fy, role in basis:
        p = (cells + np.array([fx, fy])) @ basis_mat.T + origin
        pts.append(p)
        roles.append(np.full(len(p), role, dtype=np.int32))
    pos = np.concatenate(pts)
    role = np.concatenate(roles)
    keep = (pos[:, 0] > -margin) & (pos[:, 0] < w + margin) & (pos[:, 1] > -margin) & (pos[:, 1] < h + margin)
    return pos[keep], role[keep]


def _smooth_field(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field (H, W) with unit standard deviation and correlation length ~scale px."""
    h, w = shape
    f = max(1, int(scale // 4))  # work at reduced resolution for large scales
    small = rng.normal(size=(max(2, h // f + 2), max(2, w // f + 2)))
    small = ndimage.gaussian_filter(small, scale / f, mode="wrap")
    big = ndimage.zoom(small, f, order=1)[:h, :w]
    if big.shape != (h, w):
        big = np.pad(big, ((0, h - big.shape[0]), (0, w - big.shape[1])), mode="edge")
    return (big - big.mean()) / (big.std() + 1e-12)


def _splat(shape: tuple[int, int], pos: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Deposit point weights bilinearly onto an (H, W) float64 grid (points off it are dropped)."""
    h, w = shape
    img = np.zeros(h * w)
    if len(pos) == 0:
        return img.reshape(h, w)
    x0 = np.floor(pos[:, 0]).astype(np.int64)
    y0 = np.floor(pos[:, 1]).astype(np.int64)
    fx = pos[:, 0] - x0
    fy = pos[:, 1] - y0
    for dx, dy, wt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        xx, yy = x0 + dx, y0 + dy
        ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        img += np.bincount(yy[ok] * w + xx[ok], weights=(weight * wt)[ok], minlength=h * w)
    return img.reshape(h, w)


def _render(shape: tuple[int, int], pos: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Columns as Gaussians of ``sigma`` px with peak height ``weight``."""
    img = _splat(shape, pos, weight)
    return ndimage.gaussian_filter(img, sigma, mode="constant") * (2 * math.pi * sigma**2)


def _elements(rng: np.random.Generator) -> np.ndarray:
    """Atomic numbers for the heavy, medium and light roles of a unit cell."""
    heavy = int(rng.integers(40, 83))
    medium = int(rng.integers(20, max(21, heavy - 8)))
    light = int(rng.integers(6, 17))
    return np.array([heavy, medium, light], dtype=np.int32)


def _z_intensity(z: np.ndarray) -> np.ndarray:
    return (z.astype(np.float64) / 79.0) ** 1.7


def _polygon_inside(pos: np.ndarray, centre: np.ndarray, radius: float, n_sides: int, angle: float) -> np.ndarray:
    """Which points lie inside a regular polygon (n_sides >= 3) or a disc (n_sides == 0)."""
    d = pos - centre
    if n_sides == 0:
        return np.hypot(d[:, 0], d[:, 1]) <= radius
    inside = np.ones(len(pos), dtype=bool)
    apothem = radius * math.cos(math.pi / n_sides)
    for k in range(n_sides):
        a = angle + 2 * math.pi * k / n_sides
        inside &= d[:, 0] * math.cos(a) + d[:, 1] * math.sin(a) <= apothem
    return inside


class _Scene:
    """Accumulates columns (position, Z, thickness weight) and extra continuous layers."""

    def __init__(self, shape: tuple[int, int], rng: np.random.Generator) -> None:
        self.shape = shape
        self.rng = rng
        self.pos: list[np.ndarray] = []
        self.z: list[np.ndarray] = []
        self.weight: list[np.ndarray] = []
        self.crystal: list[np.ndarray] = []  # bool per column: part of a lattice (defects allowed)
        self.background = np.zeros(shape)
        self.params: dict[str, Any] = {}

    def add(self, pos: np.ndarray, z: np.ndarray, weight: np.ndarray, crystal: bool) -> None:
        self.pos.append(pos)
        self.z.append(z.astype(np.int32))
        self.weight.append(weight)
        self.crystal.append(np.full(len(pos), crystal))

    def lattice(
        self,
        spacing: float,
        lattice: str | None = None,
        angle: float | None = None,
        elements: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        rng = self.rng
        lattice = lattice or str(rng.choice(list(LATTICES)))
        angle = float(rng.uniform(0, math.pi)) if angle is None else angle
        elements = _elements(rng) if elements is None else elements
        origin = rng.uniform(0, spacing, size=2)
        pos, role = _sites(lattice, spacing, angle, origin, self.shape, margin=3 * spacing)
        info = {"lattice": lattice, "angle_rad": angle, "elements": elements.tolist()}
        return pos, elements[role], info

    def amorphous(self, density: float, z_range: tuple[int, int], region: np.ndarray | None = None) -> None:
        """Random atoms at ``density`` per px^2 (only where ``region`` (H, W) is True, if given)."""
        h, w = self.shape
        n = self.rng.poisson(density * h * w)
        pos = self.rng.uniform([-2, -2], [w + 2, h + 2], size=(n, 2))
        if region is not None:
            r = np.clip(np.round(pos).astype(int), 0, [w - 1, h - 1])
            pos = pos[region[r[:, 1], r[:, 0]]]
        z = self.rng.integers(z_range[0], z_range[1] + 1, size=len(pos))
        self.add(pos, z, np.full(len(pos), 0.5), crystal=False)


def _lookup(field_: np.ndarray, pos: np.ndarray) -> np.ndarray:
    h, w = field_.shape
    c = np.clip(np.round(pos[:, 0]).astype(int), 0, w - 1)
    r = np.clip(np.round(pos[:, 1]).astype(int), 0, h - 1)
    return field_[r, c]


# --------------------------------------------------------------------------- scenes
def _scene_crystal(s: _Scene, spacing: float) -> None:
    pos, z, info = s.lattice(spacing)
    thick = 1.0 + 0.15 * _lookup(_smooth_field(s.shape, s.shape[0] / 3, s.rng), pos)
    keep = np.ones(len(pos), bool)
    if s.rng.random() < 0.35:  # an amorphous patch
        h, w = s.shape
        blob = _smooth_field(s.shape, max(8.0, min(h, w) / 8), s.rng) > 1.2
        keep &= ~_lookup(blob, pos)
        s.amorphous(0.6 / spacing**2, (6, 30), region=blob)
        info["amorphous_patch"] = True
    s.add(pos[keep], z[keep], thick[keep], crystal=True)
    s.params.update(info)


def _scene_grain_boundary(s: _Scene, spacing: float) -> None:
    h, w = s.shape
    n = int(s.rng.integers(2, 5))
    seeds = s.rng.uniform([0, 0], [w, h], size=(n, 2))
    lattice = str(s.rng.choice(list(LATTICES)))
    elements = _elements(s.rng)
    angles = []
    for g in range(n):
        angles.append(float(s.rng.uniform(0, math.pi)))
        pos, z, _ = s.lattice(spacing, lattice=lattice, angle=angles[-1], elements=elements)
        d = np.linalg.norm(pos[:, None, :] - seeds[None, :, :], axis=2)
        mine = d.argmin(axis=1) == g
        # leave a thin disordered gap at the boundary: drop columns nearly equidistant to two grains
        ds = np.sort(d, axis=1)
        mine &= (ds[:, 1] - ds[:, 0]) > 0.3 * spacing
        s.add(pos[mine], z[mine], np.ones(mine.sum()), crystal=True)
    s.params.update({"lattice": lattice, "grain_seeds": seeds.tolist(), "grain_angles_rad": angles})


def _scene_interface(s: _Scene, spacing: float) -> None:
    h, w = s.shape
    normal_angle = s.rng.uniform(0, 2 * math.pi)
    nrm = np.array([math.cos(normal_angle), math.sin(normal_angle)])
    through = s.rng.uniform([0.3 * w, 0.3 * h], [0.7 * w, 0.7 * h])
    infos = []
    for side, sp in ((1, spacing), (-1, spacing * s.rng.uniform(0.8, 1.25))):
        pos, z, info = s.lattice(sp)
        mine = side * ((pos - through) @ nrm) > 0.15 * sp
        s.add(pos[mine], z[mine], np.ones(mine.sum()), crystal=True)
        infos.append(info)
    s.params.update({"interface_point": through.tolist(), "interface_normal": nrm.tolist(), "sides": infos})


def _scene_nanoparticle(s: _Scene, spacing: float) -> None:
    h, w = s.shape
    s.amorphous(0.5 / max(spacing * 0.6, 3.0) ** 2, (6, 14))
    s.background += 0.05 * (1 + 0.5 * _smooth_field(s.shape, min(h, w) / 4, s.rng))
    particles = []
    for _ in range(int(s.rng.integers(1, 4))):
        radius = float(s.rng.uniform(0.12, 0.32) * min(h, w))
        centre = s.rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h])
        sides = int(s.rng.choice([0, 5, 6, 8]))
        pos, z, info = s.lattice(spacing)
        inside = _polygon_inside(pos, centre, radius, sides, float(s.rng.uniform(0, math.pi)))
        d = np.hypot(*(pos[inside] - centre).T) / radius
        thick = 0.3 + 0.9 * np.sqrt(np.clip(1 - d**2, 0, 1))
        s.add(pos[inside], z[inside], thick, crystal=True)
        particles.append({"centre": centre.tolist(), "radius_px": radius, "sides": sides, **info})
    s.params["particles"] = particles


def _scene_amorphous(s: _Scene, spacing: float) -> None:
    h, w = s.shape
    scale = max(spacing * 0.5, 3.0)
    s.amorphous(0.7 / scale**2, (6, 40))
    thick = 1.0 + 0.5 * _smooth_field(s.shape, min(h, w) / 5, s.rng)
    s.weight[-1] = s.weight[-1] * np.clip(_lookup(thick, s.pos[-1]), 0.2, None)


def _scene_edge(s: _Scene, spacing: float) -> None:
    h, w = s.shape
    pos, z, info = s.lattice(spacing)
    ang = s.rng.uniform(0, 2 * math.pi)
    nrm = np.array([math.cos(ang), math.sin(ang)])
    through = s.rng.uniform([0.4 * w, 0.4 * h], [0.8 * w, 0.8 * h])
    depth = (through - pos) @ nrm  # > 0 inside the specimen
    wedge = float(s.rng.uniform(0.3, 1.0) * max(h, w))
    inside = depth > 0
    thick = np.clip(depth[inside] / wedge, 0.08, 1.0)
    s.add(pos[inside], z[inside], thick, crystal=True)
    info.update({"edge_point": through.tolist(), "edge_normal": nrm.tolist(), "wedge_px": wedge})
    s.params.update(info)


def _scene_low_mag(s: _Scene, _spacing: float) -> None:
    """Particles, pores and support texture; columns unresolved (no atom annotations)."""
    h, w = s.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.15 + 0.05 * _smooth_field(s.shape, min(h, w) / 6, s.rng) + 0.02 * _smooth_field(s.shape, 2.0, s.rng)
    n = int(s.rng.integers(5, 60))
    rmax = max(3.0, min(h, w) / 8)
    for _ in range(n):
        r = float(s.rng.uniform(2.0, rmax))
        cx, cy = s.rng.uniform(0, w), s.rng.uniform(0, h)
        d2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / r**2
        ball = np.sqrt(np.clip(1 - d2, 0, 1))
        if s.rng.random() < 0.15:
            img -= 0.12 * ball  # pore
        else:
            img += float(s.rng.uniform(0.3, 1.0)) * ball
    s.background += np.clip(img, 0, None)
    s.params["n_features"] = n


_SCENE_FUNCS = {
    "crystal": _scene_crystal,
    "grain-boundary": _scene_grain_boundary,
    "interface": _scene_interface,
    "nanoparticle": _scene_nanoparticle,
    "amorphous": _scene_amorphous,
    "edge": _scene_edge,
    "low-mag": _scene_low_mag,
}


# --------------------------------------------------------------------------- public API
def generate(
    shape: tuple[int, int] = (512, 512),
    seed: int | np.random.Generator | None = 0,
    scene: str | None = None,
    *,
    spacing: float | None = None,
    defect_fraction: float | None = None,
    noise: bool = True,
) -> Specimen:
    """Generate a synthetic HAADF-STEM specimen.

    Args:
        shape: image size (H, W) px, each in [16, 8192].
        seed: seed or generator; the same seed gives the same specimen.
        scene: one of :data:`SCENES`, or None to draw one from the mix.
        spacing: lattice spacing px in [6, 40], or None to draw one.
        defect_fraction: fraction of lattice columns made vacancies and (the same fraction)
            substitutions, in [0, 0.2], or None to draw from [0.005, 0.03].
        noise: add shot, line and read noise to ``image`` (``clean`` never has any).

    Returns:
        The :class:`Specimen`.
    """
    shape = check_shape(shape, "shape", 16, 8192)
    seed = check_seed(seed)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if scene is None:
        names = list(SCENES)
        weights = np.array([SCENES[n] for n in names])
        scene = str(rng.choice(names, p=weights / weights.sum()))
    scene = check_choice(scene, "scene", SCENES)
    if spacing is None:
        spacing = float(np.exp(rng.uniform(math.log(6.0), math.log(40.0))))
    elif not 6.0 <= float(spacing) <= 40.0:
        raise InputError(f"spacing must be in [6, 40] px, got {spacing!r}")
    if defect_fraction is None:
        defect_fraction = float(rng.uniform(0.005, 0.03))
    elif not 0.0 <= float(defect_fraction) <= 0.2:
        raise InputError(f"defect_fraction must be in [0, 0.2], got {defect_fraction!r}")
    h, w = shape
    s = _Scene(shape, rng)
    _SCENE_FUNCS[scene](s, spacing)

    if s.pos:
        pos = np.concatenate(s.pos)
        z = np.concatenate(s.z)
        weight = np.concatenate(s.weight)
        crystal = np.concatenate(s.crystal)
    else:
        pos, z, weight, crystal = (
            np.zeros((0, 2)),
            np.zeros(0, np.int32),
            np.zeros(0),
            np.zeros(0, bool),
        )

    # scan-drift distortion of the column positions (a slow shear and stretch)
    shear = rng.normal(0, 0.01)
    stretch = rng.normal(0, 0.005)
    pos = pos.copy()
    pos[:, 0] += shear * (pos[:, 1] - h / 2)
    pos[:, 1] += stretch * (pos[:, 1] - h / 2)

    # point defects, planted on lattice columns well inside the image
    margin = 2.0
    inner = (
        crystal
        & (pos[:, 0] > margin)
        & (pos[:, 0] < w - 1 - margin)
        & (pos[:, 1] > margin)
        & (pos[:, 1] < h - 1 - margin)
    )
    cand = np.flatnonzero(inner & (z > 12))
    n_def = int(round(defect_fraction * len(cand)))
    chosen = rng.permutation(cand)[: 2 * n_def]
    vac, sub = chosen[:n_def], chosen[n_def:]
    z = z.copy()
    if len(sub):
        factor = rng.choice([0.55, 1.45], size=len(sub))
        z[sub] = np.clip(np.round(z[sub] * factor), 6, 92).astype(np.int32)
    alive = np.ones(len(pos), bool)
    alive[vac] = False

    sigma = float(np.clip(rng.uniform(0.1, 0.2) * spacing, 0.6, 6.0))
    inten = _z_intensity(z) * weight
    clean = _render(shape, pos[alive], inten[alive], sigma)
    clean += 0.08 * _render(shape, pos[alive], inten[alive], 4 * sigma)  # probe tail
    clean += ndimage.gaussian_filter(s.background, sigma)
    top = float(np.percentile(clean, 99.9)) if clean.max() > 0 else 1.0
    level = float(rng.uniform(0.7, 1.0))
    offset = float(rng.uniform(0.0, 0.08))
    clean = offset + (level - offset) * np.clip(clean / max(top, 1e-12), 0, 1)

    dose = float(np.exp(rng.uniform(math.log(20.0), math.log(2000.0))))
    if noise:
        img = rng.poisson(clean * dose) / dose
        img *= 1 + rng.normal(0, 0.01, size=(h, 1))  # line-to-line gain
        img += rng.normal(0, 0.005, size=(h, 1))  # line offsets
        img += rng.normal(0, rng.uniform(0.002, 0.015), size=shape)  # read noise
        image = np.clip(img, 0, 1).astype(np.float32)
    else:
        image = clean.astype(np.float32)

    on_image = (pos[:, 0] >= -0.5) & (pos[:, 0] < w - 0.5) & (pos[:, 1] >= -0.5) & (pos[:, 1] < h - 0.5)
    keep_cols = alive & on_image & (scene != "low-mag")
    defect_pos = np.concatenate([pos[vac], pos[sub]]) if n_def else np.zeros((0, 2))
    kinds = np.array(["vacancy"] * len(vac) + ["substitution"] * len(sub), dtype="<U12")
    params = {
        **s.params,
        "spacing_px": spacing,
        "probe_sigma_px": sigma,
        "dose_counts": dose,
        "drift_shear": shear,
        "drift_stretch": stretch,
        "defect_fraction": defect_fraction,
    }
    return Specimen(
        image=image,
        clean=clean.astype(np.float32),
        scene=scene,
        columns=pos[keep_cols],
        column_z=z[keep_cols],
        defect_positions=defect_pos,
        defect_kinds=kinds,
        params=params,
    )

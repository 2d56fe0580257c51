"""Scan-coil physics and the detector: from a commanded :class:`~scanpaths.paths.Path` to a
:class:`PartialScan`.

What happens to a commanded path, in order:

1. **Flyback and settling.** Before every jump of the path the scan generator blanks the beam
   and holds the new position for ``settle_s + distance / slew`` seconds (rounded up to whole
   ticks); a path with ``settle_px > 0`` (random points) also waits ``tau ln(distance /
   settle_px)`` until the transient has decayed below ``settle_px``. These ticks cost time but
   record nothing.
2. **Coil response.** Each axis of the beam follows the command through a second-order system
   (natural frequency ``natural_freq_hz``, damping ratio ``damping``), with the command held
   over each dwell (zero-order hold) and the position change limited by the slew rate. This
   lags the beam behind fast commands, overshoots and rounds corners, and after a raster
   flyback makes the first columns of each line relax as ``x_nom - A exp(-t / tau)`` with
   ``tau = 1 / (damping * 2 pi natural_freq_hz)``.
3. **Jitter and drift.** Probe jitter (a few mains-related lines plus white noise) is added to
   the beam position; the specimen drifts by a slow linear term plus a random walk, so the
   beam sees the specimen at ``beam - drift``.
4. **Detection.** The detector reads the specimen image bilinearly where the beam really is,
   with Poisson counting noise for a dose of ``dose`` electrons per sample.
5. **Registration.** A real scan generator files each sample under the pixel it *commanded*;
   that is the default here (``register="commanded"``), so coil errors show as distortion of
   the image, as they do on a microscope. Like a real scan system it compensates the coil's
   steady lag by driving the coils ``lag_s = 2 damping / omega_n`` (less half a tick for the
   hold) ahead of the command (feed forward), so a beam moving at constant velocity is where it
   was told. The feed-forward never looks past the next jump. What remains is the physics
   that no delay removes: flyback relaxation, overshoot, rounded corners, the spiral's
   distortion near its centre, jitter and drift. ``register="actual"`` files samples where the
   beam really was (an idealised position sensor).

The presets' numbers are documented in :data:`PRESETS`. Units: seconds, pixels, nm, Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.linalg import expm

from . import _kernels as K
from .errors import InputError, check_choice, check_image, check_number
from .paths import Path

__all__ = ["PRESETS", "PartialScan", "Preset", "coil_matrices", "get_preset", "simulate"]

#: Electrons per picoampere-microsecond: dose per sample = current_pA * dwell_us * E_PER_PA_US.
E_PER_PA_US = 6.241509


@dataclass(frozen=True)
class Preset:
    """A microscope's scan system.

    Attributes:
        name: preset name.
        description: one line on where the numbers come from.
        dwell_s: time per sample (scan-clock tick), s.
        natural_freq_hz: natural frequency of the coil response, Hz (``inf``: the beam follows
            the command exactly).
        damping: damping ratio of the coil response (dimensionless, > 0).
        slew_fov_per_s: slew-rate limit in field-of-view widths per second (``inf``: none).
        settle_s: time the generator waits, beam blanked, after every jump, s (on top of the
            slew-limited travel time).
        pixel_size_nm: specimen distance per pixel, nm (converts jitter and drift to px).
        jitter_lines: ((frequency Hz, amplitude nm), ...) sinusoidal probe jitter per axis.
        jitter_white_nm: standard deviation of white probe jitter per sample, nm.
        drift_nm_per_s: speed of linear specimen drift (random direction), nm/s.
        drift_walk_nm: random-walk drift, nm per square root of a second.
    """

    name: str
    description: str
    dwell_s: float = 1e-6
    natural_freq_hz: float = math.inf
    damping: float = 0.7
    slew_fov_per_s: float = math.inf
    settle_s: float = 0.0
    pixel_size_nm: float = 0.02
    jitter_lines: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    jitter_white_nm: float = 0.0
    drift_nm_per_s: float = 0.0
    drift_walk_nm: float = 0.0

    @property
    def is_ideal(self) -> bool:
        """True when the beam follows the command exactly and nothing perturbs it."""
        return (
            math.isinf(self.natural_freq_hz)
            and math.isinf(self.slew_fov_per_s)
            and self.settle_s == 0
            and not self.jitter_lines
            and self.jitter_white_nm == 0
            and self.drift_nm_per_s == 0
            and self.drift_walk_nm == 0
        )

    @property
    def lag_s(self) -> float:
        """Steady lag of the coil behind a constant-velocity command, ``2 damping / omega_n``, s."""
        if math.isinf(self.natural_freq_hz):
            return 0.0
        return 2 * self.damping / (2 * math.pi * self.natural_freq_hz)

    @property
    def tau_s(self) -> float:
        """Decay time of the coil's transient, ``1 / (damping * omega_n)``, s."""
        return 1.0 / (self.damping * 2 * math.pi * self.natural_freq_hz)


_MAINS = ((50.0, 0.010), (150.0, 0.004), (250.0, 0.002))

#: Microscope presets. Reasoning behind the numbers:
#:
#: - Scan generators run up to ~2 MHz (Sang et al., Adv. Struct. Chem. Imaging 2016), and
#:   dwell times of 0.1-20 us per pixel are in use; 1 us is a common fast-scan setting.
#: - After a raster flyback the beam relaxes as x_nom - A exp(-t / tau) and the first ~60 us of
#:   a line are unusable (Mullarkey et al., Microsc. Microanal. 2022): that is tau ~ 15-20 us
#:   for ``typical``, here damping 0.7 at 12 kHz (tau = 19 us, overshoot 4.6 %); with its
#:   flyback this leaves the first ~70 us of a 512 px line more than 1 px off (measured in
#:   ``tests/scanpaths/test_physics.py``).
#:   ``fast-coils`` is a modern fast-scan system (tau ~ 2 us), ``slow-coils`` an older or
#:   large-inductance coil (tau ~ 64 us, underdamped).
#: - Flyback wastes most of the time below ~5 us dwell (Mullarkey 2022): the slew limits
#:   (one field of view in 20 us for ``typical``) plus the settling wait reproduce that for a
#:   512 px raster at 1 us dwell (about 25 us per line of 512 us).
#: - Jitter: a few mains-related lines (50 Hz and harmonics) of ~0.01 nm; drift: a slow linear
#:   term (~1 nm/min on a good stage) plus a random walk.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "ideal",
            "no physics: the beam is exactly where it was commanded; no jitter, drift, flyback",
        ),
        Preset(
            "typical",
            "a current aberration-corrected STEM at 1 us dwell: tau ~19 us, 20 us/FOV slew, "
            "5 us settle, 0.01 nm mains jitter, 1 nm/min drift",
            dwell_s=1e-6,
            natural_freq_hz=12e3,
            damping=0.7,
            slew_fov_per_s=5e4,
            settle_s=5e-6,
            pixel_size_nm=0.02,
            jitter_lines=_MAINS,
            jitter_white_nm=0.003,
            drift_nm_per_s=1.0 / 60,
            drift_walk_nm=0.01,
        ),
        Preset(
            "fast-coils",
            "a fast-scan system (low-inductance coils, tau ~2 us) at 0.5 us dwell",
            dwell_s=0.5e-6,
            natural_freq_hz=100e3,
            damping=0.8,
            slew_fov_per_s=2.5e5,
            settle_s=1e-6,
            pixel_size_nm=0.02,
            jitter_lines=_MAINS,
            jitter_white_nm=0.003,
            drift_nm_per_s=1.0 / 60,
            drift_walk_nm=0.01,
        ),
        Preset(
            "slow-coils",
            "an older scan system (tau ~64 us, underdamped) at 4 us dwell, more jitter and drift",
            dwell_s=4e-6,
            natural_freq_hz=5e3,
            damping=0.5,
            slew_fov_per_s=1e4,
            settle_s=20e-6,
            pixel_size_nm=0.02,
            jitter_lines=((50.0, 0.02), (150.0, 0.008), (250.0, 0.004), (1200.0, 0.004)),
            jitter_white_nm=0.005,
            drift_nm_per_s=0.1,
            drift_walk_nm=0.03,
        ),
    )
}


def get_preset(preset: str | Preset) -> Preset:
    """Look a preset up by name (or pass a :class:`Preset` through)."""
    if isinstance(preset, Preset):
        return preset
    return PRESETS[check_choice(preset, "preset", PRESETS)]


@dataclass(frozen=True, eq=False)
class PartialScan:
    """What the detector recorded along a path.

    Attributes:
        values: (H, W) float32 mean of the samples filed under each pixel, 0 where unseen.
            Values are detector intensities (the image's scale); with dose noise they are
            counts / dose and may exceed the image's range.
        mask: (H, W) bool, True where at least one sample was filed.
        counts: (H, W) int32 samples per pixel.
        trajectory: (M, 2) float64 where the beam really was, (x, y) px in the specimen image's
            frame (coil response, jitter and drift included), one row per scan-clock tick.
        commanded: (M, 2) float64 the command at each tick (the path with flyback/settling
            ticks inserted); equal to ``path.positions`` when no ticks were inserted.
        blanked: (M,) bool, True where the beam was blanked (path blanking plus flyback).
        time_s: total scan time, s (M ticks of ``dwell_s``).
        dwell_s: time per tick, s.
        dose_e: electrons spent on the specimen (unblanked ticks x dose), or None if no dose
            was modelled.
        preset: the :class:`Preset` used.
        path: the commanded :class:`Path`.
    """

    values: np.ndarray
    mask: np.ndarray
    counts: np.ndarray
    trajectory: np.ndarray
    commanded: np.ndarray
    blanked: np.ndarray
    time_s: float
    dwell_s: float
    dose_e: float | None
    preset: Preset
    path: Path

    @property
    def coverage(self) -> float:
        """Fraction of pixels with at least one sample."""
        return float(self.mask.mean())

    @property
    def shape(self) -> tuple[int, int]:
        """Image size (H, W) px."""
        return self.mask.shape  # type: ignore[return-value]


def coil_matrices(natural_freq_hz: float, damping: float, h_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact zero-order-hold discretisation of ``x'' = w^2 (u - x) - 2 z w x'`` over ``h_s``.

    Returns ``a`` (2, 2) and ``b`` (2,) with ``[x, v]' = a @ [x, v] + b * u`` (x px, v px/s).
    """
    w = 2 * math.pi * natural_freq_hz
    ac = np.array([[0.0, 1.0], [-(w**2), -2 * damping * w]])
    bc = np.array([0.0, w**2])
    aug = np.zeros((3, 3))
    aug[:2, :2] = ac
    aug[:2, 2] = bc
    e = expm(aug * h_s)
    return np.ascontiguousarray(e[:2, :2]), np.ascontiguousarray(e[:2, 2])


def _insert_settle_ticks(path: Path, preset: Preset, dwell_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insert the flyback/settle ticks before each jump of ``path``.

    Returns the command (M, 2) float64 px, the blanked flags (M,) bool, and the tick index at
    which each jump's command step happens (K,) int64 (the first inserted tick, or the jump's
    own tick when none was inserted).
    """
    n = path.n_samples
    j = path.jumps
    if j.size == 0 or preset.is_ideal:
        return path.positions.copy(), path.blanked.copy(), j.copy()
    fov = max(path.shape)
    dist = np.hypot(*(path.positions[j] - path.positions[j - 1]).T)
    travel = dist / (preset.slew_fov_per_s * fov) if math.isfinite(preset.slew_fov_per_s) else 0.0
    wait = preset.settle_s + travel
    if path.settle_px > 0 and math.isfinite(preset.natural_freq_hz):
        # wait until the transient, dist * exp(-t / tau), has decayed below settle_px
        wait = wait + preset.tau_s * np.log(np.maximum(dist / path.settle_px, 1.0))
    holds = np.ceil(wait / dwell_s - 1e-9).astype(np.int64)
    reps = np.ones(n, dtype=np.int64)
    reps[j] += holds
    command = np.repeat(path.positions, reps, axis=0)
    blanked = np.repeat(path.blanked, reps)
    # the inserted ticks are the first ``holds`` copies of each jump target
    starts = (np.cumsum(reps) - reps)[j]
    offsets = np.arange(holds.sum()) - np.repeat(np.cumsum(holds) - holds, holds)
    blanked[np.repeat(starts, holds) + offsets] = True
    return command, blanked, starts


def feed_forward(command: np.ndarray, segment_starts: np.ndarray, ahead_ticks: float) -> np.ndarray:
    """The coil drive: the command ``ahead_ticks`` early, never reaching past the next jump."""
    m = len(command)
    ticks = np.arange(m, dtype=np.float64)
    bounds = np.concatenate([segment_starts, [m]]).astype(np.int64)
    seg_end = np.repeat(bounds - 1, np.diff(np.concatenate([[0], bounds])))
    ahead = np.minimum(ticks + ahead_ticks, seg_end)
    return np.column_stack([np.interp(ahead, ticks, command[:, k]) for k in range(2)])


def jitter_and_drift(m: int, dwell_s: float, preset: Preset, rng: np.random.Generator) -> np.ndarray:
    """(M, 2) px offset of the beam relative to the specimen from jitter minus drift."""
    px = 1.0 / preset.pixel_size_nm
    t = np.arange(m) * dwell_s
    off = np.zeros((m, 2))
    for freq, amp in preset.jitter_lines:
        phase = rng.uniform(0, 2 * np.pi, size=2)
        off += (amp * px) * np.sin(2 * np.pi * freq * t[:, None] + phase[None, :])
    if preset.jitter_white_nm > 0:
        off += rng.normal(0.0, preset.jitter_white_nm * px, size=(m, 2))
    if preset.drift_nm_per_s > 0:
        ang = rng.uniform(0, 2 * np.pi)
        off -= (preset.drift_nm_per_s * px) * t[:, None] * np.array([math.cos(ang), math.sin(ang)])
    if preset.drift_walk_nm > 0:
        steps = rng.normal(0.0, preset.drift_walk_nm * px * math.sqrt(dwell_s), size=(m, 2))
        off -= np.cumsum(steps, axis=0)
    return off


@lru_cache(maxsize=64)
def coil_params(preset: Preset, dwell_s: float, fov_px: int) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """The coil integrator's arguments for a preset: ``(a, b, substeps, max_step, max_vel)``.

    Substeps keep each one well below the coil's time constant and resolve the slew limit.
    Cached: computing ``a`` and ``b`` (a matrix exponential) costs more than integrating a
    short path.
    """
    if math.isinf(preset.natural_freq_hz):
        raise InputError("a slew limit needs a finite natural_freq_hz in the preset")
    substeps = max(1, int(math.ceil(dwell_s * preset.natural_freq_hz * 2 * math.pi / 0.5)))
    h = dwell_s / substeps
    a, b = coil_matrices(preset.natural_freq_hz, preset.damping, h)
    vmax = preset.slew_fov_per_s * fov_px
    return a, b, substeps, vmax * h, vmax


def beam_trajectory(command: np.ndarray, preset: Preset, dwell_s: float, fov_px: int) -> np.ndarray:
    """(M, 2) beam position after the coil response (no jitter or drift), px.

    Args:
        command: (M, 2) float64 commanded (x, y) px per tick.
        preset: supplies the natural frequency, damping and slew limit.
        dwell_s: tick duration, s.
        fov_px: field of view in px (for the slew limit in FOV/s).
    """
    if math.isinf(preset.natural_freq_hz) and math.isinf(preset.slew_fov_per_s):
        return command.copy()
    a, b, substeps, max_step, max_vel = coil_params(preset, float(dwell_s), int(fov_px))
    return K.coil_response(np.ascontiguousarray(command, dtype=np.float64), a, b, substeps, max_step, max_vel)


def simulate(
    image: Any,
    path: Path,
    preset: str | Preset = "typical",
    dose: float | None = None,
    seed: int | np.random.Generator | None = 0,
    *,
    dwell_s: float | None = None,
    register: str = "commanded",
) -> PartialScan:
    """Scan ``image`` along ``path`` through a microscope's scan physics.

    Args:
        image: (H, W) real specimen image (any finite real dtype; read as float64). Its shape
            must equal ``path.shape``.
        path: the commanded path (:func:`scanpaths.make_path`).
        preset: a name in :data:`PRESETS` or a :class:`Preset`.
        dose: electrons per sample (> 0) for Poisson counting noise, or None for none. A beam
            of I pA at a dwell of t us gives ``I * t * 6.24`` electrons per sample.
        seed: seed or generator for jitter, drift and dose noise.
        dwell_s: override the preset's dwell time per sample, s (> 0).
        register: ``"commanded"`` (default; what a microscope does) or ``"actual"``.

    Returns:
        The :class:`PartialScan`.
    """
    if not isinstance(path, Path):
        raise InputError(f"path must be a scanpaths.Path, got {type(path).__name__}")
    img = check_image(image)
    if img.shape != path.shape:
        raise InputError(f"image shape {img.shape} differs from the path's shape {path.shape}")
    p = get_preset(preset)
    if dwell_s is not None:
        dwell_s = check_number(dwell_s, "dwell_s", 0.0, 1.0, low_open=True)
        p = replace(p, dwell_s=dwell_s)
    dwell = p.dwell_s
    if dose is not None:
        dose = check_number(dose, "dose", 0.0, 1e12, low_open=True)
    register = check_choice(register, "register", ("commanded", "actual"))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h, w = path.shape

    command, blanked, jump_ticks = _insert_settle_ticks(path, p, dwell)
    m = len(command)
    # the beam position of a tick is taken at its end, half a tick after the held command's
    # mid-point, so half a tick less is needed
    drive = feed_forward(command, jump_ticks, p.lag_s / dwell - 0.5) if p.lag_s > 0 else command
    traj = beam_trajectory(drive, p, dwell, max(h, w))
    if not p.is_ideal:
        traj += jitter_and_drift(m, dwell, p, rng)
    use = ~blanked
    samples = K.bilinear_sample(img, traj, use)
    if dose is not None:
        samples = rng.poisson(np.clip(samples, 0.0, None) * dose).astype(np.float64) / dose
    where = traj if register == "actual" else command
    sums, counts = K.rasterize(where, samples, use, h, w)
    mask = counts > 0
    values = np.zeros((h, w), dtype=np.float32)
    values[mask] = (sums[mask] / counts[mask]).astype(np.float32)
    n_on = int(use.sum())
    return PartialScan(
        values=values,
        mask=mask,
        counts=counts,
        trajectory=traj,
        commanded=command,
        blanked=blanked,
        time_s=m * dwell,
        dwell_s=dwell,
        dose_e=None if dose is None else dose * n_on,
        preset=p,
        path=path,
    )

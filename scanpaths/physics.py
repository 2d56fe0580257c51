"""The microscope's scan system as numbers: presets and the coil model.

A :class:`Preset` describes a scan system (dwell, coil dynamics, slew limit, settling, jitter,
drift); :data:`PRESETS` is the registry of the named ones. The streaming simulation that applies
them to commanded paths is :class:`scanpaths.scanner.Scanner`.

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
   was told. The feed-forward never looks past the next jump. It uses the lag of the coils as
   the system believes them (``coil_belief``: exact in every preset but ``typical-mistuned``,
   whose belief is 2 % off); so does ``register="model"``. What remains is the physics
   that no delay removes: flyback relaxation, overshoot, rounded corners, the spiral's
   distortion near its centre, jitter and drift. ``register="actual"`` files samples where the
   beam really was (an idealised position sensor).

The presets' numbers are documented in :data:`PRESETS`. Units: seconds, pixels, nm, Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy.linalg import expm

from .errors import InputError
from .registry import Registry

__all__ = ["E_PER_PA_US", "PRESETS", "PRESET_SOURCES", "Preset", "coil_matrices", "coil_params", "get_preset"]

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
        coil_belief: the natural frequency the scan system believes its coils have, as a
            multiple of ``natural_freq_hz`` (1: known exactly). Its feed-forward drives the
            coils ahead by the believed coils' lag, and ``register="model"`` files samples where
            the believed coils would put the beam; the beam follows the real ones. In [0.5, 2].
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
    coil_belief: float = 1.0

    def __post_init__(self) -> None:
        if not (isinstance(self.coil_belief, int | float) and 0.5 <= self.coil_belief <= 2.0):
            raise InputError(
                f"coil_belief must be a multiple of the natural frequency in [0.5, 2], got {self.coil_belief!r}"
            )

    @property
    def believed(self) -> Preset:
        """The coils as the scan system believes them (natural frequency x ``coil_belief``):
        what its feed-forward and its coil model use."""
        if self.coil_belief == 1.0:
            return self
        return replace(self, natural_freq_hz=self.natural_freq_hz * self.coil_belief, coil_belief=1.0)

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
PRESETS: Registry[Preset] = Registry("preset")

#: Where the presets' numbers come from (``pstem presets`` prints them).
PRESET_SOURCES: tuple[str, ...] = (
    "scan generators run up to ~2 MHz and dwell times of 0.1-20 us are in use: Sang et al., Adv. Struct. Chem. "
    "Imaging 2 (2016) 6",
    "after a flyback the beam relaxes as x - A exp(-t/tau) and the first ~60 us of a line are unusable; flyback "
    "wastes most of the time below ~5 us dwell: Mullarkey et al., Microsc. Microanal. 28 (2022)",
    "mains jitter lines of ~0.01 nm and stage drift of ~1 nm/min: typical specifications of aberration-corrected "
    "STEMs (probe stability; stage drift)",
    "pixel size 0.02 nm (a 512 px field of ~10 nm, atomic-resolution HAADF): a default where the image carries no "
    "calibration; a file's own pixel size replaces it",
)
_TYPICAL = Preset(
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
)
for _p in (
    Preset(
        "ideal",
        "no physics: the beam is exactly where it was commanded; no jitter, drift, flyback",
    ),
    _TYPICAL,
    replace(
        _TYPICAL,
        name="typical-mistuned",
        description="typical, but the scan system believes its coils 2 % faster than they are (its feed-forward "
        "lead and its coil model are off)",
        coil_belief=1.02,
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
):
    PRESETS.register(_p.name, _p, help=_p.description)


def get_preset(preset: str | Preset) -> Preset:
    """Look a preset up by name in :data:`PRESETS`, or pass a :class:`Preset` object through.

    Every function of partialstem that takes a preset takes either.
    """
    if isinstance(preset, Preset):
        return preset
    return PRESETS[preset]


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

"""The :class:`Scanner`: a microscope's scan system and detector as a stream, commands in,
samples out.

A scan is a stream of commanded beam positions at the scan clock. The Scanner carries
everything that continues from one chunk of commands to the next: the coils' state (position
and velocity per axis), where the last command was (for the next jump's flyback and for the
feed-forward), the jitter phases and the drift so far, and the per-pixel sums and counts of
what was recorded. So an agent that decides as it goes calls :meth:`Scanner.scan` once per
decision, and a fixed path is one call: :func:`simulate` is exactly that.

Per chunk (see :mod:`scanpaths.physics` for the model and the presets' numbers):

1. flyback and settling ticks are inserted before every jump of a :class:`ScanPath` chunk;
2. the coil drive is the command ``lag`` early (feed-forward, as real scan generators do),
   never reaching past the next jump; across the end of the chunk it looks into
   ``next_chunk`` when the generator already knows it, and straight on (the motion continued)
   when it does not; a ``last`` chunk holds its final command (the scan ends there);
3. the coils follow the drive (second order, slew limited) from where the last chunk left them;
4. jitter and drift are added, the detector reads the image bilinearly (Poisson noise for a
   ``dose``), and each sample is filed under the pixel that was commanded (or where the coil
   model puts the beam for the drive, ``register="model"``: the coils as the system believes
   them, :attr:`Preset.coil_belief <scanpaths.physics.Preset>`; or where the beam was,
   ``register="actual"``).

Everything random comes from one generator (``seed``); the same seed and the same chunks give
the same numbers. Jitter and drift for ``ticks`` ticks are drawn up front, so up to that many
ticks the numbers do not depend on how the stream is cut into chunks.

Units: px, s. Positions are ``(x, y)`` with pixel ``(row, col)`` centred on ``x = col, y = row``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _kernels as K
from .errors import InputError, check_choice, check_image, check_number, check_seed
from .paths import ScanPath
from .physics import Preset, coil_params, get_preset

__all__ = ["REGISTERS", "PartialScan", "Samples", "Scanner", "scan_time", "simulate"]

#: Where a sample may be filed: the commanded position, the coil model's response to the drive
#: (no jitter, no drift), or the beam's actual position.
REGISTERS: tuple[str, ...] = ("commanded", "model", "actual")


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
        preset: the :class:`~scanpaths.physics.Preset` used.
        path: the commanded :class:`~scanpaths.paths.ScanPath`.
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
    path: ScanPath

    @property
    def coverage(self) -> float:
        """Fraction of pixels with at least one sample."""
        return float(self.mask.mean())

    @property
    def shape(self) -> tuple[int, int]:
        """Image size (H, W) px."""
        return self.mask.shape  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Samples:
    """What one chunk of a stream recorded, tick by tick (``n`` ticks, inserted flyback
    ticks included).

    Attributes:
        first_tick: index of the chunk's first tick in the stream.
        commanded: (n, 2) float64 commanded (x, y) px.
        trajectory: (n, 2) float64 where the beam really was, px.
        blanked: (n,) bool, True where nothing was recorded.
        values: (n,) float64 detector reading per tick (0 where blanked).
    """

    first_tick: int
    commanded: np.ndarray
    trajectory: np.ndarray
    blanked: np.ndarray
    values: np.ndarray


# --------------------------------------------------------------------------- per-chunk physics
def _settle_holds(
    positions: np.ndarray, jumps: np.ndarray, settle_px: float, preset: Preset, dwell_s: float, fov: int
) -> np.ndarray:
    """Ticks (K,) int64 the generator holds, blanked, before each jump.

    ``settle_s + distance / slew`` (rounded up to whole ticks), plus, where the path asks for
    ``settle_px > 0`` (random points), ``tau ln(distance / settle_px)`` for the transient to
    decay below ``settle_px``.
    """
    if jumps.size == 0 or preset.is_ideal:
        return np.zeros(jumps.size, dtype=np.int64)
    dist = np.hypot(*(positions[jumps] - positions[jumps - 1]).T)
    travel = dist / (preset.slew_fov_per_s * fov) if math.isfinite(preset.slew_fov_per_s) else 0.0
    wait = preset.settle_s + travel
    if settle_px > 0 and math.isfinite(preset.natural_freq_hz):
        wait = wait + preset.tau_s * np.log(np.maximum(dist / settle_px, 1.0))
    return np.ceil(wait / dwell_s - 1e-9).astype(np.int64)


def _insert_settle_ticks(
    positions: np.ndarray, blanked: np.ndarray, jumps: np.ndarray, holds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The command (M, 2), blanked flags (M,) and the tick (K,) at which each jump's command
    steps (its first inserted tick, or its own tick when none was inserted)."""
    if not holds.any():
        return positions.copy(), blanked.copy(), jumps.copy()
    reps = np.ones(len(positions), dtype=np.int64)
    reps[jumps] += holds
    command = np.repeat(positions, reps, axis=0)
    blank = np.repeat(blanked, reps)
    # the inserted ticks are the first ``holds`` copies of each jump target
    starts = (np.cumsum(reps) - reps)[jumps]
    offsets = np.arange(holds.sum()) - np.repeat(np.cumsum(holds) - holds, holds)
    blank[np.repeat(starts, holds) + offsets] = True
    return command, blank, starts


def _feed_forward(command: np.ndarray, segment_starts: np.ndarray, ahead_ticks: float) -> np.ndarray:
    """The coil drive: the command ``ahead_ticks`` early, never reaching past the next jump."""
    m = len(command)
    ticks = np.arange(m, dtype=np.float64)
    bounds = np.concatenate([segment_starts, [m]]).astype(np.int64)
    seg_end = np.repeat(bounds - 1, np.diff(np.concatenate([[0], bounds])))
    ahead = np.minimum(ticks + ahead_ticks, seg_end)
    return np.column_stack([np.interp(ahead, ticks, command[:, k]) for k in range(2)])


class _Perturbation:
    """Jitter minus drift, (ticks, 2) px, drawn in blocks from one generator.

    The first block draws, in order: a phase per jitter line and axis, the white jitter, the
    drift's direction, and the drift's random walk; later blocks draw white jitter and walk
    steps only, continuing the phases, the linear drift and the walk.
    """

    def __init__(self, preset: Preset, dwell_s: float, rng: np.random.Generator) -> None:
        self.preset = preset
        self.dwell_s = dwell_s
        self.rng = rng
        self.offsets = np.zeros((0, 2))
        self._phases: list[np.ndarray] | None = None
        self._direction = np.zeros(2)
        self._walk = np.zeros(2)

    def take(self, first: int, n: int) -> np.ndarray:
        """The (n, 2) offsets of ticks ``first .. first + n - 1`` (drawing more as needed)."""
        if first + n > len(self.offsets):
            self._draw(max(first + n - len(self.offsets), len(self.offsets), 1))
        return self.offsets[first : first + n]

    def _draw(self, n: int) -> None:
        p, rng = self.preset, self.rng
        px = 1.0 / p.pixel_size_nm
        t0 = len(self.offsets)
        t = np.arange(t0, t0 + n) * self.dwell_s
        off = np.zeros((n, 2))
        if self._phases is None:
            self._phases = [rng.uniform(0, 2 * np.pi, size=2) for _ in p.jitter_lines]
        for (freq, amp), phase in zip(p.jitter_lines, self._phases, strict=True):
            off += (amp * px) * np.sin(2 * np.pi * freq * t[:, None] + phase[None, :])
        if p.jitter_white_nm > 0:
            off += rng.normal(0.0, p.jitter_white_nm * px, size=(n, 2))
        if p.drift_nm_per_s > 0:
            if t0 == 0:
                ang = rng.uniform(0, 2 * np.pi)
                self._direction = np.array([math.cos(ang), math.sin(ang)])
            off -= (p.drift_nm_per_s * px) * t[:, None] * self._direction
        if p.drift_walk_nm > 0:
            steps = rng.normal(0.0, p.drift_walk_nm * px * math.sqrt(self.dwell_s), size=(n, 2))
            walk = np.cumsum(steps, axis=0)
            if t0:
                walk += self._walk
            self._walk = walk[-1].copy()
            off -= walk
        self.offsets = off if t0 == 0 else np.concatenate([self.offsets, off])


def _chunk_arrays(chunk: Any, shape: tuple[int, int], what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(positions, blanked, jumps, settle_px)`` of a ScanPath or an (n, 2) array of commands."""
    if isinstance(chunk, ScanPath):
        if chunk.shape != shape:
            raise InputError(f"{what} was made for {chunk.shape}, the scanner scans {shape}")
        return chunk.positions, chunk.blanked, chunk.jumps, chunk.settle_px
    pos = np.asarray(chunk, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise InputError(f"{what} must be a ScanPath or an (n, 2) array of (x, y) px, got shape {pos.shape}")
    if not np.isfinite(pos).all():
        raise InputError(f"{what} contains NaN or inf")
    pos = np.ascontiguousarray(pos)
    return pos, np.zeros(len(pos), dtype=bool), np.zeros(0, dtype=np.int64), 0.0


# --------------------------------------------------------------------------- the stream
class Scanner:
    """A scan in progress over one specimen image (see the module docstring).

    Args:
        image: (H, W) real specimen image (read as float64).
        preset: a preset name of :data:`scanpaths.PRESETS` or a :class:`Preset`.
        dose: electrons per sample (> 0) for Poisson counting noise, or None for none.
        seed: seed or generator for jitter, drift and dose noise.
        dwell_s: override the preset's dwell time per sample, s (> 0).
        register: where each sample is filed (:data:`REGISTERS`): ``"commanded"`` (default;
            what a microscope does), ``"model"`` (where the coil model puts the beam for the
            drive, without jitter and drift: what a scan generator that knows its coils' response
            can compute) or ``"actual"`` (where the beam was: an ideal position sensor).
        start: (x, y) px where the beam rests before the first command (default: where the
            first chunk's coil drive points, as a scan generator parks it for a frame).
        ticks: draw jitter and drift for this many ticks up front (a budget), so the numbers
            up to it do not depend on the chunking; default: the first chunk's length.
        feed_forward: compensate the coils' steady lag by driving them early, as scan
            generators do (default); False drives them with the command itself.
        pixel_size_nm: the image's pixel size, nm (default: the preset's): jitter and drift are
            in nm, so it sets how many px they move the beam.

    Raises:
        InputError: bad arguments, or an image outside [0, 1] (the detector's range: a 0-255
            image is refused, not guessed at; ``scanpaths.io.scale_intensity`` scales one).

    >>> import numpy as np
    >>> sc = Scanner(np.zeros((64, 64)), "typical", seed=0, start=(0.0, 32.0))
    >>> row = np.column_stack([np.arange(64.0), np.full(64, 32.0)])
    >>> first = sc.scan(row[:32], next_chunk=row[32:])   # decide the rest while scanning
    >>> second = sc.scan(row[32:], last=True)
    >>> sc.ticks, sc.partial_scan().mask.sum()
    (64, 64)
    """

    def __init__(
        self,
        image: Any,
        preset: str | Preset = "typical",
        *,
        dose: float | None = None,
        seed: int | np.random.Generator | None = 0,
        dwell_s: float | None = None,
        register: str = "commanded",
        start: Any = None,
        ticks: int | None = None,
        feed_forward: bool = True,
        pixel_size_nm: float | None = None,
    ) -> None:
        self.image = check_image(image)
        lo, hi = float(self.image.min()), float(self.image.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise InputError(
                f"image values must lie in [0, 1] (the detector's range), got {lo:.4g} .. {hi:.4g}; scale it "
                "first (scanpaths.io.scale_intensity, or read the file with scanpaths.io.read_image)"
            )
        p = get_preset(preset)
        if dwell_s is not None:
            p = replace(p, dwell_s=check_number(dwell_s, "dwell_s", 0.0, 1.0, low_open=True))
        if pixel_size_nm is not None:
            p = replace(p, pixel_size_nm=check_number(pixel_size_nm, "pixel_size_nm", 1e-6, 1e7))
        self.preset = p
        self.dwell_s = p.dwell_s
        self.dose = None if dose is None else check_number(dose, "dose", 0.0, 1e12, low_open=True)
        self.register = check_choice(register, "register", REGISTERS)
        self.shape: tuple[int, int] = self.image.shape  # type: ignore[assignment]
        seed = check_seed(seed)
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._perturb = None if p.is_ideal else _Perturbation(p, self.dwell_s, self._rng)
        if ticks is not None:
            n = int(check_number(ticks, "ticks", 1, 1e10))
            if self._perturb is not None:
                self._perturb.take(0, n)
        # the beam position of a tick is taken at its end, half a tick after the held command's
        # mid-point, so the drive leads by the lag less half a tick
        # (with the lag of the coils as the system believes them: Preset.coil_belief)
        believed = p.believed
        self._ff = believed.lag_s / self.dwell_s - 0.5 if believed.lag_s > 0 and feed_forward else None
        ideal_coils = math.isinf(p.natural_freq_hz) and math.isinf(p.slew_fov_per_s)
        self._coil = None if ideal_coils else coil_params(p, float(self.dwell_s), int(max(self.shape)))
        # the coil model register="model" files by, where it is not the coils themselves
        mistuned = self._coil is not None and believed is not p
        self._model_coil = coil_params(believed, float(self.dwell_s), int(max(self.shape))) if mistuned else None
        self._state: np.ndarray | None = None  # (2, 2): per axis (x px, v px/s)
        self._model_state: np.ndarray | None = None  # the same, of the believed coils
        self._start: np.ndarray | None = None
        self._last: np.ndarray | None = None  # the last command scanned
        self.sums = np.zeros(self.shape)
        self.counts = np.zeros(self.shape, dtype=np.int32)
        self.ticks = 0
        self.finished = False
        self._n_on = 0
        self._commanded: list[np.ndarray] = []
        self._trajectory: list[np.ndarray] = []
        self._blanked: list[np.ndarray] = []
        if start is not None:
            self.park(start)

    # ------------------------------------------------------------------ state
    def park(self, position: Any) -> None:
        """Rest the beam at ``position`` (x, y) px before the first chunk."""
        if self.ticks:
            raise RuntimeError("the beam can only be parked before the scan starts")
        pos = np.asarray(position, dtype=np.float64).reshape(-1)
        if pos.shape != (2,) or not np.isfinite(pos).all():
            raise InputError(f"start must be a finite (x, y) position, got {position!r}")
        self._start = pos.copy()
        self._state = np.array([[pos[0], 0.0], [pos[1], 0.0]])
        self._model_state = self._state.copy()

    @property
    def time_s(self) -> float:
        """Scan time so far, s."""
        return self.ticks * self.dwell_s

    @property
    def last_command(self) -> np.ndarray | None:
        """(2,) float64 the last commanded (x, y) px, None before the first chunk: a chunk that
        starts elsewhere begins with it, blanked, and a jump (so settling is paid)."""
        return None if self._last is None else self._last.copy()

    @property
    def lead_ticks(self) -> float:
        """How many ticks ahead the feed-forward drives the coils (0 without it): a chunk's
        last this-many commands are driven towards what follows it."""
        return 0.0 if self._ff is None else self._ff

    def copy(self) -> Scanner:
        """An independent copy of the stream so far (to try a continuation and throw it away)."""
        new = copy.copy(self)
        new.sums = self.sums.copy()
        new.counts = self.counts.copy()
        new._state = None if self._state is None else self._state.copy()
        new._model_state = None if self._model_state is None else self._model_state.copy()
        new._commanded = list(self._commanded)
        new._trajectory = list(self._trajectory)
        new._blanked = list(self._blanked)
        new._rng, new._perturb = copy.deepcopy((self._rng, self._perturb))
        return new

    # ------------------------------------------------------------------ scanning
    def scan(self, chunk: ScanPath | np.ndarray, next_chunk: Any = None, *, last: bool = False) -> Samples:
        """Scan the next chunk of commands.

        Args:
            chunk: a :class:`ScanPath` (its blanking, jumps and settling apply; its first
                position continues from the last command) or an (n, 2) array of commanded
                (x, y) px, one per tick, beam on throughout.
            next_chunk: commands the scan generator already knows will follow (an (n, 2)
                array, or a ScanPath up to its first jump), so its feed-forward can anticipate
                the turn into them; None or empty when they are not known yet.
            last: the scan ends with this chunk (the drive holds its final command); no
                chunk may follow.

        Returns:
            The :class:`Samples` of this chunk.
        """
        if self.finished:
            raise RuntimeError("this scan ended with a last chunk")
        if last and next_chunk is not None:
            raise InputError("a last chunk has no next chunk")
        pos, blanked, jumps, settle_px = _chunk_arrays(chunk, self.shape, "chunk")
        holds = _settle_holds(pos, jumps, settle_px, self.preset, self.dwell_s, int(max(self.shape)))
        command, blank, jump_ticks = _insert_settle_ticks(pos, blanked, jumps, holds)
        m = len(command)
        if m == 0:
            return Samples(self.ticks, command, command.copy(), blank, np.zeros(0))
        drive = self._drive(command, jump_ticks, next_chunk, last)
        if self._coil is None:
            traj = drive.copy()
        else:
            if self._state is None:  # parked where the first drive points
                self._state = np.array([[drive[0, 0], 0.0], [drive[0, 1], 0.0]])
                self._model_state = self._state.copy()
            a, b, substeps, max_step, max_vel = self._coil
            traj = K.coil_advance(np.ascontiguousarray(drive), a, b, substeps, max_step, max_vel, self._state)
        coils = None  # where the coils alone (as the system believes them) put the beam
        if self.register == "model" and self._model_coil is not None:
            assert self._model_state is not None
            coils = K.coil_advance(np.ascontiguousarray(drive), *self._model_coil, self._model_state)
        elif self.register == "model":
            coils = traj.copy()
        if self._perturb is not None:
            traj += self._perturb.take(self.ticks, m)
        use = ~blank
        values = K.bilinear_sample(self.image, traj, use)
        if self.dose is not None:
            values = self._rng.poisson(np.clip(values, 0.0, None) * self.dose).astype(np.float64) / self.dose
        filed = traj if self.register == "actual" else coils if coils is not None else command
        K.rasterize_into(filed, values, use, self.sums, self.counts)
        out = Samples(self.ticks, command, traj, blank, values)
        self._last = command[-1].copy()
        self.ticks += m
        self._n_on += int(use.sum())
        self._commanded.append(command)
        self._trajectory.append(traj)
        self._blanked.append(blank)
        self.finished = last
        return out

    def _drive(self, command: np.ndarray, jump_ticks: np.ndarray, next_chunk: Any, last: bool) -> np.ndarray:
        """The coil drive of ``command`` (see the module docstring, step 2)."""
        if self._ff is None:
            return command
        if last:
            return _feed_forward(command, jump_ticks, self._ff)
        known = command
        straight_on = True  # past what is known, the generator assumes the motion goes on
        if next_chunk is not None:
            nxt, _, nxt_jumps, _ = _chunk_arrays(next_chunk, self.shape, "next_chunk")
            if nxt_jumps.size:  # the next chunk jumps: the drive holds before the jump
                nxt, straight_on = nxt[: nxt_jumps[0]], False
            if len(nxt):
                known = np.concatenate([command, nxt])
        if straight_on:
            if len(known) > 1:
                before = known[-2]
            else:
                before = self._last if self._last is not None else self._start
            step = known[-1] - (known[-1] if before is None else before)
            extra = int(math.ceil(self._ff)) + 1
            known = np.concatenate([known, known[-1] + np.arange(1, extra + 1)[:, None] * step])
        return _feed_forward(known, jump_ticks, self._ff)[: len(command)]

    # ------------------------------------------------------------------ results
    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """What has been recorded: values (H, W) float32 (mean per pixel, 0 where unseen) and
        mask (H, W) bool."""
        mask = self.counts > 0
        values = np.zeros(self.shape, dtype=np.float32)
        values[mask] = (self.sums[mask] / self.counts[mask]).astype(np.float32)
        return values, mask

    def commanded(self) -> np.ndarray:
        """(M, 2) float64 every command scanned so far, flyback ticks included."""
        return np.concatenate(self._commanded) if self._commanded else np.zeros((0, 2))

    def partial_scan(self, path: ScanPath | None = None, *, kind: str = "stream", **params: Any) -> PartialScan:
        """The scan so far as a :class:`PartialScan`.

        Args:
            path: the commanded path to record (default: one built from the commands scanned,
                of ``kind`` with ``params``).
        """
        if not self._commanded:
            raise RuntimeError("nothing has been scanned yet")
        values, mask = self.values()
        commanded = self.commanded()
        blanked = np.concatenate(self._blanked)
        if path is None:
            path = ScanPath(kind, self.shape, commanded, blanked, params=params)
        return PartialScan(
            values=values,
            mask=mask,
            counts=self.counts.copy(),
            trajectory=np.concatenate(self._trajectory),
            commanded=commanded,
            blanked=blanked,
            time_s=self.time_s,
            dwell_s=self.dwell_s,
            dose_e=None if self.dose is None else self.dose * self._n_on,
            preset=self.preset,
            path=path,
        )


# --------------------------------------------------------------------------- one-call forms
def simulate(
    image: Any,
    path: ScanPath,
    preset: str | Preset = "typical",
    dose: float | None = None,
    seed: int | np.random.Generator | None = 0,
    *,
    dwell_s: float | None = None,
    register: str = "commanded",
    pixel_size_nm: float | None = None,
) -> PartialScan:
    """Scan ``image`` along a whole ``path``: one :meth:`Scanner.scan` call, ``last=True``.

    Args:
        image: (H, W) real specimen image (any finite real dtype; read as float64). Its shape
            must equal ``path.shape``.
        path: the commanded path (:func:`scanpaths.make_path`).
        preset: a name in :data:`scanpaths.PRESETS` or a :class:`Preset`.
        dose: electrons per sample (> 0) for Poisson counting noise, or None for none. A beam
            of I pA at a dwell of t us gives ``I * t * 6.24`` electrons per sample.
        seed: seed or generator for jitter, drift and dose noise.
        dwell_s: override the preset's dwell time per sample, s (> 0).
        register: ``"commanded"`` (default), ``"model"`` or ``"actual"`` (:class:`Scanner`).
        pixel_size_nm: the image's pixel size, nm (default: the preset's, 0.02 nm): jitter
            and drift are in nm, so a real pixel size changes the distortion in px
            (``scanpaths.io.read_image`` gives a file's in ``Frame.calibration``).

    Returns:
        The :class:`PartialScan`.
    """
    if not isinstance(path, ScanPath):
        raise InputError(f"path must be a scanpaths.ScanPath, got {type(path).__name__}")
    img = check_image(image)
    if img.shape != path.shape:
        raise InputError(f"image shape {img.shape} differs from the path's shape {path.shape}")
    scanner = Scanner(
        img, preset, dose=dose, seed=seed, dwell_s=dwell_s, register=register, pixel_size_nm=pixel_size_nm
    )
    scanner.scan(path, last=True)
    return scanner.partial_scan(path)


def scan_time(path: ScanPath, preset: str | Preset = "typical", *, dwell_s: float | None = None) -> float:
    """The time ``path`` takes to scan under ``preset``, s: its ticks plus the flyback and
    settling ticks before its jumps, without simulating anything.

    Equal to ``simulate(image, path, preset).time_s`` for any image.
    """
    if not isinstance(path, ScanPath):
        raise InputError(f"path must be a scanpaths.ScanPath, got {type(path).__name__}")
    p = get_preset(preset)
    dwell = p.dwell_s if dwell_s is None else check_number(dwell_s, "dwell_s", 0.0, 1.0, low_open=True)
    holds = _settle_holds(path.positions, path.jumps, path.settle_px, p, dwell, int(max(path.shape)))
    return (path.n_samples + int(holds.sum())) * dwell

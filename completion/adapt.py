"""Test-time tuning: fine-tune the generator on the scan's own samples, then complete it.

The shipped generators learned on synthetic specimens and simulations; a real frame has its
own texture, noise and contrast. The samples of the scan are real data of exactly that frame,
so :class:`AdaptedCompleter` holds some of them out and teaches a copy of the generator to
predict them (:class:`TuningSetting` has the numbers):

1. **Splits.** ``splits`` times, a random ``holdout`` fraction of the scan's ``tile`` px tiles
   is held out, and the generator's input channels
   (:meth:`~completion.model.Generator.inputs`: the pull-push, sparse-spectrum and lattice
   fills) are computed once from the samples left, on a window of ``window`` px (the whole
   image up to 640 px, the generator's own tile).
2. **Steps.** Adam steps (``lr``), each on a random ``crop`` px crop of the next split, on the
   mean squared error of the output at that split's held-out samples. Every weight moves,
   starting from the shipped ones.
3. **Check.** A further ``check`` fraction of the tiles is never a target: every
   ``check_every`` steps the copy predicts them (from a split without them), and the weights
   that predicted them best are kept, the shipped ones where no step did better. What it
   did is in :attr:`AdaptedCompleter.last_tuning`.
4. The tuned copy completes the whole scan, tiled as the shipped generator is.

The tuning's cost is set by the setting more than by the image: 60 steps on 256 px crops and 9
splits take 5-7 s a 512 px scan on 2 CPU cores (the default completer takes 0.8-0.9 s). It
runs on the base generator's device, so on CUDA where there is a GPU (not measured: the
project's machine has none). Each scan is tuned afresh; the shipped weights never change.
Same seed, same numbers.

Within :meth:`AdaptedCompleter.session`, the first tuning is kept and used again for a later
scan that holds all of its samples (with the same values) and at most twice as many. The
validated choice (:mod:`completion.selection`, ``auto-adapt``) completes a scan without its
held-out tiles and then the whole scan, so it tunes once, on the scan without them: its
held-out tiles are never tuned on, and its choice stays honest.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from scanpaths.errors import InputError

from .base import Completer
from .model import Generator
from .neural import NeuralCompleter
from .uncertainty import held_out_tiles

log = logging.getLogger(__name__)

__all__ = ["AdaptedCompleter", "TuningRecord", "TuningSetting"]

_TILE_SEED = 104_729

#: Fewest held-out (and kept) samples a window must have to take part.
MIN_WINDOW_SAMPLES = 16


@dataclass(frozen=True)
class TuningSetting:
    """How each scan is tuned (module docstring).

    Attributes:
        steps: Adam steps at most.
        lr: learning rate.
        splits: held-out splits of the scan tuned on, each with its own held-out tiles.
        holdout: fraction of the tiles each split holds out.
        check: fraction of the tiles held out of every split's targets to check the tuning
            on (the check split); the weights of the step that predicts them best are kept
            (the shipped ones where no step does better).
        check_every: steps between checks.
        window: side of the window each split is cut from, px (the whole image where
            smaller; its fills are computed on the window).
        crop: side of each step's random crop of a split's window, px.
        tile: held-out tile side, px.
        seed: seed of the windows, tiles and crops.
    """

    steps: int = 60
    lr: float = 1e-4
    splits: int = 8
    holdout: float = 0.2
    check: float = 0.1
    check_every: int = 10
    window: int = 640
    crop: int = 256
    tile: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.splits < 1 or self.check_every < 1:
            raise InputError(
                f"steps must be >= 0, splits and check_every >= 1; got {self.steps}, {self.splits}, {self.check_every}"
            )
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise InputError(f"lr must be a positive number, got {self.lr}")
        if not 32 <= self.crop <= self.window <= 4096 or not 2 <= self.tile <= self.crop // 2:
            raise InputError(
                f"need 32 <= crop <= window <= 4096 px and 2 <= tile <= crop/2; "
                f"got {self.crop}, {self.window}, {self.tile}"
            )
        if not (0 < self.holdout < 1 and 0 < self.check < 1 and self.holdout + self.check < 1):
            raise InputError(
                f"holdout and check must be in (0, 1) with a sum below 1, got {self.holdout}, {self.check}"
            )


@dataclass(frozen=True)
class TuningRecord:
    """What one tuning did.

    Attributes:
        before: the shipped weights' MSE on the check split's held-out samples.
        after: the kept weights' (never tuned on them).
        step: the step whose weights were kept (0: the shipped ones).
        splits: splits tuned on (0: none, the scan was too sparse to hold samples out or
            ``steps`` was 0; ``before`` and ``after`` are then NaN).
    """

    before: float
    after: float
    step: int
    splits: int


@dataclass
class _Split:
    x: torch.Tensor  # (1, C, H', W') input channels from the kept samples (padded to 16 px)
    base: torch.Tensor  # (1, 1, H', W') base fill
    size: tuple[int, int]  # the window's size, px
    held: torch.Tensor  # (1, 1, H', W') bool, the held-out samples
    target: torch.Tensor  # (1, 1, H', W') float32, their values

    def crop(self, rng: np.random.Generator, side: int) -> _Split:
        """A random crop, ``side`` px at most, at a multiple of 16 px."""
        h, w = self.size
        ch, cw = min(side, h), min(side, w)
        top = int(rng.integers(0, (h - ch) // 16 + 1)) * 16
        left = int(rng.integers(0, (w - cw) // 16 + 1)) * 16
        ph, pw = ch + (-ch) % 16, cw + (-cw) % 16
        box = (..., slice(top, top + ph), slice(left, left + pw))
        return _Split(self.x[box], self.base[box], (ch, cw), self.held[box], self.target[box])


class AdaptedCompleter(Completer):
    """A generator fine-tuned on each scan's own held-out samples before it completes it.

    Args:
        base: the generator to start from (a :class:`~completion.neural.NeuralCompleter`;
            its device, precision and tiles are used).
        setting: how to tune (:class:`TuningSetting`).
        name: the name benchmarks show.
    """

    name = "gan-adapt"
    summary = (
        "gan-prism fine-tuned on each scan: 60 steps of predicting held-out samples of the scan itself, "
        "then the completion (5-7 s per 512 px scan on 2 CPU cores)"
    )

    def __init__(self, base: NeuralCompleter, setting: TuningSetting | None = None, name: str = "gan-adapt") -> None:
        if not isinstance(base, NeuralCompleter):
            raise InputError(f"test-time tuning needs a generator to start from, got {type(base).__name__}")
        self.base = base
        self.setting = setting or TuningSetting()
        self.name = name
        self._session: list[tuple[np.ndarray, np.ndarray, Generator]] | None = None
        #: what the last tuning did (None before one)
        self.last_tuning: TuningRecord | None = None

    def __repr__(self) -> str:
        return f"AdaptedCompleter(base={self.base.name!r}, setting={self.setting})"

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Within the block, one tuning serves a scan and its supersets (module docstring)."""
        outer = self._session
        if outer is None:
            self._session = []
        try:
            yield
        finally:
            if outer is None:
                self._session = None

    def _reused(self, values: np.ndarray, mask: np.ndarray) -> Generator | None:
        for v0, m0, gen in self._session or ():
            if m0.shape != mask.shape or m0.sum() * 2 < mask.sum() or not np.all(mask[m0]):
                continue
            if np.array_equal(values[m0], v0[m0]):
                return gen
        return None

    def _split(self, values: np.ndarray, mask: np.ndarray, held: np.ndarray, box: tuple[slice, slice]) -> _Split | None:
        m, v, hm = mask[box], values[box], held[box]
        kept = m & ~hm
        if hm.sum() < MIN_WINDOW_SAMPLES or kept.sum() < MIN_WINDOW_SAMPLES:
            return None
        dev = self.base.device
        with torch.no_grad():
            vt = torch.from_numpy(np.where(kept, v, 0.0).astype(np.float32))[None, None].to(dev)
            mt = torch.from_numpy(kept.astype(np.float32))[None, None].to(dev)
            x, base, size = self.base.generator.inputs(vt, mt)
        hp = np.zeros(x.shape[-2:], bool)
        hp[: hm.shape[0], : hm.shape[1]] = hm
        tp = np.zeros(x.shape[-2:], np.float32)
        tp[: v.shape[0], : v.shape[1]] = v
        return _Split(x, base, size, torch.from_numpy(hp)[None, None].to(dev), torch.from_numpy(tp)[None, None].to(dev))

    def _splits(self, values: np.ndarray, mask: np.ndarray) -> tuple[list[_Split], _Split | None]:
        """(the splits tuned on, the check split)."""
        s = self.setting
        rng = np.random.default_rng(s.seed)
        h, w = mask.shape
        wh, ww = min(s.window, h), min(s.window, w)

        def box() -> tuple[slice, slice]:
            top, left = int(rng.integers(0, h - wh + 1)), int(rng.integers(0, w - ww + 1))
            return slice(top, top + wh), slice(left, left + ww)

        # tile seeds of their own: those of the validated choice's held-out tiles (seed 0, the
        # same grid) would make the check tiles a subset of the tiles it has already removed
        checked = held_out_tiles(mask, s.tile, s.check, _TILE_SEED + s.seed)
        check = self._split(values, mask, checked, box())
        splits = []
        for k in range(s.splits):
            held = held_out_tiles(mask, s.tile, s.holdout, _TILE_SEED + s.seed + 1 + k) & ~checked
            split = self._split(values, mask, held, box())
            if split is not None:
                splits.append(split)
        return splits, check

    def _error(self, gen: Generator, split: _Split) -> float:
        with torch.no_grad(), self._autocast():
            out, _ = gen.correct(split.x, split.base, split.size)
        return float(((self._padded(out, split).clamp(0, 1) - split.target) ** 2)[split.held].mean())

    @staticmethod
    def _padded(out: torch.Tensor, split: _Split) -> torch.Tensor:
        pad = torch.zeros_like(split.target)
        pad[..., : out.shape[-2], : out.shape[-1]] = out.float()
        return pad

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        dtype = self.base.dtype
        return torch.autocast(self.base.device.type, dtype=dtype, enabled=dtype != torch.float32)

    def tune(self, values: np.ndarray, mask: np.ndarray) -> Generator:
        """A copy of the base generator tuned on (H, W) ``values``/``mask`` (checked inputs)."""
        s = self.setting
        gen = copy.deepcopy(self.base.generator).to(memory_format=torch.contiguous_format).eval()
        splits, check = self._splits(values, mask)
        if not splits or check is None or s.steps == 0:
            if s.steps:
                log.info("%s: too few samples to hold any out; the base generator as it is", self.name)
            self.last_tuning = TuningRecord(float("nan"), float("nan"), 0, 0)
            return gen
        first = best = self._error(gen, check)
        kept = copy.deepcopy(gen.state_dict())
        best_step = 0
        torch.manual_seed(s.seed)
        rng = np.random.default_rng(s.seed + 1000)
        opt = torch.optim.Adam(gen.parameters(), lr=s.lr)
        gen.train()
        bar = tqdm(range(1, s.steps + 1), desc=f"{self.name}: tuning", unit="step", leave=False, disable=None)
        for step in bar:
            part = splits[(step - 1) % len(splits)].crop(rng, s.crop)
            with self._autocast():
                out, _ = gen.correct(part.x, part.base, part.size)
            loss = ((self._padded(out, part) - part.target) ** 2)[part.held].mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % s.check_every == 0 or step == s.steps:
                gen.eval()
                err = self._error(gen, check)
                gen.train()
                if err < best:
                    best, best_step, kept = err, step, copy.deepcopy(gen.state_dict())
        gen.load_state_dict(kept)
        gen.eval()
        self.last_tuning = TuningRecord(first, best, best_step, len(splits))
        log.info("%s: check-split MSE %.3e -> %.3e (step %d of %d)", self.name, first, best, best_step, s.steps)
        return gen

    def _completer(self, gen: Generator) -> NeuralCompleter:
        out = copy.copy(self.base)
        out.generator = gen.to(self.base.device).eval()
        if self.base.device.type == "cpu":
            out.generator = out.generator.to(memory_format=torch.channels_last)
        out.name = self.name
        return out

    def _complete_with_uncertainty(self, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self.session():  # the scan without its held-out tiles, then all of it: one tuning
            return super()._complete_with_uncertainty(values, mask)

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        gen = self._reused(values, mask)
        if gen is None:
            gen = self.tune(values, mask)
            if self._session is not None:
                self._session.append((values.copy(), mask.copy(), gen))
        return self._completer(gen)._complete(values, mask)

"""A per-image validated recipe of completers: hold part of the scan out, see which recipe
predicts it best, complete the whole scan with that one.

No completer is best on every image: on real frames the generator wins on some, the lattice
fill on crystals, the harmonic fill on particles and amorphous support, and on noisy frames a
fill that passes through noisy samples loses to the same fill smoothed (``pstem eval real``).
:class:`ValidatedChoice` measures it per image from the scan alone: the samples in a random
set of small tiles (``tile`` px, about ``holdout`` of the tiles) are held out, every candidate
completes the rest, and every **recipe** is scored on the held-out samples:

- one candidate, smoothed by a Gaussian of sigma in :data:`SMOOTHING` px (0: as it is);
- two different candidates, each smoothed so, mixed with a weight in :data:`WEIGHTS`.

The recipe with the lowest error on the held-out samples completes the whole scan (only the
candidates it uses run again). Except on scans made of lines (raster, serpentine, grid:
:func:`~completion.consistency.line_periods`), where every held-out sample lies on a line, at
the lines' own phase, and fills that continue the lines' content look better there than they
are between the lines: on 6 synthetic crystals under grid scans the validated choice (which
took the sparse-spectrum fill there) was 1.15 x the generator's MSE. There only the candidates
``on_lines`` names take part (``auto``: the generator and the harmonic fill).

The held-out samples are noisy, but their noise is independent of every completion and adds
the same amount to every recipe's error, so the ranking is that against the noise-free image.
But the ranking is noisy, and the held-out tiles are not the gaps the whole scan leaves: there
the first candidate (``auto``: the generator) wins more often than the tiles say. So a recipe
replaces the first candidate as it is only where it predicts the held-out samples better by
more than ``evidence_z`` standard errors of the paired difference, tile by tile (``auto``: 1).
Measured on the real frames and PRISM simulations (throwaway probe, spiral and Lissajous at
1/20 and 1/50, ideal and typical, no column correction; the chosen recipe's MSE over each
image's best classical fill, with the generator before its fine-tuning on such masks): the
lowest held-out error 0.850, the generator unless 1 standard error says otherwise 0.841 (PRISM
0.711 -> 0.695; the experimental frames unchanged), 1.5 standard errors 0.835 but temul 1.02 ->
1.07, 2 standard errors 0.844; a choice that knew the truth 0.814. On grid scans 0.905 -> 0.904.
With the shipped generator (fine-tuned on masks with tiles cut out, ``MODEL_CARD.md``): 0.839
-> 0.830. Weighing held-out samples by their distance to the kept ones (so
that they stand for the gaps) and larger tiles (24-48 px) did not help (0.847-0.871).
What it chose, and every candidate's held-out error, is in :attr:`ValidatedChoice.last_choice`.

Cost: one completion per candidate on the reduced scan, plus the final one or two. The
recipe's completion of the reduced scan is also what calibrates its uncertainty map
(``return_uncertainty=True``, :mod:`completion.uncertainty`), so the map costs no more
completions.

Tiles of 16 px, 15 % of them: of the settings tried on the real frames and the PRISM
simulations (tiles of 8, 16 and 32 px, 15-35 % held out; typical physics, spiral, Lissajous
and grid at 1/20 and 1/50), this one came closest to each image's best candidate overall.
Blends of smoothed candidates, measured on the same frames (ideal physics, the same paths and
coverages), took the experimental frames from 1.03 x each image's best classical fill (a plain
choice) to 0.95 x against the blurred frame; adding a fourth candidate (linear) made it worse
(more recipes, more chances to fit the held-out noise), so the recipes stay few.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from scanpaths.errors import InputError

from .base import Completer
from .consistency import ColumnConsistency, ColumnSetting, line_periods, suppress_line_peaks
from .reuse import reuse_fills
from .tiles import gaussian
from .uncertainty import HELD_FRACTION, HELD_TILE, check_calibratable, fit_error_model, held_out_tiles

__all__ = ["AUTO_EVIDENCE_Z", "SMOOTHING", "WEIGHTS", "Choice", "Recipe", "ValidatedChoice"]

log = logging.getLogger(__name__)

#: Gaussian smoothings tried on each candidate, sigma in px (0: none).
SMOOTHING: tuple[float, ...] = (0.0, 0.7, 1.2, 2.0)
#: Weights of the first candidate of a two-candidate blend.
WEIGHTS: tuple[float, ...] = (0.25, 0.5, 0.75)
#: ``auto``'s ``evidence_z``: standard errors by which a recipe must beat the generator as it is.
AUTO_EVIDENCE_Z = 1.0


@dataclass(frozen=True)
class Recipe:
    """A weighted sum of smoothed candidates: ``parts`` are (name, weight, sigma px)."""

    parts: tuple[tuple[str, float, float], ...]

    def __str__(self) -> str:
        def one(name: str, sigma: float) -> str:
            return f"{name} smoothed {sigma:g} px" if sigma else name

        if len(self.parts) == 1:
            return one(self.parts[0][0], self.parts[0][2])
        return " + ".join(f"{w:g} x {one(n, s)}" for n, w, s in self.parts)

    def apply(self, completions: dict[str, np.ndarray]) -> np.ndarray:
        """(H, W) float32 in [0, 1]: the recipe of these completions (name -> (H, W))."""
        out = sum(w * _smooth(completions[n], s) for n, w, s in self.parts)
        return np.clip(out, 0.0, 1.0).astype(np.float32)  # type: ignore[union-attr]


def _paired_z(diff: np.ndarray, held: np.ndarray, tile: int) -> float:
    """How many standard errors the total of ``diff`` (one value per held-out sample, in the
    order of ``held``'s True pixels) lies above 0, with the samples of each ``tile`` px tile
    summed into one term (the errors of neighbouring samples are not independent)."""
    ys, xs = np.nonzero(held)
    _, tiles = np.unique((ys // tile) * (held.shape[1] // tile + 1) + xs // tile, return_inverse=True)
    per_tile = np.bincount(tiles, weights=diff)
    if len(per_tile) < 2:
        return 0.0
    mean, sd = float(np.mean(per_tile)), float(np.std(per_tile, ddof=1))
    if sd == 0:
        return float("inf") if mean > 0 else 0.0
    return mean / (sd / np.sqrt(len(per_tile)))


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    img = image.astype(np.float64)
    return gaussian(img, sigma, mode="reflect") if sigma > 0 else img


@dataclass(frozen=True)
class Choice:
    """What :class:`ValidatedChoice` chose for one image.

    Attributes:
        chosen: the recipe, as text (``"gan-prism"``, ``"0.75 x lattice + 0.25 x harmonic
            smoothed 1.2 px"``).
        errors: every candidate's mean squared error on the held-out samples, as it is.
        held_out: how many samples were held out (0: too few to hold any out; the first
            candidate was taken).
        recipe: the recipe itself.
        error: the recipe's mean squared error on the held-out samples.
    """

    chosen: str
    errors: dict[str, float]
    held_out: int
    recipe: Recipe = field(default_factory=lambda: Recipe(()))
    error: float = float("nan")


class ValidatedChoice(Completer):
    """Per image, the recipe that best predicts held-out tiles of the scan (module docstring).

    Args:
        candidates: name -> completer, in order of preference (the first is taken when the
            scan is too sparse to hold anything out, and wins ties).
        tile: side of a held-out tile, px.
        holdout: fraction of the tiles held out.
        seed: seed of the held-out tiles (the same for every image).
        blend: also try two-candidate blends and smoothings (False: a plain choice of one
            candidate as it is).
        consistency: correct the result's atomic columns to the samples on them
            (:class:`~completion.consistency.ColumnConsistency`: a vacancy or substitution the
            scan touched stays in the image); what it did is in :attr:`last_setting`.
        on_lines: the candidates recipes may use on scans made of lines (None: all of them;
            see the module docstring).
        column_ridge: the column correction's fixed ridge (``ColumnConsistency(ridge=...)``;
            None: chosen per image on held-out samples).
        residual: then keep the samples' remaining residuals with this weight of the
            completion (``ColumnConsistency(residual=...)``; None: not).
        evidence: the column correction weighs each column's evidence against the samples'
            noise (``ColumnConsistency(evidence=...)``; needs ``column_ridge``).
        guide: the candidate whose columns the correction adds where the result has none (a
            vacancy it blurred away; ``auto``: the lattice fill), except on scans made of lines
            where ``on_lines`` leaves it out; where the recipe does not use it, its completion
            of the held-out scan (the columns stand in the same places).
        evidence_z: a recipe other than the first candidate as it is wins only where its
            held-out error is lower by more than this many standard errors of the paired
            difference, tile by tile (0: the lowest error wins).
        line_safe: on scans made of lines in one direction (raster, serpentine), lower any
            spectral peak of the result at the line period to its neighbours' level
            (:func:`~completion.consistency.suppress_line_peaks`: no phantom lattice).
    """

    name = "auto"
    summary = (
        "per image, the blend of gan-prism, lattice and a binned harmonic fill (smoothed or not) that best "
        "predicts held-out tiles of the scan, columns and the path's neighbourhood kept to the samples (the default)"
    )

    def __init__(
        self,
        candidates: dict[str, Completer],
        tile: int = HELD_TILE,
        holdout: float = HELD_FRACTION,
        seed: int = 0,
        blend: bool = True,
        consistency: bool = True,
        line_safe: bool = True,
        column_ridge: float | None = None,
        on_lines: tuple[str, ...] | None = None,
        residual: float | str | None = None,
        evidence: bool = False,
        guide: str | None = None,
        evidence_z: float = 0.0,
    ) -> None:
        if not candidates:
            raise InputError("a validated choice needs at least one candidate")
        self._reduced: dict[str, np.ndarray] = {}
        if not 2 <= tile <= 256 or not 0 < holdout < 1:
            raise InputError(f"tile must be in [2, 256] px and holdout in (0, 1), got {tile} and {holdout}")
        self.candidates = dict(candidates)
        self.tile = int(tile)
        self.holdout = float(holdout)
        self.seed = int(seed)
        self.blend = bool(blend)
        self.consistency = (
            ColumnConsistency(seed=seed, ridge=column_ridge, residual=residual, evidence=evidence)
            if consistency
            else None
        )
        self.line_safe = bool(line_safe)
        if guide is not None and guide not in self.candidates:
            raise InputError(f"the guide must be one of the candidates ({', '.join(self.candidates)}), got {guide!r}")
        self.guide = guide
        if on_lines is not None and not (set(on_lines) <= set(self.candidates) and on_lines):
            raise InputError(
                f"on_lines must name some of the candidates ({', '.join(self.candidates)}), got {on_lines}"
            )
        self.on_lines = tuple(on_lines) if on_lines is not None else None
        if not 0 <= evidence_z <= 10:
            raise InputError(f"evidence_z must be in [0, 10], got {evidence_z}")
        self.evidence_z = float(evidence_z)
        self.last_choice: Choice | None = None

    @property
    def last_setting(self) -> ColumnSetting | None:
        """What the column correction did to the last completion (None when it is off)."""
        return self.consistency.last_setting if self.consistency is not None else None

    def held_out(self, mask: np.ndarray) -> np.ndarray:
        """(H, W) bool: the samples of ``mask`` that the validation holds out."""
        return held_out_tiles(mask, self.tile, self.holdout, self.seed)

    def recipes(self) -> list[Recipe]:
        """Every recipe tried, simplest first (ties go to the earlier one)."""
        names = list(self.candidates)
        out = [Recipe(((n, 1.0, 0.0),)) for n in names]
        if not self.blend:
            return out
        out += [Recipe(((n, 1.0, s),)) for n in names for s in SMOOTHING if s]
        for a, b in itertools.combinations(names, 2):
            for sa, sb in itertools.product(SMOOTHING, SMOOTHING):
                out += [Recipe(((a, w, sa), (b, 1.0 - w, sb))) for w in WEIGHTS]
        return out

    def _choose(self, values: np.ndarray, mask: np.ndarray) -> tuple[Recipe, np.ndarray | None]:
        """(the recipe, its completion of the reduced scan or None when nothing was held out)."""
        held = self.held_out(mask)
        train = mask & ~held
        names = list(self.candidates)
        self._reduced = {}
        if held.sum() < 16 or train.sum() < 16:
            recipe = Recipe(((names[0], 1.0, 0.0),))
            self.last_choice = Choice(names[0], {}, 0, recipe)
            return recipe, None
        if self.on_lines is not None and line_periods(mask) != (None, None):
            names = [n for n in names if n in self.on_lines]  # on line scans only these take part
        allowed = set(names)
        kept = np.where(train, values, 0.0).astype(np.float32)
        reduced = {name: self.candidates[name].complete(kept, train) for name in names}
        target = values[held].astype(np.float64)
        # the held-out pixels of every smoothing of every candidate, computed once
        at_held = {(n, s): _smooth(reduced[n], s)[held] for n in names for s in SMOOTHING}
        best, best_err, best_sq = None, np.inf, None
        for recipe in self.recipes():
            if not {n for n, _, _ in recipe.parts} <= allowed:
                continue
            pred = sum(w * at_held[(n, s)] for n, w, s in recipe.parts)
            sq = (np.clip(pred, 0, 1) - target) ** 2  # type: ignore[operator]
            err = float(np.mean(sq))
            if err < best_err:
                best, best_err, best_sq = recipe, err, sq
        assert best is not None and best_sq is not None
        first = Recipe(((names[0], 1.0, 0.0),))
        if self.evidence_z and best != first:
            first_sq = (at_held[(names[0], 0.0)] - target) ** 2
            if _paired_z(first_sq - best_sq, held, self.tile) <= self.evidence_z:
                best, best_err = first, float(np.mean(first_sq))
        errors = {n: float(np.mean((at_held[(n, 0.0)] - target) ** 2)) for n in names}
        self.last_choice = Choice(str(best), errors, int(held.sum()), best, best_err)
        self._reduced = reduced
        log.info("validated choice: %s (held-out MSE %.3e; candidates %s)", best, best_err, errors)
        return best, best.apply(reduced)

    def _final(self, recipe: Recipe, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        full = {n: self.candidates[n].complete(values, mask) for n, _, _ in recipe.parts}
        lines = line_periods(mask) != (None, None)
        out = recipe.apply(full)
        if self.consistency is not None:
            guide = None
            # the guide's columns only where the guide takes part (not on scans made of lines);
            # its completion of the held-out scan, where the recipe does not use it: the
            # columns stand in the same places, and it costs nothing more
            if self.guide is not None and (self.on_lines is None or self.guide in self.on_lines or not lines):
                guide = full.get(self.guide, self._reduced.get(self.guide))
                if guide is None:
                    guide = self.candidates[self.guide].complete(values, mask)
            out = self.consistency(values, mask, out, guide=guide)
        return suppress_line_peaks(out, mask) if self.line_safe else out

    @contextlib.contextmanager
    def _sessions(self) -> Iterator[None]:
        """The candidates share their sparse-spectrum and lattice fills, and a candidate that
        tunes itself on the scan (:mod:`completion.adapt`) tunes once: on the scan without
        the held-out tiles, which it never sees, for both completions."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(reuse_fills())
            for c in self.candidates.values():
                session = getattr(c, "session", None)
                if callable(session):
                    stack.enter_context(session())
            yield

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._sessions():
            recipe, _ = self._choose(values, mask)
            out = self._final(recipe, values, mask)
        self._reduced = {}  # the held-out scan's completions: large images' worth of memory
        return out

    def _complete_with_uncertainty(self, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        held = self.held_out(mask)
        check_calibratable(mask, held)  # before any work
        with self._sessions():
            recipe, reduced = self._choose(values, mask)
            assert reduced is not None  # calibratable scans are never too sparse to choose
            model = fit_error_model(values, mask, held, reduced)
            out = self._final(recipe, values, mask)
        self._reduced = {}
        self.last_error_model = model
        return out, model.predict(values, mask, out)

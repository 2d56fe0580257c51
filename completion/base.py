"""The :class:`Completer` interface and the input checks every completer shares.

Array conventions: ``values`` (H, W) float in [0, 1], 0 where unseen; ``mask`` (H, W) bool,
True where a sample was recorded. Batches are (N, H, W). A completer returns float32 images of
the same shape.

Input rules (checked at the public edge, one-line :class:`~scanpaths.errors.InputError`):

- ``values`` must be real and finite, ``mask`` bool (or numbers that are all 0 or 1); shapes must match;
- values under the mask are **clipped** to [0, 1]: dose noise (counts / dose) can push single
  samples a little past 1. Values far outside (below -0.5 or above 2) are rejected as not
  normalised, since clipping them would be a silent wrong answer;
- values where ``mask`` is False are ignored;
- a mask with no True pixel is an error; a mask that is all True returns the (clipped) values.

Every completer can also say where it is unsure: ``complete(values, mask,
return_uncertainty=True)`` returns the completion and the half-width of its 90 % interval per
pixel, calibrated on held-out tiles of the scan (:mod:`completion.uncertainty`; costs one more
completion of the scan without those tiles).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Literal, overload

import numpy as np

from scanpaths.errors import InputError

from .uncertainty import ErrorModel, check_calibratable, fit_error_model, held_out_tiles

log = logging.getLogger(__name__)

__all__ = ["Completer", "check_inputs"]

_MIN_SIZE = 8
_MAX_SIZE = 8192


def check_inputs(values: Any, mask: Any, batch: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate and normalise ``values`` and ``mask``.

    Returns ``values`` as float32 with unseen pixels 0 and seen ones clipped to [0, 1], and
    ``mask`` as bool; both (H, W), or (N, H, W) when ``batch``.
    """
    ndim = 3 if batch else 2
    shape_txt = "(N, H, W)" if batch else "(H, W)"
    v = np.asarray(values)
    m = np.asarray(mask)
    if v.dtype == bool or not (np.issubdtype(v.dtype, np.floating) or np.issubdtype(v.dtype, np.integer)):
        raise InputError(f"values must be a real float array, got dtype {v.dtype}")
    if m.dtype != bool:
        numeric = np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)
        if numeric and m.size and set(np.unique(m).tolist()) <= {0, 1}:
            m = m.astype(bool)
        else:
            raise InputError(f"mask must be bool (or numbers 0 and 1 only), got dtype {m.dtype}")
    if v.ndim != ndim or m.ndim != ndim:
        raise InputError(f"values and mask must be {shape_txt}, got {v.shape} and {m.shape}")
    if v.shape != m.shape:
        raise InputError(f"values and mask shapes differ: {v.shape} vs {m.shape}")
    h, w = v.shape[-2:]
    if not (_MIN_SIZE <= h <= _MAX_SIZE and _MIN_SIZE <= w <= _MAX_SIZE):
        raise InputError(f"image size must be in [{_MIN_SIZE}, {_MAX_SIZE}] px per side, got {h}x{w}")
    seen = v[m]
    if not np.isfinite(seen).all():
        raise InputError("values contain NaN or inf where mask is True")
    per_image = m.reshape(-1, h * w).any(axis=1) if batch else np.array([m.any()])
    if not per_image.all():
        which = "" if not batch else f" (image {int(np.argmin(per_image))} of the batch)"
        raise InputError(f"mask has no True pixel{which}: nothing was scanned")
    if seen.size and (seen.min() < -0.5 or seen.max() > 2.0):
        raise InputError(
            f"values must be normalised to [0, 1] (got samples in [{seen.min():.3g}, {seen.max():.3g}]); "
            "scale the scan first"
        )
    out = np.zeros(v.shape, dtype=np.float32)
    out[m] = np.clip(seen, 0.0, 1.0)
    return out, m


class Completer(ABC):
    """Anything that fills in the unseen pixels of a partial scan."""

    #: short name used by the CLI and the benchmarks
    name: str = "completer"
    #: one line on what it does, for help texts and tables
    summary: str = ""

    #: the error model of the last ``return_uncertainty`` call (None before one)
    last_error_model: ErrorModel | None = None

    @overload
    def complete(self, values: Any, mask: Any, *, return_uncertainty: Literal[False] = False) -> np.ndarray: ...
    @overload
    def complete(
        self, values: Any, mask: Any, *, return_uncertainty: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray]: ...
    def complete(
        self, values: Any, mask: Any, *, return_uncertainty: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Complete one partial scan: (H, W) values and mask -> (H, W) float32 image in [0, 1].

        With ``return_uncertainty``: ``(image, uncertainty)``, the second (H, W) float32, the
        half-width of the completion's 90 % interval per pixel, in intensity units (zero
        everywhere for a fully sampled scan). Raises :class:`~scanpaths.errors.InputError`
        when the scan is too sparse to calibrate one.
        """
        v, m = check_inputs(values, mask)
        if not return_uncertainty:
            return v if m.all() else self._complete(v, m)
        if m.all():
            return v, np.zeros_like(v)
        return self._complete_with_uncertainty(v, m)

    def complete_batch(
        self, values: Any, mask: Any, *, return_uncertainty: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Complete a batch: (N, H, W) values and mask -> (N, H, W) float32 (with
        ``return_uncertainty``, a pair of such arrays, as :meth:`complete`)."""
        v, m = check_inputs(values, mask, batch=True)
        if return_uncertainty:
            pairs = [self.complete(vi, mi, return_uncertainty=True) for vi, mi in zip(v, m, strict=True)]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        return np.stack([vi if mi.all() else self._complete(vi, mi) for vi, mi in zip(v, m, strict=True)])

    def _complete_with_uncertainty(self, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Checked inputs -> (completion, 90 % half-width map); generic: one extra completion
        of the scan without held-out tiles. Completers that already hold such a completion
        override it."""
        held = held_out_tiles(mask)
        train = mask & ~held
        check_calibratable(mask, held)
        reduced = self._complete(np.where(train, values, 0.0).astype(np.float32), train)
        model = fit_error_model(values, mask, held, reduced)
        out = self._complete(values, mask)
        self.last_error_model = model
        return out, model.predict(values, mask, out)

    @abstractmethod
    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Complete checked inputs: values float32 (H, W) in [0, 1], mask bool (H, W)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

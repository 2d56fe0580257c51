"""Where a completion is unsure: a per-pixel error estimate calibrated on the scan itself.

A partial scan carries its own check: hold out the samples in a random set of small tiles
(:func:`held_out_tiles`), complete the rest, and the completion's error on the held-out
samples is a measured error, of this completer on this image. :func:`fit_error_model` fits a
small variance model to those errors, then calibrates it (split conformal: the 90 % quantile
of the held-out errors in units of the model's standard deviation) so that the map it
predicts for the completion of the whole scan is the **half-width of a 90 % interval**:
``|completion - truth| <= map`` at about 90 % of the pixels.

The variance model is a non-negative sum of terms (:func:`error_features`), fitted by
non-negative least squares to the squared held-out errors: a constant, the local intensity and
its square (shot noise grows with the signal), the distance to the nearest sample (clipped at
16 px, as a fraction of it) and the intensity scaled by it. Terms for the completion's own
structure (its local variance, and its disagreement with a plain pull-push fill, each alone and
scaled by the distance) were dropped: they explain the held-out pixels' errors (columns are
where single pixels go wrong) but not which parts of the image go wrong, and over 16 px blocks
they ranked worse. Without them Spearman's rank correlation rose from 0.58 to 0.62 on the real
frames and PRISM simulations of ``pstem eval real`` (``auto``; 0.60 to 0.61 on the experimental
frames alone) and stayed 0.68 against the raw synthetic specimens (8 of them; 0.61 to 0.60 against
their noise-free truth, 0.62 either way over 16); the fraction inside the 90 % interval moved by under 0.01.

On scans made of lines (raster, serpentine, grid) every held-out sample lies on a line, at the
lines' own phase, while the pixels between them do not: there the maps under-cover (about 0.8
of the pixels inside the 90 % interval on real frames; holding out whole lines instead did no
better). ``pstem eval real`` reports it per path.

The held-out samples are noisy and on the path, so the calibration is against what a scan
records, not against a noise-free truth; ``pstem eval real`` and ``pstem eval completion``
report the coverage and the rank correlation that actually result, on real frames and on
synthetic specimens with a noise-free truth.

Arrays: values (H, W) float in [0, 1], 0 where unseen; masks (H, W) bool; completions (H, W)
float; the map (H, W) float32 in the image's units (intensity, not px).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from scanpaths.errors import InputError

from .tiles import gaussian

__all__ = [
    "LEVEL",
    "MIN_HELD",
    "ErrorModel",
    "check_calibratable",
    "error_features",
    "fit_error_model",
    "held_out_tiles",
]

log = logging.getLogger(__name__)

#: Coverage the interval is calibrated for.
LEVEL = 0.9
#: Names of the variance terms of :func:`error_features`, in order.
TERMS = (
    "constant",
    "intensity",
    "intensity^2",
    "distance",
    "intensity x distance",
)
_D_MAX = 16.0  # px at which the distance terms saturate
#: Fewest held-out samples a calibration accepts.
MIN_HELD = 64
#: The held-out tiles' side, px, and the share of the tiles held out (the validated choice's and
#: the maps' calibration's default; training cuts the same holes, ``pstem train-gan --holes``).
HELD_TILE = 16
HELD_FRACTION = 0.15


def held_out_tiles(
    mask: np.ndarray, tile: int = HELD_TILE, holdout: float = HELD_FRACTION, seed: int = 0
) -> np.ndarray:
    """(H, W) bool: the samples of ``mask`` inside a random ``holdout`` fraction of the
    ``tile`` x ``tile`` px tiles (the same tiles for every image of the same size and seed)."""
    h, w = mask.shape
    rng = np.random.default_rng(seed)
    tiles = rng.random(((h + tile - 1) // tile, (w + tile - 1) // tile)) < holdout
    return tiles[np.arange(h)[:, None] // tile, np.arange(w)[None, :] // tile] & mask


def check_calibratable(mask: np.ndarray, held: np.ndarray) -> None:
    """Raise a one-line :class:`~scanpaths.errors.InputError` when a scan is too sparse to
    calibrate an uncertainty map: fewer than :data:`MIN_HELD` held-out samples, or none left."""
    n = int(held.sum())
    if n < MIN_HELD or not (mask & ~held).any():
        raise InputError(
            f"too few samples to calibrate an uncertainty map ({n} held out, need {MIN_HELD}); scan more of the field"
        )


def error_features(values: np.ndarray, mask: np.ndarray, completion: np.ndarray) -> np.ndarray:
    """(H, W, K) float64: the variance terms (:data:`TERMS`) of a completion of ``values``/``mask``
    (``values`` is not read: the terms depend on where the samples are and on the completion)."""
    pred = completion.astype(np.float64)
    dist = np.minimum(ndimage.distance_transform_edt(~mask), _D_MAX) / _D_MAX
    mu = np.clip(gaussian(pred, 2.0, mode="reflect"), 0.0, 1.0)
    return np.stack([np.ones_like(mu), mu, mu * mu, dist, mu * dist], axis=-1)


@dataclass(frozen=True)
class ErrorModel:
    """A fitted error model: ``map = scale * sqrt(features @ coef)``.

    Attributes:
        coef: (K,) float64 non-negative weights of :data:`TERMS`.
        scale: the calibration factor (the ``level`` quantile of the held-out errors over the
            model's standard deviation).
        level: the interval's nominal coverage.
        held_out: how many held-out samples it was fitted on.
        held_rmse: RMS error of the completion on them.
    """

    coef: np.ndarray
    scale: float
    level: float
    held_out: int
    held_rmse: float

    def predict(self, values: np.ndarray, mask: np.ndarray, completion: np.ndarray) -> np.ndarray:
        """(H, W) float32: the half-width of the ``level`` interval of ``completion``, the
        completion of the scan ``values``/``mask``."""
        var = error_features(values, mask, completion) @ self.coef
        return (self.scale * np.sqrt(np.maximum(var, 1e-12))).astype(np.float32)


def fit_error_model(
    values: np.ndarray, mask: np.ndarray, held: np.ndarray, reduced: np.ndarray, level: float = LEVEL
) -> ErrorModel:
    """Fit and calibrate the error model on the held-out samples.

    Args:
        values, mask: the whole scan.
        held: (H, W) bool, the held-out samples (a subset of ``mask``).
        reduced: (H, W) the completer's completion of the scan without them.
        level: nominal coverage of the interval, in (0, 1).

    Raises:
        InputError: fewer than :data:`MIN_HELD` held-out samples (too sparse a scan to check).
    """
    check_calibratable(mask, held)
    n = int(held.sum())
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    train = mask & ~held
    feats = error_features(values, train, reduced)[held]  # the terms read where samples are, not their values
    err = reduced[held].astype(np.float64) - values[held]
    # scale the columns so that NNLS is well conditioned, then undo it
    norm = np.maximum(feats.mean(axis=0), 1e-12)
    coef, _ = optimize.nnls(feats / norm, err * err)
    coef = coef / norm
    if not coef.any():  # a perfect completion: fall back to a constant
        coef[0] = max(float(np.mean(err * err)), 1e-12)
    sd = np.sqrt(np.maximum(feats @ coef, 1e-12))
    k = min(n - 1, int(np.ceil((n + 1) * level)) - 1)  # the conformal rank
    scale = float(np.partition(np.abs(err) / sd, k)[k])
    log.debug("error model: %s, scale %.3g", dict(zip(TERMS, np.round(coef, 6), strict=True)), scale)
    return ErrorModel(coef, scale, float(level), n, float(np.sqrt(np.mean(err * err))))

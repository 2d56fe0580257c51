"""Uncertainty maps: every completer can give one, calibrated on held-out tiles of the scan."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import scanpaths
from completion.baselines import HarmonicCompleter, LinearCompleter, NearestCompleter
from completion.metrics import calibration
from completion.selection import ValidatedChoice
from completion.uncertainty import LEVEL, MIN_HELD, fit_error_model, held_out_tiles
from scanpaths import InputError


@pytest.fixture(scope="module")
def scan() -> tuple[scanpaths.PartialScan, np.ndarray]:
    spec = scanpaths.specimens.generate((128, 128), seed=5, scene="nanoparticle")
    path = scanpaths.make_path("spiral", (128, 128), coverage=0.1, seed=1)
    return scanpaths.simulate(spec.image, path, preset="ideal", seed=1), spec.clean


def test_every_completer_returns_a_map_beside_the_same_completion(scan: tuple) -> None:
    s, _ = scan
    for completer in (
        HarmonicCompleter(),
        ValidatedChoice({"linear": LinearCompleter(), "nearest": NearestCompleter()}),
    ):
        out, unc = completer.complete(s.values, s.mask, return_uncertainty=True)
        assert out.shape == unc.shape == s.values.shape and unc.dtype == np.float32
        assert np.isfinite(unc).all() and unc.min() > 0
        np.testing.assert_array_equal(out, completer.complete(s.values, s.mask))
        model = completer.last_error_model
        assert model is not None and model.held_out >= MIN_HELD and model.level == LEVEL
        assert (model.coef >= 0).all() and model.scale > 0
    outs, uncs = HarmonicCompleter().complete_batch(
        np.stack([s.values] * 2), np.stack([s.mask] * 2), return_uncertainty=True
    )
    assert outs.shape == uncs.shape == (2, *s.values.shape)


def test_the_map_is_calibrated_against_the_truth(scan: tuple) -> None:
    s, clean = scan
    out, unc = HarmonicCompleter().complete(s.values, s.mask, return_uncertainty=True)
    coverage, rho = calibration(out, unc, clean, s.mask)
    assert 0.8 <= coverage <= 0.98  # nominal 0.9
    assert rho > 0.3  # it ranks blocks by their error
    # a constant map of the same typical size ranks nothing, and a map 10x too narrow covers little
    assert np.isnan(calibration(out, np.full_like(unc, float(np.median(unc))), clean, s.mask)[1])
    assert calibration(out, unc / 10, clean, s.mask)[0] < 0.4


def test_the_error_model_follows_errors_that_grow_away_from_the_samples() -> None:
    rng = np.random.default_rng(0)
    truth = np.full((160, 160), 0.5)
    mask = rng.random(truth.shape) < 0.05
    held = held_out_tiles(mask)
    train = mask & ~held

    def completion(m: np.ndarray) -> np.ndarray:  # errors whose size grows with the distance to m
        d = np.minimum(ndimage.distance_transform_edt(~m), 16) / 16
        return truth + (0.005 + 0.05 * d) * rng.standard_normal(truth.shape)

    values = np.where(mask, truth, 0.0)
    model = fit_error_model(values, mask, held, completion(train))
    full = completion(mask)
    unc = model.predict(values, mask, full)
    coverage, rho = calibration(full, unc, truth, mask)
    assert 0.85 <= coverage <= 0.95 and rho > 0.5


def test_too_sparse_or_complete_scans() -> None:
    mask = np.zeros((64, 64), bool)
    mask[::16, ::16] = True
    values = np.where(mask, 0.5, 0.0).astype(np.float32)
    with pytest.raises(InputError, match="too few samples to calibrate an uncertainty map"):
        HarmonicCompleter().complete(values, mask, return_uncertainty=True)
    with pytest.raises(InputError, match="too few samples"):
        ValidatedChoice({"nearest": NearestCompleter()}).complete(values, mask, return_uncertainty=True)
    full = np.full((16, 16), 0.3, np.float32)
    out, unc = NearestCompleter().complete(full, np.ones((16, 16), bool), return_uncertainty=True)
    assert np.array_equal(out, full) and not unc.any()

"""No phantom structure at the scan's own period: completions of line scans of specimens
without a lattice at that period must not show one."""

from __future__ import annotations

import numpy as np
import pytest

import scanpaths
from completion.base import Completer
from completion.consistency import line_periods, suppress_line_peaks
from completion.registry import get_completer


def line_peak(image: np.ndarray, period: float) -> float:
    """Power of ``image`` across its rows at the line frequency (the strongest of the three
    bins about it), over the median power of the frequencies within half a line frequency."""
    x = image - image.mean(axis=0, keepdims=True)
    power = (np.abs(np.fft.rfft(x, axis=0)) ** 2).mean(axis=1)
    k = image.shape[0] / period
    c = int(round(k))
    near = np.arange(int(k / 2), int(1.5 * k) + 1)
    near = near[(np.abs(near - c) > 1) & (near < len(power))]
    return float(power[c - 1 : c + 2].max() / np.median(power[near]))


def _scan(scene: str, seed: int, kind: str, coverage: float) -> tuple[scanpaths.PartialScan, np.ndarray, float]:
    spec = scanpaths.specimens.generate((256, 256), seed=scanpaths.seeds.BENCHMARK.seed(seed), scene=scene)
    s = scanpaths.simulate(spec.image, scanpaths.make_path(kind, (256, 256), coverage=coverage), preset="typical")
    rows, cols = line_periods(s.mask)
    assert rows is not None and cols is None
    return s, spec.clean, rows


@pytest.fixture(scope="module")
def auto() -> Completer:
    return get_completer("auto", device="cpu")


@pytest.mark.parametrize(
    "scene,seed,kind,coverage",
    [
        ("amorphous", 3, "raster", 0.1),
        ("amorphous", 4, "serpentine", 0.05),
        ("nanoparticle", 3, "raster", 0.1),
        ("nanoparticle", 3, "serpentine", 0.1),
        ("nanoparticle", 4, "raster", 0.05),
    ],
)
def test_the_default_completer_draws_no_lattice_at_the_line_period(
    auto: Completer, scene: str, seed: int, kind: str, coverage: float
) -> None:
    s, clean, period = _scan(scene, seed, kind, coverage)
    out = auto.complete(s.values, s.mask)
    assert line_peak(out, period) <= max(1.6, 1.5 * line_peak(clean, period))


def test_the_generator_alone_draws_one_and_suppression_removes_it() -> None:
    # the case the issue saw: a nanoparticle's lattice finer than the line spacing
    s, clean, period = _scan("nanoparticle", 3, "serpentine", 0.1)
    raw = get_completer("gan-mse").complete(s.values, s.mask)
    assert line_peak(clean, period) < 0.5 and line_peak(raw, period) > 2.0
    fixed = suppress_line_peaks(raw, s.mask)
    assert line_peak(fixed, period) < 1.2
    assert np.mean((fixed - clean) ** 2) <= np.mean((raw - clean) ** 2) * 1.001
    # scans not made of lines in one direction are left alone
    grid = scanpaths.make_path("grid", (256, 256), coverage=0.1)
    g = scanpaths.simulate(clean, grid, preset="ideal")
    assert np.array_equal(suppress_line_peaks(raw, g.mask), raw)

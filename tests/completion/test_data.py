"""Training pairs: path kinds and scan strategies, the default kinds of the recorded runs."""

from __future__ import annotations

import numpy as np
import pytest

import completion.data as data
import rl  # noqa: F401 - registers the adaptive strategies
import scanpaths
from completion.data import TRAINED_KINDS, DataConfig, make_pair
from scanpaths import ConfigError


def test_the_default_kinds_are_those_the_shipped_generators_saw() -> None:
    assert DataConfig().kinds == TRAINED_KINDS
    assert "squircle" in scanpaths.PATH_KINDS and "squircle" not in TRAINED_KINDS
    assert set(TRAINED_KINDS) <= set(scanpaths.PATH_KINDS)


def test_kinds_may_name_scan_strategies_and_nothing_else() -> None:
    assert DataConfig(kinds=("survey", "survey", "spiral")).resolved().kinds == ("survey", "survey", "spiral")
    with pytest.raises(ConfigError, match="'wiggle', neither a path kind nor a scan strategy"):
        DataConfig(kinds=("spiral", "wiggle")).resolved()
    with pytest.raises(ConfigError, match="at least one"):
        DataConfig(kinds=()).resolved()


def test_an_adaptive_strategy_scans_its_budget_as_it_decides(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "_FELL_BACK", set())  # nothing warned yet in this process
    spec = scanpaths.specimens.generate((128, 128), seed=11, scene="nanoparticle")
    v, m, target = make_pair(spec.image, spec.clean, np.random.default_rng(0), "survey", 0.05, "typical", None)
    assert v.shape == m.shape == target.shape == (128, 128) and m.dtype == bool
    spiral = scanpaths.make_path("spiral", (128, 128), coverage=0.05).mask()
    assert 0.03 < m.mean() < 0.15 and (m != spiral).mean() > 0.02  # not the spiral it would fall back to
    assert np.all(v[~m] == 0) and 0 <= v.min() and v.max() <= 1
    # a crop too small for a survey falls back to a spiral
    small = scanpaths.specimens.generate((48, 48), seed=11)
    with caplog.at_level("WARNING", logger="completion.data"):
        _, m2, _ = make_pair(small.image, small.clean, np.random.default_rng(0), "survey", 0.05, "typical", None)
        make_pair(small.image, small.clean, np.random.default_rng(1), "survey", 0.05, "typical", None)
    assert abs(m2.mean() - 0.05) < 0.01
    assert sum("survey cannot scan a 48x48 crop" in r.getMessage() for r in caplog.records) == 1  # said once


def test_holes_cut_whole_tiles_out_of_some_pairs_and_leave_the_stream_alone_when_off() -> None:
    mask = np.ones((96, 96), bool)
    values = np.full((96, 96), 0.5, np.float32)
    v, m = data.cut_holes(values, mask, np.random.default_rng(3), tile=16, fraction=0.3)
    assert 0.1 < 1 - m.mean() < 0.5 and np.all(v[~m] == 0) and np.all(v[m] == 0.5)
    one = np.zeros((96, 96), bool)
    one[40, 40] = True
    assert data.cut_holes(values, one, np.random.default_rng(0), fraction=1.0)[1].sum() == 1  # never all of it
    # what is cut is whole tiles: every run of cut pixels along a row or column not at the border is 16k px long
    for line in [*(~m), *(~m).T]:
        edges = np.flatnonzero(np.diff(np.r_[0, line.astype(np.int8), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            assert start == 0 or stop == len(line) or (stop - start) % 16 == 0
    # holes=0 draws nothing more: the same pairs as a config without the field
    cfg = DataConfig(crop=64, pool_size=1, pool_shape=80)
    a = data.PairSource(cfg, seed=1, progress=False).batch(2)
    b = data.PairSource(DataConfig(crop=64, pool_size=1, pool_shape=80, holes=0.0), seed=1, progress=False).batch(2)
    c = data.PairSource(DataConfig(crop=64, pool_size=1, pool_shape=80, holes=1.0), seed=1, progress=False).batch(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    # the first pair is the same scan less some tiles' samples
    assert np.all(c[1][0] <= a[1][0]) and c[1][0].sum() < a[1][0].sum()
    assert np.array_equal(c[0][0][c[1][0]], a[0][0][c[1][0]]) and np.array_equal(c[2][0], a[2][0])
    with pytest.raises(ConfigError, match="holes"):
        DataConfig(holes=1.5).resolved()

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

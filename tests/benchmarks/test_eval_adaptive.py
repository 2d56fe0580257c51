"""pstem eval adaptive: per-class rows against the best fixed path, features, decision times."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.eval_adaptive import AdaptiveFigures, run
from scanpaths.errors import ConfigError


def test_a_small_run_reports_every_class_against_its_best_fixed_path(tmp_path: Path) -> None:
    cfg = AdaptiveFigures(
        n=2,
        size=96,
        classes=("edge", "defects"),
        coverages=(0.1,),
        fixed=("spiral", "lissajous"),
        strategies=("survey", "survey-flat"),
        completers=("harmonic",),
        out=str(tmp_path / "a.md"),
        csv=str(tmp_path / "a.csv"),
        threads=1,
    )
    text = run(cfg, "test")
    rows = list(csv.DictReader(open(tmp_path / "a.csv")))
    assert len(rows) == 2 * 2 * 4  # classes x specimens x scans (one completer, one budget)
    assert not (tmp_path / "a.csv.partial").exists()
    assert {r["scan"] for r in rows} == {"spiral", "lissajous", "survey", "survey-flat"}
    assert all(0.9 < float(r["time_s"]) / float(r["budget_s"]) <= 1.0 + 1e-9 for r in rows if r["adaptive"] == "True")
    for cls in ("edge", "defects"):
        line = next(x for x in text.splitlines() if x.startswith(f"| {cls} | 2 | 1/10 | harmonic |"))
        assert line.count("[") == 2  # a ratio with its interval per strategy
    assert "touched-defect recall" in text and "| defects | 1/10 | harmonic | survey |" in text
    assert int(sum(int(r["defects"]) for r in rows if r["class"] == "defects")) > 0
    assert "median decision" in text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"classes": ("moon",)}, "classes"),
        ({"strategies": ("zigzag",)}, "strategies"),
        ({"dose": 0.0}, "dose"),
        ({"register": "sensor"}, "register"),
        ({"register": "model", "strategies": ("survey", "learned")}, "register"),
    ],
)
def test_bad_settings_name_their_field(change: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=field):
        AdaptiveFigures(**change).resolved()


def test_the_decision_report_holds_each_size_against_its_line_time() -> None:
    from benchmarks.eval_adaptive import decision_report

    text = decision_report(sizes=(128,), n=1)
    row = [line for line in text.splitlines() if line.startswith("| 128 px")]
    assert len(row) == 1 and "128 us" in row[0]  # one line of 128 px at typical physics' 1 us dwell
    ratio = float(row[0].split("|")[6])
    assert ratio > 0


def test_each_strategy_is_held_against_its_control_when_it_was_scanned() -> None:
    from benchmarks.eval_adaptive import control_of

    scanned = ("survey-hedge", "spiral", "lissajous@2", "lissajous@3")
    assert control_of("survey-hedge", scanned, (256, 256), 1 / 20) == "lissajous@3"
    assert control_of("survey-hedge", scanned, (256, 256), 1 / 10) == "lissajous@2"  # the path it keeps there
    assert control_of("survey-hedge:0.2", ("survey-hedge:0.2", "spiral")) is None
    assert control_of("survey-fast", ("survey-fast", "survey-flat")) == "survey-flat"
    assert control_of("greedy", ("greedy", "survey-flat")) is None

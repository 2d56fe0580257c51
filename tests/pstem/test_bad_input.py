"""A table of bad invocations, each as a user would type it: exit 2, one line on stderr, no
traceback, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BAD: list[tuple[list[str], str]] = [
    (["simulate", "--synthetic", "64", "--seed", "-1", "-o", "s.npz"], "seed must be >= 0"),
    (["simulate", "--synthetic", "64", "--seed", "abc", "-o", "s.npz"], "seed must be an integer"),
    (["simulate", "--synthetic", "64", "--coverage", "abc", "-o", "s.npz"], "a coverage must look like"),
    (["simulate", "--synthetic", "64", "--coverage", "1/0", "-o", "s.npz"], "a coverage must look like"),
    (["simulate", "missing.tif", "-o", "s.npz"], "missing.tif"),
    (["simulate", "--synthetic", "64", "--preset", "warp", "-o", "s.npz"], "preset"),
    (["complete", "--demo", "--seed", "-1", "-o", "d.png"], "seed must be >= 0"),
    (["complete", "missing.npz", "-o", "c.tif"], "no such file"),
    (["complete", "empty.npz", "-o", "c.tif"], "needs arrays 'values' and 'mask'"),
    (["complete", "--device", "tpu", "--demo", "-o", "d.png"], "device must be one of"),
    (["complete", "--model", "bicubic", "--demo", "-o", "d.png"], "completer must be one of"),
    (["complete", "--demo", "--coverage", "2", "-o", "d.png"], "coverage"),
    (["specimens", "-o", "s.txt"], "a figure is written as"),
    (["paths", "-o", "p.jpg"], "a figure is written as"),
    (["train-gan", "--seed", "-1", "--out", "run"], "--seed must be in [0, 9]"),
    (["train-gan", "--threads", "-1", "--out", "run"], "--threads must be >= 0"),
    (["train-gan", "--pool-size", "0", "--out", "run"], "--pool-size must be in"),
    (["train-rl", "--seed", "-1", "--out", "run"], "--seed must be an integer"),
    (["bench", "--workers", "abc", "--out", "b"], "invalid int value"),
    (["bench", "--suite", "nosuch", "--out", "b"], "nosuch"),
    (["eval", "real", "--paths", "zigzag", "--out", "r.md"], "unknown path kind"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("argv,match", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_invocations_fail_in_one_line_and_write_nothing(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "empty.npz", other=np.zeros(3))
    before = sorted(p.name for p in tmp_path.iterdir())
    run = cli(*argv)
    err = run.err.strip()
    assert run.code == 2, (argv, run.err)
    assert "Traceback" not in run.err and len(err.splitlines()) == 1, err
    assert match in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no folder made

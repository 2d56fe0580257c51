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
    (["complete", "blank.npz", "-o", "new/c.tif"], "mask has no True pixel"),
    (["complete", "--device", "tpu", "--demo", "-o", "d.png"], "device must be one of"),
    (["complete", "--model", "bicubic", "--demo", "-o", "d.png"], "completer must be one of"),
    (["complete", "--demo", "--coverage", "2", "-o", "d.png"], "coverage"),
    (["specimens", "-o", "s.txt"], "a figure is written as"),
    (["paths", "-o", "p.jpg"], "a figure is written as"),
    (["train-gan", "--seed", "-1", "--out", "run"], "--seed must be in [0, 9]"),
    (["train-gan", "--threads", "-1", "--out", "run"], "--threads must be >= 0"),
    (["train-gan", "--pool-size", "0", "--out", "run"], "--pool-size must be in"),
    (["train-gan", "--kinds", "spiral", "wiggle", "--out", "run"], "neither a path kind nor a scan strategy"),
    (["train-rl", "--seed", "-1", "--out", "run"], "--seed must be an integer"),
    (["bench", "--workers", "abc", "--out", "b"], "invalid int value"),
    (["bench", "--suite", "nosuch", "--out", "b"], "nosuch"),
    (["eval", "real", "--paths", "zigzag", "--out", "r.md"], "unknown path kind"),
    (["frobnicate"], "invalid choice"),
    (["simulate", "--synthetic", "64", "-o", "s.tif"], "this output is written as .npz"),
    (["simulate", "--synthetic", "64", "--pixel-size", "-1", "-o", "s.npz"], "a pixel size must be a positive"),
    (["simulate", "stack.npy", "-o", "s.npz"], "holds 3 images"),
    (["simulate", "stack.npy", "--frame", "7", "-o", "s.npz"], "frame must be in [0, 2]"),
    (["simulate", "spectrum.npy", "-o", "s.npz"], "a spectrum or a profile"),
    (["simulate", "--synthetic", "64", "--frame", "1", "-o", "s.npz"], "apply to an IMAGE file"),
    (["complete", "--demo", "-o", "d.tif"], "the demo draws a figure"),
    (["complete", "scan.npz", "-o", "c.png"], "a completion is written as"),
    (["complete", "scan.npz", "--png", "c.tif"], "a figure is written as"),
    (["bench", "--out", "empty.npz/b"], "cannot create the output folder"),
    (["bench", "--suite", "ck.toml", "--out", "b"], "not a readable partialstem checkpoint"),
    (["bench", "--images", "nothing*.tif", "--out", "b"], "matches no file"),
    (["train-gan", "--out", "empty.npz"], "is a file"),
    (["train-gan", "--data-dir", "nosuch", "--out", "run"], "--data-dir nosuch is not a folder"),
    (["complete", "scan.npz", "-o", "empty.npz/c.tif"], "cannot create the folder"),
    (["complete", "--demo", "-o", "empty.npz/d.png"], "cannot create the folder"),
    (["train-rl", "--out", "empty.npz"], "is a file"),
    (["eval", "adaptive", "--classes", "moon", "--out", "a.md"], "unknown class 'moon'"),
    (["eval", "adaptive", "--strategies", "survey:1.5", "--out", "a.md"], "a survey share must be in (0, 1)"),
    (["eval", "adaptive", "--strategies", "zigzag", "--out", "a.md"], "scan strategy must be one of"),
    (["eval", "adaptive", "--dose", "0", "--out", "a.md"], "must be > 0 electrons per sample"),
]

CHECKPOINT_SUITE = """name = "ck"
[images]
synthetic = 1
size = 64
[scan]
paths = ["spiral"]
coverages = ["1/10"]
[completion]
completers = ["bad.pt"]
"""


def _inputs(folder: Path) -> None:
    """The files the bad invocations name."""
    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    np.savez(folder / "empty.npz", other=np.zeros(3))
    np.savez(folder / "scan.npz", values=ramp * (ramp > 0.9), mask=ramp > 0.9)
    np.savez(folder / "blank.npz", values=ramp * 0, mask=ramp > 2)
    np.save(folder / "stack.npy", np.stack([ramp, ramp.T, 1 - ramp]))
    np.save(folder / "spectrum.npy", np.arange(2048.0))
    (folder / "bad.pt").write_bytes(b"not a checkpoint")
    (folder / "ck.toml").write_text(CHECKPOINT_SUITE)


@pytest.mark.parametrize("argv,match", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_invocations_fail_in_one_line_and_write_nothing(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    _inputs(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    run = cli(*argv)
    err = run.err.strip()
    assert run.code == 2, (argv, run.err)
    assert "Traceback" not in run.err and len(err.splitlines()) == 1, err
    assert match in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no folder made


def test_a_scheduler_that_does_not_answer_is_one_line_and_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    pytest.importorskip("dask.distributed")
    from benchmarks import bench

    monkeypatch.setattr(bench, "SCHEDULER_TIMEOUT_S", 1)
    monkeypatch.chdir(tmp_path)
    run = cli("bench", "--scheduler", "tcp://127.0.0.1:9", "--out", "b")
    assert run.code == 2 and "no Dask scheduler answers at tcp://127.0.0.1:9" in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1 and not (tmp_path / "b").exists()

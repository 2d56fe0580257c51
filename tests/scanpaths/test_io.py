"""Loading the user's images: every format round-trips, bad files give one clear line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from scanpaths import InputError
from scanpaths.io import load_image, save_image


@pytest.fixture
def ramp() -> np.ndarray:
    return np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(30, 40)


def test_tiff_npy_npz_roundtrip(tmp_path: Path, ramp: np.ndarray) -> None:
    tifffile.imwrite(tmp_path / "a.tif", (ramp * 1000 + 50).astype(np.uint16))
    np.save(tmp_path / "b.npy", ramp * 7 - 3)
    np.savez(tmp_path / "c.npz", image=ramp, other=ramp[:2])
    np.savez(tmp_path / "d.npz", ramp)
    for name in ("a.tif", "b.npy", "c.npz", "d.npz"):
        img = load_image(tmp_path / name)
        assert img.dtype == np.float32 and img.shape == (30, 40)
        assert img.min() == 0 and img.max() == 1
        np.testing.assert_allclose(img, ramp, atol=1e-3)


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
        ("vec.npy", "expected a 2-D image"),
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

"""Reading the user's images: TIFF, NumPy (.npy/.npz) and PNG/JPEG; DM3/DM4/EMD through the
optional ``formats`` extra (rosettasciio).

Every reader returns a (H, W) float32 image normalised to [0, 1] by its own minimum and
maximum. Colour images are converted to luminance; for stacks (frames, H, W) one frame is
chosen with ``frame``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import Image

from .common import atomic_write
from .errors import InputError

__all__ = ["IMAGE_SUFFIXES", "load_image", "normalise", "read_array", "save_image"]

_TIFF = (".tif", ".tiff")
_NUMPY = (".npy", ".npz")
_PICTURE = (".png", ".jpg", ".jpeg")
_MICROSCOPE = (".dm3", ".dm4", ".emd")
#: File name endings :func:`load_image` reads.
IMAGE_SUFFIXES: tuple[str, ...] = _TIFF + _NUMPY + _PICTURE + _MICROSCOPE


def normalise(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Scale a finite real image linearly to [0, 1] (float32); reject NaN/inf and constants."""
    arr = np.asarray(image)
    if not (np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)):
        raise InputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{name}: contains NaN or inf values")
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        raise InputError(f"{name}: image is constant ({lo:g}); nothing to scan")
    return ((arr - lo) / (hi - lo)).astype(np.float32)


def _to_2d(arr: np.ndarray, frame: int, name: str) -> np.ndarray:
    arr = np.squeeze(np.asarray(arr))
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):  # RGB(A)
        arr = arr[..., :3].astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    elif arr.ndim == 3:  # a stack of frames
        if not 0 <= frame < arr.shape[0]:
            raise InputError(f"frame must be in [0, {arr.shape[0] - 1}] for {name}, got {frame}")
        arr = arr[frame]
    elif arr.ndim != 2:
        raise InputError(f"{name}: expected a 2-D image (or RGB, or a stack), got shape {arr.shape}")
    if min(arr.shape) < 2:
        raise InputError(f"{name}: image must be at least 2x2 pixels, got shape {arr.shape}")
    return arr


def _read_microscope(path: Path) -> np.ndarray:
    try:  # the optional formats extra, imported only for its file types
        from rsciio import IO_PLUGINS  # noqa: F401
    except ImportError:
        raise InputError(
            f"{path.name}: reading {path.suffix} files needs the optional reader; "
            "install it with: pip install 'partialstem[formats]'"
        ) from None
    if path.suffix.lower() in (".dm3", ".dm4"):
        from rsciio.digitalmicrograph import file_reader
    else:
        from rsciio.emd import file_reader
    signals = file_reader(str(path))
    if not signals:
        raise InputError(f"{path.name}: no image found in the file")
    return np.asarray(signals[0]["data"])


def load_image(path: str | os.PathLike[str], *, frame: int = 0, key: str | None = None) -> np.ndarray:
    """Load an image file as (H, W) float32 in [0, 1] (scaled by its own minimum and maximum).

    Args:
        path: a .tif/.tiff, .npy, .npz, .png/.jpg, or (with the ``formats`` extra) .dm3/.dm4/.emd.
        frame: which frame of a stack (frames, H, W) to take.
        key: for .npz, the array to take (default: the only one, or ``image``).

    Raises:
        InputError: unreadable, missing or unsupported file, or an image that is not 2-D,
            holds NaN/inf, or is constant.
    """
    p = Path(path)
    return normalise(_to_2d(_read(p, key), frame, p.name), p.name)


def read_array(path: str | os.PathLike[str], *, frame: int = 0, key: str | None = None) -> np.ndarray:
    """Load an image file as a (H, W) array **without** rescaling (partial-scan values, masks).

    8-bit PNG/JPEG are divided by 255; other files keep their numbers and dtype.
    """
    p = Path(path)
    arr = _read(p, key)
    if p.suffix.lower() in _PICTURE and np.asarray(arr).dtype == np.uint8:
        arr = np.asarray(arr, dtype=np.float32) / 255.0
    return _to_2d(arr, frame, p.name)


def _read(p: Path, key: str | None) -> Any:
    """The raw array of a file, with one-line errors for missing, foreign or corrupt files."""
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{p}: unsupported file type {suffix!r}; use one of {' '.join(IMAGE_SUFFIXES)}")
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        if suffix in _TIFF:
            arr: Any = tifffile.imread(p)
        elif suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                names = list(z.files)
                if key is None:
                    key = names[0] if len(names) == 1 else ("image" if "image" in names else None)
                if key not in names:
                    raise InputError(f"{p}: holds arrays {names}; pass key= to choose one")
                arr = z[key]
        elif suffix in _PICTURE:
            with Image.open(p) as im:
                keep = im.mode in ("L", "RGB", "RGBA", "I", "I;16", "F")
                arr = np.asarray(im if keep else im.convert("F"))
        else:
            arr = _read_microscope(p)
    except InputError:
        raise
    except Exception as exc:  # a corrupt or foreign file: one line, naming the file
        raise InputError(f"{p}: cannot read ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    return arr


def save_image(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Save a (H, W) image as float32 TIFF (.tif/.tiff) or .npy, chosen by the suffix; the file
    appears whole or not at all (:func:`scanpaths.common.atomic_write`)."""
    p = Path(path)
    arr = np.asarray(image, dtype=np.float32)
    if p.suffix.lower() in _TIFF:
        with atomic_write(p) as fh:
            tifffile.imwrite(fh, arr)
    elif p.suffix.lower() == ".npy":
        with atomic_write(p) as fh:
            np.save(fh, arr)
    else:
        raise InputError(f"{p}: save as .tif, .tiff or .npy")

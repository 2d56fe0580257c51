"""Run folders of ``pstem train-rl``: the device, the folder's checks, eval.csv, state files.

One helper per concern, shared by the SB3 learners (:mod:`rl.train`) and the search learner
(:mod:`rl.search`):

- :func:`run_device`: the torch device of a run, with torch's CPU threads set for it;
- :class:`RunFolder`: refuses a folder that is a file, a ``resume`` without a run and a new run
  over an old one, before anything is written; writes ``config.json`` and ``state.json``
  atomically and appends rows to ``eval.csv``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import torch

from completion.device import pick_device, set_threads
from scanpaths.common import write_text_atomic
from scanpaths.errors import ConfigError, InputError

__all__ = ["RunFolder", "append_csv_row", "run_device"]


def run_device(device: str, threads: int) -> torch.device:
    """The device of a run (``auto``: CUDA when available); on the CPU, or with ``threads`` > 0,
    torch's threads are set (0: every core)."""
    dev = pick_device(device)
    if threads > 0 or dev.type == "cpu":
        set_threads(threads)
    return dev


def append_csv_row(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to the CSV file ``path`` (flushed), with a header when the file is new."""
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


class RunFolder:
    """The output folder of a training run.

    Args:
        out: the folder.
        resume: continue the run in it (``marker`` must exist) instead of starting one (it
            must not).
        marker: the file that says a run is there (``last.zip`` for SB3, ``state.json`` for search).
    """

    def __init__(self, out: str | os.PathLike[str], resume: bool, marker: str) -> None:
        self.path = Path(out)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError("out", f"{self.path} is a file")
        if resume and not (self.path / marker).is_file():
            raise InputError(f"cannot resume: {self.path / marker} does not exist")
        if not resume and (self.path / marker).exists():
            raise InputError(f"{self.path} already holds a run; resume it or choose another output folder")
        self.resume = resume

    def create(self) -> None:
        """Make the folder (after every check has passed)."""
        self.path.mkdir(parents=True, exist_ok=True)

    def write_json(self, name: str, data: Any) -> None:
        """Write ``data`` as JSON to ``name`` in the folder, atomically."""
        write_text_atomic(self.path / name, json.dumps(data, indent=1))

    def read_json(self, name: str) -> Any:
        """The JSON file ``name`` of the folder."""
        return json.loads((self.path / name).read_text())

    def append_eval(self, row: dict[str, Any]) -> None:
        """Append one evaluation to ``eval.csv``."""
        append_csv_row(self.path / "eval.csv", row)

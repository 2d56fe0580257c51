"""Helpers every layer of partialstem uses: atomic file writes and coverage parsing.

- :func:`atomic_write` writes a file so that a reader (or a run killed half-way) sees either
  the old file or the whole new one, never a torn one: the data go to a temporary file in the
  same folder, are flushed and fsynced, renamed over the target, and the folder is fsynced so
  the rename itself survives a crash.
- :func:`parse_coverage` reads a coverage written as a number (``0.05``) or as a fraction
  (``"1/20"``), the way the papers write it; :func:`coverage_label` writes it back.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import InputError

__all__ = ["atomic_write", "coverage_label", "parse_coverage", "write_text_atomic"]


def _fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse it
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, encoding: str | None = None, newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on a clean exit, put it in place.

    Args:
        path: the file to write (its folder is created).
        mode: ``"wb"`` (binary, the default) or ``"w"`` (text).
        encoding, newline: for text mode, as :func:`open`.

    The file is flushed and fsynced, renamed over ``path`` and the folder fsynced. On an
    exception the temporary file is removed and ``path`` is left as it was. The new file gets
    the usual permissions (``0o666`` less the umask), not ``mkstemp``'s private ones.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_write(p, "w") as fh:
    ...     _ = fh.write("hello")
    >>> p.read_text()
    'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)  # reopened by name: writers that look at ``fh.name`` (tifffile) see a path
    try:
        with open(tmp, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def parse_coverage(value: Any) -> float:
    """A coverage in (0, 1] written as a number (``0.05``) or a string (``"0.05"``, ``"1/20"``).

    >>> parse_coverage("1/20"), parse_coverage(0.1)
    (0.05, 0.1)

    Raises:
        InputError: for anything else (the message does not name the caller's parameter; add
            it where the value came from).
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, str) and "/" in value:
            num, den = value.split("/", 1)
            cov = float(num) / float(den)
        else:
            cov = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise InputError(f'a coverage must look like 0.05 or "1/20", got {value!r}') from None
    if not (0 < cov <= 1) or math.isnan(cov):
        raise InputError(f"a coverage must be in (0, 1], got {value!r}")
    return cov


def coverage_label(cov: float) -> str:
    """``1/20``-style label of a coverage (one decimal where 1/cov is not near a whole number).

    >>> coverage_label(0.05), coverage_label(1 / 17.9)
    ('1/20', '1/17.9')
    """
    inv = 1 / cov
    return f"1/{inv:.0f}" if abs(inv - round(inv)) < 0.05 else f"1/{inv:.1f}"

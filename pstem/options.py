"""Command-line options made from configuration dataclasses, and the small argument types.

A command that runs a configurable job (``train-gan``, ``train-rl``, ``eval ...``) lists its
flags as :class:`Option` rows, each naming a field of the job's config dataclass (dotted for a
nested one, ``env.size``). The flag's type comes from the field's annotation, its help text
from the ``Attributes`` section of the dataclass's docstring and its default from the config's
default instance, so the library owns every default and the command line only names them.
Flags that are not given leave the default alone; a :class:`~scanpaths.errors.ConfigError`
raised by the config is printed with the flag instead of the field.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from scanpaths.common import parse_coverage
from scanpaths.errors import ConfigError, InputError

__all__ = [
    "OneLineParser",
    "Option",
    "add_image_options",
    "add_options",
    "config_from",
    "coverage",
    "field_docs",
    "figure_file",
    "flag_message",
    "frame",
    "out_file",
    "pixel_size",
    "prepare",
    "seed",
    "suffixed",
]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``pstem COMMAND: error: ...``, exit 2),
    pointing to ``--help`` instead of printing the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --------------------------------------------------------------------------- argument types
def coverage(text: str) -> float:
    """argparse type of a coverage written as 0.05 or 1/20."""
    try:
        return parse_coverage(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str, what: str) -> int:
    """An integer >= 0 parsed from ``text``, or argparse's error naming ``what`` it is."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{what} must be >= 0, got {value}")
    return value


def seed(text: str) -> int:
    """argparse type of a seed: an integer >= 0."""
    return _count(text, "a seed")


def frame(text: str) -> int:
    """argparse type of a frame index: an integer >= 0."""
    return _count(text, "a frame")


#: Suffixes a figure can be written as.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def figure_file(text: str) -> Path:
    """argparse type of a figure file: .png, .pdf or .svg, not a folder."""
    p = out_file(text)
    if p.suffix.lower() not in FIGURE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text}: a figure is written as {', '.join(FIGURE_SUFFIXES)}")
    return p


def suffixed(*suffixes: str) -> Callable[[str], Path]:
    """argparse type of an output file that must end with one of ``suffixes`` (the name given
    is the name written, never a different one)."""

    def check(text: str) -> Path:
        p = out_file(text)
        if p.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text}: this output is written as {', '.join(suffixes)}")
        return p

    return check


def pixel_size(text: str) -> float:
    """argparse type of a pixel size in nm (a positive number)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a pixel size is a number of nm, got {text!r}") from None
    if not 1e-6 <= value <= 1e7:
        raise argparse.ArgumentTypeError(f"a pixel size must be a positive number of nm, got {text}")
    return value


def add_image_options(p: argparse.ArgumentParser, *, scaling: bool = True) -> None:
    """``--frame``, ``--pixel-size`` and (with ``scaling``) ``--scaling``: how an image file is
    read (:func:`scanpaths.io.read_image`)."""
    from scanpaths.io import SCALINGS

    p.add_argument("--frame", type=frame, help="which image of a file that holds several (stack, detectors)")
    p.add_argument(
        "--pixel-size", type=pixel_size, metavar="NM", help="pixel size in nm (default: the file's, if it has one)"
    )
    if not scaling:
        return
    p.add_argument(
        "--scaling",
        choices=SCALINGS,
        default="auto",
        help="intensity scaling to [0, 1]: auto (8-bit /255, [0, 1] as is, else 0.1-99.9 percentiles), "
        "percentile, minmax, none (refuse values outside [0, 1])",
    )


def out_file(text: str) -> Path:
    """argparse type of an output file (not a folder)."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    return p


def prepare(out: Path) -> None:
    """Create the folder an output file goes to (one-line error when that is impossible)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for {out}: {exc.strerror}") from None


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class Option:
    """One flag of a config field.

    Attributes:
        field: the field, dotted for nested configs (``env.size``).
        flags: the flag and its aliases (``("-o", "--out")``).
        type: argparse type (default: from the field's annotation).
        to_field: turns the parsed value into the field's value (e.g. degrees to radians).
        shown: turns the field's default into what the help shows (e.g. radians to degrees).
        help: help text (default: the field's docstring).
        choices: allowed values.
        metavar: argparse metavar.
        negate: for a bool field: the flag sets it to False (``--no-lattice``).
    """

    field: str
    flags: tuple[str, ...]
    type: Callable[[str], Any] | None = None
    to_field: Callable[[Any], Any] | None = None
    shown: Callable[[Any], Any] | None = None
    help: str | None = None
    choices: Sequence[Any] | None = None
    metavar: str | None = None
    negate: bool = False

    @property
    def dest(self) -> str:
        return "cfg__" + self.field.replace(".", "__")


def field_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` section of a dataclass's docstring: field name -> one-paragraph text."""
    doc = typing.cast(str, cls.__doc__ or "")
    out: dict[str, str] = {}
    inside, name = False, None
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        m = re.match(r"^\s{4,8}(\w+): (.*)$", line)
        if m and len(line) - len(line.lstrip()) <= 8:
            name = m.group(1)
            out[name] = m.group(2).strip()
        elif line.strip() and name is not None and len(line) - len(line.lstrip()) > 8:
            out[name] += " " + line.strip()
        elif not line.strip():
            continue
        else:
            break
    return out


def _walk(config: Any, dotted: str) -> tuple[type, str, Any]:
    """(the dataclass owning the field, the field's name, its value in ``config``)."""
    *head, last = dotted.split(".")
    obj = config
    for part in head:
        obj = getattr(obj, part)
    return type(obj), last, getattr(obj, last)


def _field_type(cls: type, name: str) -> Any:
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else str
    return hint


def add_options(parser: argparse.ArgumentParser, defaults: Any, options: Sequence[Option]) -> None:
    """Add one argparse argument per option, typed, documented and defaulted from ``defaults``."""
    for opt in options:
        cls, name, default = _walk(defaults, opt.field)
        hint = _field_type(cls, name)
        text = (opt.help or field_docs(cls).get(name, "")).rstrip(".")
        shown = opt.shown(default) if opt.shown is not None and default is not None else default
        kw: dict[str, Any] = {"dest": opt.dest, "default": argparse.SUPPRESS}
        if hint is bool:
            kw["action"] = "store_false" if opt.negate else "store_true"
        else:
            kind = opt.type
            if typing.get_origin(hint) is tuple:
                kw["nargs"] = "+"
                kind = kind or typing.get_args(hint)[0]
                if isinstance(shown, tuple):
                    shown = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in shown)
            kw["type"] = kind or (hint if hint in (int, float, str) else str)
            if shown is not None:
                text += f" (default {shown:g})" if isinstance(shown, float) else f" (default {shown})"
        if opt.choices is not None:
            kw["choices"] = list(opt.choices)
        if hint is not bool and opt.choices is None:
            kw["metavar"] = opt.metavar or opt.flags[-1].lstrip("-").upper().replace("-", "_")
        parser.add_argument(*opt.flags, help=text.replace("%", "%%"), **kw)


def _set(config: Any, dotted: str, value: Any) -> Any:
    head, _, rest = dotted.partition(".")
    if not rest:
        return dataclasses.replace(config, **{head: value})
    return dataclasses.replace(config, **{head: _set(getattr(config, head), rest, value)})


def config_from(args: argparse.Namespace, defaults: Any, options: Sequence[Option]) -> Any:
    """``defaults`` with every option given on the command line applied."""
    config = defaults
    for opt in options:
        if hasattr(args, opt.dest):
            value = getattr(args, opt.dest)
            if isinstance(value, list):
                value = tuple(value)
            if opt.to_field is not None:
                value = opt.to_field(value)
            config = _set(config, opt.field, value)
    return config


def flag_message(exc: ConfigError, options: Sequence[Option]) -> str:
    """The error of a config field, with the field named by its flag where it has one."""
    for opt in options:
        if opt.field == exc.field:
            return f"{opt.flags[-1]} {exc.detail}"
    return str(exc)

"""The ``pstem`` entry point: the command table, the top-level parser and error handling.

Every subcommand validates its input first; a bad value prints one line ``pstem: error: ...``
on stderr (no traceback) and exits with status 2.

A command's module (and the layers it needs: torch, SB3) is imported only when that command
runs, so ``pstem --help`` and the light commands start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from scanpaths.errors import ConfigError, InputError

from .options import OneLineParser, flag_message

__all__ = ["COMMANDS", "build_parser", "main", "parse"]

#: Every subcommand: name -> (the module that adds it, one line of help).
COMMANDS: dict[str, tuple[str, str]] = {
    "paths": ("pstem.scan", "draw every scan path: commanded vs actual beam, mask, partial scan (PNG)"),
    "specimens": ("pstem.scan", "draw a gallery of synthetic specimens with their planted defects"),
    "simulate": ("pstem.scan", "simulate a partial scan of an image file or a synthetic specimen (.npz)"),
    "presets": ("pstem.scan", "list the microscope physics presets and the numbers behind them"),
    "components": ("pstem.components", "list every path kind, preset, completer and scan strategy by name"),
    "complete": (
        "pstem.complete",
        "complete a partial scan (default auto; --uncertainty: its 90 percent map too; TIFF out)",
    ),
    "train-gan": ("pstem.train", "train the completion generator (MSE, then adversarial); CUDA and torchrun aware"),
    "train-rl": ("pstem.train", "train an agent that picks each next scan segment or line (SB3 PPO, SAC, search)"),
    "bench": ("pstem.bench", "run a benchmark suite (paths x coverages x presets x completers): table and plots"),
    "plot": ("pstem.bench", "redraw a bench run's summary and plots from its results.csv"),
    "eval": ("pstem.evaluate", "the figures of the issues: pstem eval completion, real, rl"),
    "data": (
        "pstem.data",
        "fetch the real frames and sample microscope files into a cache; export the PRISM share",
    ),
    "speed": ("pstem.evaluate", "time the Numba kernels against their twins (prints ratios)"),
}

EPILOG = """\
examples:
  pstem paths --size 512 --coverage 0.05 -o paths.png   every path kind, commanded vs actual
  pstem specimens -n 8 -o specimens.png                 the synthetic specimen mix
  pstem simulate my_image.tif --path spiral --coverage 0.05 -o scan.npz
  pstem simulate --synthetic 512 --path lissajous --coverage 0.02 --dose 10 -o scan.npz --png scan.png
  pstem complete --demo -o demo.png                     complete a built-in specimen, draw a panel
  pstem complete scan.npz -o completed.tif              complete a partial scan (auto: the validated blend)
  pstem complete scan.npz --uncertainty -o c.tif        ... and write its uncertainty map, c_uncertainty.tif
  pstem train-gan --out runs/gan                        train the completion generator
  pstem presets                                         the microscope presets and their numbers
  pstem train-rl --out runs/rl --steps 100000           train an adaptive-scan agent (PPO)
  pstem bench                                           the quick benchmark suite -> bench-quick/
  pstem bench --suite paper --out bench-paper           Ede & Beanland's grid, with and without physics
  pstem plot bench-quick                                redraw summary and plots from results.csv
  pstem eval completion --n 8                           the completion figures (benchmarks/results/)
  pstem eval rl --n 32                                  the adaptive-scan figures
  pstem data fetch && pstem eval real                   completion on real experimental frames
  pstem speed                                           speed of the Numba kernels (ratios)

coverage is the fraction of pixels scanned: 0.05 = 1/20. Run 'pstem COMMAND --help' for more.
"""


def _version() -> str:
    try:
        return metadata.version("partialstem")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The ``pstem`` parser with the arguments of ``command`` filled in (``"*"``: every
    command's; None: none, enough for ``pstem --help``)."""
    parser = OneLineParser(
        prog="pstem",
        description="partialstem: simulate partial and adaptive STEM scans, complete them, benchmark them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action="version", version=f"pstem {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        if command in ("*", name):
            # deferred on purpose: a command's module imports its heavy layers (torch, SB3)
            importlib.import_module(module).configure(name, p)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first argument that is not an option)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed (argparse exits with status 2 on a malformed command line)."""
    return build_parser(_command_of(argv)).parse_args(list(argv))


def config_of(argv: Sequence[str]) -> Any:
    """The configuration a config-driven command (``train-gan``, ``train-rl``, ``eval ...``)
    would run with, resolved, without running it."""
    args = parse(argv)
    return args.build(args).resolved()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pstem``; return the exit status (0 ok, 2 bad input, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    args.argv = argv
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    if args.command is None:
        build_parser(None).print_help()
        return 2
    if not hasattr(args, "func"):  # a command group without its subcommand: its help
        with contextlib.suppress(SystemExit):
            parse([args.command, "--help"])
        return 2
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"pstem: error: {flag_message(exc, getattr(args, 'options', ()))}", file=sys.stderr)
        return 2
    except InputError as exc:
        print(f"pstem: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

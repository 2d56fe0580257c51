"""``pstem eval completion``, ``pstem eval real``, ``pstem eval rl`` and ``pstem speed``: the
figures the issues name.

Each writes its Markdown (and a CSV where it has one) under ``benchmarks/results/`` by default
and prints it; the options are the fields of :class:`benchmarks.eval_completion.CompletionFigures`,
:class:`benchmarks.eval_real.RealFigures` and :class:`benchmarks.eval_rl.RLFigures`.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from typing import Any

from benchmarks import eval_adaptive, eval_completion, eval_real, eval_rl
from benchmarks.eval_adaptive import decision_report
from benchmarks.eval_completion import size_cost_report
from benchmarks.eval_rl import env_speed_report
from completion.registry import COMPLETERS
from scanpaths import REGISTERS
from scanpaths.speed import speed_report

from .options import Option, add_options, config_from, coverage

__all__ = ["ADAPTIVE_OPTIONS", "COMPLETION_OPTIONS", "REAL_OPTIONS", "RL_OPTIONS", "configure"]

COMPLETION_OPTIONS: tuple[Option, ...] = (
    Option("n", ("--n",)),
    Option("size", ("--size",)),
    Option("models", ("--models",)),
    Option("kinds", ("--kinds",)),
    Option("quick", ("--quick",)),
    Option("out", ("--out",)),
    Option("csv", ("--csv",)),
    Option("threads", ("--threads",)),
)
REAL_OPTIONS: tuple[Option, ...] = (
    Option("data", ("--data",)),
    Option("simulations", ("--simulations",)),
    Option("n_sim", ("--n-sim",)),
    Option("size", ("--size",)),
    Option("paths", ("--paths",)),
    Option("coverages", ("--coverages",), type=coverage),
    Option("presets", ("--presets",)),
    Option("models", ("--models",)),
    Option("out", ("--out",)),
    Option("csv", ("--csv",)),
    Option("threads", ("--threads",)),
)
ADAPTIVE_OPTIONS: tuple[Option, ...] = (
    Option("n", ("--n",)),
    Option("size", ("--size",)),
    Option("classes", ("--classes",)),
    Option("coverages", ("--coverages",), type=coverage),
    Option("fixed", ("--fixed",)),
    Option("strategies", ("--strategies",)),
    Option("completers", ("--completers",)),
    Option("dose", ("--dose",)),
    Option("preset", ("--preset",)),
    Option("register", ("--register",), choices=REGISTERS),
    Option("data", ("--data",)),
    Option("out", ("--out",)),
    Option("csv", ("--csv",)),
    Option("threads", ("--threads",)),
)
RL_OPTIONS: tuple[Option, ...] = (
    Option("policy", ("--policy",)),
    Option("n", ("--n",)),
    Option("coverages", ("--coverages",), type=coverage),
    Option("completers", ("--completers",)),
    Option("out", ("--out",)),
)


def _command(args: argparse.Namespace) -> str:
    """The command line that asked for the figures, for their header."""
    return shlex.join(["pstem", *getattr(args, "argv", ["eval", args.figures])])


#: Each figure: (name, its module, its config class, its options, one line of help).
FIGURES: tuple[tuple[str, Any, type, tuple[Option, ...], str], ...] = (
    (
        "completion",
        eval_completion,
        eval_completion.CompletionFigures,
        COMPLETION_OPTIONS,
        "completion figures: the generator vs every classical fill, every path kind and coverage",
    ),
    (
        "real",
        eval_real,
        eval_real.RealFigures,
        REAL_OPTIONS,
        "completion on real frames: the generator vs each image's best classical fill (after pstem data fetch)",
    ),
    (
        "adaptive",
        eval_adaptive,
        eval_adaptive.AdaptiveFigures,
        ADAPTIVE_OPTIONS,
        "adaptive strategies vs the best fixed path per specimen class, at equal scan time and dose",
    ),
    (
        "rl",
        eval_rl,
        eval_rl.RLFigures,
        RL_OPTIONS,
        "adaptive-scan figures: a learned path vs fixed paths at equal scan time",
    ),
)


def _figures(module: Any, cls: type, options: tuple[Option, ...]) -> Callable[[argparse.Namespace], int]:
    """The command of one figure: its config from the flags, ``module.run``, the files it wrote."""

    def command(args: argparse.Namespace) -> int:
        cfg = config_from(args, cls(), options)
        print(module.run(cfg, _command(args)))
        print("wrote " + " and ".join(str(getattr(cfg, k)) for k in ("out", "csv") if hasattr(cfg, k)))
        return 0

    return command


def _speed(args: argparse.Namespace) -> int:
    if args.decisions:
        sizes = (256, 512, 1024) if args.quick else (256, 512, 1024, 2048, 4096)
        print(decision_report(sizes=sizes, n=2 if args.quick else 4))
        return 0
    if args.completion:
        sizes = (512, 1024) if args.quick else (512, 2048, 4096)
        print(size_cost_report(sizes=sizes))
        return 0
    print(speed_report(quick=args.quick))
    if args.env:
        print()
        print(env_speed_report(steps=800 if args.quick else 4000))
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add ``eval completion`` and ``eval rl`` under ``pstem eval``, or the arguments of ``pstem speed``."""
    if name == "speed":
        _configure_speed(p)
        return
    sub = p.add_subparsers(dest="figures", metavar="FIGURES")
    for figure, module, cls, options, help_text in FIGURES:
        description = (module.__doc__ or "").split("\n\n")[0]
        if figure == "completion":
            description += f" Completers: {', '.join(COMPLETERS.choices())}."
        q = sub.add_parser(figure, help=help_text, description=description)
        add_options(q, cls(), options)
        q.set_defaults(
            func=_figures(module, cls, options),
            build=lambda a, cls=cls, options=options: config_from(a, cls(), options),
            options=options,
        )


def _configure_speed(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Time the scan simulator's Numba kernels against plain Python/NumPy and scipy.signal.lfilter, and a "
        "full 2048x2048 typical-physics scan at 1/20 coverage, on one core."
    )
    p.add_argument("--quick", action="store_true", help="smaller inputs (a few seconds)")
    p.add_argument(
        "--env",
        action="store_true",
        help="also the adaptive-scan environments' steps/s at 1, 4, 16 and 64 x the default budget "
        "(an episode's cost is linear in its ticks when the ratios stay near 1)",
    )
    p.add_argument(
        "--completion",
        action="store_true",
        help="instead: the cost per pixel of completing 2048 and 4096 px images against 512 px (gan-mse, auto; "
        "a few minutes)",
    )
    p.add_argument(
        "--decisions",
        action="store_true",
        help="instead: survey-fast's decision time against the time the beam takes to scan a line, at 256 to "
        "4096 px (about a minute)",
    )
    p.set_defaults(func=_speed)

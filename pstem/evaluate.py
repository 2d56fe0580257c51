"""``pstem eval completion``, ``pstem eval rl`` and ``pstem speed``: the figures the issues name.

Each writes its Markdown (and the completion figures a CSV) under ``benchmarks/results/`` by
default and prints it; the options are the fields of
:class:`benchmarks.eval_completion.CompletionFigures` and :class:`benchmarks.eval_rl.RLFigures`.
"""

from __future__ import annotations

import argparse
import shlex

from benchmarks import eval_completion, eval_real, eval_rl
from benchmarks.eval_rl import env_speed_report
from completion.registry import COMPLETERS
from scanpaths.speed import speed_report

from .options import Option, add_options, config_from, coverage

__all__ = ["COMPLETION_OPTIONS", "REAL_OPTIONS", "RL_OPTIONS", "configure"]

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


def _completion(args: argparse.Namespace) -> int:
    cfg = config_from(args, eval_completion.CompletionFigures(), COMPLETION_OPTIONS)
    print(eval_completion.run(cfg, _command(args)))
    print(f"wrote {cfg.out} and {cfg.csv}")
    return 0


def _real(args: argparse.Namespace) -> int:
    cfg = config_from(args, eval_real.RealFigures(), REAL_OPTIONS)
    print(eval_real.run(cfg, _command(args)))
    print(f"wrote {cfg.out} and {cfg.csv}")
    return 0


def _rl(args: argparse.Namespace) -> int:
    cfg = config_from(args, eval_rl.RLFigures(), RL_OPTIONS)
    print(eval_rl.run(cfg, _command(args)))
    print(f"wrote {cfg.out}")
    return 0


def _speed(args: argparse.Namespace) -> int:
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
    c = sub.add_parser(
        "completion",
        help="completion figures: the generator vs every classical fill, every path kind and coverage",
        description=(eval_completion.__doc__ or "").split("\n\n")[0]
        + f" Completers: {', '.join(COMPLETERS.choices())}.",
    )
    add_options(c, eval_completion.CompletionFigures(), COMPLETION_OPTIONS)
    c.set_defaults(
        func=_completion,
        build=lambda a: config_from(a, eval_completion.CompletionFigures(), COMPLETION_OPTIONS),
        options=COMPLETION_OPTIONS,
    )
    real = sub.add_parser(
        "real",
        help="completion on real frames: the generator vs each image's best classical fill (after pstem data fetch)",
        description=(eval_real.__doc__ or "").split("\n\n")[0],
    )
    add_options(real, eval_real.RealFigures(), REAL_OPTIONS)
    real.set_defaults(
        func=_real, build=lambda a: config_from(a, eval_real.RealFigures(), REAL_OPTIONS), options=REAL_OPTIONS
    )
    r = sub.add_parser(
        "rl",
        help="adaptive-scan figures: a learned path vs fixed paths at equal scan time",
        description=(eval_rl.__doc__ or "").split("\n\n")[0],
    )
    add_options(r, eval_rl.RLFigures(), RL_OPTIONS)
    r.set_defaults(func=_rl, build=lambda a: config_from(a, eval_rl.RLFigures(), RL_OPTIONS), options=RL_OPTIONS)


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
    p.set_defaults(func=_speed)

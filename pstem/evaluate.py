"""``pstem eval completion`` and ``pstem eval rl``: the figures the issues name.

Each writes its Markdown (and the completion figures a CSV) under ``benchmarks/results/`` by
default and prints it; the options are the fields of
:class:`benchmarks.eval_completion.CompletionFigures` and :class:`benchmarks.eval_rl.RLFigures`.
"""

from __future__ import annotations

import argparse
import shlex

from benchmarks import eval_completion, eval_rl
from completion.registry import COMPLETERS

from .options import Option, add_options, config_from, coverage

__all__ = ["COMPLETION_OPTIONS", "RL_OPTIONS", "configure"]

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


def _rl(args: argparse.Namespace) -> int:
    cfg = config_from(args, eval_rl.RLFigures(), RL_OPTIONS)
    print(eval_rl.run(cfg, _command(args)))
    print(f"wrote {cfg.out}")
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add ``eval completion`` and ``eval rl`` under ``pstem eval``."""
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
    r = sub.add_parser(
        "rl",
        help="adaptive-scan figures: a learned path vs fixed paths at equal scan time",
        description=(eval_rl.__doc__ or "").split("\n\n")[0],
    )
    add_options(r, eval_rl.RLFigures(), RL_OPTIONS)
    r.set_defaults(func=_rl, build=lambda a: config_from(a, eval_rl.RLFigures(), RL_OPTIONS), options=RL_OPTIONS)

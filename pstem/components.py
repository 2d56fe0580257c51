"""``pstem components``: every registered path kind, preset, completer and scan strategy.

The lists come from the registries (:data:`scanpaths.PATH_KINDS`, :data:`scanpaths.PRESETS`,
:data:`completion.COMPLETERS`, :func:`scanpaths.strategy_names`); ``--markdown`` prints the
tables the README carries (a test keeps the README's copy equal to them).
"""

from __future__ import annotations

import argparse

import rl  # noqa: F401 - registers the ``learned`` scan strategies
import scanpaths
from completion.registry import COMPLETERS

__all__ = ["components_markdown", "configure"]


def _rows() -> list[tuple[str, list[tuple[str, str]]]]:
    strategies = [(name, scanpaths.STRATEGIES.help(name)) for name in scanpaths.STRATEGIES.choices()]
    return [
        ("path kinds (`make_path`, `--path`, suites)", scanpaths.PATH_KINDS.table()),
        ("presets (`--preset`, suites)", scanpaths.PRESETS.table()),
        ("completers (`get_completer`, `--model`, suites)", COMPLETERS.table()),
        ("adaptive scan strategies (suites' paths, beside every path kind)", strategies),
    ]


def components_markdown() -> str:
    """The registries as Markdown tables."""
    lines: list[str] = []
    for title, rows in _rows():
        lines += [f"| {title} | what it is |", "|---|---|"]
        lines += [f"| `{name}` | {text} |" for name, text in rows]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _components(args: argparse.Namespace) -> int:
    if args.markdown:
        print(components_markdown(), end="")
        return 0
    for title, rows in _rows():
        print(title)
        width = max(len(name) for name, _ in rows)
        for name, text in rows:
            print(f"  {name:<{width}}  {text}")
        print()
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``pstem components`` to its subparser ``p``."""
    p.description = (
        "List every registered path kind, physics preset, completer and adaptive scan strategy with one line "
        "on each (what the CLI, suites and Python accept)."
    )
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (as the README carries them)")
    p.set_defaults(func=_components)

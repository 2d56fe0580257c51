"""The completers by name: the one list that the CLI, suites, figures and agents read.

``COMPLETERS`` maps a name to a :class:`CompleterKind`: the classical fills of
:mod:`completion.baselines`, the shipped generators ``gan-mse`` and ``gan-gan``, and any
generator checkpoint file (a name ending in ``.pt`` or holding a path separator). Register your
own completer with :func:`register_completer`; ``pstem complete --model``, suite files and
``get_completer`` all accept it at once.

>>> c = get_completer("harmonic")
>>> type(c).__name__
'HarmonicCompleter'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from scanpaths.registry import Registry

from .adapt import AdaptedCompleter
from .base import Completer
from .baselines import BASELINES, HarmonicCompleter, LatticeCompleter
from .consistency import AUTO_RESIDUAL, AUTO_RIDGE, KEEP_RESIDUAL, KEEP_RIDGE
from .neural import load_checkpoint, load_default
from .selection import AUTO_EVIDENCE_Z, ValidatedChoice

__all__ = ["COMPLETERS", "CompleterKind", "get_completer", "register_completer"]


@dataclass(frozen=True)
class CompleterKind:
    """A registered completer.

    Attributes:
        family: ``classical`` (no learned weights, CPU) or ``neural``.
        make: ``make(arg, device, precision) -> Completer``; ``arg`` is the file of a
            checkpoint name, None for a plain name.
    """

    family: str
    make: Callable[[str | None, str, str], Completer]


#: Every completer name (and the ``FILE.pt`` form).
COMPLETERS: Registry[CompleterKind] = Registry("completer")


def register_completer(
    name: str, make: Callable[[str | None, str, str], Completer], *, family: str = "classical", help: str = ""
) -> CompleterKind:
    """Add a completer under ``name`` (``make(arg, device, precision)`` builds it)."""
    return COMPLETERS.register(name, CompleterKind(family, make), help=help)


for _name, _cls in BASELINES.items():
    register_completer(_name, lambda arg, device, precision, cls=_cls: cls(), help=_cls.summary)
register_completer(
    "gan-mse",
    lambda arg, device, precision: load_default("mse", device=device, precision=precision),
    family="neural",
    help="the shipped generator, trained on MSE on synthetic specimens (the fast one)",
)
register_completer(
    "gan-gan",
    lambda arg, device, precision: load_default("gan", device=device, precision=precision),
    family="neural",
    help="the shipped generator, adversarially fine-tuned (sharper texture)",
)
register_completer(
    "gan-prism",
    lambda arg, device, precision: load_default("prism", device=device, precision=precision),
    family="neural",
    help="gan-mse fine-tuned on physics-true PRISM simulations beside the synthetic specimens, and on scans "
    "with tiles cut out (as auto holds them out)",
)


register_completer(
    "gan-adapt",
    lambda arg, device, precision: AdaptedCompleter(load_default("prism", device=device, precision=precision)),
    family="neural",
    help=AdaptedCompleter.summary,
)


def _auto(
    device: str,
    precision: str,
    column_ridge: float = AUTO_RIDGE,
    residual: float | str = AUTO_RESIDUAL,
    adapt: bool = False,
) -> ValidatedChoice:
    generator = load_default("prism", device=device, precision=precision)
    name = "gan-adapt" if adapt else "gan-prism"
    choice = ValidatedChoice(
        {
            name: AdaptedCompleter(generator) if adapt else generator,
            # tiled as the generator is, so that both use each tile's sparse-spectrum fill once
            "lattice": LatticeCompleter(tiles=(generator.tile, generator.overlap)),
            "harmonic-binned": HarmonicCompleter(binning=2),
        },
        column_ridge=column_ridge,
        on_lines=(name, "harmonic-binned"),
        residual=residual,
        evidence=True,
        guide="lattice",
        evidence_z=AUTO_EVIDENCE_Z,
    )
    if adapt:
        choice.name = "auto-adapt"
    return choice


register_completer(
    "auto",
    lambda arg, device, precision: _auto(device, precision),
    family="neural",
    help=ValidatedChoice.summary,
)
register_completer(
    "auto-keep",
    lambda arg, device, precision: _auto(device, precision, column_ridge=KEEP_RIDGE, residual=KEEP_RESIDUAL),
    family="neural",
    help="auto, corrected harder to the samples (column ridge 0.03, auto 0.3; residual weight 0.25, auto 1): "
    "touched vacancies and substitutions kept more often, at some MSE",
)
register_completer(
    "auto-adapt",
    lambda arg, device, precision: _auto(device, precision, adapt=True),
    family="neural",
    help="auto with gan-adapt in place of gan-prism: the generator tuned on each scan first (slower: about 7 s "
    "per 512 px scan on 2 CPU cores)",
)
COMPLETERS.register_pattern(
    "FILE.pt",
    lambda name: name.endswith(".pt") or os.sep in name,
    CompleterKind("neural", lambda arg, device, precision: load_checkpoint(arg, device=device, precision=precision)),
    help="a generator file written by pstem train-gan (generator_*.pt or last.pt)",
)


def get_completer(name: str, device: str = "auto", precision: str = "auto") -> Completer:
    """A completer by name (see :data:`COMPLETERS`); ``device`` and ``precision`` apply to
    generators (see :class:`completion.neural.NeuralCompleter`)."""
    found = COMPLETERS.resolve(name)
    return found.value.make(found.arg, device, precision)

"""Image completion: fill in what a partial scan did not see.

>>> from completion import load_default, baselines
>>> gen = load_default()                        # shipped weights, CUDA when available
>>> image = gen.complete(values, mask)          # (H, W) float32 [0, 1], (H, W) bool -> (H, W)
>>> linear = baselines.get_baseline("linear").complete(values, mask)

Modules, from the bottom up: :mod:`~completion.fills` and :mod:`~completion.lattice` (classical
fills on tensors), :mod:`~completion.baselines` (the classical completers),
:mod:`~completion.model` (the networks), :mod:`~completion.neural` (the generator as a
completer, checkpoint files), :mod:`~completion.registry` (completers by name),
:mod:`~completion.metrics` (scores and intervals), :mod:`~completion.device`,
:mod:`~completion.data` and :mod:`~completion.train` (training).
"""

from __future__ import annotations

from . import baselines
from .base import Completer, check_inputs
from .neural import DEFAULT_MODELS, NeuralCompleter, load_checkpoint, load_default
from .registry import COMPLETERS, get_completer, register_completer

__all__ = [
    "COMPLETERS",
    "DEFAULT_MODELS",
    "Completer",
    "NeuralCompleter",
    "baselines",
    "check_inputs",
    "get_completer",
    "load_checkpoint",
    "load_default",
    "register_completer",
]

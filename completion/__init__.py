"""Image completion: fill in what a partial scan did not see.

>>> from completion import load_default, baselines
>>> gen = load_default()                        # shipped weights, CUDA when available
>>> image = gen.complete(values, mask)          # (H, W) float32 [0, 1], (H, W) bool -> (H, W)
>>> linear = baselines.get_baseline("linear").complete(values, mask)
"""

from __future__ import annotations

from . import baselines
from .base import Completer, check_inputs
from .neural import DEFAULT_MODELS, NeuralCompleter, load_checkpoint, load_default

__all__ = [
    "DEFAULT_MODELS",
    "Completer",
    "NeuralCompleter",
    "baselines",
    "check_inputs",
    "get_completer",
    "load_checkpoint",
    "load_default",
]


def get_completer(name: str, device: str = "auto", precision: str = "auto") -> Completer:
    """A completer by name: a baseline (``nearest``, ``linear``, ``harmonic``, ``tv``), a shipped
    generator (``gan-mse``, ``gan-gan``, or ``mse``/``gan``), or a path to a checkpoint file.
    ``device`` and ``precision`` apply to generators (see :class:`NeuralCompleter`)."""
    import os

    if name in baselines.BASELINES:
        return baselines.get_baseline(name)
    short = name.removeprefix("gan-")
    if short in DEFAULT_MODELS:
        return load_default(short, device=device, precision=precision)
    if os.path.sep in name or name.endswith(".pt"):
        return load_checkpoint(name, device=device, precision=precision)
    from scanpaths.errors import InputError

    choices = [*baselines.BASELINES, "gan-mse", "gan-gan", "PATH.pt"]
    raise InputError(f"completer must be one of {', '.join(choices)}; got {name!r}")

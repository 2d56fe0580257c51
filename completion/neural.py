"""The neural completer: loading checkpoints safely and running the generator on any size.

Checkpoint files are read with ``torch.load(..., weights_only=True)``: they hold tensors,
numbers and strings only and can never run code. A missing, truncated or foreign file gives a
one-line :class:`~scanpaths.errors.InputError`.
"""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scanpaths.common import atomic_write
from scanpaths.errors import InputError

from .base import Completer, check_inputs
from .device import pick_device, pick_precision
from .model import Generator
from .tiles import GENERATOR_OVERLAP, GENERATOR_TILE, tiled

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODELS",
    "NeuralCompleter",
    "atomic_save",
    "export_generator",
    "load_checkpoint",
    "load_default",
]

CKPT_FORMAT = "partialstem-completion-training-v1"
GENERATOR_FORMAT = "partialstem-completion-generator-v1"

#: Shipped generators: ``mse`` (lowest error) and ``gan`` (adversarially fine-tuned texture).
DEFAULT_MODELS: dict[str, str] = {"mse": "generator_mse.pt", "gan": "generator_gan.pt", "prism": "generator_prism.pt"}


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to ``path`` atomically (:func:`scanpaths.common.atomic_write`)."""
    with atomic_write(path) as fh:
        torch.save(obj, fh)


def _load(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such checkpoint file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, foreign pickle, code objects refused...
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{p}: not a readable partialstem checkpoint (truncated, corrupt or foreign: {msg[:120]})"
        ) from None
    if not isinstance(obj, dict) or obj.get("format") not in (CKPT_FORMAT, GENERATOR_FORMAT):
        raise InputError(f"{p}: not a partialstem completion checkpoint (no known 'format' entry)")
    return obj


def load_training_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A training checkpoint (``last.pt``) as a dict; see :mod:`completion.train`."""
    obj = _load(path)
    if obj["format"] != CKPT_FORMAT:
        raise InputError(f"{path}: a generator export, not a training checkpoint; resuming needs last.pt")
    return obj


def export_generator(
    generator: Generator, path: str | os.PathLike[str], meta: dict[str, Any], half: bool = True
) -> None:
    """Write a generator-only file (weights in float16 when ``half``, to keep it small)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in generator.state_dict().items()}
    atomic_save(
        {
            "format": GENERATOR_FORMAT,
            "generator_config": dict(generator.config),
            "generator": state,
            "meta": json.dumps(meta),
        },
        path,
    )


class NeuralCompleter(Completer):
    """The generator as a :class:`~completion.base.Completer`.

    Images larger than ``tile`` px on a side are completed in overlapping tiles (``overlap``
    px, blended with linear ramps; :func:`completion.tiles.tiled`), so memory stays bounded for images up
    to 8192 px and the cost per pixel stays near that of a 512 px image (the generator costs
    more per pixel on larger inputs; 640 px tiles with 32 px overlaps measured best, with the
    same MSE as 1024 px ones on 2048 px crystals). A progress bar shows on a terminal.

    Args:
        generator: a :class:`~completion.model.Generator`.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
        name: the name benchmarks show.
        tile, overlap: tiling, px.
        meta: what the checkpoint says about its training.
        precision: the convolutions' compute precision (:data:`completion.device.PRECISIONS`). ``auto`` runs
            them in bfloat16 where the hardware does that natively (about 2x faster on such
            a CPU; the completions move by ~1e-7 in MSE, see ``MODEL_CARD.md``); the
            classical fills the output is built on always stay float32.
    """

    def __init__(
        self,
        generator: Generator,
        device: str | torch.device | None = "auto",
        name: str = "gan",
        tile: int = GENERATOR_TILE,
        overlap: int = GENERATOR_OVERLAP,
        meta: dict[str, Any] | None = None,
        precision: str = "auto",
    ) -> None:
        if overlap * 2 >= tile:
            raise InputError(f"overlap ({overlap}) must be less than half the tile ({tile})")
        self.device = pick_device(device)
        self.dtype = pick_precision(precision, self.device)
        self.generator = generator.to(self.device).eval()
        if self.device.type == "cpu":  # oneDNN's convolutions are fastest channels-last
            self.generator = self.generator.to(memory_format=torch.channels_last)
        self.name = name
        self.tile = tile
        self.overlap = overlap
        self.meta = meta or {}

    def __repr__(self) -> str:
        return (
            f"NeuralCompleter(name={self.name!r}, device={self.device}, "
            f"dtype={str(self.dtype).removeprefix('torch.')}, params={self.generator.n_params})"
        )

    @torch.no_grad()
    def _run(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(N, H, W) float32/bool -> (N, H, W) float32, one forward pass."""
        v = torch.from_numpy(values[:, None]).to(self.device)
        m = torch.from_numpy(mask[:, None].astype(np.float32)).to(self.device)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            out, _ = self.generator(v, m)
        return out.clamp(0, 1).cpu().numpy()[:, 0]

    def _tiled(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return tiled(self._run, values, mask, self.tile, self.overlap, desc=f"{self.name}: tiles")

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._tiled(values[None], mask[None])[0]

    def complete_batch(
        self, values: Any, mask: Any, *, return_uncertainty: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Complete a batch (N, H, W) in one pass per tile (all True masks return the values);
        ``return_uncertainty`` as :meth:`Completer.complete_batch` (one image at a time)."""
        if return_uncertainty:
            return super().complete_batch(values, mask, return_uncertainty=True)
        v, m = check_inputs(values, mask, batch=True)
        out = self._tiled(v, m)
        full = m.reshape(len(m), -1).all(axis=1)
        out[full] = v[full]
        return out


def load_checkpoint(
    path: str | os.PathLike[str],
    device: str | torch.device | None = "auto",
    name: str | None = None,
    precision: str = "auto",
) -> NeuralCompleter:
    """Load a generator export (``generator_*.pt``) or a training checkpoint (``last.pt``).

    ``precision``: see :class:`NeuralCompleter`.
    """
    obj = _load(path)
    try:
        # files from before the lattice input say nothing of it: they are lattice=False
        gen = Generator(**{"lattice": False, **obj["generator_config"]})
        state = {k: v.float() if v.is_floating_point() else v for k, v in obj["generator"].items()}
        gen.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(f"{path}: checkpoint does not match the generator ({type(exc).__name__})") from None
    meta = json.loads(obj["meta"]) if "meta" in obj else {"stage": "training", "step": obj.get("step")}
    return NeuralCompleter(gen, device=device, name=name or Path(path).stem, meta=meta, precision=precision)


def load_default(
    kind: str = "mse", device: str | torch.device | None = "auto", precision: str = "auto"
) -> NeuralCompleter:
    """A shipped generator: ``"mse"`` (trained on synthetic specimens, lowest error there; the
    default), ``"gan"`` (the same, adversarially fine-tuned: sharper texture) or ``"prism"``
    (``"mse"`` fine-tuned on physics-true PRISM simulations beside the synthetic specimens, and
    on scans with tiles cut out, as ``auto``'s validated choice holds them out).

    The completer names work too (``"gan-mse"``, ``"gan-gan"``, ``"gan-prism"``, as on the
    command line). ``precision``: see :class:`NeuralCompleter`.
    """
    kind = kind.removeprefix("gan-") if isinstance(kind, str) and kind.startswith("gan-") else kind
    if kind not in DEFAULT_MODELS:
        raise InputError(f"kind must be one of {', '.join(DEFAULT_MODELS)}; got {kind!r}")
    ref = resources.files("completion") / "weights" / DEFAULT_MODELS[kind]
    with resources.as_file(ref) as p:
        if not p.is_file():
            raise InputError(f"the shipped {kind} weights are missing from the installation ({p})")
        return load_checkpoint(p, device=device, name=f"gan-{kind}", precision=precision)

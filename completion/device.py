"""Where and how precisely torch runs: the device, the compute precision and CPU threads.

One helper per concern, used by the completer, the completion trainer and the RL trainer:

- :func:`pick_device`: ``auto`` is CUDA where there is a GPU (the ``local_rank``-th one under
  ``torchrun``), else the CPU; ``cuda`` without a GPU is an error, not a silent CPU run.
- :func:`pick_precision`: ``auto`` is bfloat16 where the hardware computes it natively (a CPU
  with AVX512-BF16 or AMX, a CUDA GPU with bf16), float32 elsewhere.
- :func:`set_threads`: torch's CPU threads (0: every core).
"""

from __future__ import annotations

import os

import torch

from scanpaths.errors import InputError

__all__ = ["DEVICES", "PRECISIONS", "pick_device", "pick_precision", "set_threads"]

#: What a ``device`` setting may say (``cuda:N`` picks the N-th GPU).
DEVICES = ("auto", "cpu", "cuda", "cuda:N")
#: Compute precisions of the generator's convolutions.
PRECISIONS = ("auto", "float32", "bfloat16")


def pick_device(device: str | torch.device | None = "auto", local_rank: int = 0) -> torch.device:
    """The torch device of a ``device`` setting (see the module docstring).

    Args:
        device: ``auto``/None, ``cpu``, ``cuda`` or ``cuda:N`` (or a ``torch.device``).
        local_rank: this process's rank on its machine under ``torchrun``; ``auto`` and
            ``cuda`` then use GPU ``local_rank`` modulo the number of GPUs.

    Raises:
        InputError: for another name, or a GPU asked for where there is none.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return torch.device("cpu")
    head, _, index = device.partition(":")
    if head != "cuda" or (index and not index.isdigit()):
        raise InputError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if not torch.cuda.is_available():
        raise InputError(f"device {device} asked for, but CUDA is not available on this machine")
    n = torch.cuda.device_count()
    k = int(index) if index else local_rank % n
    if k >= n:
        raise InputError(f"device {device}: this machine has {n} GPU(s)")
    return torch.device("cuda", k)


def pick_precision(precision: str, device: torch.device) -> torch.dtype:
    """The compute dtype of the generator's convolutions for ``precision`` on ``device``."""
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type == "cpu":
        native = (
            getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
        )
        return torch.bfloat16 if native else torch.float32
    return torch.float32  # pragma: no cover - other device types


def set_threads(threads: int) -> int:
    """Set torch's CPU threads: ``threads`` if > 0, else every core; returns the number set."""
    n = threads if threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(n)
    return n

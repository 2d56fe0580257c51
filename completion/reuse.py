"""Compute a classical fill once when several completers ask for it on the same scan.

The default completer (``auto``, :mod:`completion.selection`) asks its candidates to complete
the same scan twice (held-out tiles, then everything); ``gan-prism`` computes the
sparse-spectrum fill and the lattice fill of each as its inputs, and the ``lattice`` candidate
computes the very same two. Inside :func:`reuse_fills`, :func:`memoized` keeps each result
under a digest of its exact inputs and hands out copies, so the second request costs a hash.
Outside the block nothing is kept. Only CPU tensors without gradients are kept, at most
:data:`MAX_BYTES` in all (oldest dropped first): the numbers are the same bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

import torch

__all__ = ["MAX_BYTES", "memoized", "reuse_fills"]

#: The most a block keeps, bytes (a 512 px float32 image is 1 MiB).
MAX_BYTES = 256 * 2**20

_state = threading.local()


@contextlib.contextmanager
def reuse_fills() -> Iterator[None]:
    """Within the block (nested blocks share the outer one's store), :func:`memoized` results
    are kept and reused in this thread."""
    outer = getattr(_state, "store", None)
    if outer is None:
        _state.store = OrderedDict()
    try:
        yield
    finally:
        if outer is None:
            _state.store = None


def _digest(tensors: tuple[torch.Tensor, ...]) -> bytes | None:
    h = hashlib.blake2b(digest_size=20)
    for t in tensors:
        if t.device.type != "cpu" or t.requires_grad:
            return None
        a = t.detach().contiguous()
        h.update(f"{tuple(a.shape)}{a.dtype}".encode())
        h.update(a.view(torch.uint8).numpy() if a.dtype != torch.bool else a.numpy())
    return h.digest()


def memoized(
    name: str,
    compute: Callable[[], torch.Tensor],
    inputs: tuple[torch.Tensor, ...] | Callable[[], tuple[torch.Tensor, ...]],
    extra: Hashable = (),
) -> torch.Tensor:
    """``compute()``, or a copy of what it gave for the same ``name``, ``inputs`` (compared by
    a digest of their bytes, shapes and dtypes) and ``extra`` within :func:`reuse_fills`.
    ``inputs`` may be a function that makes them: outside the block it is never called."""
    store: OrderedDict[Hashable, torch.Tensor] | None = getattr(_state, "store", None)
    if store is None:
        return compute()
    digest = _digest(inputs() if callable(inputs) else inputs)
    if digest is None:
        return compute()
    key = (name, digest, extra)
    if key in store:
        store.move_to_end(key)
        return store[key].clone()
    out = compute()
    store[key] = out.clone()
    while len(store) > 1 and sum(v.element_size() * v.numel() for v in store.values()) > MAX_BYTES:
        store.popitem(last=False)
    return out

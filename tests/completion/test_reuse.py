"""Fills computed once per scan inside reuse_fills: the same numbers, copies handed out."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import completion.fills as fills
import completion.reuse as reuse
import completion.selection as selection
import scanpaths
from completion.fills import pull_push, sparse_spectrum_fill
from completion.registry import get_completer


def _counting() -> tuple[list[int], object]:
    calls = [0]

    def compute() -> torch.Tensor:
        calls[0] += 1
        return torch.arange(6.0).reshape(1, 1, 2, 3)

    return calls, compute


def test_memoized_keeps_results_only_inside_the_block_and_hands_out_copies() -> None:
    a, b = torch.ones(1, 1, 2, 3), torch.zeros(1, 1, 2, 3)
    calls, compute = _counting()
    reuse.memoized("f", compute, (a,))
    reuse.memoized("f", compute, (a,))
    assert calls[0] == 2  # outside the block: computed every time
    with reuse.reuse_fills():
        first = reuse.memoized("f", compute, (a,))
        first += 100  # the caller's copy, not the kept one
        again = reuse.memoized("f", compute, (a.clone(),))  # equal bytes: a hit
        assert calls[0] == 3 and torch.equal(again, torch.arange(6.0).reshape(1, 1, 2, 3))
        reuse.memoized("f", compute, (b,))  # other inputs
        reuse.memoized("f", compute, (a,), extra=("iterations", 2))  # other settings
        reuse.memoized("g", compute, (a,))  # another fill
        reuse.memoized("f", compute, (a.double(),))  # another dtype
        with reuse.reuse_fills():  # nested: the same store
            reuse.memoized("f", compute, (a,))
        assert calls[0] == 7
        reuse.memoized("f", compute, (a.requires_grad_(),))  # never kept: it has a gradient
        reuse.memoized("f", compute, (a,))
        assert calls[0] == 9
    reuse.memoized("f", compute, (torch.ones(1, 1, 2, 3),))
    assert calls[0] == 10  # the block's store is gone
    made = [0]

    def inputs() -> tuple[torch.Tensor, ...]:
        made[0] += 1
        return (torch.full((2,), 5.0),)  # not ``a``: it has a gradient by now

    reuse.memoized("f", compute, inputs)
    assert made[0] == 0  # outside the block the inputs are never made
    with reuse.reuse_fills():
        reuse.memoized("f", compute, inputs)
        reuse.memoized("f", compute, inputs)
    assert made[0] == 2 and calls[0] == 12


def test_the_store_drops_the_oldest_past_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reuse, "MAX_BYTES", 2 * 6 * 4)  # two results of 6 float32
    calls, compute = _counting()
    with reuse.reuse_fills():
        for i in range(3):
            reuse.memoized("f", compute, (torch.full((2,), float(i)),))
        reuse.memoized("f", compute, (torch.full((2,), 2.0),))  # the newest: kept
        assert calls[0] == 3
        reuse.memoized("f", compute, (torch.full((2,), 0.0),))  # the oldest: dropped
        assert calls[0] == 4


def test_sparse_fill_of_masked_or_raw_values_is_one_computation() -> None:
    rng = np.random.default_rng(0)
    v = torch.from_numpy(rng.random((1, 1, 64, 64), dtype=np.float32))
    m = torch.from_numpy((rng.random((1, 1, 64, 64)) < 0.2).astype(np.float32))
    fill, _ = pull_push(v, m)
    plain = sparse_spectrum_fill(v * m, m, fill, 8)
    with reuse.reuse_fills():
        a = sparse_spectrum_fill(v * m, m, fill, 8)
        b = sparse_spectrum_fill(v, m, fill, 8)  # unseen values differ, the result cannot
    assert torch.equal(a, plain) and torch.equal(b, plain)


def test_auto_gives_the_same_numbers_with_and_without_sharing(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = scanpaths.specimens.generate((128, 128), seed=3, scene="crystal")
    scan = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (128, 128), coverage=0.1), "ideal", seed=0)
    v, m = np.clip(scan.values, 0, 1), scan.mask
    computed = [0]
    inner = fills._sparse_spectrum_fill

    def counted(*args: object) -> torch.Tensor:
        computed[0] += 1
        return inner(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fills, "_sparse_spectrum_fill", counted)
    shared = get_completer("auto").complete(v, m, return_uncertainty=True)
    n_shared, computed[0] = computed[0], 0
    monkeypatch.setattr(selection, "reuse_fills", contextlib.nullcontext)
    alone = get_completer("auto").complete(v, m, return_uncertainty=True)
    assert n_shared < computed[0]  # fills were shared
    assert np.array_equal(shared[0], alone[0]) and np.array_equal(shared[1], alone[1])

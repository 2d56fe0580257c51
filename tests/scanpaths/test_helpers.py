"""The helpers every layer shares: registries, seed ranges, atomic writes, coverage parsing."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

import scanpaths
from scanpaths import InputError, seeds
from scanpaths.common import atomic_write, coverage_label, parse_coverage, write_text_atomic
from scanpaths.registry import Registry


def test_seed_ranges_are_disjoint_and_ordered() -> None:
    for a, b in itertools.pairwise(seeds.RANGES):
        assert a.stop <= b.start, (a.name, b.name)
    for a, b in itertools.combinations(seeds.RANGES, 2):
        assert a.stop <= b.start or b.stop <= a.start
    assert seeds.BENCHMARK.seed(0) == 0 and seeds.VALIDATION.seeds(2) == [900_000, 900_001]
    assert 950_000 in seeds.EVALUATION and 949_999 not in seeds.EVALUATION
    with pytest.raises(InputError, match="outside"):
        seeds.VALIDATION.seed(len(seeds.VALIDATION))
    with pytest.raises(InputError, match="benchmark"):
        seeds.BENCHMARK.check(899_999, 2, "[images]")


def test_registry_names_patterns_and_messages() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("a", 1, help="first")
    reg.register_prefix("file", 2, arg="PATH", help="from a file")
    reg.register_pattern("NAME.w", lambda s: s.endswith(".w"), 3, help="a .w file")
    assert list(reg) == ["a"] and reg["a"] == 1 and "file" not in reg
    assert reg.choices() == ["a", "file:PATH", "NAME.w"]
    r = reg.resolve("file:x/y")
    assert (r.value, r.arg) == (2, "x/y")
    assert reg.resolve("z.w").arg == "z.w" and reg.help("NAME.w") == "a .w file"
    with pytest.raises(InputError, match=r"widget must be one of a, file:PATH, NAME.w; got 'b'"):
        reg.resolve("b")
    with pytest.raises(ValueError, match="registered already"):
        reg.register("a", 5)
    reg.register("a", 5, replace=True)
    assert reg["a"] == 5
    reg.unregister("a")
    assert len(reg) == 0


def test_coverage_parsing_is_one_helper() -> None:
    assert parse_coverage("1/20") == 0.05 and parse_coverage(" 0.1") == 0.1 and parse_coverage(1) == 1.0
    for bad in ("abc", "1/0", "0", "2", float("nan"), True, None):
        with pytest.raises(InputError, match="coverage"):
            parse_coverage(bad)
    assert coverage_label(1 / 87) == "1/87" and coverage_label(1 / 27.3) == "1/27.3"


def test_atomic_write_leaves_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    with atomic_write(target) as fh:
        fh.write(b"one")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write(b"two")
        raise RuntimeError("killed half-way")
    assert target.read_bytes() == b"one"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.bin"]  # no temporary left
    write_text_atomic(target, "three")
    assert target.read_text() == "three"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_seeds_are_checked_at_the_public_edge() -> None:
    calls = [
        lambda s: scanpaths.specimens.generate((32, 32), seed=s),
        lambda s: scanpaths.make_path("spiral", (32, 32), coverage=0.1, seed=s),
        lambda s: scanpaths.sample_path("random", (32, 32), 0.1, s),
        lambda s: scanpaths.simulate(np.zeros((32, 32)), scanpaths.make_path("raster", (32, 32), coverage=0.2), seed=s),
    ]
    for call in calls:
        for bad, msg in ((-1, "must be >= 0"), (1.5, "must be an integer"), (True, "must be an integer")):
            with pytest.raises(InputError, match=msg):
                call(bad)
        call(np.int64(3))  # NumPy integers and generators are seeds too
        call(np.random.default_rng(0))

"""Specimen seed ranges: which synthetic specimens each kind of work may draw.

A synthetic specimen is a pure function of its seed (:func:`scanpaths.specimens.generate`), so
keeping held-out data held out means keeping seed ranges apart. Every range lives here, they
are disjoint (``tests/scanpaths/test_seeds.py`` checks it), and code asks a range for its seeds
instead of adding its own offsets:

======================  ============================  ================================================
range                   seeds                          used by
======================  ============================  ================================================
``BENCHMARK``           0 - 899,999                    benchmark suites, ``pstem eval`` figures
``VALIDATION``          900,000 - 949,999              the completion trainer's validation set
``EVALUATION``          950,000 - 999,999              RL evaluations during training
``COMPLETION_TRAIN``    10,000,000 - 19,999,999        completion training pairs
``RL_TRAIN``            20,000,000 - 29,999,999        RL training episodes and search labels
======================  ============================  ================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError

__all__ = ["BENCHMARK", "COMPLETION_TRAIN", "EVALUATION", "RANGES", "RL_TRAIN", "VALIDATION", "SeedRange"]


@dataclass(frozen=True)
class SeedRange:
    """The specimen seeds ``[start, stop)`` kept for one purpose."""

    name: str
    start: int
    stop: int
    purpose: str

    def __len__(self) -> int:
        return self.stop - self.start

    def __contains__(self, seed: object) -> bool:
        return isinstance(seed, int) and self.start <= seed < self.stop

    def seed(self, index: int) -> int:
        """The ``index``-th seed of the range (``InputError`` past its end)."""
        if not 0 <= index < len(self):
            raise InputError(f"seed index {index} is outside the {self.name} range ({len(self)} seeds)")
        return self.start + index

    def seeds(self, n: int, first: int = 0) -> list[int]:
        """``n`` consecutive seeds starting at index ``first``."""
        if n < 0 or first < 0 or first + n > len(self):
            raise InputError(f"{n} seeds from index {first} do not fit the {self.name} range ({len(self)} seeds)")
        return list(range(self.start + first, self.start + first + n))

    def check(self, first: int, n: int, what: str) -> None:
        """Raise unless the seeds ``first .. first + n - 1`` all lie in this range."""
        if n < 1 or first < self.start or first + n > self.stop:
            raise InputError(
                f"{what}: seeds {first}..{first + n - 1} must lie in {self.start:,}..{self.stop - 1:,} "
                f"({self.purpose}); other seeds belong to training or validation"
            )


BENCHMARK = SeedRange("benchmark", 0, 900_000, "held-out specimens of benchmark suites and figures")
VALIDATION = SeedRange("validation", 900_000, 950_000, "the completion trainer's validation set")
EVALUATION = SeedRange("evaluation", 950_000, 1_000_000, "RL evaluations during training")
COMPLETION_TRAIN = SeedRange("completion-train", 10_000_000, 20_000_000, "completion training pairs")
RL_TRAIN = SeedRange("rl-train", 20_000_000, 30_000_000, "RL training episodes and search labels")

#: Every range, in seed order.
RANGES: tuple[SeedRange, ...] = (BENCHMARK, VALIDATION, EVALUATION, COMPLETION_TRAIN, RL_TRAIN)

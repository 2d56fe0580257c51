"""Published numbers printed beside ours, in one place.

A suite names one with ``[[reference]] published = "NAME"``; ``pstem eval completion`` prints
Ede & Beanland's beside its anchor table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EDE_BEANLAND_2020", "PUBLISHED", "Reference"]


@dataclass(frozen=True)
class Reference:
    """Published numbers to print beside ours (``metric`` at each target coverage)."""

    label: str
    metric: str
    path: str
    coverages: tuple[float, ...]
    values: tuple[float, ...]


#: Ede & Beanland (2020), Sci. Rep. 10, 8332: their generators (one per coverage) on their real
#: HAADF test set, spiral scans, RMS error against the truth blurred by a 5x5 Gaussian of sigma
#: 2.5 px, at coverages 1/N for these N.
EDE_BEANLAND_2020_INVERSE_COVERAGES: tuple[float, ...] = (17.9, 27.3, 38.2, 50.0, 60.5, 73.7, 87.0)
EDE_BEANLAND_2020 = Reference(
    label="Ede & Beanland (2020), spiral, real test set",
    metric="rmse_blur",
    path="spiral",
    coverages=tuple(1 / n for n in EDE_BEANLAND_2020_INVERSE_COVERAGES),
    values=(0.038, 0.041, 0.045, 0.049, 0.053, 0.056, 0.062),
)

#: Every published reference by name.
PUBLISHED: dict[str, Reference] = {"ede-beanland-2020": EDE_BEANLAND_2020}

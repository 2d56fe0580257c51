"""The validated choice: per image, the candidate that best predicts held-out tiles of the scan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scanpaths
from completion.base import Completer
from completion.baselines import HarmonicCompleter, NearestCompleter
from completion.selection import ValidatedChoice
from scanpaths import InputError


class _Flat(Completer):
    """A poor candidate: the mean of the samples everywhere."""

    name = "flat"

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.full(values.shape, values[mask].mean(), dtype=np.float32)
        out[mask] = values[mask]
        return out


def _scan(size: int = 96, coverage: float = 0.1) -> scanpaths.PartialScan:
    spec = scanpaths.specimens.generate((size, size), seed=2, scene="amorphous")
    return scanpaths.simulate(
        spec.image, scanpaths.make_path("spiral", (size, size), coverage=coverage), preset="ideal"
    )


def test_it_chooses_the_candidate_that_predicts_held_out_samples_best() -> None:
    scan = _scan()
    auto = ValidatedChoice(
        {"flat": _Flat(), "harmonic": HarmonicCompleter(), "nearest": NearestCompleter()},
        blend=False,
        consistency=False,
    )
    out = auto.complete(scan.values, scan.mask)
    choice = auto.last_choice
    assert choice is not None and choice.chosen == "harmonic" and choice.held_out > 16
    assert choice.errors["harmonic"] < choice.errors["flat"]
    np.testing.assert_array_equal(out, HarmonicCompleter().complete(scan.values, scan.mask))
    again = ValidatedChoice(dict(auto.candidates), blend=False, consistency=False)
    again.complete(scan.values, scan.mask)
    assert again.last_choice == choice  # the held-out tiles come from the seed
    held = auto.held_out(scan.mask)
    assert held.any() and not (held & ~scan.mask).any() and held.sum() < 0.3 * scan.mask.sum()


def test_blends_and_smoothings_of_noisy_fills_are_chosen_on_held_out_samples() -> None:
    spec = scanpaths.specimens.generate((128, 128), seed=2, scene="amorphous")
    path = scanpaths.make_path("spiral", (128, 128), coverage=0.1)
    scan = scanpaths.simulate(spec.image, path, preset="ideal", dose=3.0, seed=0)  # very noisy samples
    cands = {"harmonic": HarmonicCompleter(), "nearest": NearestCompleter()}
    auto = ValidatedChoice(cands, consistency=False)
    out = auto.complete(scan.values, scan.mask)
    choice = auto.last_choice
    assert choice is not None and choice.error <= min(choice.errors.values())
    assert any(sigma > 0 for _, _, sigma in choice.recipe.parts)  # noise is smoothed away
    full = {n: c.complete(scan.values, scan.mask) for n, c in cands.items()}
    np.testing.assert_array_equal(out, choice.recipe.apply(full))
    assert choice.chosen == str(choice.recipe)
    plain = HarmonicCompleter().complete(scan.values, scan.mask)
    assert np.mean((out - spec.clean) ** 2) < np.mean((plain - spec.clean) ** 2)
    assert len(auto.recipes()) > len(ValidatedChoice(cands, blend=False).recipes()) == 2


def test_on_line_scans_only_the_named_candidates_take_part() -> None:
    spec = scanpaths.specimens.generate((96, 96), seed=2, scene="amorphous")
    cands = {"flat": _Flat(), "harmonic": HarmonicCompleter(), "nearest": NearestCompleter()}
    auto = ValidatedChoice(cands, consistency=False, on_lines=("flat", "nearest"))
    lines = scanpaths.simulate(spec.image, scanpaths.make_path("raster", (96, 96), coverage=0.2), preset="ideal")
    auto.complete(lines.values, lines.mask)
    assert auto.last_choice is not None and {n for n, _, _ in auto.last_choice.recipe.parts} <= {"flat", "nearest"}
    assert set(auto.last_choice.errors) == {"flat", "nearest"}  # the others were not even computed
    spiral = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (96, 96), coverage=0.2), preset="ideal")
    auto.complete(spiral.values, spiral.mask)  # not a line scan: every candidate
    assert auto.last_choice is not None and "harmonic" in auto.last_choice.chosen
    with pytest.raises(InputError, match="on_lines"):
        ValidatedChoice(cands, on_lines=("bicubic",))


def test_too_few_samples_take_the_first_candidate_and_bad_settings_are_refused() -> None:
    mask = np.zeros((32, 32), bool)
    mask[3, 4] = mask[20, 9] = True
    values = np.where(mask, 0.5, 0.0).astype(np.float32)
    auto = ValidatedChoice({"nearest": NearestCompleter(), "flat": _Flat()})
    auto.complete(values, mask)
    assert auto.last_choice is not None and auto.last_choice.chosen == "nearest" and auto.last_choice.held_out == 0
    with pytest.raises(InputError):
        ValidatedChoice({})
    with pytest.raises(InputError, match="holdout"):
        ValidatedChoice({"nearest": NearestCompleter()}, holdout=1.5)


def test_pstem_complete_says_what_it_chose(tmp_path: Path, cli: Callable[..., Any]) -> None:
    scan = tmp_path / "scan.npz"
    assert cli("simulate", "--synthetic", "64", "--coverage", "0.1", "-o", scan).code == 0
    run = cli("complete", scan, "--model", "auto", "--device", "cpu", "-o", tmp_path / "c.tif")
    assert run.code == 0 and "with auto" in run.out and "chose " in run.out and "held-out samples" in run.out
    assert "column correction:" in run.out
    run = cli("complete", scan, "--model", "auto", "--uncertainty", "-o", tmp_path / "c.tif")
    assert run.code == 0 and (tmp_path / "c_uncertainty.tif").is_file() and "90 % interval" in run.out


class _Counting(Completer):
    """A candidate that paints a fixed image (whatever the samples) and counts its calls."""

    name = "painter"

    def __init__(self, image: np.ndarray) -> None:
        self.image = image.astype(np.float32)
        self.calls: list[int] = []

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.calls.append(int(mask.sum()))
        return self.image.copy()


def test_the_guide_lends_its_columns_from_the_held_out_scan() -> None:
    """A guide candidate the recipe does not use is completed once, on the held-out scan, and
    its columns join the correction's where the result has none; on line scans that leave it
    out, there is no guide."""
    spec = scanpaths.specimens.generate((128, 128), seed=4, scene="crystal")
    faint = 0.4 + 0.2 * spec.clean  # every column in place, at a fifth of the contrast
    painter = _Counting(faint)
    auto = ValidatedChoice(
        {"harmonic": HarmonicCompleter(), "painter": painter},
        column_ridge=0.3,
        evidence=True,
        guide="painter",
        on_lines=("harmonic",),
    )
    scan = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (128, 128), coverage=0.1), preset="ideal")
    auto.complete(scan.values, scan.mask)
    assert auto.last_choice is not None and "painter" not in auto.last_choice.chosen
    assert painter.calls == [int((scan.mask & ~auto.held_out(scan.mask)).sum())]  # the held-out scan only
    assert auto.last_setting is not None and auto.last_setting.guided > 0
    lines = scanpaths.simulate(spec.image, scanpaths.make_path("raster", (128, 128), coverage=0.2), preset="ideal")
    auto.complete(lines.values, lines.mask)
    assert len(painter.calls) == 1  # not a candidate on lines, and no guide there
    assert auto.last_setting is None or auto.last_setting.guided == 0
    with pytest.raises(InputError, match="guide must be one of"):
        ValidatedChoice({"harmonic": HarmonicCompleter()}, guide="lattice")


def test_a_recipe_replaces_the_first_candidate_only_on_enough_evidence() -> None:
    from completion.selection import _paired_z

    held = np.zeros((32, 32), bool)
    held[:16, :16] = held[16:, 16:] = True  # two tiles of 16 px
    assert _paired_z(np.full(held.sum(), 0.1), held, 16) == np.inf  # better everywhere, by the same
    assert _paired_z(np.r_[np.full(256, 1.0), np.full(256, -1.0)], held, 16) == 0.0  # as much worse as better
    assert _paired_z(np.full(held[:16].sum(), 0.1), held[:16], 16) == 0.0  # one tile: no evidence either way
    scan = _scan(coverage=0.15)
    cands = {"nearest": NearestCompleter(), "harmonic": HarmonicCompleter()}
    plain = ValidatedChoice(cands, blend=False, consistency=False)
    plain.complete(scan.values, scan.mask)
    assert plain.last_choice is not None and plain.last_choice.chosen == "harmonic"
    # the evidence for harmonic over nearest, tile by tile, as the choice measures it
    held = plain.held_out(scan.mask)
    train = scan.mask & ~held
    sq = {
        n: (c.complete(np.where(train, scan.values, 0), train)[held] - scan.values[held]) ** 2 for n, c in cands.items()
    }
    z = _paired_z(sq["nearest"] - sq["harmonic"], held, plain.tile)
    assert 0 < z < 9
    for threshold, chosen in ((0.9 * z, "harmonic"), (1.1 * z, "nearest")):
        auto = ValidatedChoice(cands, blend=False, consistency=False, evidence_z=threshold)
        auto.complete(scan.values, scan.mask)
        assert auto.last_choice is not None and auto.last_choice.chosen == chosen
    with pytest.raises(InputError, match="evidence_z"):
        ValidatedChoice(cands, evidence_z=-1)

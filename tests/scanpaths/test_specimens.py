"""Synthetic specimens: every scene renders, is seeded, and its annotations match the image."""

from __future__ import annotations

import numpy as np
import pytest

from scanpaths import InputError, specimens


@pytest.mark.parametrize("scene", list(specimens.SCENES))
def test_every_scene_renders_in_range_with_consistent_annotations(scene: str) -> None:
    spec = specimens.generate((160, 200), seed=11, scene=scene)
    assert spec.scene == scene
    for img in (spec.image, spec.clean):
        assert img.shape == (160, 200) and img.dtype == np.float32
        assert img.min() >= 0 and img.max() <= 1 and np.isfinite(img).all()
        assert img.std() > 0.01  # not blank
    assert spec.columns.shape[1] == 2 and len(spec.columns) == len(spec.column_z)
    assert len(spec.defect_positions) == len(spec.defect_kinds)
    assert set(spec.defect_kinds) <= set(specimens.DEFECT_KINDS)
    if scene == "low-mag":
        assert len(spec.columns) == 0
    else:
        assert len(spec.columns) > 10
        inside = (spec.columns >= -0.5).all(1) & (spec.columns[:, 0] < 199.5) & (spec.columns[:, 1] < 159.5)
        assert inside.all()


def test_same_seed_same_specimen_and_other_seed_differs() -> None:
    a = specimens.generate((96, 96), seed=3)
    b = specimens.generate((96, 96), seed=3)
    c = specimens.generate((96, 96), seed=4)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.defect_positions, b.defect_positions)
    assert not np.array_equal(a.image, c.image)


def test_the_mix_covers_every_scene() -> None:
    scenes = {specimens.generate((48, 48), seed=s).scene for s in range(80)}
    assert scenes == set(specimens.SCENES)


def test_columns_are_bright_and_vacancies_are_dark() -> None:
    spec = specimens.generate((256, 256), seed=2, scene="crystal", spacing=16, defect_fraction=0.05)
    clean = spec.clean
    cols = np.round(spec.columns).astype(int)
    vac = np.round(spec.defect_positions[spec.defect_kinds == "vacancy"]).astype(int)
    assert len(vac) > 5
    at_cols = clean[cols[:, 1], cols[:, 0]]
    at_vac = clean[vac[:, 1], vac[:, 0]]
    assert np.median(at_cols) > 1.5 * np.median(at_vac)
    assert np.median(at_cols) > 1.5 * np.median(clean)


def test_heavier_substitutions_are_brighter() -> None:
    spec = specimens.generate((256, 256), seed=9, scene="crystal", spacing=14, defect_fraction=0.05)
    sub = np.round(spec.defect_positions[spec.defect_kinds == "substitution"]).astype(int)
    assert len(sub) > 5
    # substituted columns differ from the median column of the lattice, up or down
    cols = np.round(spec.columns).astype(int)
    typical = np.median(spec.clean[cols[:, 1], cols[:, 0]])
    change = np.abs(spec.clean[sub[:, 1], sub[:, 0]] - typical) / typical
    assert np.median(change) > 0.1


def test_noise_free_option() -> None:
    spec = specimens.generate((64, 64), seed=1, noise=False)
    np.testing.assert_array_equal(spec.image, spec.clean)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"shape": (8, 64)}, "shape must be two integers in"),
        ({"scene": "moon"}, "scene must be one of"),
        ({"spacing": 2.0}, r"spacing must be in \[6, 40\]"),
        ({"defect_fraction": 0.9}, r"defect_fraction must be in \[0, 0.2\]"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    args = {"shape": (64, 64)} | kwargs
    with pytest.raises(InputError, match=match):
        specimens.generate(**args)

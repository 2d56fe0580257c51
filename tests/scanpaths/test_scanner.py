"""The streaming Scanner: one call is simulate(), chunks continue the physics, scan_time needs no image."""

from __future__ import annotations

import numpy as np
import pytest

import scanpaths
from scanpaths import InputError, Scanner, ScanPath, make_path, scan_time, simulate

FIELDS = ("values", "mask", "counts", "trajectory", "commanded", "blanked")


def _split(path: ScanPath, at: int) -> tuple[ScanPath, ScanPath]:
    """``path`` cut before sample ``at`` (which must not be a jump) into two ScanPaths."""
    assert at not in set(path.jumps.tolist())
    j = path.jumps
    head = ScanPath(path.kind, path.shape, path.positions[:at], path.blanked[:at], j[j < at], settle_px=path.settle_px)
    tail = ScanPath(
        path.kind, path.shape, path.positions[at:], path.blanked[at:], j[j > at] - at, settle_px=path.settle_px
    )
    return head, tail


@pytest.mark.parametrize("kind", ["spiral", "raster", "grid", "lissajous"])
@pytest.mark.parametrize("preset", ["typical", "slow-coils"])
@pytest.mark.parametrize("dose", [None, 50.0])
def test_chunks_with_a_known_next_chunk_give_the_numbers_of_one_call(
    kind: str, preset: str, dose: float | None
) -> None:
    spec = scanpaths.specimens.generate((96, 96), seed=4)
    path = make_path(kind, (96, 96), coverage=0.08, seed=2)
    whole = simulate(spec.image, path, preset=preset, dose=dose, seed=9)
    at = next(k for k in range(path.n_samples // 3, path.n_samples) if k not in set(path.jumps.tolist()))
    head, tail = _split(path, at)
    sc = Scanner(spec.image, preset, dose=dose, seed=9, ticks=len(whole.commanded))
    sc.scan(head, next_chunk=tail)
    sc.scan(tail, last=True)
    streamed = sc.partial_scan(path)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(streamed, f), getattr(whole, f), rtol=0, atol=1e-9, err_msg=f)
    assert streamed.time_s == pytest.approx(whole.time_s)
    assert streamed.dose_e == whole.dose_e


def test_the_coil_state_carries_over_chunk_boundaries() -> None:
    """A straight line cut into many small chunks: no restart transients at the cuts."""
    p = scanpaths.PRESETS["typical"]
    quiet = scanpaths.Preset(
        "quiet", "coils only", natural_freq_hz=p.natural_freq_hz, damping=p.damping, slew_fov_per_s=p.slew_fov_per_s
    )
    line = np.column_stack([np.linspace(0, 255, 2000), np.full(2000, 40.0)])
    one = Scanner(np.zeros((64, 256)), quiet, start=line[0])
    one.scan(line)
    many = Scanner(np.zeros((64, 256)), quiet, start=line[0])
    for k in range(0, 2000, 50):
        many.scan(line[k : k + 50], next_chunk=line[k + 50 : k + 100])
    np.testing.assert_allclose(many.partial_scan().trajectory, one.partial_scan().trajectory, atol=1e-9)


@pytest.mark.parametrize("kind", list(scanpaths.PATH_KINDS))
@pytest.mark.parametrize("preset", list(scanpaths.PRESETS))
def test_scan_time_needs_no_image_and_matches_a_simulation(kind: str, preset: str) -> None:
    path = scanpaths.sample_path(kind, (80, 64), 0.05, seed=1)
    assert scan_time(path, preset) == pytest.approx(simulate(np.zeros((80, 64)), path, preset=preset).time_s)


def test_a_copy_continues_independently() -> None:
    img = scanpaths.specimens.generate((64, 64), seed=1).image
    row = np.column_stack([np.arange(64.0), np.full(64, 10.0)])
    sc = Scanner(img, "typical", seed=3, ticks=200, start=row[0])
    sc.scan(row[:30], next_chunk=row[30:])
    fork = sc.copy()
    fork.scan(row[30:])
    assert sc.ticks == 30 and fork.ticks == 64
    assert sc.counts.sum() == 30 and fork.counts.sum() == 64
    sc.scan(row[30:])
    np.testing.assert_array_equal(sc.partial_scan().trajectory, fork.partial_scan().trajectory)


def test_jitter_drawn_up_front_does_not_depend_on_the_chunking() -> None:
    img = scanpaths.specimens.generate((64, 64), seed=1).image
    pts = np.column_stack([np.arange(200.0) % 64, np.full(200, 20.0)])
    a = Scanner(img, "typical", seed=5, ticks=200, feed_forward=False)
    b = Scanner(img, "typical", seed=5, ticks=200, feed_forward=False)
    a.scan(pts)
    for k in range(0, 200, 7):
        b.scan(pts[k : k + 7])
    np.testing.assert_allclose(a.partial_scan().trajectory, b.partial_scan().trajectory, atol=1e-9)


def test_bad_input_and_misuse() -> None:
    sc = Scanner(np.zeros((32, 32)), "ideal")
    with pytest.raises(InputError, match=r"\(n, 2\)"):
        sc.scan(np.zeros((5, 3)))
    with pytest.raises(InputError, match="NaN"):
        sc.scan(np.array([[0.0, np.nan]]))
    with pytest.raises(InputError, match="made for"):
        sc.scan(make_path("spiral", (16, 16), coverage=0.2))
    with pytest.raises(InputError, match="last chunk has no next"):
        sc.scan(np.zeros((2, 2)), next_chunk=np.zeros((2, 2)), last=True)
    with pytest.raises(RuntimeError, match="nothing has been scanned"):
        sc.partial_scan()
    sc.scan(np.zeros((3, 2)), last=True)
    with pytest.raises(RuntimeError, match="ended"):
        sc.scan(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="parked"):
        sc.park((1.0, 1.0))
    with pytest.raises(InputError, match="preset"):
        Scanner(np.zeros((8, 8)), "no-such-preset")


def test_presets_are_names_or_objects_everywhere() -> None:
    custom = scanpaths.Preset("mine", "a custom scan system", natural_freq_hz=20e3, slew_fov_per_s=1e5, settle_s=2e-6)
    path = make_path("raster", (48, 48), coverage=0.1)
    scan = simulate(np.zeros((48, 48)), path, preset=custom)
    assert scan.preset is custom and scan_time(path, custom) == pytest.approx(scan.time_s)
    assert scanpaths.get_strategy("raster").scan(np.zeros((48, 48)), coverage=0.1, preset=custom, seed=0).time_s > 0


def test_samples_filed_where_the_coil_model_puts_the_beam() -> None:
    """register="model": the coils' response to the drive without jitter and drift; the same as
    "actual" where the preset has neither, as "commanded" where the beam is ideal."""
    import dataclasses

    image = scanpaths.specimens.generate((64, 64), seed=1).clean
    path = scanpaths.make_path("lissajous", (64, 64), coverage=0.1)
    typical = scanpaths.get_preset("typical")
    coils_only = dataclasses.replace(
        typical, name="coils", jitter_lines=(), jitter_white_nm=0.0, drift_nm_per_s=0.0, drift_walk_nm=0.0
    )

    def counts(preset: object, register: str) -> np.ndarray:
        return scanpaths.simulate(image, path, preset=preset, seed=0, register=register).counts

    assert np.array_equal(counts(coils_only, "model"), counts(coils_only, "actual"))
    assert not np.array_equal(counts(typical, "model"), counts(typical, "actual"))  # jitter and drift
    assert not np.array_equal(counts(typical, "model"), counts(typical, "commanded"))  # the coils' lag
    assert np.array_equal(counts("ideal", "model"), counts("ideal", "commanded"))
    # the beam and its samples are the same whatever the filing
    a = scanpaths.simulate(image, path, preset=typical, seed=0, register="model")
    b = scanpaths.simulate(image, path, preset=typical, seed=0)
    assert np.array_equal(a.trajectory, b.trajectory) and a.values.sum() > 0
    with pytest.raises(InputError, match="register must be one of"):
        scanpaths.simulate(image, path, register="guess")


def test_a_system_that_misjudges_its_coils_leads_and_files_by_the_wrong_lag() -> None:
    """coil_belief: the feed-forward leads by the believed coils' lag, so at constant velocity
    the beam trails its command by (true lag - believed lag) x speed; filing by the model uses
    the believed coils too, so it no longer matches where the beam was."""
    import dataclasses

    typical = scanpaths.get_preset("typical")
    quiet = dataclasses.replace(typical, jitter_lines=(), jitter_white_nm=0.0, drift_nm_per_s=0.0, drift_walk_nm=0.0)
    off = dataclasses.replace(quiet, coil_belief=1.02)
    image = np.full((256, 256), 0.5)
    n = 231
    pos = np.column_stack([np.linspace(10.0, 240.0, n), np.full(n, 128.0)])  # 1 px per tick
    line = scanpaths.ScanPath("line", (256, 256), pos, np.zeros(n, bool), np.zeros(0, np.int64), {})
    exact = scanpaths.simulate(image, line, preset=quiet, seed=0)
    wrong = scanpaths.simulate(image, line, preset=off, seed=0)
    lag_error = (typical.lag_s - off.believed.lag_s) / typical.dwell_s  # px at 1 px per tick
    assert abs(float(np.mean(exact.trajectory[100:200, 0] - pos[100:200, 0]))) < 0.05
    trail = float(np.mean(wrong.trajectory[100:200, 0] - pos[100:200, 0]))
    assert trail == pytest.approx(-lag_error, rel=0.1)
    scene = scanpaths.specimens.generate((64, 64), seed=1).clean
    path = scanpaths.make_path("lissajous", (64, 64), coverage=0.1)

    def counts(preset: object, register: str) -> np.ndarray:
        return scanpaths.simulate(scene, path, preset=preset, seed=0, register=register).counts

    assert np.array_equal(counts(quiet, "model"), counts(quiet, "actual"))
    assert not np.array_equal(counts(off, "model"), counts(off, "actual"))
    assert scanpaths.get_preset("typical-mistuned").coil_belief == pytest.approx(1.02)
    with pytest.raises(InputError, match=r"coil_belief must be .* in \[0.5, 2\]"):
        dataclasses.replace(typical, coil_belief=3.0)

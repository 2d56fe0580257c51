"""The generator, its checkpoints and the neural completer (tiny models, CPU)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import scanpaths
from completion import NeuralCompleter, load_checkpoint, load_default
from completion.fills import pull_push, sparse_spectrum_fill
from completion.lattice import lattice_fill
from completion.model import Generator, MultiScaleDiscriminator
from completion.neural import export_generator
from scanpaths import InputError


def _tiny(seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    g = Generator(width=4)
    for p in g.parameters():  # non-trivial weights (the heads start at zero)
        torch.nn.init.normal_(p, std=0.05)
    return g


def _scan(size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    spec = scanpaths.specimens.generate((size, size), seed=seed)
    s = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (size, size), coverage=0.1), preset="ideal")
    return s.values, s.mask


def test_pull_push_keeps_samples_and_fills_everything() -> None:
    v = torch.zeros(1, 1, 37, 53)
    m = torch.zeros(1, 1, 37, 53)
    v[0, 0, 5, 7], m[0, 0, 5, 7] = 0.8, 1
    v[0, 0, 30, 40], m[0, 0, 30, 40] = 0.2, 1
    fill, level = pull_push(v, m)
    assert torch.isfinite(fill).all() and fill.min() >= 0.2 - 1e-6 and fill.max() <= 0.8 + 1e-6
    assert fill[0, 0, 5, 7] == pytest.approx(0.8) and fill[0, 0, 30, 40] == pytest.approx(0.2)
    assert fill[0, 0, 4, 6] > fill[0, 0, 31, 41]  # near each sample, its value
    assert level[0, 0, 5, 7] == 0 and level.max() > level[0, 0, 6, 8]


@pytest.mark.parametrize("shape", [(64, 64), (50, 77), (17, 130)])
def test_generator_any_size(shape: tuple[int, int]) -> None:
    g = _tiny()
    v = torch.rand(2, 1, *shape)
    m = (torch.rand(2, 1, *shape) < 0.1).float()
    out, coarse = g(v, m)
    assert out.shape == (2, 1, *shape) and torch.isfinite(out).all()
    assert coarse.shape[-2:] == (-(-shape[0] // 16) * 4, -(-shape[1] // 16) * 4)


@pytest.mark.parametrize("lattice", [False, True])
def test_untrained_generator_starts_as_its_base_fill(lattice: bool) -> None:
    g = Generator(width=4, lattice=lattice)  # zero-initialised heads
    v, m = (torch.rand(1, 1, 64, 64), (torch.rand(1, 1, 64, 64) < 0.2).float())
    out, _ = g(v, m)
    fill, _ = pull_push(v, m)
    base = sparse_spectrum_fill(v * m, m, fill)
    if lattice:
        base = lattice_fill(v * m, m, base)
    torch.testing.assert_close(out, base, atol=1e-5, rtol=0)


def test_first_release_files_load_as_five_input_generators(tmp_path: Path) -> None:
    g = Generator(width=4, lattice=False)
    path = tmp_path / "old.pt"
    export_generator(g, path, {"stage": "test"})
    obj = torch.load(path, weights_only=True)
    obj["generator_config"] = {"width": 4}  # what the first release wrote
    torch.save(obj, path)
    loaded = load_checkpoint(path, device="cpu")
    assert loaded.generator.config == {"width": 4, "lattice": False}
    assert loaded.generator.enc0[0].weight.shape[1] == 5


def test_sparse_spectrum_fill_recovers_a_lattice_that_smooth_fills_blur() -> None:
    yy, xx = np.mgrid[0:96, 0:96]
    lattice = (0.5 + 0.25 * np.cos(2 * np.pi * xx / 8) * np.cos(2 * np.pi * yy / 8)).astype(np.float32)
    mask = np.random.default_rng(0).random((96, 96)) < 0.08
    from completion.baselines import FourierCompleter, HarmonicCompleter

    err_f = np.mean((FourierCompleter().complete(lattice * mask, mask) - lattice) ** 2)
    err_h = np.mean((HarmonicCompleter().complete(lattice * mask, mask) - lattice) ** 2)
    assert err_f < 0.1 * err_h


def test_discriminator_scores_three_scales() -> None:
    d = MultiScaleDiscriminator(width=4, crop=32)
    scores = d(torch.rand(3, 1, 64, 64), torch.Generator().manual_seed(0))
    assert [s.shape for s in scores] == [(3, 1, 4, 4), (3, 1, 4, 4), (3, 1, 2, 2)]


def test_export_and_load_roundtrip(tmp_path: Path) -> None:
    g = _tiny()
    export_generator(g, tmp_path / "g.pt", {"stage": "test"}, half=False)
    c = load_checkpoint(tmp_path / "g.pt", device="cpu")
    v, m = _scan()
    direct = NeuralCompleter(g, device="cpu").complete(v, m)
    np.testing.assert_allclose(c.complete(v, m), direct, atol=1e-6)
    assert c.meta["stage"] == "test"


def test_half_precision_export_is_close(tmp_path: Path) -> None:
    g = _tiny()
    export_generator(g, tmp_path / "g16.pt", {})
    v, m = _scan()
    a = load_checkpoint(tmp_path / "g16.pt", device="cpu").complete(v, m)
    b = NeuralCompleter(g, device="cpu").complete(v, m)
    assert np.abs(a - b).max() < 5e-3
    assert (tmp_path / "g16.pt").stat().st_size < 0.7 * sum(p.numel() * 4 for p in g.parameters()) + 20000


def test_tiling_is_about_as_good_as_a_single_pass() -> None:
    g = load_default("mse", device="cpu").generator
    # each tile fits its own lattice (completion.lattice): tiles need room for enough samples,
    # so 320 px here (the default is 1024)
    spec = scanpaths.specimens.generate((512, 512), seed=2, scene="crystal")
    s = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (512, 512), coverage=0.1), preset="typical")
    whole = NeuralCompleter(g, device="cpu", tile=1024).complete(s.values, s.mask)
    tiled = NeuralCompleter(g, device="cpu", tile=320, overlap=64).complete(s.values, s.mask)
    assert tiled.shape == whole.shape
    err_whole = np.mean((whole - spec.clean) ** 2)
    err_tiled = np.mean((tiled - spec.clean) ** 2)
    assert err_tiled < 1.25 * err_whole
    assert np.mean(np.abs(tiled - whole)) < 0.05


def test_batch_matches_single(tmp_path: Path) -> None:
    c = NeuralCompleter(_tiny(), device="cpu")
    v1, m1 = _scan(64, 1)
    v2, m2 = _scan(64, 2)
    batch = c.complete_batch(np.stack([v1, v2]), np.stack([m1, m2]))
    np.testing.assert_allclose(batch[1], c.complete(v2, m2), atol=1e-5)


def test_bad_checkpoints_give_one_clear_line(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    g = _tiny()
    export_generator(g, tmp_path / "good.pt", {})
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.pt").write_bytes(b"definitely not a checkpoint")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    torch.save(
        {
            "format": "partialstem-completion-generator-v1",
            "generator_config": {"width": 8},
            "generator": g.state_dict(),
            "meta": json.dumps({}),
        },
        tmp_path / "mismatch.pt",
    )

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"format": Evil()}))
    for name, match in [
        ("missing.pt", "no such checkpoint"),
        ("truncated.pt", "not a readable"),
        ("garbage.pt", "not a readable"),
        ("foreign.pt", "not a partialstem"),
        ("mismatch.pt", "does not match"),
        ("evil.pt", "not a readable"),
    ]:
        with pytest.raises(InputError, match=match) as info:
            load_checkpoint(tmp_path / name, device="cpu")
        assert "\n" not in str(info.value)
    assert "pwned" not in capfd.readouterr().out  # the malicious pickle never ran


def test_shipped_weights_load_and_beat_linear_on_a_spiral() -> None:
    for kind in ("mse", "gan"):
        c = load_default(kind, device="cpu")
        spec = scanpaths.specimens.generate((128, 128), seed=7, scene="crystal")
        s = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (128, 128), coverage=0.1), preset="typical")
        out = c.complete(s.values, s.mask)
        assert out.shape == (128, 128) and 0 <= out.min() and out.max() <= 1
        from completion.baselines import LinearCompleter

        err = np.mean((out - spec.clean) ** 2)
        assert err < np.mean((LinearCompleter().complete(s.values, s.mask) - spec.clean) ** 2)


def test_load_default_rejects_unknown_kind() -> None:
    with pytest.raises(InputError, match="kind must be one of"):
        load_default("best")


def test_precision_choice_and_bfloat16_matches_float32() -> None:
    from completion.device import pick_precision

    cpu = torch.device("cpu")
    assert pick_precision("float32", cpu) == torch.float32
    assert pick_precision("bfloat16", cpu) == torch.bfloat16
    assert pick_precision("auto", cpu) in (torch.float32, torch.bfloat16)
    with pytest.raises(InputError, match="precision must be one of"):
        pick_precision("fp8", cpu)
    spec = scanpaths.specimens.generate((128, 128), seed=3)
    s = scanpaths.simulate(spec.image, scanpaths.make_path("spiral", (128, 128), coverage=0.05), preset="typical")
    full = load_default("mse", device="cpu", precision="float32")
    half = load_default("mse", device="cpu", precision="bfloat16")
    assert "bfloat16" in repr(half) and "float32" in repr(full)
    a, b = full.complete(s.values, s.mask), half.complete(s.values, s.mask)
    assert b.dtype == np.float32
    assert np.abs(a - b).max() < 0.02  # only the learned correction is computed in bfloat16
    err_a, err_b = np.mean((a - spec.clean) ** 2), np.mean((b - spec.clean) ** 2)
    assert abs(err_b - err_a) < 0.01 * err_a

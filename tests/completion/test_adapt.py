"""Test-time tuning of the generator on the scan's own samples (tiny models, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scanpaths
from completion import NeuralCompleter, get_completer
from completion.adapt import AdaptedCompleter, TuningSetting
from completion.baselines import HarmonicCompleter
from completion.model import Generator
from completion.selection import ValidatedChoice
from scanpaths import InputError

FAST = TuningSetting(steps=6, check_every=3, splits=2, window=96, crop=64, lr=1e-3)


def _tiny(seed: int = 0) -> NeuralCompleter:
    torch.manual_seed(seed)
    g = Generator(width=4)
    for p in g.parameters():  # non-trivial weights (the heads start at zero)
        torch.nn.init.normal_(p, std=0.05)
    return NeuralCompleter(g, device="cpu", name="tiny", precision="float32")


def _scan(size: int = 96, seed: int = 0, coverage: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    spec = scanpaths.specimens.generate((size, size), seed=seed)
    path = scanpaths.make_path("spiral", (size, size), coverage=coverage)
    s = scanpaths.simulate(spec.image, path, preset="ideal", seed=seed)
    return s.values, s.mask, spec.image


def test_forward_is_correct_of_inputs() -> None:
    g = _tiny().generator
    v, m, _ = _scan(70)
    vt, mt = torch.from_numpy(v)[None, None], torch.from_numpy(m.astype(np.float32))[None, None]
    with torch.no_grad():
        a, ca = g(vt, mt)
        b, cb = g.correct(*g.inputs(vt, mt))
    assert torch.equal(a, b) and torch.equal(ca, cb)


def test_tuning_is_seeded_leaves_the_base_alone_and_keeps_its_best_check() -> None:
    base = _tiny()
    before = {k: v.clone() for k, v in base.generator.state_dict().items()}
    v, m, _ = _scan()
    one = AdaptedCompleter(base, FAST)
    out1 = one.complete(v, m)
    rec = one.last_tuning
    assert rec is not None and rec.splits == 2 and rec.after <= rec.before and 0 <= rec.step <= 6
    out2 = AdaptedCompleter(base, FAST).complete(v, m)
    assert np.array_equal(out1, out2)  # the same seed, the same numbers
    for k, t in base.generator.state_dict().items():
        assert torch.equal(t, before[k]), k  # the shipped weights never change
    untuned = AdaptedCompleter(base, TuningSetting(steps=0)).complete(v, m)
    assert np.array_equal(untuned, base.complete(v, m))
    if rec.step:  # the kept weights are tuned ones: the completion moved
        assert not np.array_equal(out1, untuned)


def test_tuning_lowers_the_check_error_of_a_poor_generator() -> None:
    v, m, _ = _scan(seed=3)
    poor = _tiny(1)
    with torch.no_grad():
        poor.generator.head.bias.fill_(0.2)  # every pixel 0.2 too bright
    ad = AdaptedCompleter(poor, TuningSetting(steps=20, check_every=5, splits=2, window=96, crop=96, lr=3e-3))
    ad.complete(v, m)
    rec = ad.last_tuning
    assert rec is not None and rec.step > 0 and rec.after < 0.5 * rec.before


def test_a_session_tunes_once_for_a_scan_and_its_superset(monkeypatch: pytest.MonkeyPatch) -> None:
    v, m, _ = _scan()
    ad = AdaptedCompleter(_tiny(), FAST)
    calls: list[int] = []
    real = ad.tune
    monkeypatch.setattr(ad, "tune", lambda vv, mm: calls.append(int(mm.sum())) or real(vv, mm))
    sub = m.copy()
    sub[:, :40] = False
    with ad.session():
        ad.complete(np.where(sub, v, 0), sub)
        ad.complete(v, m)  # a superset of the same values: tuned already
        other = v.copy()
        other[m] = np.clip(other[m] + 0.1, 0, 1)
        ad.complete(other, m)  # other values: tuned again
    assert len(calls) == 2
    ad.complete(v, m)  # outside a session every scan is tuned
    assert len(calls) == 3


def test_the_validated_choice_tunes_once_on_the_reduced_scan() -> None:
    v, m, _ = _scan(128)
    ad = AdaptedCompleter(_tiny(), FAST)
    choice = ValidatedChoice({"adapt": ad, "harmonic": HarmonicCompleter()}, consistency=False)
    seen: list[int] = []
    real = ad.tune
    ad.tune = lambda vv, mm: seen.append(int(mm.sum())) or real(vv, mm)  # type: ignore[method-assign]
    out, unc = choice.complete(v, m, return_uncertainty=True)
    assert out.shape == unc.shape == m.shape and np.isfinite(out).all()
    assert len(seen) == 1 and seen[0] < m.sum()  # tuned on the scan without the held-out tiles
    assert ad.last_tuning is not None and ad.last_tuning.splits >= 1


def test_a_scan_too_sparse_to_hold_out_is_completed_untuned() -> None:
    base = _tiny()
    m = np.zeros((64, 64), bool)
    m[10, 10:20] = True
    v = np.where(m, 0.5, 0.0).astype(np.float32)
    ad = AdaptedCompleter(base, FAST)
    assert np.array_equal(ad.complete(v, m), base.complete(v, m))
    assert ad.last_tuning is not None and ad.last_tuning.splits == 0 and ad.last_tuning.step == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": -1},
        {"splits": 0},
        {"lr": 0.0},
        {"lr": float("nan")},
        {"holdout": 0.0},
        {"holdout": 0.6, "check": 0.5},
        {"crop": 16},
        {"crop": 512, "window": 256},
        {"tile": 200, "crop": 256},
        {"check_every": 0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InputError):
        TuningSetting(**kwargs)  # type: ignore[arg-type]


def test_only_a_generator_can_be_tuned() -> None:
    with pytest.raises(InputError, match="generator"):
        AdaptedCompleter(HarmonicCompleter())  # type: ignore[arg-type]


def test_registered_names() -> None:
    ad = get_completer("gan-adapt", device="cpu")
    assert isinstance(ad, AdaptedCompleter) and ad.base.name == "gan-prism"
    auto = get_completer("auto-adapt", device="cpu")
    assert isinstance(auto, ValidatedChoice) and auto.name == "auto-adapt"
    assert isinstance(auto.candidates["gan-adapt"], AdaptedCompleter)
    assert auto.on_lines == ("gan-adapt", "harmonic-binned")


def test_an_image_larger_than_the_window_and_the_tiles() -> None:
    """Splits cut from windows, steps on crops of them, the tuned copy run tile by tile."""
    torch.manual_seed(0)
    g = Generator(width=4)
    base = NeuralCompleter(g, device="cpu", name="tiny", precision="float32", tile=64, overlap=8)
    v, m, _ = _scan(144)
    setting = TuningSetting(steps=4, check_every=2, splits=3, window=96, crop=48, tile=8)
    out = AdaptedCompleter(base, setting).complete(v, m)
    again = AdaptedCompleter(base, setting).complete(v, m)
    assert out.shape == (144, 144) and np.isfinite(out).all() and np.array_equal(out, again)
    assert np.all((out >= 0) & (out <= 1))

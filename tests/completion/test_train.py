"""Training: both stages run, resume is exact, Ctrl-C saves, checkpoints are atomic, DDP runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from completion import load_checkpoint
from completion.data import PairSource
from completion.neural import load_training_state
from completion.train import TrainConfig, train
from scanpaths import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg(tiny_gan_config: TrainConfig, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``cfg(name, steps_mse, steps_adv, **changes)``: the tiny config writing to ``tmp_path/name``."""

    def make(name: str, steps_mse: int = 4, steps_adv: int = 2, **changes: object) -> TrainConfig:
        return replace(tiny_gan_config, out=str(tmp_path / name), steps_mse=steps_mse, steps_adv=steps_adv, **changes)

    return make


def test_both_stages_write_their_files(cfg) -> None:  # type: ignore[no-untyped-def]
    out = train(cfg("run"), progress=False)
    for name in ("last.pt", "generator_mse.pt", "generator_gan.pt", "metrics.csv", "config.json"):
        assert (out / name).is_file(), name
    state = load_training_state(out / "last.pt")
    assert state["step"] == 6
    assert "val_mse" in (out / "metrics.csv").read_text()
    assert load_checkpoint(out / "generator_gan.pt", device="cpu").meta["stage"] == "adversarial"
    assert not list(out.glob("*.tmp"))  # atomic writes leave no temporaries


def test_resume_after_ctrl_c_gives_the_same_weights(cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    torch.use_deterministic_algorithms(True)
    try:
        straight = train(cfg("a", steps_mse=6, steps_adv=0), progress=False)
        calls = {"n": 0}
        original = PairSource.batch

        def interrupting(self: PairSource, n: int):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt
            return original(self, n)

        monkeypatch.setattr(PairSource, "batch", interrupting)
        with pytest.raises(KeyboardInterrupt):
            train(cfg("b", steps_mse=6, steps_adv=0), progress=False)
        assert load_training_state(tmp_path / "b" / "last.pt")["step"] == 3  # saved on Ctrl-C
        monkeypatch.setattr(PairSource, "batch", original)
        resumed = train(cfg("b", steps_mse=6, steps_adv=0), resume=True, progress=False)
    finally:
        torch.use_deterministic_algorithms(False)
    a = load_training_state(straight / "last.pt")["generator"]
    b = load_training_state(resumed / "last.pt")["generator"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)

    def steps(run: Path) -> list[str]:
        return [line.split(",", 1)[0] for line in (run / "metrics.csv").read_text().splitlines()[1:]]

    assert steps(resumed) == steps(straight)  # each step once: the rows after the checkpoint were dropped


def test_resume_without_checkpoint_and_bad_config_are_clear(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no checkpoint"):
        train(cfg("none"), resume=True, progress=False)
    bad = cfg("x")
    bad = replace(bad, data=replace(bad.data, crop=40))
    with pytest.raises(ConfigError, match="multiple of 16") as info:
        train(bad, progress=False)
    assert info.value.field == "data.crop"
    for change, field in (({"seed": 10}, "seed"), ({"threads": -1}, "threads"), ({"device": "tpu"}, "device")):
        with pytest.raises(ConfigError) as info:
            train(cfg("x", **change), progress=False)
        assert info.value.field == field
    assert not (tmp_path / "x").exists()  # nothing written before the checks
    with pytest.raises(InputError, match="resuming needs last.pt"):
        out = train(cfg("y", 2, 0), progress=False)
        load_training_state(out / "generator_mse.pt")


def test_init_from_a_five_input_generator_adds_a_zero_lattice_input(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = train(cfg("old", steps_mse=2, steps_adv=0, lattice=False), progress=False) / "generator_mse.pt"
    # one step that barely moves the weights
    new_cfg = cfg("new", steps_mse=1, steps_adv=0, init=str(first), lr=1e-9)
    new = load_checkpoint(train(new_cfg, progress=False) / "generator_mse.pt", device="cpu").generator
    before = load_checkpoint(first, device="cpu").generator
    assert new.config == {"width": 4, "lattice": True} and before.config == {"width": 4, "lattice": False}
    w_new, w_old = new.enc0[0].weight.detach(), before.enc0[0].weight.detach()
    torch.testing.assert_close(w_new[:, :5], w_old, rtol=0, atol=1e-3)
    assert w_new[:, 5].abs().max() < 1e-3  # the lattice input starts from zero
    back = cfg("back", steps_mse=1, steps_adv=0, lattice=False, init=str(tmp_path / "new" / "generator_mse.pt"))
    with pytest.raises(InputError, match="cannot start a run without it"):
        train(back, progress=False)


def test_config_roundtrip(cfg) -> None:  # type: ignore[no-untyped-def]
    c = cfg("x")
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert (
        c.resolved().data.pool_shape == 48
        and replace(c, data=replace(c.data, pool_shape=None)).resolved().data.pool_shape == 256
    )


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
    reason="torchrun not installed",
)
def test_torchrun_two_cpu_processes_gloo(tmp_path: Path) -> None:
    """DistributedDataParallel on the gloo backend with two CPU processes."""
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        torchrun,
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "pstem",
        "train-gan",
        "--out",
        str(out),
        "--steps-mse",
        "2",
        "--steps-adv",
        "2",
        "--batch",
        "2",
        "--crop",
        "32",
        "--width",
        "4",
        "--pool-size",
        "2",
        "--val-every",
        "100",
        "--ckpt-every",
        "100",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    state = load_training_state(out / "last.pt")
    assert state["step"] == 4 and state["config"]["batch"] == 2
    assert (out / "generator_gan.pt").is_file()

"""``pstem train-rl``: PPO, SAC and RecurrentPPO run, checkpoints resume, policy files are safe."""

from __future__ import annotations

import csv
import pickle
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rl import RLConfig
from rl.evaluation import evaluate, rollout
from rl.policy_file import load_policy, save_policy
from rl.train import train
from scanpaths.errors import InputError

Cli = Callable[..., Any]


@pytest.fixture
def cfg(tiny_rl_config: RLConfig):  # type: ignore[no-untyped-def]
    """``cfg(out, algo, steps)``: the tiny PPO config with 64-step rollouts, evaluated every 128 steps."""

    def make(out: Path, algo: str = "ppo", steps: int = 256) -> RLConfig:
        return replace(
            tiny_rl_config, out=str(out), algo=algo, total_steps=steps, n_steps=64, batch_size=64, eval_every=128
        )

    return make


def test_ppo_trains_evaluates_checkpoints_and_resumes(tmp_path: Path, cfg) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    train(cfg(out), progress=False)
    for name in ("last.zip", "policy.pt", "best_policy.pt", "eval.csv", "config.json", "state.json"):
        assert (out / name).is_file(), name
    with open(out / "eval.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [128, 256]
    assert all(float(r[k]) > 0 for r in rows for k in ("learned_mse", "spiral", "lissajous", "grid", "serpentine"))
    with pytest.raises(InputError, match="already holds a run"):
        train(cfg(out), progress=False)
    train(cfg(out, steps=384), resume=True, progress=False)
    with open(out / "eval.csv") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps[-1] == 384 and steps == sorted(steps)
    assert load_policy(out / "policy.pt").extra["step"] == 384


def test_line_mode_trains_from_the_cli_and_its_policy_scans(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "lines"
    argv = ["train-rl", "--out", str(out), "--mode", "lines", "--reference", "serpentine", "--size", "48"]
    argv += ["--coverage", "1/12", "--steps", "64", "--envs", "2", "--n-steps", "16", "--batch", "16"]
    argv += ["--epochs", "1", "--eval-every", "64", "--n-eval", "2", "--threads", "1", "--gamma", "1"]
    assert cli(*argv).code == 0
    with open(out / "eval.csv") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [0, 64]  # step 0: where PPO starts
    lp = load_policy(out / "best_policy.pt")
    assert lp.config.mode == "lines" and lp.config.step_px == 1.0
    env = lp.make_env(completer="none", pool_size=1)
    image = np.random.default_rng(0).random((48, 48)).astype(np.float32)
    scan = rollout(lp.policy, env, image)
    assert scan.time_s == pytest.approx(env.unwrapped.budget_ticks * env.unwrapped.preset.dwell_s)
    assert scan.mask.mean() > 0.05


@pytest.mark.parametrize("algo", ["sac", "recurrent-ppo"])
def test_other_algorithms_run(tmp_path: Path, algo: str, cfg) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sb3_contrib")
    out = tmp_path / algo
    train(cfg(out, algo=algo, steps=128), progress=False)
    lp = load_policy(out / "policy.pt")
    assert lp.algo == algo
    env = lp.make_env(completer="none")
    scan = rollout(lp.policy, env, np.random.default_rng(0).random((48, 48)))
    assert scan.mask.any() and scan.time_s == pytest.approx(env.unwrapped.budget_s, rel=1e-6)


def test_ede_setup_trains_from_the_cli_and_its_policy_scans(tmp_path: Path, cli: Cli) -> None:
    """Ede 2021's actor: an LSTM policy that sees only the last segment's samples."""
    pytest.importorskip("sb3_contrib")
    out = tmp_path / "ede"
    argv = ["train-rl", "--out", str(out), "--algo", "recurrent-ppo", "--observation", "segment", "--steps", "64"]
    argv += ["--n-steps", "32", "--batch", "32", "--eval-every", "64", "--n-eval", "1", "--size", "48"]
    argv += ["--coverage", "1/12", "--threads", "1"]
    assert cli(*argv).code == 0
    lp = load_policy(out / "best_policy.pt")
    assert lp.algo == "recurrent-ppo" and lp.config.observation == "segment"
    env = lp.make_env(completer="none", pool_size=1)
    scan = rollout(lp.policy, env, np.random.default_rng(0).random((48, 48)).astype(np.float32))
    assert scan.mask.any() and scan.time_s == pytest.approx(env.unwrapped.budget_s, rel=1e-6)


def test_policy_files_round_trip_and_reject_foreign_files(tmp_path: Path, cfg) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    train(cfg(out, steps=128), progress=False)
    lp = load_policy(out / "policy.pt")
    env = lp.make_env(completer="none")
    image = np.random.default_rng(1).random((48, 48))
    a, b = rollout(lp.policy, env, image), rollout(load_policy(out / "policy.pt").policy, env, image)
    np.testing.assert_array_equal(a.commanded, b.commanded)
    res = evaluate(lp.policy, env, [0, 1], kinds=("spiral",), completers=("nearest",), defects=True)
    assert set(res["nearest"]) == {"learned", "spiral", "learned/recall", "spiral/recall"}
    # a truncated file, a foreign checkpoint and a pickle that would run code
    (tmp_path / "cut.pt").write_bytes((out / "policy.pt").read_bytes()[:100])
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Evil()))
    for name, msg in (
        ("cut.pt", "not a readable"),
        ("foreign.pt", "not a partialstem policy"),
        ("evil.pt", "not a readable"),
        ("missing.pt", "does not exist"),
    ):
        with pytest.raises(InputError, match=msg):
            load_policy(tmp_path / name)
    from stable_baselines3 import PPO

    other = PPO("MultiInputPolicy", env)  # SB3's default extractor: weights that do not fit
    save_policy(other, tmp_path / "other.pt", "ppo", lp.config)
    with pytest.raises(InputError, match="do not fit"):
        load_policy(tmp_path / "other.pt")


def test_train_rl_cli_rejects_bad_input(tmp_path: Path, cli: Cli) -> None:
    for argv, message in (
        (["--algo", "dqn"], "invalid choice: 'dqn'"),
        (["--preset", "warp"], "--preset must be one of"),
        (["--resume"], "last.zip does not exist"),
        (["--segment-len", "1"], "--segment-len must be an integer in [2, 10000]"),
        (["--mode", "lines", "--gamma", "1.5"], "--gamma must be in (0, 1]"),
        (["--mode", "lines", "--max-turn", "120"], "--max-turn must be in (0, 90] degrees"),
        (["--epochs", "0"], "--epochs must be an integer"),
        (["--device", "tpu"], "--device must be one of"),
        (["--threads", "-1"], "--threads must be an integer"),
    ):
        run = cli("train-rl", "--out", tmp_path / "x", *argv)
        assert run.code == 2 and message in run.err.splitlines()[-1], (argv, run.err)
        assert "Traceback" not in run.err
    assert not (tmp_path / "x").exists()


def test_learned_path_in_a_bench_suite_and_the_figures_script(tmp_path: Path, cfg, cli: Cli) -> None:  # type: ignore[no-untyped-def]
    from benchmarks import bench
    from benchmarks.suite import load_suite

    out = tmp_path / "run"
    train(cfg(out, steps=128), progress=False)
    (tmp_path / "s.toml").write_text(
        '[images]\nsynthetic = 1\nsize = 64\n[scan]\npaths = ["learned:run/policy.pt", "spiral"]\n'
        'coverages = ["1/12"]\n[completion]\ncompleters = ["nearest"]\n'
    )
    rows = bench.run_suite(load_suite(str(tmp_path / "s.toml")), tmp_path / "bench", progress=False)
    learned = [r for r in rows if r["path"].startswith("learned:")]
    spiral = [r for r in rows if r["path"] == "spiral"]
    assert len(learned) == 1 and float(learned[0]["coverage"]) > 0
    # equal scan time: the learned path spends the spiral's time
    assert float(learned[0]["scan_time_s"]) == pytest.approx(float(spiral[0]["scan_time_s"]), rel=1e-6)
    md = tmp_path / "rl.md"
    argv = ["eval", "rl", "--policy", out / "policy.pt", "--n", "2", "--coverages", "0.08"]
    assert cli(*argv, "--completers", "nearest", "--out", md).code == 0
    text = md.read_text()
    assert "learned / best fixed" in text and "steps/s" in text and "Command: `pstem eval rl --policy" in text

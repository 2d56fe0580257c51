"""``pstem train-rl``: PPO, SAC and RecurrentPPO run, checkpoints resume, policy files are safe."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.cli import main
from rl.policy import evaluate, load_policy, rollout, save_policy
from rl.train import RLConfig, train
from scanpaths.errors import InputError

ENV = {"size": 48, "obs_size": 48, "coverage": 1 / 12, "pool_size": 4}


def _cfg(out: Path, algo: str = "ppo", steps: int = 256) -> RLConfig:
    cfg = RLConfig(
        out=str(out),
        algo=algo,
        total_steps=steps,
        n_envs=2,
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        eval_every=128,
        n_eval=2,
        threads=1,
    )
    cfg.env.update(ENV)
    return cfg


def _code(argv: list[str]) -> int | str | None:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_ppo_trains_evaluates_checkpoints_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(_cfg(out), progress=False)
    for name in ("last.zip", "policy.pt", "best_policy.pt", "eval.csv", "config.json", "state.json"):
        assert (out / name).is_file(), name
    with open(out / "eval.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [128, 256]
    assert all(float(r[k]) > 0 for r in rows for k in ("learned_mse", "spiral", "lissajous", "grid", "serpentine"))
    with pytest.raises(InputError, match="already holds a run"):
        train(_cfg(out), progress=False)
    cfg = _cfg(out, steps=384)
    train(cfg, resume=True, progress=False)
    with open(out / "eval.csv") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps[-1] == 384 and steps == sorted(steps)
    assert load_policy(out / "policy.pt").extra["step"] == 384


def test_line_mode_trains_from_the_cli_and_its_policy_scans(tmp_path: Path) -> None:
    out = tmp_path / "lines"
    argv = ["train-rl", "--out", str(out), "--mode", "lines", "--reference", "serpentine", "--size", "48"]
    argv += ["--coverage", "1/12", "--steps", "64", "--envs", "2", "--n-steps", "16", "--batch", "16"]
    argv += ["--epochs", "1", "--eval-every", "64", "--n-eval", "2", "--threads", "1", "--gamma", "1"]
    assert _code(argv) == 0
    with open(out / "eval.csv") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [0, 64]  # step 0: where PPO starts
    lp = load_policy(out / "best_policy.pt")
    assert lp.env_kwargs["mode"] == "lines" and lp.env_kwargs["step_px"] == 1.0
    env = lp.make_env(completer="none", pool_size=1)
    image = np.random.default_rng(0).random((48, 48)).astype(np.float32)
    scan = rollout(lp.policy, env, image)
    assert scan.time_s == pytest.approx(env.budget_ticks * env.preset.dwell_s)
    assert scan.mask.mean() > 0.05


@pytest.mark.parametrize("algo", ["sac", "recurrent-ppo"])
def test_other_algorithms_run(tmp_path: Path, algo: str) -> None:
    pytest.importorskip("sb3_contrib")
    out = tmp_path / algo
    train(_cfg(out, algo=algo, steps=128), progress=False)
    lp = load_policy(out / "policy.pt")
    assert lp.algo == algo
    env = lp.make_env(seeds=[3], completer="none")
    scan = rollout(lp.policy, env, np.random.default_rng(0).random((48, 48)))
    assert scan.mask.any() and scan.time_s == pytest.approx(env.budget_s, rel=1e-6)


def test_policy_files_round_trip_and_reject_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(_cfg(out, steps=128), progress=False)
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
    save_policy(other, tmp_path / "other.pt", "ppo", dict(lp.env_kwargs))
    with pytest.raises(InputError, match="do not fit"):
        load_policy(tmp_path / "other.pt")


def test_train_rl_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _code(["train-rl", "--out", str(tmp_path / "a"), "--algo", "dqn"]) == 2
    assert "--algo must be one of" in capsys.readouterr().err
    assert _code(["train-rl", "--out", str(tmp_path / "b"), "--preset", "warp"]) == 2
    assert "preset" in capsys.readouterr().err
    assert _code(["train-rl", "--out", str(tmp_path / "c"), "--resume"]) == 2
    assert "last.zip does not exist" in capsys.readouterr().err
    assert _code(["train-rl", "--out", str(tmp_path / "d"), "--segment-len", "1"]) == 2
    assert "segment_len" in capsys.readouterr().err
    assert _code(["train-rl", "--out", str(tmp_path / "e"), "--mode", "lines", "--gamma", "1.5"]) == 2
    assert "--gamma" in capsys.readouterr().err
    assert _code(["train-rl", "--out", str(tmp_path / "f"), "--mode", "lines", "--max-turn", "120"]) == 2
    assert "--max-turn" in capsys.readouterr().err
    assert _code(["train-rl", "--out", str(tmp_path / "g"), "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "abdefg")


def test_learned_path_in_a_bench_suite_and_the_figures_script(tmp_path: Path) -> None:
    from benchmarks import bench, eval_rl
    from benchmarks.suite import load_suite

    out = tmp_path / "run"
    train(_cfg(out, steps=128), progress=False)
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
    assert (
        eval_rl.main(
            [
                "--policy",
                str(out / "policy.pt"),
                "--n",
                "2",
                "--coverages",
                "0.08",
                "--completers",
                "nearest",
                "--out",
                str(md),
            ]
        )
        == 0
    )
    text = md.read_text()
    assert "learned / best fixed" in text and "steps/s" in text

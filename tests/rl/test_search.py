"""Search-labelled imitation (``--algo search``): labels, forks, fitting, policy files, the CLI."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rl import EnvConfig, LineScanEnv, make_env
from rl.evaluation import rollout
from rl.policy_file import load_policy, write_policy_file
from rl.search import _mirror, candidate_mse, fit, label_episode, label_many
from rl.search_policy import FIRST, LATER, MIRROR_LATER, ZERO_FIRST, ZERO_LATER, SearchNet, SearchPolicy
from scanpaths.errors import InputError

KW = EnvConfig(size=40, obs_size=36, coverage=1 / 10, mode="lines", step_px=1.0, pool_size=2)
Cli = Callable[..., Any]


def _env(**changes: Any) -> LineScanEnv:
    env = make_env(replace(KW, **changes))
    assert isinstance(env, LineScanEnv)
    return env


def _finish(env: LineScanEnv, action: np.ndarray | None = None) -> float:
    done, info = False, {}
    a = np.zeros(2, dtype=np.float32) if action is None else action
    while not done:
        _, _, done, _, info = env.step(a)
        a = np.zeros(2, dtype=np.float32)
    return float(info["mse"])


def test_candidates_are_scored_from_a_fork_that_leaves_the_episode_alone() -> None:
    env = _env()
    env.reset(seed=0)
    first = candidate_mse(env)
    assert first.shape == (len(FIRST),) and np.all(first > 0)
    assert env.ticks == 0 and env.segments == 0  # the forks scanned, not the env
    twin = env.fork()
    assert first[ZERO_FIRST] == pytest.approx(_finish(twin))  # the zero candidate is the zero rollout
    env.step(FIRST[int(np.argmin(first))])
    ticks, sums = env.ticks, env.scanner.sums.copy()
    later = candidate_mse(env)
    assert later.shape == (len(LATER),) and env.ticks == ticks
    np.testing.assert_array_equal(env.scanner.sums, sums)
    k = int(np.argmin(later))
    assert later[k] <= later[ZERO_LATER]
    assert _finish(env, LATER[k]) == pytest.approx(later[k])  # the label is what the action then scores


def test_labels_are_reproducible_and_the_same_in_worker_processes() -> None:
    kw = replace(KW, completer="harmonic")
    a = label_episode(kw, 20_000_001)
    assert a[0][2] and not any(d[2] for d in a[1:])
    assert a[0][0].shape == (3, 36, 36) and a[0][0].dtype == np.uint8 and a[0][1].shape == (6,)
    b = label_many([(kw, 20_000_001), (kw, 20_000_002)], None, workers=2, progress=False)
    assert len(b) > len(a)
    for x, y in zip(a, b[: len(a)], strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_allclose(x[3], y[3])


def test_fit_learns_the_labels_and_the_policy_acts_on_them(tmp_path: Path) -> None:
    env = _env()
    rng = np.random.default_rng(0)
    data = []
    for i in range(64):  # a toy rule: the best candidate is fixed by the vector's first entry
        vec = np.zeros(6, dtype=np.float32)
        vec[0] = rng.choice([-0.5, 0.5])
        vec[5] = -1.0 if i % 4 == 0 else 0.0
        cands = FIRST if vec[5] == -1.0 else LATER
        mse = np.full(len(cands), 6e-3)
        mse[3 if vec[0] > 0 else 5] = 1e-3
        data.append((rng.integers(0, 255, (3, 36, 36), dtype=np.uint8), vec, bool(vec[5] == -1.0), mse))
    net = SearchNet(env.observation_space)
    torch.manual_seed(0)
    loss = fit(net, data, epochs=300, lr=3e-3, progress=False, augment=False)  # a rule with a hand
    assert loss < 0.03  # predicting no difference anywhere scores 0.18
    pol = SearchPolicy(net)
    for img, vec, first, mse in data[:8]:
        action, _ = pol.predict({"image": img, "vector": vec})
        assert np.array_equal(action, (FIRST if first else LATER)[int(np.argmin(mse))])
    batch = {"image": np.stack([d[0] for d in data[:8]]), "vector": np.stack([d[1] for d in data[:8]])}
    actions, _ = pol.predict(batch)  # a vectorised env's batch: the same actions, one row each
    assert actions.shape == (8, 2)
    np.testing.assert_array_equal(actions, [pol.predict({"image": d[0], "vector": d[1]})[0] for d in data[:8]])
    # a search policy is a policy file like any other, and scans
    write_policy_file(tmp_path / "p.pt", "search", KW, net.state_dict(), {"step": 64})
    lp = load_policy(tmp_path / "p.pt")
    assert lp.algo == "search" and lp.extra["step"] == 64
    scan = rollout(lp.policy, lp.make_env(completer="none"), np.random.default_rng(2).random((40, 40)))
    assert scan.mask.mean() > 0.05
    write_policy_file(tmp_path / "seg.pt", "search", replace(KW, mode="segments"), net.state_dict())
    with pytest.raises(InputError, match="line-mode"):
        load_policy(tmp_path / "seg.pt")


def test_search_trains_from_the_cli_and_resumes(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "s"

    def argv(rounds: int, *more: str) -> list[str]:
        a = ["train-rl", "--out", str(out), "--algo", "search", "--mode", "lines", "--size", "48", "--coverage"]
        a += ["1/10", "--label-coverages", "1/10", "1/14", "--rounds", str(rounds), "--episodes", "2"]
        return [*a, "--fit-epochs", "2", "--n-eval", "2", "--workers", "1", "--threads", "1", *more]

    assert cli(*argv(1)).code == 0
    kept = (out / "states_0.npz").read_bytes()
    assert cli(*argv(2, "--resume")).code == 0  # round 0 is kept, round 1 follows its policy
    assert (out / "states_0.npz").read_bytes() == kept
    for name in ("states_0.npz", "states_1.npz", "policy.pt", "best_policy.pt", "eval.csv", "config.json"):
        assert (out / name).is_file(), name
    with open(out / "eval.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["round"]) for r in rows] == [0, 1]
    assert int(rows[1]["step"]) > int(rows[0]["step"]) > 0
    assert all(float(rows[1][k]) > 0 for k in ("learned_mse", "serpentine", "spiral", "zero"))
    assert load_policy(out / "policy.pt").extra["round"] == 1
    run = cli("train-rl", "--out", tmp_path / "a", "--algo", "search")
    assert run.code == 2 and "--algo search works in line mode" in run.err
    run = cli("train-rl", "--out", tmp_path / "b", "--algo", "search", "--mode", "lines", "--rounds", "0")
    assert run.code == 2 and "--rounds" in run.err
    run = cli(*argv(1))  # the run is there already
    assert run.code == 2 and "already holds a run" in run.err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _mirrored_x(env: LineScanEnv) -> LineScanEnv:
    """``env`` mid-episode (ideal physics), mirrored left-right: the specimen, the scan so far
    and the beam."""
    e = env.fork()
    hi = env.size - 1.0

    def mx(p: np.ndarray) -> np.ndarray:
        return np.column_stack([hi - p[:, 0], p[:, 1]]) if len(p) else p

    e.image, e.truth = np.ascontiguousarray(env.image[:, ::-1]), env.truth[:, ::-1].copy()
    sc, src = e.scanner, env.scanner
    sc.image = e.image
    sc.sums, sc.counts = src.sums[:, ::-1].copy(), src.counts[:, ::-1].copy()
    sc._last, sc._start = mx(src._last[None])[0], mx(src._start[None])[0]
    sc._commanded, sc._trajectory = [mx(c) for c in src._commanded], [mx(t) for t in src._trajectory]
    e.position, e.start = mx(env.position[None])[0], mx(env.start[None])[0]
    e.normal = np.array([-env.normal[0], env.normal[1]])
    e.heading = np.pi - env.heading
    e.tail = mx(env.tail)
    return e


def test_mirrored_states_have_mirrored_labels() -> None:
    """What ``fit(augment=True)`` assumes: a left-right mirrored state scores each candidate as the
    original state scores the candidate's mirror image (the opposite turn)."""
    env = _env(preset="ideal")
    env.reset(seed=1)
    env.step(np.zeros(2, dtype=np.float32))
    env.step(np.array([0.2, 0.0], dtype=np.float32))
    labels = candidate_mse(env)
    mirrored = candidate_mse(_mirrored_x(env))
    np.testing.assert_allclose(mirrored, labels[MIRROR_LATER], rtol=1e-6)
    assert not np.allclose(labels, labels[MIRROR_LATER])  # the test can tell turns apart
    # the augmentation moves labels the same way, and twice is the identity
    img = torch.rand(3, 3, 36, 36)
    vec = torch.rand(3, 6) * 2 - 1
    tgt = torch.as_tensor(np.stack([labels, labels, labels]), dtype=torch.float32)
    fx, fy = torch.tensor([True, False, True]), torch.tensor([False, True, True])
    i2, v2, t2 = _mirror(img, vec, tgt, fx, fy)
    torch.testing.assert_close(t2[0], tgt[0, MIRROR_LATER])
    torch.testing.assert_close(t2[2], tgt[2])  # both mirrors: a half turn, no change of handedness
    torch.testing.assert_close(i2[0], img[0].flip(2))
    assert v2[0, 0] == -vec[0, 0] and v2[1, 1] == -vec[1, 1] and v2[1, 0] == vec[1, 0]
    for a, b in zip(_mirror(i2, v2, t2, fx, fy), (img, vec, tgt), strict=True):
        torch.testing.assert_close(a, b)

"""Search-labelled imitation for line mode (``pstem train-rl --algo search``).

A line-mode episode is a handful of decisions (about 8 at the 1/20 budget), each worth a lot,
and PPO, with one noisy final reward per episode, learned nothing useful about them on a CPU.
This learner gets a much richer signal from the simulator instead:

1. **Search labels.** On a *training* specimen (whose noise-free truth the simulator knows),
   every candidate next action of a fixed set (:data:`FIRST` for the first line's angle and
   offset, :data:`LATER` for the turns and gaps after it) is tried from the current state:
   the environment is forked, the candidate line is scanned, the rest of the budget is scanned
   with zero actions (the serpentine of rows from there on), and the completion error at the
   end is recorded. Each candidate's label is how much its final error differs from the zero
   action's (``1e3 x MSE`` units).
2. **A learned critic of candidates.** :class:`rl.search_policy.SearchNet` (the same CNN as the
   PPO policies, :class:`rl.networks.ScanExtractor`, with one output per candidate) learns to predict those
   differences from the observation alone, the one an agent has on a real specimen: the scan so
   far, never the truth. The policy takes the candidate with the lowest prediction, which
   minimises the *expected* final error given what has been seen.
3. **DAgger.** Round 0 follows the search's own best choices; every later round follows the
   current policy (so the network learns from the states its own choices lead to), labels those
   states by search again, and refits on everything gathered so far.

The truth is used to make training labels only; a trained policy acts from its observation.
Labelling runs in worker processes (``workers``), one environment each.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

import scanpaths
from scanpaths.common import atomic_write
from scanpaths.errors import InputError
from scanpaths.seeds import EVALUATION, RL_TRAIN

from .config import EnvConfig, RLConfig
from .equal_time import FIXED_KINDS
from .evaluation import evaluate
from .lines import LineScanEnv
from .make import make_env
from .policy_file import write_policy_file
from .runs import RunFolder
from .search_policy import FIRST, LATER, MIRROR_LATER, ZERO_FIRST, ZERO_LATER, SearchNet, SearchPolicy

__all__ = ["candidate_mse", "fit", "label_episode", "label_many", "train_search"]

log = logging.getLogger(__name__)


def candidate_mse(env: LineScanEnv) -> np.ndarray:
    """Final completion MSE of each candidate next action from ``env``'s state, the rest of the
    budget scanned with zero actions: (len(FIRST),) or (len(LATER),) float64."""
    if not isinstance(env, LineScanEnv) or env.completer is None:
        raise InputError("search labels need a line-mode environment with a completer (no wrappers)")
    cands = FIRST if env.segments == 0 else LATER
    out = np.empty(len(cands))
    zero = np.zeros(2, dtype=np.float32)
    for k, a in enumerate(cands):
        e = env.fork()
        _, _, done, _, info = e.step(a)
        while not done:
            _, _, done, _, info = e.step(zero)
        out[k] = info["mse"]
    return out


# ---------------------------------------------------------------------------- labelling
_WORKER: dict[EnvConfig, LineScanEnv] = {}


def _worker_env(config: EnvConfig) -> LineScanEnv:
    """One labelling environment per worker process and budget (the specimen comes with reset)."""
    if config not in _WORKER:
        if len(_WORKER) >= 8:
            _WORKER.clear()
        env = make_env(config)
        assert isinstance(env, LineScanEnv)
        _WORKER[config] = env
    return _WORKER[config]


def label_episode(
    config: EnvConfig, seed: int, state_dict: dict[str, torch.Tensor] | None = None
) -> list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]]:
    """Scan training specimen ``seed`` once and label every state by search.

    The episode follows the search's best candidate when ``state_dict`` is None, else the
    :class:`SearchPolicy` with those weights. Returns one ``(image uint8 (3, S, S), vector
    (6,), first, mse per candidate)`` per decision.
    """
    env = _worker_env(replace(config, pool_size=1, reference="none"))
    spec = scanpaths.specimens.generate((env.size, env.size), seed=seed)
    policy = None
    if state_dict is not None:
        net = SearchNet(env.observation_space)
        net.load_state_dict(state_dict)
        policy = SearchPolicy(net)
    obs, _ = env.reset(seed=seed, options={"image": spec.image, "truth": spec.clean})
    out = []
    done = False
    while not done:
        first = env.segments == 0
        mse = candidate_mse(env)
        out.append((obs["image"].copy(), obs["vector"].copy(), first, mse))
        cands = FIRST if first else LATER
        action = cands[int(np.argmin(mse))] if policy is None else policy.act(obs)
        obs, _, done, _, _ = env.step(action)
    return out


def label_many(
    jobs: list[tuple[EnvConfig, int]],
    state_dict: dict[str, torch.Tensor] | None,
    workers: int,
    progress: bool = True,
) -> list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]]:
    """:func:`label_episode` for every ``(env_kwargs, seed)`` of ``jobs``, in ``workers``
    processes (in this one when ``workers`` is 1); all the labelled states, in job order."""
    bar = tqdm(total=len(jobs), desc="search labels", unit="episode", disable=not progress, leave=False)
    out: list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]] = []
    if workers <= 1:
        for kw, s in jobs:
            out += label_episode(kw, s, state_dict)
            bar.update()
    else:
        ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            futs = [pool.submit(label_episode, kw, s, state_dict) for kw, s in jobs]
            for f in futs:
                out += f.result()
                bar.update()
    bar.close()
    return out


# ---------------------------------------------------------------------------- fitting
def _mirror(
    img: torch.Tensor, vec: torch.Tensor, target: torch.Tensor, fx: torch.Tensor, fy: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Later-decision states mirrored left-right where ``fx`` and up-down where ``fy`` (N,) bool:
    the observation flipped, the beam position and sweep normal negated, and each candidate's
    label moved to its mirror image (a mirrored turn is the opposite turn; gaps stay)."""
    img = torch.where(fx[:, None, None, None], img.flip(3), img)
    img = torch.where(fy[:, None, None, None], img.flip(2), img)
    sign = torch.ones_like(vec)
    sign[:, 0] = torch.where(fx, -1.0, 1.0)
    sign[:, 2] = sign[:, 0]
    sign[:, 1] = torch.where(fy, -1.0, 1.0)
    sign[:, 3] = sign[:, 1]
    perm = torch.as_tensor(MIRROR_LATER, device=target.device)
    return img, vec * sign, torch.where((fx ^ fy)[:, None], target[:, perm], target)


def fit(
    net: SearchNet,
    data: list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]],
    epochs: int,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    augment: bool = True,
) -> float:
    """Fit ``net`` to labelled states (targets: ``1e3 x (mse - mse of the zero action)`` per
    candidate, Huber loss), ``epochs`` passes in batches of 128 with AdamW and a cosine schedule;
    the last epoch's mean loss. With ``augment``, each later-decision state is mirrored at random
    (left-right, up-down: the scan physics and the specimens have no handedness), which
    quadruples what a labelled state teaches."""
    rng = np.random.default_rng(seed)
    img = torch.as_tensor(np.stack([d[0] for d in data]), device=device).float() / 255.0
    vec = torch.as_tensor(np.stack([d[1] for d in data]), device=device).float()
    first = np.array([d[2] for d in data])
    tf = np.zeros((len(data), len(FIRST)), dtype=np.float32)
    tl = np.zeros((len(data), len(LATER)), dtype=np.float32)
    for i, d in enumerate(data):
        if d[2]:
            tf[i] = 1e3 * (d[3] - d[3][ZERO_FIRST])
        else:
            tl[i] = 1e3 * (d[3] - d[3][ZERO_LATER])
    tf_t, tl_t = torch.as_tensor(tf, device=device), torch.as_tensor(tl, device=device)
    is_f = torch.as_tensor(first, device=device)
    net.to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    loss_fn = nn.SmoothL1Loss(reduction="none")
    last = math.nan
    for _ in tqdm(range(epochs), desc="fit", unit="epoch", disable=not progress, leave=False):
        order = torch.as_tensor(rng.permutation(len(data)), device=device)
        total = 0.0
        for start in range(0, len(data), 128):
            b = order[start : start + 128]
            im, ve, tl_b = img[b], vec[b], tl_t[b]
            if augment:
                flips = torch.as_tensor(rng.random((2, len(b))) < 0.5, device=device) & ~is_f[b]
                im, ve, tl_b = _mirror(im, ve, tl_b, flips[0], flips[1])
            pf, pl = net({"image": im, "vector": ve})
            lf = loss_fn(pf, tf_t[b]).mean(1)
            ll = loss_fn(pl, tl_b).mean(1)
            loss = torch.where(is_f[b], lf, ll).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        sched.step()
        last = total / len(data)
    net.eval()
    return last


# ---------------------------------------------------------------------------- training run
def _save_states(path: os.PathLike[str] | str, data: list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]]) -> None:
    n_f, n_l = len(FIRST), len(LATER)
    mse = np.full((len(data), max(n_f, n_l)), np.nan)
    for i, d in enumerate(data):
        mse[i, : len(d[3])] = d[3]
    with atomic_write(path) as fh:
        np.savez_compressed(
            fh,
            image=np.stack([d[0] for d in data]),
            vector=np.stack([d[1] for d in data]),
            first=np.array([d[2] for d in data]),
            mse=mse,
        )


def _load_states(path: os.PathLike[str] | str) -> list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]]:
    z = np.load(path)
    n_f, n_l = len(FIRST), len(LATER)
    return [
        (z["image"][i], z["vector"][i], bool(z["first"][i]), z["mse"][i, : n_f if z["first"][i] else n_l])
        for i in range(len(z["first"]))
    ]


def train_search(
    cfg: RLConfig, folder: RunFolder, device: torch.device, resume: bool = False, progress: bool = True
) -> None:
    """Rounds of search labelling and fitting (see the module docstring), into ``folder``.

    Per round ``k`` it writes ``states_k.npz`` (the labelled states: observations and every
    candidate's final MSE), then refits :class:`SearchNet` on all rounds so far, evaluates it
    on ``cfg.n_eval`` held-out specimens against the fixed paths at ``cfg.env``'s budget
    (``eval.csv``; step = labelled states so far) and writes ``policy.pt`` and, when it is the
    best so far, ``best_policy.pt``. ``resume`` reuses the rounds already labelled. ``cfg``
    must be resolved (:meth:`RLConfig.resolved`).
    """
    out = folder.path
    env_cfg = replace(cfg.env, pool_size=1)
    state: dict[str, Any] = folder.read_json("state.json") if resume else {}
    t0 = time.perf_counter() - state.get("wall_s", 0.0)
    eval_env = make_env(replace(env_cfg, completer="none"))
    seeds = EVALUATION.seeds(cfg.n_eval)
    # the fixed paths, and the zero action (line mode's serpentine of rows: what search deviates from)
    kinds = (*FIXED_KINDS, "expert")
    fixed = evaluate(None, eval_env, seeds, kinds=kinds, completers=(cfg.eval_completer,))[cfg.eval_completer]
    fixed_mean = {("zero" if k == "expert" else k): float(v.mean()) for k, v in fixed.items()}
    workers = cfg.workers if cfg.workers > 0 else (os.cpu_count() or 1)
    data: list[tuple[np.ndarray, np.ndarray, bool, np.ndarray]] = []
    done = int(state.get("rounds_done", 0))
    state_dict = None
    if done:  # the next round follows the last round's policy
        state_dict = torch.load(out / "policy.pt", map_location="cpu", weights_only=True)["state_dict"]

    for r in range(cfg.search_rounds):
        path = out / f"states_{r}.npz"
        if r < done:
            data += _load_states(path)
            continue
        if path.is_file():  # labelled before an interruption, not yet fitted
            new = _load_states(path)
        else:
            first = cfg.seed * 100_000 + r * cfg.search_episodes
            jobs = [
                (
                    replace(env_cfg, coverage=cfg.search_coverages[i % len(cfg.search_coverages)]),
                    RL_TRAIN.seed(first + i),
                )
                for i in range(cfg.search_episodes)
            ]
            new = label_many(jobs, state_dict, workers, progress)
            _save_states(path, new)
        data += new
        net = SearchNet(eval_env.observation_space)
        torch.manual_seed(cfg.seed * 1000 + r)
        loss = fit(
            net, data, cfg.search_epochs, lr=float(cfg.lr), seed=cfg.seed + r, device=str(device), progress=progress
        )
        net.cpu()
        state_dict = {k: v.detach().clone() for k, v in net.state_dict().items()}
        learned = evaluate(SearchPolicy(net), eval_env, seeds, kinds=(), completers=(cfg.eval_completer,))
        mse = float(learned[cfg.eval_completer]["learned"].mean())
        wall = time.perf_counter() - t0
        best_fixed = min(v for k, v in fixed_mean.items() if k != "zero")
        row = {
            "step": len(data),
            "round": r,
            "wall_s": round(wall, 1),
            "fit_loss": round(loss, 5),
            "learned_mse": mse,
            **fixed_mean,
        }
        folder.append_eval(row)
        msg = (
            f"round {r}: {len(data)} labelled states, fit loss {loss:.4f}, learned MSE {mse:.3e}, "
            + ", ".join(f"{k} {v:.3e}" for k, v in fixed_mean.items())
            + f" (ratio to best fixed {mse / best_fixed:.3f})"
        )
        log.info(msg)
        if progress:
            tqdm.write(msg)
        extra = {
            "step": len(data),
            "round": r,
            "wall_s": wall,
            "seed": cfg.seed,
            "episodes": (r + 1) * cfg.search_episodes,
        }
        write_policy_file(out / "policy.pt", "search", cfg.env, net.state_dict(), extra)
        if mse < state.get("best_mse", math.inf):
            state |= {"best_mse": mse, "best_round": r}
            write_policy_file(out / "best_policy.pt", "search", cfg.env, net.state_dict(), extra)
        state["wall_s"] = wall
        state["rounds_done"] = r + 1
        folder.write_json("state.json", state)

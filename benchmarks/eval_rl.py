"""Figures of adaptive scanning (issue 5): a learned path against fixed paths at equal scan time.

Run: ``pstem eval rl`` (``--policy FILE`` for your own, ``--n`` specimens). On held-out
synthetic specimens (benchmark seeds 0 .. n-1, never used in training) of the policy's field of
view, the ``typical`` preset, and scan-time budgets equal to a spiral at 1/20 and 1/40 coverage:

1. completion MSE of the learned path and of spiral, Lissajous, grid and serpentine paths that
   take the same scan time, for the ``harmonic`` completer (the training reward) and the
   shipped generator ``gan-mse``; the ratio learned / best fixed path with a paired 95 %
   bootstrap interval over specimens;
2. defect recall of the same scans;
3. environment steps/s with the harmonic reward on one core (random actions), and the wall
   time the policy took to train (from the policy file).

Writes Markdown to ``--out`` (default ``benchmarks/results/rl.md``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from completion.metrics import ratio_ci
from completion.registry import COMPLETERS
from rl.config import EnvConfig
from rl.equal_time import FIXED_KINDS
from rl.evaluation import evaluate
from rl.make import make_env
from rl.policy_file import DEFAULT_POLICY, load_policy
from scanpaths.common import parse_coverage, write_text_atomic
from scanpaths.errors import ConfigError, field_errors
from scanpaths.seeds import BENCHMARK

__all__ = ["RLFigures", "env_speed_report", "env_steps_per_s", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RLFigures:
    """Settings of ``pstem eval rl``.

    Attributes:
        policy: policy file (default: the shipped one).
        n: held-out specimens (benchmark seeds 0 .. n-1).
        coverages: budgets: a spiral's scan time at each of these coverages.
        completers: completers to score.
        out: Markdown output.
    """

    policy: str = str(DEFAULT_POLICY)
    n: int = 32
    coverages: tuple[float, ...] = (1 / 20, 1 / 40)
    completers: tuple[str, ...] = ("harmonic", "gan-mse")
    out: str = "benchmarks/results/rl.md"

    def resolved(self) -> RLFigures:
        """A checked copy (coverages as floats)."""
        with field_errors("coverages"):
            covs = tuple(parse_coverage(c) for c in self.coverages)
        out = replace(self, coverages=covs)
        if not 1 <= out.n <= len(BENCHMARK):
            raise ConfigError("n", f"must be at least 1, got {out.n}")
        if not covs:
            raise ConfigError("coverages", "must hold at least one coverage")
        for c in out.completers:
            with field_errors("completers", "completer "):
                COMPLETERS.resolve(c)
        return out


def env_steps_per_s(config: EnvConfig, episodes: int = 40, completer: str = "harmonic") -> float:
    """Steps/s of the environment with random actions (specimens cached after one pass)."""
    env = make_env(replace(config, reward_mode="final", completer=completer), seeds=list(range(8)))
    rng = np.random.default_rng(0)
    for ep in range(8):  # warm: compile, and generate the 8 specimens
        env.reset(seed=ep)
        done = False
        while not done:
            done = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))[2]
    n, t0 = 0, time.perf_counter()
    for ep in range(episodes):
        env.reset(seed=ep)
        done = False
        while not done:
            done = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))[2]
            n += 1
    return n / (time.perf_counter() - t0)


def env_speed_report(multiples: tuple[int, ...] = (1, 4, 16, 64), steps: int = 4000) -> str:
    """Steps/s of both action styles at budgets of ``multiples`` x the default (a 1/23 spiral's
    scan time at 96 px), with no reward (the environment's own cost) and with the harmonic
    reward, and each one's ratio to the default budget: an episode whose cost is linear in its
    ticks keeps the ratio near 1 as the budget grows (the harmonic reward, paid once per
    episode, makes longer episodes cheaper per step). About ``steps`` steps per figure."""
    torch.set_num_threads(1)
    lines = [
        "environment steps/s, one core, random actions; ratio to the default budget",
        f"{'mode':<9} {'reward':<9}" + "".join(f"{f'x{m} budget':>18}" for m in multiples),
    ]
    for mode in ("segments", "lines"):
        cfg = EnvConfig(mode=mode, reference="none")
        budget = cfg.budget_seconds()
        per_episode = math.ceil(cfg.budget_ticks() / (cfg.segment_len if mode == "segments" else 96))
        for completer in ("none", "harmonic"):
            rates = []
            for m in multiples:
                episodes = max(2, steps // (per_episode * m))
                rates.append(env_steps_per_s(replace(cfg, budget_s=m * budget), episodes, completer=completer))
            cells = "".join(f"{r:>10.0f} ({r / rates[0]:4.2f})" for r in rates)
            lines.append(f"{mode:<9} {completer:<9}{cells}")
    return "\n".join(lines)


def _shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies below it (no machine's home in
    the results)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _trained(algo: str, extra: dict[str, Any]) -> str:
    if algo == "search":
        return (
            f"{extra.get('episodes', '?')} labelled training scans in {extra.get('round', 0) + 1} rounds, "
            f"{extra.get('step', '?')} states"
        )
    return f"trained {extra.get('step', '?')} steps"


def run(cfg: RLFigures, command: str = "pstem eval rl") -> str:
    """Compute the figures of ``cfg`` and write its Markdown; return the Markdown (``command``
    is recorded in its header)."""
    args = cfg.resolved()
    torch.set_num_threads(1)
    lp = load_policy(args.policy)
    size = lp.config.size
    seeds = BENCHMARK.seeds(args.n)
    lines = [
        "# Adaptive scanning figures",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Policy: `{_shown_path(args.policy)}` ({lp.algo}, {_trained(lp.algo, lp.extra)}, "
        f"{lp.extra.get('wall_s', math.nan) / 60:.1f} min). Held-out specimens: seeds 0..{args.n - 1}, "
        f"{size} x {size} px, preset `{lp.config.preset}`. Fixed paths take the same scan "
        "time as the learned one (their coverage is solved for it).",
        "",
    ]
    for cov in args.coverages:
        env = lp.make_env(coverage=cov, pool_size=1, completer="none")
        base = env.unwrapped
        c_env = lp.config
        # a policy warm-started from the scripted serpentine is also compared with its teacher
        # (in line mode, with the zero action: the serpentine of rows the policy turns and spaces)
        extra = ("expert",) if c_env.mode == "lines" or (c_env.steering == "absolute" and c_env.variable_length) else ()
        shown = ("learned", *FIXED_KINDS, *extra)
        res = {}
        for c in tqdm(args.completers, desc=f"1/{1 / cov:.0f}", unit="completer"):
            res |= evaluate(lp.policy, env, seeds, kinds=(*FIXED_KINDS, *extra), completers=(c,), defects=True)
        lines += [f"## Budget: a spiral's scan time at 1/{1 / cov:.0f} ({base.budget_s * 1e3:.3f} ms)", ""]
        if extra and c_env.mode == "lines":
            lines += [
                "`expert`: the zero action of line mode, a serpentine of rows steered through the same "
                "environment (what the policy turns and spaces); not a fixed path of the figure, shown so the "
                "learned path can be judged against it.",
                "",
            ]
        elif extra:
            lines += [
                "`expert`: the scripted serpentine the policy was warm-started from (`rl/expert.py`), steered "
                "through the same environment; not a fixed path of the figure, shown so the learned path can "
                "be judged against its teacher.",
                "",
            ]
        lines.append("| completer | " + " | ".join(shown) + " | learned / best fixed [95 % CI] |")
        lines.append("|---|" + "---|" * (len(shown) + 1))
        for c, d in res.items():
            best = min(FIXED_KINDS, key=lambda k: d[k].mean())
            r, lo, hi = ratio_ci(d["learned"], d[best])
            cells = [f"{d[k].mean() * 1e3:.3f}" for k in shown]
            lines.append(f"| {c} MSE x 1e-3 | " + " | ".join(cells) + f" | {r:.3f} [{lo:.3f}, {hi:.3f}] vs {best} |")
            if extra:
                r, lo, hi = ratio_ci(d["learned"], d["expert"])
                lines.append(
                    f"| {c}: learned / expert | " + " | " * (len(shown) - 1) + f" | {r:.3f} [{lo:.3f}, {hi:.3f}] |"
                )
        for c, d in res.items():
            rec = [d[k + "/recall"] for k in shown]
            cells = [f"{np.nanmean(r):.3f}" if np.isfinite(r).any() else "-" for r in rec]
            lines.append(f"| {c} defect recall | " + " | ".join(cells) + " | |")
        lines.append("")
    sps = env_steps_per_s(lp.config)
    lines += [f"Environment steps/s with the harmonic reward, one core, random actions: {sps:.0f}."]
    if lp.config.mode == "lines":  # a step is a whole line; the yardstick is segments
        seg = env_steps_per_s(replace(lp.config, mode="segments", max_turn=EnvConfig.max_turn, step_px=None))
        lines += [f"(A step of this policy is a whole line; in segment mode, 20-sample segments: {seg:.0f} steps/s.)"]
    lines.append("")
    text = "\n".join(lines)
    write_text_atomic(args.out, text)
    log.info("wrote %s", args.out)
    return text

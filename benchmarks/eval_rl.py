"""Figures of adaptive scanning (issue 5): a learned path against fixed paths at equal scan time.

Run: ``python -m benchmarks.eval_rl`` (``--policy FILE`` for your own, ``--n`` specimens). On
held-out synthetic specimens (seeds 0 .. n-1, never used in training) of the policy's field of
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

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path as FsPath
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from rl.env import AdaptiveScanEnv
from rl.fixed import FIXED_KINDS
from rl.policy import DEFAULT_POLICY, evaluate, load_policy, ratio_ci

log = logging.getLogger(__name__)


def env_steps_per_s(env_kwargs: dict, episodes: int = 40) -> float:
    """Steps/s of the environment with random actions (specimens cached after one pass)."""
    env = AdaptiveScanEnv(**{**env_kwargs, "seeds": list(range(8)), "reward_mode": "final", "completer": "harmonic"})
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


def _shown_path(path: FsPath) -> str:
    """``path`` relative to the working directory when it lies below it (no machine's home in
    the results)."""
    try:
        return str(FsPath(path).resolve().relative_to(FsPath.cwd()))
    except ValueError:
        return str(path)


def _trained(algo: str, extra: dict[str, Any]) -> str:
    if algo == "search":
        return (
            f"{extra.get('episodes', '?')} labelled training scans in {extra.get('round', 0) + 1} rounds, "
            f"{extra.get('step', '?')} states"
        )
    return f"trained {extra.get('step', '?')} steps"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_rl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default=str(DEFAULT_POLICY), help="policy file (default: the shipped one)")
    parser.add_argument("--n", type=int, default=32, help="held-out specimens (default 32)")
    parser.add_argument("--coverages", type=float, nargs="+", default=[1 / 20, 1 / 40], help="spiral-time budgets")
    parser.add_argument("--completers", nargs="+", default=["harmonic", "gan-mse"], help="completers to score")
    parser.add_argument("--out", type=FsPath, default=FsPath("benchmarks/results/rl.md"), help="Markdown output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)

    lp = load_policy(args.policy)
    size = lp.env_kwargs["size"]
    seeds = list(range(args.n))
    lines = [
        "# Adaptive scanning figures",
        "",
        f"Command: `python -m benchmarks.eval_rl {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        f"Policy: `{_shown_path(args.policy)}` ({lp.algo}, {_trained(lp.algo, lp.extra)}, "
        f"{lp.extra.get('wall_s', float('nan')) / 60:.1f} min). Held-out specimens: seeds 0..{args.n - 1}, "
        f"{size} x {size} px, preset `{lp.env_kwargs.get('preset', 'typical')}`. Fixed paths take the same scan "
        "time as the learned one (their coverage is solved for it).",
        "",
    ]
    for cov in args.coverages:
        env = lp.make_env(coverage=cov, pool_size=1, completer="none")
        # a policy warm-started from the scripted serpentine is also compared with its teacher
        # (in line mode, with the zero action: the serpentine of rows the policy turns and spaces)
        extra = ("expert",) if env.mode == "lines" or (env.steering == "absolute" and env.variable_length) else ()
        shown = ("learned", *FIXED_KINDS, *extra)
        res = {}
        for c in tqdm(args.completers, desc=f"1/{1 / cov:.0f}", unit="completer"):
            res |= evaluate(lp.policy, env, seeds, kinds=(*FIXED_KINDS, *extra), completers=(c,), defects=True)
        lines += [f"## Budget: a spiral's scan time at 1/{1 / cov:.0f} ({env.budget_s * 1e3:.3f} ms)", ""]
        if extra and env.mode == "lines":
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
    sps = env_steps_per_s(lp.env_kwargs)
    lines += [f"Environment steps/s with the harmonic reward, one core, random actions: {sps:.0f}."]
    if lp.env_kwargs.get("mode") == "lines":  # a step is a whole line; the yardstick is segments
        seg = env_steps_per_s({k: v for k, v in lp.env_kwargs.items() if k not in ("mode", "max_turn", "step_px")})
        lines += [f"(A step of this policy is a whole line; in segment mode, 20-sample segments: {seg:.0f} steps/s.)"]
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``pstem train-gan`` and ``pstem train-rl``: options made from the trainers' config dataclasses.

The defaults, derived defaults (the crop's specimen size, the learning rate of an algorithm,
the sample step of a mode) and every check live in :class:`completion.train.TrainConfig` and
:class:`rl.config.RLConfig`; the flags below only name their fields.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from completion.device import PRECISIONS
from completion.registry import COMPLETERS
from completion.train import TrainConfig
from completion.train import train as train_gan
from rl.config import ALGOS, MODES, OBSERVATIONS, WARM_STARTS, RLConfig
from rl.train import train as train_rl
from scanpaths.errors import InputError
from scanpaths.physics import PRESETS

from .options import Option, add_options, config_from, coverage

__all__ = ["GAN_OPTIONS", "RL_OPTIONS", "configure"]

GAN_OPTIONS: tuple[Option, ...] = (
    Option("out", ("--out",)),
    Option("steps_mse", ("--steps-mse",)),
    Option("steps_adv", ("--steps-adv",)),
    Option("batch", ("--batch",)),
    Option("data.crop", ("--crop",)),
    Option("width", ("--width",)),
    Option(
        "lattice",
        ("--no-lattice",),
        negate=True,
        help="leave out the lattice-fit input (the first released architecture)",
    ),
    Option("lr", ("--lr",)),
    Option("adv_weight", ("--adv-weight",)),
    Option("data.pool_size", ("--pool-size",)),
    Option("data.pool_shape", ("--pool-shape",)),
    Option("data.holes", ("--holes",)),
    Option("data.user_dir", ("--data-dir",)),
    Option(
        "data.kinds",
        ("--kinds",),
        help="path kinds or scan strategies the training scans are drawn from, each as often (adaptive "
        "ones such as survey scan as they decide; default: the 8 kinds the shipped generators saw)",
    ),
    Option("device", ("--device",)),
    Option("threads", ("--threads",)),
    Option("precision", ("--precision",), choices=PRECISIONS),
    Option("val_every", ("--val-every",)),
    Option("ckpt_every", ("--ckpt-every",)),
    Option("seed", ("--seed",)),
    Option("init", ("--init",)),
)

RL_OPTIONS: tuple[Option, ...] = (
    Option("out", ("--out",)),
    Option("algo", ("--algo",), choices=ALGOS),
    Option("total_steps", ("--steps",)),
    Option("n_envs", ("--envs",)),
    Option("subproc", ("--subproc",)),
    Option("seed", ("--seed",)),
    Option("lr", ("--lr",)),
    Option("eval_every", ("--eval-every",)),
    Option("n_eval", ("--n-eval",)),
    Option("env.mode", ("--mode",), choices=MODES),
    Option("env.size", ("--size",)),
    Option("env.preset", ("--preset",), type=str),
    Option("env.coverage", ("--coverage",), type=coverage),
    Option("env.completer", ("--completer",)),
    Option("eval_completer", ("--eval-completer",)),
    Option("env.reward_mode", ("--reward",), choices=("final", "dense")),
    Option("env.reference", ("--reference",), choices=("spiral", "serpentine", "none")),
    Option(
        "env.max_turn",
        ("--max-turn",),
        to_field=math.radians,
        shown=math.degrees,
        help="lines: the largest turn between lines, degrees",
    ),
    Option("env.step_px", ("--step-px",)),
    Option("gamma", ("--gamma",)),
    Option("n_steps", ("--n-steps",)),
    Option("batch_size", ("--batch",)),
    Option("n_epochs", ("--epochs",)),
    Option("env.steering", ("--steering",), choices=("relative", "absolute")),
    Option("env.variable_length", ("--variable-length",)),
    Option("warm_start", ("--warm-start",), choices=WARM_STARTS),
    Option("env.residual", ("--residual",), choices=("none", "serpentine")),
    Option("env.residual_scale", ("--residual-scale",)),
    Option("bc_episodes", ("--bc-episodes",)),
    Option("env.segment_len", ("--segment-len",)),
    Option("env.observation", ("--observation",), choices=OBSERVATIONS),
    Option("search_rounds", ("--rounds",)),
    Option("search_episodes", ("--episodes",)),
    Option("search_coverages", ("--label-coverages",), type=coverage),
    Option("search_epochs", ("--fit-epochs",)),
    Option("workers", ("--workers",)),
    Option("device", ("--device",)),
    Option("threads", ("--threads",)),
)


def _gan_config(args: argparse.Namespace) -> TrainConfig:
    return config_from(args, TrainConfig(), GAN_OPTIONS)


def _rl_config(args: argparse.Namespace) -> RLConfig:
    return config_from(args, RLConfig(), RL_OPTIONS)


def _check_run_folder(out: Any) -> None:
    """--out must be a folder, or one that can be made (checked before any work)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise InputError(f"--out {p} is a file; give a folder for the run")
    parent = next((q for q in [p, *p.parents] if q.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise InputError(f"--out {p}: cannot write in {parent}")


def _train_gan(args: argparse.Namespace) -> int:
    cfg = _gan_config(args).resolved()
    _check_run_folder(cfg.out)
    try:
        out = train_gan(cfg, resume=args.resume)
    except KeyboardInterrupt:
        print(
            f"pstem: interrupted; the last checkpoint is in {cfg.out}/last.pt (continue with --resume)", file=sys.stderr
        )
        return 130
    names = ("generator_mse.pt", "generator_gan.pt", "last.pt", "metrics.csv")
    print(f"wrote {out}/" + ", ".join(n for n in names if (Path(out) / n).exists()))  # no gan file at --steps-adv 0
    return 0


def _train_rl(args: argparse.Namespace) -> int:
    cfg = _rl_config(args).resolved()
    _check_run_folder(cfg.out)
    try:
        out = train_rl(cfg, resume=args.resume)
    except KeyboardInterrupt:
        kept = "the rounds labelled so far are" if cfg.algo == "search" else "the checkpoint is"
        print(f"pstem: interrupted; {kept} in {cfg.out}/ (continue with --resume)", file=sys.stderr)
        return 130
    saved = "states_*.npz, state.json" if cfg.algo == "search" else "last.zip"
    print(f"wrote {out}/policy.pt, best_policy.pt, {saved}, eval.csv")
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``name`` to its subparser ``p``."""
    if name == "train-gan":
        p.description = (
            "Train the two-stage completion generator on synthetic specimens (and your images with --data-dir): "
            "MSE pre-training, then adversarial fine-tuning. Writes checkpoints, metrics.csv and TensorBoard logs "
            "to --out; --resume continues; Ctrl-C saves first. Uses CUDA when available; run under 'torchrun "
            "--nproc_per_node N' for data-parallel training."
        )
        add_options(p, TrainConfig(), GAN_OPTIONS)
        p.add_argument("--resume", action="store_true", help="continue from --out/last.pt")
        p.set_defaults(func=_train_gan, build=_gan_config, options=GAN_OPTIONS)
    elif name == "train-rl":
        p.description = (
            "Train an agent on the adaptive-scan environments: each step it picks the next segment (or, with "
            "--mode lines, the next whole line) of the scan from what it has seen; the reward is the drop in "
            "completion error. Evaluates against the fixed paths (spiral, Lissajous, grid, serpentine) of equal "
            "scan time on held-out specimens, writes policy.pt, best_policy.pt (safe policy files), last.zip "
            "(checkpoint) and eval.csv to --out; --resume continues; Ctrl-C saves first. Uses CUDA when "
            f"available. Presets: {', '.join(PRESETS)}. Completers: {', '.join(COMPLETERS.choices())}."
        )
        add_options(p, RLConfig(), RL_OPTIONS)
        p.add_argument("--resume", action="store_true", help="continue from --out/last.zip (search: --out/state.json)")
        p.set_defaults(func=_train_rl, build=_rl_config, options=RL_OPTIONS)

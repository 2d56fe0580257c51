"""Typed settings of the adaptive-scan environments and of a training run.

Both dataclasses own their defaults and check themselves: :meth:`EnvConfig.resolved` and
:meth:`RLConfig.resolved` fill in the defaults that depend on other fields (the sample step of
a mode, the learning rate of an algorithm) and raise :class:`~scanpaths.errors.ConfigError`
naming the first bad field. ``pstem train-rl`` builds its options from these fields (their help
texts are the ``Attributes`` below), so Python and the command line train the same thing.

A policy file records its :class:`EnvConfig` as a plain dict (:meth:`EnvConfig.to_dict`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import scanpaths
from completion.device import pick_device
from completion.registry import COMPLETERS
from scanpaths.errors import ConfigError, InputError, field_errors
from scanpaths.physics import Preset, get_preset
from scanpaths.seeds import EVALUATION, RL_TRAIN

__all__ = ["ALGOS", "MODES", "OBSERVATIONS", "WARM_STARTS", "EnvConfig", "RLConfig"]

#: Action styles: one environment class each (:mod:`rl.segments`, :mod:`rl.lines`).
MODES: tuple[str, ...] = ("segments", "lines")
#: Learners ``pstem train-rl`` knows (``search`` is search-labelled imitation, :mod:`rl.search`).
ALGOS: tuple[str, ...] = ("ppo", "sac", "recurrent-ppo", "search")
#: Scripted experts a run can start from.
WARM_STARTS: tuple[str, ...] = ("none", "serpentine")
#: Fixed paths a return can be measured against.
REFERENCES: tuple[str, ...] = ("none", "spiral", "serpentine")
#: What the agent observes: the map of everything seen, or (Ede 2021) the last segment's samples.
OBSERVATIONS: tuple[str, ...] = ("map", "segment")


@lru_cache(maxsize=256)
def _spiral_time(size: int, preset: Preset, coverage: float) -> float:
    path = scanpaths.make_path("spiral", (size, size), coverage=coverage, seed=0)
    return scanpaths.scan_time(path, preset)


def _int_in(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(name, f"must be an integer in [{low}, {high}], got {value!r}")
    return value


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True)
class EnvConfig:
    """Settings of an adaptive-scan environment (:func:`rl.make_env`).

    Attributes:
        mode: segments (each step a short straight segment, as Ede 2021) or lines (each step a
            whole line across the field, turned and spaced from the last one; a zero action is
            a serpentine).
        size: field of view in px (square crops, 32-1024; 96 as Ede 2021).
        preset: physics preset (a name, or a scanpaths.Preset).
        coverage: budget: the scan time of a spiral at this coverage.
        budget_s: scan-time budget in s (overrides coverage).
        completer: completer of the reward: harmonic (fast), gan-mse, any completer name, or
            none (no reward: rollouts of a trained policy).
        reward_mode: final (complete once, at the end) or dense (complete after every step).
        reference: none (the return is 1 - MSE / variance), or spiral or serpentine (the return
            is relative to that fixed path at equal scan time).
        obs_size: side of the observation image in px (36 to size).
        observation: map (the seen values, the sampled fraction and the beam as a
            (3, obs_size, obs_size) image, beside the vector) or segment (segments mode, Ede
            2021's actor: the values the last segment recorded, segment_len numbers, beside
            the vector, no map; pair it with recurrent-ppo so the agent has a memory).
        pool_size: synthetic training specimens drawn from.
        step_px: px between commanded samples (default sqrt(2) for segments, as Ede 2021; 1
            for lines).
        segment_len: segments: samples per segment (with variable_length the action picks 1/4
            to all of it).
        variable_length: segments: the action also sets the segment length.
        steering: segments: relative (the action turns the beam) or absolute (it aims it).
        lookahead: segments: the agent chooses one segment ahead, so the scan generator's
            feed-forward knows each turn before the beam gets there.
        residual: segments: serpentine makes every action a correction to a scripted
            serpentine (a zero action follows it; needs absolute steering and
            variable_length); none.
        residual_scale: segments: the size of a full residual correction, in action units.
        max_turn: lines: the largest turn between lines, radians.
    """

    mode: str = "segments"
    size: int = 96
    preset: str | Preset = "typical"
    coverage: float = 1 / 23
    budget_s: float | None = None
    completer: str = "harmonic"
    reward_mode: str = "final"
    reference: str = "none"
    obs_size: int = 48
    observation: str = "map"
    pool_size: int = 2000
    step_px: float | None = None
    segment_len: int = 20
    variable_length: bool = False
    steering: str = "relative"
    lookahead: bool = True
    residual: str = "none"
    residual_scale: float = 0.25
    max_turn: float = math.pi / 4

    # ------------------------------------------------------------------ derived values
    def resolved(self) -> EnvConfig:
        """A copy with ``step_px`` filled in for the mode, checked."""
        step = self.step_px if self.step_px is not None else (1.0 if self.mode == "lines" else math.sqrt(2.0))
        out = replace(self, step_px=step)
        out.validate()
        return out

    def budget_seconds(self) -> float:
        """The scan-time budget, s: ``budget_s``, or a spiral's scan time at ``coverage``."""
        if self.budget_s is not None:
            return float(self.budget_s)
        return _spiral_time(self.size, get_preset(self.preset), float(self.coverage))

    def budget_ticks(self) -> int:
        """The budget in scan-clock ticks."""
        return int(round(self.budget_seconds() / get_preset(self.preset).dwell_s))

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        _choice(self.mode, "mode", MODES)
        size = _int_in(self.size, "size", 32, 1024)
        _int_in(self.obs_size, "obs_size", 36, size)  # SB3's NatureCNN needs 36
        with field_errors("preset", "preset "):
            get_preset(self.preset)
        if self.budget_s is None:
            if isinstance(self.coverage, bool) or not isinstance(self.coverage, int | float):
                raise ConfigError("coverage", f"must be a number in (0, 1], got {self.coverage!r}")
            if not 0 < self.coverage <= 1:
                raise ConfigError("coverage", f"must be in (0, 1], got {self.coverage:g}")
        elif isinstance(self.budget_s, bool) or not 0 < self.budget_s <= 1e6:
            raise ConfigError("budget_s", f"must be in (0, 1e6] s, got {self.budget_s!r}")
        if self.completer != "none":
            with field_errors("completer", "completer "):
                COMPLETERS.resolve(self.completer)
        _choice(self.reward_mode, "reward_mode", ("final", "dense"))
        _choice(self.observation, "observation", OBSERVATIONS)
        if self.observation == "segment" and self.mode != "segments":
            raise ConfigError("observation", "segment is for mode segments (a line's samples are the map's rows)")
        _choice(self.reference, "reference", REFERENCES)
        _int_in(self.pool_size, "pool_size", 1, len(RL_TRAIN))
        if self.step_px is not None and not 0 < self.step_px <= size / 2:
            raise ConfigError("step_px", f"must be in (0, {size / 2:g}] px, got {self.step_px:g}")
        _int_in(self.segment_len, "segment_len", 2, 10_000)
        _choice(self.steering, "steering", ("relative", "absolute"))
        _choice(self.residual, "residual", ("none", "serpentine"))
        if not 0 < self.residual_scale <= 2:
            raise ConfigError("residual_scale", f"must be in (0, 2], got {self.residual_scale:g}")
        if not 0 < self.max_turn <= math.pi / 2:
            raise ConfigError(
                "max_turn", f"must be in (0, 90] degrees, (0, pi/2] rad; got {math.degrees(self.max_turn):g} degrees"
            )
        if self.residual != "none":
            if self.mode != "segments":
                raise ConfigError("residual", "steering is for mode segments (line mode's zero action is a serpentine)")
            if self.steering != "absolute" or not self.variable_length:
                raise ConfigError("residual", "serpentine needs absolute steering and variable_length")
        if self.budget_ticks() < self.segment_len // 4 + 1:
            raise ConfigError("coverage", f"gives a budget ({self.budget_seconds():.3g} s) shorter than one segment")

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """Plain data (a policy file's ``env_kwargs``); a custom preset becomes a dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvConfig:
        """The config of a dict written by :meth:`to_dict` (or by an older release: the same
        keys, some missing)."""
        known = {f.name for f in fields(cls)}
        extra = set(data) - known
        if extra:
            raise InputError(f"unknown environment setting(s) {', '.join(sorted(extra))}")
        d = dict(data)
        if isinstance(d.get("preset"), dict):
            p = dict(d["preset"])
            p["jitter_lines"] = tuple(tuple(x) for x in p.get("jitter_lines", ()))
            d["preset"] = Preset(**p)
        return cls(**d)


@dataclass(frozen=True)
class RLConfig:
    """Settings of a training run (``pstem train-rl``; recorded in ``out/config.json``).

    Attributes:
        out: run folder.
        algo: ppo, sac, recurrent-ppo (needs sb3-contrib), or search: in line mode, label each
            state of training scans by trying every candidate next line to the end (the
            simulator knows the truth of a training specimen), learn to predict those outcomes
            from the observation, and repeat on the states the learned policy reaches (DAgger).
        total_steps: environment steps in all.
        n_envs: parallel environments.
        subproc: run the environments in subprocesses.
        seed: seed of the run.
        lr: learning rate (default 3e-4; search 1e-3).
        n_steps: PPO rollout steps per environment.
        batch_size: minibatch size.
        n_epochs: PPO epochs per rollout.
        gamma: discount.
        ent_coef: PPO entropy bonus.
        eval_every: evaluate every N steps.
        n_eval: held-out specimens per evaluation.
        eval_completer: completer of the evaluations.
        device: auto (CUDA when available), cpu, cuda or cuda:N.
        threads: torch CPU threads (0: all cores).
        warm_start: first imitate a scripted expert (behaviour cloning), then improve with PPO:
            serpentine needs absolute steering and variable_length.
        bc_episodes: expert episodes to imitate with warm_start.
        bc_epochs: passes over the expert's steps.
        bc_log_std: log standard deviation of PPO's actions after cloning.
        search_rounds: search: labelling rounds (DAgger after the first).
        search_episodes: search: training scans labelled per round.
        search_coverages: search: budgets of the labelled scans, in turn.
        search_epochs: search: passes over the labelled states.
        workers: search: labelling processes (0: all cores).
        env: the environment (:class:`EnvConfig`; training pays the return relative to a spiral
            by default).
    """

    out: str = "runs/rl"
    algo: str = "ppo"
    total_steps: int = 100_000
    n_envs: int = 8
    subproc: bool = False
    seed: int = 0
    lr: float | None = None
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 4
    gamma: float = 0.995
    ent_coef: float = 0.0
    eval_every: int = 10_000
    n_eval: int = 16
    eval_completer: str = "harmonic"
    device: str = "auto"
    threads: int = 0
    warm_start: str = "none"
    bc_episodes: int = 300
    bc_epochs: int = 30
    bc_log_std: float = -2.0
    search_rounds: int = 3
    search_episodes: int = 300
    search_coverages: tuple[float, ...] = (1 / 20, 1 / 30, 1 / 40)
    search_epochs: int = 40
    workers: int = 0
    env: EnvConfig = field(default_factory=lambda: EnvConfig(reference="spiral"))

    def resolved(self) -> RLConfig:
        """A copy with the derived defaults filled in (``lr``, the env's ``step_px``), checked."""
        with field_errors("env"):
            env = self.env.resolved()
        lr = self.lr if self.lr is not None else (1e-3 if self.algo == "search" else 3e-4)
        out = replace(self, lr=lr, env=env, search_coverages=tuple(float(c) for c in self.search_coverages))
        out.validate()
        return out

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        _choice(self.algo, "algo", ALGOS)
        _choice(self.warm_start, "warm_start", WARM_STARTS)
        with field_errors("env"):
            self.env.validate()
        env = self.env
        if self.warm_start != "none":
            if self.algo != "ppo":
                raise ConfigError("warm_start", "works with algo ppo")
            if env.steering != "absolute" or not env.variable_length:
                raise ConfigError("warm_start", "serpentine needs absolute steering and variable_length")
        for name in ("bc_episodes", "bc_epochs", "n_eval", "total_steps", "n_envs", "eval_every"):
            _int_in(getattr(self, name), name, 1, 10**12)
        for name in ("n_steps", "batch_size", "n_epochs", "search_rounds", "search_episodes", "search_epochs"):
            _int_in(getattr(self, name), name, 1, 10**9)
        _int_in(self.workers, "workers", 0, 4096)
        _int_in(self.threads, "threads", 0, 4096)
        _int_in(self.seed, "seed", 0, 2**31 - 1)
        if self.n_eval > len(EVALUATION):
            raise ConfigError("n_eval", f"must be at most {len(EVALUATION)}, got {self.n_eval}")
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError("gamma", f"must be in (0, 1], got {self.gamma:g}")
        if self.lr is not None and not 0 < self.lr <= 1:
            raise ConfigError("lr", f"must be in (0, 1], got {self.lr:g}")
        if self.ent_coef < 0:
            raise ConfigError("ent_coef", f"must be >= 0, got {self.ent_coef:g}")
        with field_errors("device", "device "):
            pick_device(self.device)
        with field_errors("eval_completer", "completer "):
            COMPLETERS.resolve(self.eval_completer)
        if self.algo == "search":
            if env.mode != "lines":
                raise ConfigError("algo", "search works in line mode: set the env's mode to lines")
            if env.completer == "none":
                raise ConfigError("algo", "search needs a completer to label states (e.g. harmonic)")
            if self.search_rounds * self.search_episodes + 100_000 * self.seed > len(RL_TRAIN):
                raise ConfigError("search_episodes", "times search_rounds leaves the training seed range")
            if not self.search_coverages:
                raise ConfigError("search_coverages", "must hold at least one coverage")
            for cov in self.search_coverages:  # every labelled budget is a valid environment
                if not 0.0 < cov <= 1.0:
                    raise ConfigError("search_coverages", f"must be fractions in (0, 1], got {cov:g}")
                try:
                    replace(env, coverage=cov, budget_s=None).validate()
                except ConfigError as exc:
                    raise ConfigError("search_coverages", f"{cov:g}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``config.json``."""
        return asdict(self)

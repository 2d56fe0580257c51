"""Shared test settings and fixtures.

- a fixed hypothesis profile, so property tests are fast and repeatable;
- ``cli``: runs ``pstem`` in this process and returns its exit status, stdout and stderr;
- ``tiny_env``: builds a small, fast adaptive-scan environment from :class:`rl.config.EnvConfig`
  settings;
- ``tiny_gan_config`` and ``tiny_rl_config``: training configs that finish in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "partialstem", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("partialstem")

#: Settings of the small environment most RL tests use (48 px, a 1/12 spiral's scan time).
TINY_ENV: dict[str, Any] = {"size": 48, "obs_size": 48, "coverage": 1 / 12, "pool_size": 3}
#: Synthetic specimens the small environment draws from.
TINY_SEEDS = [11, 12, 13]


@dataclass
class CliRun:
    """What one ``pstem`` call did."""

    code: int | str | None
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """``cli("bench", "--workers", "1")`` runs ``pstem`` in-process (argparse's exits included)."""
    from pstem.app import main

    def run(*argv: str | Path) -> CliRun:
        capsys.readouterr()  # what came before is not this call's
        try:
            code: int | str | None = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def tiny_env() -> Callable[..., Any]:
    """``tiny_env(mode="lines", reference="spiral")``: :func:`rl.make_env` of the small settings
    (:data:`TINY_ENV`) with these changed, drawing from :data:`TINY_SEEDS`."""
    from rl import EnvConfig, make_env

    def build(seeds: list[int] | None = None, **changes: Any) -> Any:
        return make_env(EnvConfig(**{**TINY_ENV, **changes}), seeds=seeds or TINY_SEEDS)

    return build


@pytest.fixture
def tiny_gan_config(tmp_path: Path) -> Any:
    """A :class:`completion.train.TrainConfig` that trains for a few seconds into ``tmp_path/run``."""
    from completion.data import DataConfig
    from completion.train import TrainConfig

    return TrainConfig(
        out=str(tmp_path / "run"),
        steps_mse=4,
        steps_adv=2,
        batch=2,
        width=4,
        val_every=3,
        ckpt_every=2,
        val_size=2,
        threads=1,
        data=DataConfig(crop=32, pool_size=3, pool_shape=48, refresh=1),
    )


@pytest.fixture
def tiny_rl_config(tmp_path: Path) -> Any:
    """A :class:`rl.config.RLConfig` (PPO on the small environment) that trains for seconds."""
    from rl import EnvConfig, RLConfig

    return RLConfig(
        out=str(tmp_path / "rl"),
        total_steps=64,
        n_envs=2,
        n_steps=16,
        batch_size=16,
        n_epochs=1,
        eval_every=32,
        n_eval=2,
        threads=1,
        env=replace(EnvConfig(reference="spiral"), **TINY_ENV),
    )

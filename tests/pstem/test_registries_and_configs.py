"""One place per name list, one place per default: the registries feed the CLI and the suites,
and Python and the CLI resolve the same configurations."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scanpaths
from benchmarks import bench
from benchmarks.eval_completion import CompletionFigures
from benchmarks.eval_rl import RLFigures
from benchmarks.suite import load_suite
from completion.baselines import NearestCompleter
from completion.data import DataConfig
from completion.registry import COMPLETERS, register_completer
from completion.train import TrainConfig
from pstem import evaluate, train
from pstem.app import config_of
from pstem.options import field_docs
from rl import EnvConfig, RLConfig, make_env
from scanpaths import ConfigError, InputError
from scanpaths.paths import PATH_KINDS, PathKind, PathRequest, make_path, register_path_kind

Cli = Callable[..., Any]


def _ring(req: PathRequest) -> scanpaths.ScanPath:
    """A test path kind: a spiral by another name."""
    return make_path("spiral", req.shape, coverage=req.coverage, seed=req.rng)


@pytest.fixture
def dummies() -> Iterator[None]:
    """A dummy path kind ``ring`` and a dummy completer ``copy-nearest``, registered for one test."""
    register_path_kind(PathKind("ring", "a spiral by another name (a test kind)", _ring))
    register_completer("copy-nearest", lambda arg, device, precision: NearestCompleter(), help="a test completer")
    try:
        yield
    finally:
        PATH_KINDS.unregister("ring")
        COMPLETERS.unregister("copy-nearest")


def test_a_registered_path_kind_and_completer_reach_the_cli(dummies: None, cli: Cli, tmp_path: Path) -> None:
    for argv, names in (
        (["simulate", "--help"], ["ring"]),
        (["paths", "--help"], ["ring"]),
        (["complete", "--help"], ["copy-nearest"]),
        (["bench", "--help"], ["ring", "copy-nearest", "learned:FILE"]),
        (["train-rl", "--help"], ["copy-nearest"]),
        (["components"], ["ring", "copy-nearest", "learned:FILE"]),
    ):
        text = " ".join(cli(*argv).out.split()).replace("- ", "-")  # argparse wraps lines, also at hyphens
        for name in names:
            assert name in text, (argv, name)
    scan = tmp_path / "scan.npz"
    assert cli("simulate", "--synthetic", "64", "--path", "ring", "--coverage", "0.1", "-o", scan).code == 0
    run = cli("complete", scan, "--model", "copy-nearest", "-o", tmp_path / "c.tif")
    assert run.code == 0 and "with nearest" in run.out
    assert "copy-nearest" in str(cli("complete", scan, "--model", "bicubic").err)  # listed as a choice


def test_a_registered_path_kind_and_completer_pass_suite_validation(dummies: None, tmp_path: Path) -> None:
    text = (
        '[images]\nsynthetic = 1\nsize = 64\n[scan]\npaths = ["ring", "{path}"]\ncoverages = ["1/10"]\n'
        '[completion]\ncompleters = ["copy-nearest"]\n'
    )
    (tmp_path / "ok.toml").write_text(text.format(path="spiral"))
    suite = load_suite(str(tmp_path / "ok.toml"))
    assert suite.paths == ("ring", "spiral") and suite.completers == ("copy-nearest",)
    rows = bench.run_suite(suite, tmp_path / "out", progress=False)
    ring, spiral = (r for r in rows)
    assert ring["mse"] == spiral["mse"]  # the same scan under another name
    (tmp_path / "bad.toml").write_text(text.format(path="zigzag"))
    with pytest.raises(InputError, match="unknown path kind 'zigzag'; choose from .*ring.*learned:FILE"):
        load_suite(str(tmp_path / "bad.toml"))


def test_python_and_the_cli_resolve_the_same_configs() -> None:
    # derived defaults: the learning rate of an algorithm, the sample step of a mode
    search = config_of(["train-rl", "--algo", "search", "--mode", "lines"])
    assert search == RLConfig(algo="search", env=replace(RLConfig().env, mode="lines")).resolved()
    assert search.lr == 1e-3 and search.env.step_px == 1.0
    assert config_of(["train-rl"]) == RLConfig().resolved()
    assert RLConfig().resolved().lr == 3e-4 and RLConfig().resolved().env.step_px == math.sqrt(2)
    turned = config_of(["train-rl", "--mode", "lines", "--max-turn", "30", "--label-coverages", "1/20", "0.04"])
    assert turned.env.max_turn == pytest.approx(math.radians(30)) and turned.search_coverages == (0.05, 0.04)
    # the crop's specimen size
    assert config_of(["train-gan", "--crop", "320"]) == TrainConfig(data=DataConfig(crop=320)).resolved()
    assert config_of(["train-gan", "--crop", "320"]).data.pool_shape == 384
    assert config_of(["train-gan", "--no-lattice", "--data-dir", "."]).lattice is False
    assert config_of(["eval", "completion", "--quick"]) == CompletionFigures(quick=True).resolved()
    assert config_of(["eval", "rl", "--coverages", "1/20"]) == RLFigures(coverages=(0.05,)).resolved()


def test_every_option_has_help_and_errors_name_the_flag(cli: Cli, tmp_path: Path) -> None:
    for options, config in (
        (train.GAN_OPTIONS, TrainConfig()),
        (train.RL_OPTIONS, RLConfig()),
        (evaluate.COMPLETION_OPTIONS, CompletionFigures()),
        (evaluate.RL_OPTIONS, RLFigures()),
    ):
        for opt in options:
            owner: Any = config
            *head, name = opt.field.split(".")
            for part in head:
                owner = getattr(owner, part)
            assert opt.help or field_docs(type(owner)).get(name), opt.field
    run = cli("train-gan", "--out", tmp_path / "g", "--pool-shape", "64")
    assert run.code == 2 and run.err.strip() == "pstem: error: --pool-shape (64 px) must be >= crop (128 px)"
    with pytest.raises(ConfigError) as info:
        RLConfig(env=EnvConfig(size=20)).resolved()
    assert info.value.field == "env.size" and str(info.value).startswith("env.size must be")
    assert not (tmp_path / "g").exists()


def test_seeds_ranges_meet_where_they_are_used() -> None:
    """Benchmarks, validation, RL evaluation and training draw from their own ranges."""
    from completion.data import PairSource
    from rl.base import ScanEnv

    assert scanpaths.seeds.RL_TRAIN.start == 20_000_000
    env = make_env(size=48, obs_size=48, coverage=1 / 12, pool_size=3)
    assert isinstance(env, ScanEnv) and all(s in scanpaths.seeds.RL_TRAIN for s in env.seeds)
    src = PairSource(DataConfig(crop=32, pool_size=1, pool_shape=48), seed=1, rank=2, progress=False)
    assert src.pool_seeds == [10_000_000 + 1_000_000 + 200_000]
    with pytest.raises(InputError, match="seed must be in"):
        PairSource(DataConfig(crop=32, pool_size=1, pool_shape=48), seed=10, progress=False)
    assert np.all(np.isin(scanpaths.seeds.BENCHMARK.seeds(3), [0, 1, 2]))

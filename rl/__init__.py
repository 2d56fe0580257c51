"""Adaptive scanning: Gymnasium environments where an agent decides, while scanning, where the
beam goes next.

>>> import gymnasium as gym
>>> import rl                                   # registers the environments and the strategy
>>> env = gym.make("partialstem/AdaptiveScan-v0", size=96, preset="typical", coverage=1 / 23)
>>> obs, info = env.reset(seed=0)

Modules, from the bottom up: :mod:`~rl.config` (typed settings), :mod:`~rl.base` (what every
environment shares), one module per action style (:mod:`~rl.segments`, :mod:`~rl.lines`),
:mod:`~rl.wrappers` (residual steering, reference-relative return), :mod:`~rl.make`
(:func:`make_env`), :mod:`~rl.expert` (a scripted serpentine), :mod:`~rl.equal_time` (fixed
paths at equal scan time), :mod:`~rl.networks` and :mod:`~rl.search_policy` (policies),
:mod:`~rl.policy_file`, :mod:`~rl.evaluation` (the one evaluation harness), :mod:`~rl.runs`
(run folders), :mod:`~rl.train` and :mod:`~rl.search` (learners), :mod:`~rl.strategy` (a
policy as a scan strategy of benchmark suites).
"""

from __future__ import annotations

import gymnasium as gym

from . import adaptive, allocation, strategy  # noqa: F401 - register the learned, survey, greedy, greedy-rl strategies
from .config import EnvConfig, RLConfig
from .lines import LineScanEnv
from .make import make_env
from .segments import SegmentScanEnv

#: One registered id per action style; extra keywords are :class:`EnvConfig` fields (wrappers
#: for ``residual`` and ``reference`` included).
ENV_ID = "partialstem/AdaptiveScan-v0"
LINES_ENV_ID = "partialstem/LineScan-v0"

for _id, _entry in ((ENV_ID, "rl.make:segments_env"), (LINES_ENV_ID, "rl.make:lines_env")):
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=_entry)

__all__ = ["ENV_ID", "LINES_ENV_ID", "EnvConfig", "LineScanEnv", "RLConfig", "SegmentScanEnv", "make_env"]

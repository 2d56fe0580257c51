"""Adaptive scanning: a Gymnasium environment where an agent picks each next scan segment.

>>> import gymnasium as gym
>>> import rl                                   # registers the environment
>>> env = gym.make("partialstem/AdaptiveScan-v0", size=96, preset="typical", coverage=1 / 23)
>>> obs, info = env.reset(seed=0)

See :mod:`rl.env` for the observation, action and reward, and :mod:`rl.train` for the SB3
agent (``pstem train-rl``).
"""

from __future__ import annotations

import gymnasium as gym

from .env import RL_TRAIN_SEED_BASE, AdaptiveScanEnv

ENV_ID = "partialstem/AdaptiveScan-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="rl.env:AdaptiveScanEnv")

__all__ = ["ENV_ID", "RL_TRAIN_SEED_BASE", "AdaptiveScanEnv"]

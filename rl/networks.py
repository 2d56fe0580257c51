"""The policy networks: a small CNN over the observation, and the SB3 algorithms that use it.

:class:`ScanExtractor` turns the Dict observation of :mod:`rl.base` into features (a strided
CNN over the image, concatenated with the vector); :func:`policy_kwargs` and
:func:`algo_class` set up the SB3 (or sb3-contrib) algorithm of a :data:`rl.config.ALGOS`
name. The search learner's network is :class:`rl.search_policy.SearchNet`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from scanpaths.errors import InputError

from .config import ALGOS

__all__ = ["POLICY_CLASSES", "ScanExtractor", "algo_class", "policy_kwargs"]

#: The SB3 policy class each algorithm uses (``search`` is not SB3; see :mod:`rl.search`).
POLICY_CLASSES: dict[str, str] = {
    "ppo": "MultiInputPolicy",
    "sac": "MultiInputPolicy",
    "recurrent-ppo": "MultiInputLstmPolicy",
    "search": "SearchNet",
}
assert tuple(POLICY_CLASSES) == ALGOS


class ScanExtractor(BaseFeaturesExtractor):
    """Features of the observation: a small strided CNN over the (3, S, S) image, concatenated
    with the (6,) vector. Sized for CPU training (about 60 k parameters at S = 48). An
    observation with ``segment`` in place of the image (Ede 2021's last-segment samples) goes
    through a two-layer MLP instead."""

    def __init__(self, observation_space: gym.spaces.Dict, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        n_vec = observation_space["vector"].shape[0]
        self.segment = "image" not in observation_space.spaces
        if self.segment:
            n_seg = observation_space["segment"].shape[0]
            self.head = nn.Sequential(
                nn.Linear(n_seg + n_vec, features_dim), nn.ReLU(), nn.Linear(features_dim, features_dim), nn.ReLU()
            )
            return
        c, s, _ = observation_space["image"].shape
        self.cnn = nn.Sequential(
            nn.Conv2d(c, 16, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(32 * 16 + n_vec, features_dim), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.segment:
            return self.head(torch.cat([obs["segment"].float(), obs["vector"].float()], dim=1))
        # SB3 has already scaled the uint8 image to [0, 1]
        return self.head(torch.cat([self.cnn(obs["image"].float()), obs["vector"].float()], dim=1))


def policy_kwargs(algo: str) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` for ``algo``."""
    kw: dict[str, Any] = {"features_extractor_class": ScanExtractor, "features_extractor_kwargs": {"features_dim": 128}}
    kw["net_arch"] = [128, 128] if algo == "sac" else {"pi": [64], "vf": [64]}
    if algo == "recurrent-ppo":
        kw["lstm_hidden_size"] = 64
    if algo != "sac":
        kw["log_std_init"] = -1.5  # start from gentle steering (turns of ~40 deg), not random flailing
    return kw


def algo_class(algo: str) -> type:
    """The SB3 (or sb3-contrib) class of ``algo``."""
    if algo == "ppo":
        return PPO
    if algo == "sac":
        return SAC
    if algo == "recurrent-ppo":
        try:  # an optional extra, imported only when asked for
            from sb3_contrib import RecurrentPPO
        except ImportError:
            raise InputError("recurrent-ppo needs sb3-contrib: pip install 'partialstem[rl]'") from None
        return RecurrentPPO
    raise InputError(f"algo must be one of ppo, sac, recurrent-ppo; got {algo!r}")

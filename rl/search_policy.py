"""A search-labelled policy: candidate actions, the network that scores them, the policy.

In line mode a decision is one of a fixed set of candidate lines (:data:`FIRST` for the first
line's angle and offset, :data:`LATER` for the turns and gaps after it). :class:`SearchNet`
predicts, from the observation alone, how much each candidate's final completion error differs
from the zero action's; :class:`SearchPolicy` takes the candidate with the lowest prediction.
How the labels are made and the network trained: :mod:`rl.search`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .networks import ScanExtractor

__all__ = ["FIRST", "LATER", "MIRROR_LATER", "ZERO_FIRST", "ZERO_LATER", "SearchNet", "SearchPolicy"]

#: Candidate first actions: the lines' angle (``a[0]``: -90, -45, 0, 45 degrees) and the first
#: line's offset from the edge (``a[1]``: half a gap times 1/2, 1, 2).
FIRST = np.array([[a, b] for a in (-1.0, -0.5, 0.0, 0.5) for b in (-1.0, 0.0, 1.0)], dtype=np.float32)
#: Candidate later actions: turn (``a[0]`` x ``max_turn``) and gap (``2 ** a[1]`` x the
#: serpentine's spacing).
LATER = np.array([[a, b] for a in (-0.5, -0.2, 0.0, 0.2, 0.5) for b in (-1.0, -0.5, 0.0, 0.5, 1.0)], dtype=np.float32)
ZERO_FIRST = int(np.flatnonzero((FIRST == 0).all(1))[0])
ZERO_LATER = int(np.flatnonzero((LATER == 0).all(1))[0])
#: Index of each later candidate's mirror image (the opposite turn, the same gap).
MIRROR_LATER = np.array([int(np.flatnonzero((LATER == [-a, b]).all(1))[0]) for a, b in LATER])


class SearchNet(nn.Module):
    """Predicts, from one observation, each candidate's final error minus the zero action's.

    Input: the line-mode observation dict (``image`` (N, 3, S, S) float in [0, 1], ``vector``
    (N, 6)); output: ``(first, later)``, (N, len(FIRST)) and (N, len(LATER)) float32 in
    ``1e3 x MSE`` units.
    """

    def __init__(self, observation_space: Any, features: int = 128) -> None:
        super().__init__()
        self.features = ScanExtractor(observation_space, features)
        self.first = nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, len(FIRST)))
        self.later = nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, len(LATER)))

    def forward(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(obs)
        return self.first(f), self.later(f)


def _to_tensors(obs: dict[str, np.ndarray], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    img = torch.as_tensor(np.asarray(obs["image"]), device=device).float() / 255.0
    vec = torch.as_tensor(np.asarray(obs["vector"]), device=device).float()
    if img.ndim == 3:
        img, vec = img[None], vec[None]
    return {"image": img, "vector": vec}


class SearchPolicy:
    """A trained :class:`SearchNet` acting in line mode: the candidate with the lowest predicted
    final error. ``predict`` follows SB3's signature, so rollouts and benchmarks treat it like
    any SB3 policy."""

    def __init__(self, net: SearchNet) -> None:
        self.net = net.eval()

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """(2,) float32 action for one observation, or (N, 2) for a batch of N (a vectorised env's)."""
        first, later = self.net(_to_tensors(obs))
        starts = np.asarray(obs["vector"], dtype=np.float32).reshape(-1, 6)[:, 5] <= -1.0 + 1e-6
        out = np.where(
            starts[:, None], FIRST[first.argmin(1).cpu().numpy()], LATER[later.argmin(1).cpu().numpy()]
        ).astype(np.float32)
        return out if np.asarray(obs["image"]).ndim == 4 else out[0]

    def predict(
        self, obs: dict[str, np.ndarray], state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, Any]:
        """SB3's ``predict``: actions for one observation or a batch (always deterministic)."""
        return self.act(obs), state

    def set_training_mode(self, mode: bool) -> None:
        self.net.train(mode)

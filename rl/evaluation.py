"""The one evaluation harness: rollouts of a policy, and learned vs fixed paths at equal scan time.

``pstem eval rl``, the evaluations during training (:mod:`rl.train`, :mod:`rl.search`) and the
``learned`` scan strategy of benchmark suites (:mod:`rl.strategy`) all scan through
:func:`rollout`; :func:`evaluate` scores a policy and the fixed paths on the same specimens.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import scanpaths
from completion.metrics import defect_recall
from completion.registry import get_completer

from .base import ScanEnv
from .equal_time import fixed_scan
from .expert import ExpertPolicy

__all__ = ["evaluate", "rollout"]


def rollout(
    policy: Any, env: gym.Env, image: np.ndarray, truth: np.ndarray | None = None, seed: int = 0
) -> scanpaths.PartialScan:
    """Scan ``image`` (size x size) with ``policy`` acting deterministically; the PartialScan."""
    obs, _ = env.reset(seed=seed, options={"image": image, "truth": image if truth is None else truth})
    state, start, done = None, np.ones((1,), dtype=bool), False
    while not done:
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        start = np.zeros((1,), dtype=bool)
        obs, _, done, _, _ = env.step(action)
    base: ScanEnv = env.unwrapped  # type: ignore[assignment]
    return base.partial_scan()


def evaluate(
    policy: Any,
    env: gym.Env,
    seeds: list[int],
    kinds: tuple[str, ...] = ("spiral", "lissajous"),
    completers: tuple[str, ...] = ("harmonic",),
    defects: bool = False,
) -> dict[str, dict[str, np.ndarray]]:
    """Completion MSE (and defect recall) of the learned path and of fixed paths at equal scan time.

    Returns ``{completer: {path: (len(seeds),) MSE}}``, with ``"<path>/recall"`` entries when
    ``defects`` is set. ``policy`` None scores the fixed paths only. ``kinds`` may include
    ``"expert"``: the scripted serpentine of :mod:`rl.expert` (or line mode's zero action),
    steered through the env like the policy.
    """
    base: ScanEnv = env.unwrapped  # type: ignore[assignment]
    comps = {c: get_completer(c, device="cpu") for c in completers}
    names = (("learned",) if policy is not None else ()) + tuple(kinds)
    out: dict[str, dict[str, list[float]]] = {c: {} for c in completers}
    for s in seeds:
        spec = scanpaths.specimens.generate((base.size, base.size), seed=s)
        scans = {}
        if policy is not None:
            scans["learned"] = rollout(policy, env, spec.image, spec.clean, seed=s)
        for k in kinds:
            if k == "expert":  # the scripted serpentine, steered through the env like the policy
                scans[k] = rollout(ExpertPolicy(env), env, spec.image, spec.clean, seed=s)
            else:
                scans[k] = fixed_scan(k, spec.image, base.budget_s, base.preset, seed=s)
        for cname, comp in comps.items():
            for name in names:
                sc = scans[name]
                pred = comp.complete(sc.values, sc.mask)
                out[cname].setdefault(name, []).append(float(np.mean((pred - spec.clean) ** 2)))
                if defects:
                    r, _ = defect_recall(
                        pred, spec.clean, spec.defect_positions, spec.columns, spec.params["probe_sigma_px"]
                    )
                    out[cname].setdefault(f"{name}/recall", []).append(r)
    return {c: {k: np.array(v) for k, v in d.items()} for c, d in out.items()}

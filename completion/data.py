"""Training pairs for the completion model, made on the fly by :mod:`scanpaths`.

Each pair is a random crop of a specimen (flipped and rotated by a multiple of 90 degrees),
scanned along a path of random kind and coverage (log-uniform in [1/100, 1/10]) through a random
physics preset, sometimes with extra Poisson dose noise. The input is the partial scan
(values, mask); the target is the specimen's **noise-free** image, so the model learns to
complete and denoise at once. For the user's own images (no noise-free version exists) the
target is the image itself.

Specimens come from a pool of synthetic images that is refreshed as training goes, plus the
user's image folder if given. Specimen seeds come from :data:`scanpaths.seeds.COMPLETION_TRAIN`:
index ``1_000_000 * seed + 100_000 * rank + i`` of it, so each run seed (0-9) and each rank
(0-9) owns its own specimens; validation and benchmarks use other ranges
(:mod:`scanpaths.seeds`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import scanpaths
from scanpaths.errors import ConfigError, InputError
from scanpaths.seeds import COMPLETION_TRAIN
from scanpaths.strategies import STRATEGIES, Strategy, get_strategy, strategy_names

from .uncertainty import HELD_FRACTION, HELD_TILE

log = logging.getLogger(__name__)

__all__ = ["DataConfig", "PairSource", "cut_holes", "make_pair"]

#: Specimens each run seed owns, and each rank within it.
SEEDS_PER_RUN = 1_000_000
SEEDS_PER_RANK = 100_000

#: How often each preset is drawn for a training pair.
PRESET_WEIGHTS: dict[str, float] = {"ideal": 0.15, "typical": 0.45, "fast-coils": 0.2, "slow-coils": 0.2}


#: The path kinds training draws from by default: those the shipped generators were trained on
#: (every kind there was; kinds added since, such as ``squircle``, are left out so that the
#: commands in the model card still make the same data); ``pstem train-gan --kinds`` chooses.
TRAINED_KINDS: tuple[str, ...] = (
    "raster",
    "serpentine",
    "grid",
    "spiral",
    "lissajous",
    "random",
    "random-walk",
    "waypoints",
)


@dataclass
class DataConfig:
    """How training pairs are drawn.

    Attributes:
        crop: crop size in px, a multiple of 16 in [32, 1024].
        pool_size: synthetic specimens kept in memory.
        pool_shape: size in px of the synthetic specimens crops are cut from (default: 256, or
            crop + 64 if larger).
        refresh: specimens replaced in the pool per batch drawn.
        coverage: (low, high) coverage range, drawn log-uniformly.
        dose_prob: probability of extra dose noise.
        dose: (low, high) electrons per sample of the extra dose noise, drawn log-uniformly.
        kinds: path kinds to draw from, or registered scan strategies (``survey``, ``greedy``:
            the adaptive ones, registered by ``import rl``, scan as they decide), each as often.
        user_dir: folder of your own images to mix in (TIFF/NumPy/PNG).
        user_fraction: share of the crops cut from the images of ``user_dir``.
        presets: how often each physics preset is drawn (relative weights).
        holes: share of the pairs whose scan then loses the samples in a random 15 % of its
            16 px tiles, as the held-out scans of auto's validated choice do, so that the
            generator is judged on masks it knows (0: none).
    """

    crop: int = 128
    pool_size: int = 600
    pool_shape: int | None = None
    refresh: int = 2
    coverage: tuple[float, float] = (0.01, 0.1)
    dose_prob: float = 0.3
    dose: tuple[float, float] = (5.0, 500.0)
    kinds: tuple[str, ...] = TRAINED_KINDS
    user_dir: str | None = None
    user_fraction: float = 0.5
    presets: dict[str, float] = field(default_factory=lambda: dict(PRESET_WEIGHTS))
    holes: float = 0.0

    def resolved(self) -> DataConfig:
        """A copy with the derived defaults filled in (``pool_shape``), checked."""
        pool_shape = self.pool_shape if self.pool_shape is not None else max(256, self.crop + 64)
        out = DataConfig(**{**self.__dict__, "pool_shape": pool_shape})
        out.validate()
        return out

    def validate(self) -> None:
        """Raise :class:`~scanpaths.errors.ConfigError` naming the first bad field."""
        if isinstance(self.crop, bool) or not 32 <= self.crop <= 1024 or self.crop % 16:
            raise ConfigError("crop", f"must be a multiple of 16 in [32, 1024], got {self.crop}")
        if not 1 <= self.pool_size <= 1_000_000:
            raise ConfigError("pool_size", f"must be in [1, 1000000], got {self.pool_size}")
        if self.pool_shape is not None and self.pool_shape < self.crop:
            raise ConfigError("pool_shape", f"({self.pool_shape} px) must be >= crop ({self.crop} px)")
        if self.refresh < 0:
            raise ConfigError("refresh", f"must be >= 0, got {self.refresh}")
        lo, hi = self.coverage
        if not 0 < lo <= hi <= 1:
            raise ConfigError("coverage", f"must be (low, high) with 0 < low <= high <= 1, got {self.coverage}")
        if not 0 <= self.dose_prob <= 1 or not 0 < self.dose[0] <= self.dose[1]:
            raise ConfigError("dose", f"needs 0 <= dose_prob <= 1 and 0 < low <= high, got {self.dose}")
        if not self.kinds:
            raise ConfigError("kinds", "must name at least one path kind or scan strategy")
        for k in self.kinds:
            if k not in scanpaths.PATH_KINDS:
                try:
                    STRATEGIES.resolve(k)
                except InputError:
                    known = ", ".join(strategy_names())
                    raise ConfigError(
                        "kinds", f"holds {k!r}, neither a path kind nor a scan strategy ({known})"
                    ) from None
        if not self.presets or any(p not in scanpaths.PRESETS or w < 0 for p, w in self.presets.items()):
            raise ConfigError("presets", f"must map preset names to weights >= 0, got {self.presets}")
        if self.user_dir is not None and not Path(self.user_dir).is_dir():
            raise ConfigError("user_dir", f"{self.user_dir} is not a folder")
        if not 0 <= self.user_fraction <= 1:
            raise ConfigError("user_fraction", f"must be in [0, 1], got {self.user_fraction}")
        if not 0 <= self.holes <= 1:
            raise ConfigError("holes", f"must be in [0, 1], got {self.holes}")


def cut_holes(
    values: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    tile: int = HELD_TILE,
    fraction: float = HELD_FRACTION,
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the scan (values (H, W) float32, mask (H, W) bool) without the samples in a
    random ``fraction`` of its ``tile`` px tiles, the tile grid at a random offset (the scan as
    it is where that would leave no sample)."""
    h, w = mask.shape
    oy, ox = (int(o) for o in rng.integers(tile, size=2))
    tiles = rng.random(((h + oy) // tile + 1, (w + ox) // tile + 1)) < fraction
    cut = tiles[(np.arange(h)[:, None] + oy) // tile, (np.arange(w)[None, :] + ox) // tile]
    kept = mask & ~cut
    if not kept.any():
        return values, mask
    return np.where(kept, values, 0.0).astype(values.dtype), kept


def _augment(rng: np.random.Generator, *imgs: np.ndarray) -> list[np.ndarray]:
    k = int(rng.integers(4))
    flip = bool(rng.integers(2))
    out = []
    for im in imgs:
        im = np.rot90(im, k)
        if flip:
            im = im[:, ::-1]
        out.append(np.ascontiguousarray(im))
    return out


def make_pair(
    image: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
    kind: str,
    coverage: float,
    preset: str,
    dose: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scan ``image`` along a fresh path of ``kind`` (a path kind, or a registered scan
    strategy: an adaptive one then scans the budget of ``coverage`` as it decides, so the
    model sees the masks it makes); return (values, mask, target), all (H, W)."""
    shape = image.shape
    if kind not in scanpaths.PATH_KINDS:
        try:
            scan = _strategy(kind).scan(
                image, coverage=coverage, preset=preset, seed=int(rng.integers(2**31)), dose=dose
            )
            return np.clip(scan.values, 0.0, 1.0), scan.mask, target.astype(np.float32)
        except InputError as e:  # this strategy cannot scan this crop at this budget: a spiral
            if kind not in _FELL_BACK:
                _FELL_BACK.add(kind)
                log.warning(
                    "training pairs: %s cannot scan a %dx%d crop at %.3g (%s); a spiral instead, "
                    "here and wherever else it cannot (said once)",
                    kind,
                    *shape,
                    coverage,
                    e,
                )
            kind = "spiral"
    try:
        path = scanpaths.sample_path(kind, shape, coverage, seed=rng)
    except InputError:  # this kind cannot reach this coverage on this crop
        path = scanpaths.make_path("spiral", shape, coverage=coverage)
    scan = scanpaths.simulate(image, path, preset=preset, dose=dose, seed=rng)
    values = np.clip(scan.values, 0.0, 1.0)
    return values, scan.mask, target.astype(np.float32)


_STRATEGIES: dict[str, Strategy] = {}
_FELL_BACK: set[str] = set()  # strategies that could not scan some crop (warned once each)


def _strategy(name: str) -> Strategy:
    """The scan strategy ``name``, made once per process (it may load an estimator)."""
    if name not in _STRATEGIES:
        _STRATEGIES[name] = get_strategy(name)
    return _STRATEGIES[name]


class PairSource:
    """Draws batches of training pairs (see the module docstring)."""

    def __init__(self, cfg: DataConfig, seed: int = 0, rank: int = 0, progress: bool = True) -> None:
        if not 0 <= seed < len(COMPLETION_TRAIN) // SEEDS_PER_RUN or not 0 <= rank < SEEDS_PER_RUN // SEEDS_PER_RANK:
            raise InputError(f"training seed must be in [0, 9] and rank in [0, 9], got seed {seed}, rank {rank}")
        cfg = cfg.resolved()
        self.cfg = cfg
        self.rng = np.random.default_rng([seed, rank, 7])
        self._next_seed = COMPLETION_TRAIN.seed(SEEDS_PER_RUN * seed + SEEDS_PER_RANK * rank)
        self.pool: list[tuple[np.ndarray, np.ndarray]] = []
        self.pool_seeds: list[int] = []
        for _ in tqdm(range(cfg.pool_size), desc="specimen pool", unit="img", disable=not progress, leave=False):
            self.pool_seeds.append(self._next_seed)
            self.pool.append(self._new_specimen())
        self.user: list[np.ndarray] = []
        if cfg.user_dir:
            files = sorted(p for p in Path(cfg.user_dir).iterdir() if p.suffix.lower() in scanpaths.io.IMAGE_SUFFIXES)
            if not files:
                raise InputError(f"{cfg.user_dir}: no images ({' '.join(scanpaths.io.IMAGE_SUFFIXES)}) found")
            for f in files:
                img = scanpaths.io.load_image(f)
                if min(img.shape) < cfg.crop:
                    raise InputError(f"{f.name}: image {img.shape} is smaller than the crop {cfg.crop}")
                self.user.append(img)
            log.info("loaded %d user images from %s", len(self.user), cfg.user_dir)
        self._presets = list(cfg.presets)
        p = np.array([cfg.presets[k] for k in self._presets], dtype=np.float64)
        self._preset_p = p / p.sum()

    def _new_specimen(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Generate the specimen of ``seed`` (default: the next unused seed)."""
        if seed is None:
            seed = self._next_seed
            self._next_seed += 1
        s = self.cfg.pool_shape
        assert s is not None
        spec = scanpaths.specimens.generate((s, s), seed=seed)
        return spec.image, spec.clean

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the same stream of pairs (JSON-able)."""
        return {"rng": self.rng.bit_generator.state, "next_seed": self._next_seed, "pool_seeds": self.pool_seeds}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue the stream saved by :meth:`state` (regenerates the pool from its seeds)."""
        self.rng.bit_generator.state = state["rng"]
        self._next_seed = int(state["next_seed"])
        self.pool_seeds = [int(s) for s in state["pool_seeds"]]
        self.pool = [self._new_specimen(s) for s in self.pool_seeds]

    def _crop(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.cfg.crop
        if self.user and self.rng.random() < self.cfg.user_fraction:
            img = self.user[int(self.rng.integers(len(self.user)))]
            clean = img
        else:
            img, clean = self.pool[int(self.rng.integers(len(self.pool)))]
        h, w = img.shape
        top = int(self.rng.integers(h - c + 1))
        left = int(self.rng.integers(w - c + 1))
        return img[top : top + c, left : left + c], clean[top : top + c, left : left + c]

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, mask, target) of shape (n, crop, crop): float32, bool, float32."""
        cfg = self.cfg
        for _ in range(cfg.refresh):
            k = int(self.rng.integers(len(self.pool)))
            self.pool_seeds[k] = self._next_seed
            self.pool[k] = self._new_specimen()
        vs, ms, ts = [], [], []
        lo, hi = math.log(cfg.coverage[0]), math.log(cfg.coverage[1])
        for _ in range(n):
            img, clean = _augment(self.rng, *self._crop())
            kind = str(self.rng.choice(cfg.kinds))
            coverage = float(math.exp(self.rng.uniform(lo, hi)))
            preset = str(self.rng.choice(self._presets, p=self._preset_p))
            dose = None
            if self.rng.random() < cfg.dose_prob:
                dose = float(math.exp(self.rng.uniform(math.log(cfg.dose[0]), math.log(cfg.dose[1]))))
            v, m, t = make_pair(img, clean, self.rng, kind, coverage, preset, dose)
            if cfg.holes and self.rng.random() < cfg.holes:  # no draw at 0: the old runs' stream
                v, m = cut_holes(v, m, self.rng)
            vs.append(v)
            ms.append(m)
            ts.append(t)
        return np.stack(vs), np.stack(ms), np.stack(ts)

"""Training the completion generator: MSE pre-training, then adversarial fine-tuning.

``pstem train-gan --out runs/gan`` runs both stages; the same command uses CUDA when it is there
and runs data-parallel under ``torchrun`` (DistributedDataParallel; gloo on CPU, NCCL on GPU).

Losses (per batch, targets are the noise-free crops):

- stage 1 (``steps_mse`` steps): ``MSE(image, target) + 0.5 * MSE(coarse, pool4(target))``;
  the second term supervises the inner generator's coarse image;
- stage 2 (``steps_adv`` steps): the same plus ``adv_weight * LSGAN(D(image))`` with the
  multi-scale discriminator trained on the targets as real and the completions as fake.
  ``adv_weight`` defaults to 1e-3: in the shipped run the adversarial term was then about 3 %
  of the MSE term (generator LSGAN loss ~0.3 against MSE ~0.01, ``metrics.csv``), enough to
  sharpen texture without giving up much MSE.

Safety: gradients are clipped to norm 1; a batch whose loss is not finite is skipped and
counted. Checkpoints (``last.pt``) are written atomically every ``ckpt_every`` steps, at the
end of each stage and on Ctrl-C; ``--resume`` continues from ``last.pt`` with the same
optimiser state, step and data stream. Each stage also exports its generator
(``generator_mse.pt``, ``generator_gan.pt``) in the format :func:`completion.load_checkpoint`
reads. Metrics go to ``metrics.csv`` and, when the ``tensorboard`` package is installed, to
TensorBoard (scalars and image panels).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

import scanpaths
from scanpaths.common import write_text_atomic
from scanpaths.errors import ConfigError, InputError, field_errors
from scanpaths.seeds import VALIDATION

from .baselines import HarmonicCompleter
from .data import TRAINED_KINDS, DataConfig, PairSource, make_pair
from .device import PRECISIONS, pick_device, pick_precision, set_threads
from .model import Generator, MultiScaleDiscriminator
from .neural import CKPT_FORMAT, atomic_save, export_generator, load_training_state
from .registry import get_completer

log = logging.getLogger(__name__)

__all__ = ["TrainConfig", "train"]


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in every checkpoint).

    Attributes:
        out: run folder (checkpoints, metrics.csv, TensorBoard logs).
        steps_mse: MSE pre-training steps.
        steps_adv: adversarial fine-tuning steps.
        batch: crops per step and process.
        lr: generator learning rate of the MSE stage (cosine decay to 5 %).
        lr_adv: learning rate of both networks in the adversarial stage.
        adv_weight: weight of the adversarial loss.
        width: generator width (channels at full resolution).
        lattice: feed the generator the lattice-fit input (False: the first released
            architecture).
        seed: seed of the run (0-9: each owns its own training specimens).
        device: auto (CUDA when available), cpu, cuda or cuda:N.
        val_every: validate every N steps.
        ckpt_every: checkpoint every N steps.
        val_size: images in the held-out validation set.
        threads: torch CPU threads (0: all cores).
        init: start from these generator weights: gan-mse, gan-gan or a .pt file.
        precision: convolution precision: auto is bfloat16 mixed precision where the hardware
            does it natively (AVX512-BF16/AMX CPUs, bf16 GPUs), float32 elsewhere.
        data: how training pairs are drawn (:class:`completion.data.DataConfig`).
    """

    out: str = "runs/gan"
    steps_mse: int = 4000
    steps_adv: int = 1000
    batch: int = 12
    lr: float = 1e-3
    lr_adv: float = 2e-4
    adv_weight: float = 1e-3
    width: int = 16
    lattice: bool = True
    seed: int = 0
    device: str = "auto"
    val_every: int = 250
    ckpt_every: int = 250
    val_size: int = 24
    threads: int = 0
    init: str | None = None
    precision: str = "auto"
    data: DataConfig = field(default_factory=DataConfig)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["data"]["coverage"] = list(d["data"]["coverage"])
        d["data"]["dose"] = list(d["data"]["dose"])
        d["data"]["kinds"] = list(d["data"]["kinds"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        d.setdefault("lattice", False)  # runs from before the lattice input had none
        data = dict(d.pop("data"))
        data["coverage"] = tuple(data["coverage"])
        data["dose"] = tuple(data["dose"])
        data["kinds"] = tuple(data["kinds"])
        return cls(data=DataConfig(**data), **d)

    def resolved(self) -> TrainConfig:
        """A copy with every derived default filled in, checked (raises :class:`ConfigError`)."""
        with field_errors("data"):
            data = self.data.resolved()
        out = dataclasses.replace(self, data=data)
        out.validate()
        return out

    def validate(self) -> None:
        """Raise :class:`~scanpaths.errors.ConfigError` naming the first bad field."""
        for name in ("steps_mse", "steps_adv", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(name, f"must be >= 0, got {getattr(self, name)}")
        if self.steps_mse + self.steps_adv < 1:
            raise ConfigError("steps_mse", "plus steps_adv must be >= 1")
        if not 1 <= self.batch <= 1024:
            raise ConfigError("batch", f"must be in [1, 1024], got {self.batch}")
        for name in ("lr", "lr_adv"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(name, f"must be in (0, 1], got {getattr(self, name):g}")
        if not 0 <= self.adv_weight <= 10:
            raise ConfigError("adv_weight", f"must be in [0, 10], got {self.adv_weight}")
        if not 4 <= self.width <= 128:
            raise ConfigError("width", f"must be in [4, 128], got {self.width}")
        if not 0 <= self.seed <= 9:
            raise ConfigError("seed", f"must be in [0, 9] (each seed owns its own training specimens), got {self.seed}")
        for name in ("val_every", "ckpt_every", "val_size"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be at least 1, got {getattr(self, name)}")
        if self.val_size > len(VALIDATION):
            raise ConfigError("val_size", f"must be at most {len(VALIDATION)}, got {self.val_size}")
        if self.precision not in PRECISIONS:
            raise ConfigError("precision", f"must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        with field_errors("device", "device "):
            pick_device(self.device)
        with field_errors("data"):
            self.data.validate()


def _validation_set(cfg: TrainConfig) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A fixed held-out set: 256 px specimens of the validation seed range, typical physics."""
    rng = np.random.default_rng(12345)
    kinds = list(TRAINED_KINDS)  # the set of the recorded runs (not every registered kind)
    out = []
    for i, seed in enumerate(VALIDATION.seeds(cfg.val_size)):
        spec = scanpaths.specimens.generate((256, 256), seed=seed)
        cov = float(np.exp(rng.uniform(np.log(0.01), np.log(0.1))))
        out.append(make_pair(spec.image, spec.clean, rng, kinds[i % len(kinds)], cov, "typical", None))
    return out


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None].to(device)


def _losses(g: torch.nn.Module, v: torch.Tensor, m: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    image, coarse = g(v, m)
    h, w = t.shape[-2:]
    tp = F.pad(t, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")
    mse = F.mse_loss(image, t)
    coarse_mse = F.mse_loss(coarse, F.avg_pool2d(tp, 4))
    return image, mse, coarse_mse


class _Run:
    """State of one training process (one rank under torchrun)."""

    def __init__(self, cfg: TrainConfig, resume: bool, progress: bool) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = pick_device(cfg.device, local_rank)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
        self.main = self.rank == 0
        self.progress = progress and self.main
        if cfg.threads:
            set_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.dtype = pick_precision(cfg.precision, self.device)
        self.g = Generator(cfg.width, lattice=cfg.lattice).to(self.device)
        self.d = MultiScaleDiscriminator().to(self.device)
        if self.device.type == "cpu":  # oneDNN's convolutions are fastest channels-last
            self.g = self.g.to(memory_format=torch.channels_last)
            self.d = self.d.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_adv, betas=(0.5, 0.99))
        self.step = 0
        self.skipped = 0
        self.best_val = math.inf
        self.wall = 0.0
        self.data = PairSource(cfg.data, seed=cfg.seed, rank=self.rank, progress=self.progress)
        self.crop_gen = torch.Generator().manual_seed(cfg.seed + 17 * self.rank)
        if resume:
            self._resume()
        elif cfg.init:
            self._init_from(cfg.init)
        self.gm: torch.nn.Module = self.g
        self.dm: torch.nn.Module = self.d
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.gm = DistributedDataParallel(self.g, device_ids=ids)
            self.dm = DistributedDataParallel(self.d, device_ids=ids)
        self.writer = None
        if self.main:
            self.out.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.out / "config.json", json.dumps(cfg.to_dict(), indent=2))
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.out / "tb"))
            except ImportError:
                log.info("tensorboard is not installed: metrics go to metrics.csv only")
            self.val = _validation_set(cfg)
            self.val_baseline = float(
                np.mean([np.mean((HarmonicCompleter().complete(v, m) - t) ** 2) for v, m, t in self.val])
            )

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "format": CKPT_FORMAT,
            "step": self.step,
            "skipped": self.skipped,
            "best_val": self.best_val,
            "wall_s": self.wall,
            "config": self.cfg.to_dict(),
            "generator_config": dict(self.g.config),
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "data_state": json.dumps(self.data.state()),
            "torch_rng": torch.get_rng_state(),
            "crop_rng": self.crop_gen.get_state(),
        }

    def save(self) -> None:
        if self.main:
            atomic_save(self._state(), self.out / "last.pt")

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.is_file():
            raise InputError(f"cannot resume: no checkpoint at {path}")
        state = load_training_state(path)
        if dict(state["generator_config"]) != dict(self.g.config):
            raise InputError(
                f"cannot resume: the checkpoint's generator {state['generator_config']} differs from {self.g.config}"
            )
        self.g.load_state_dict(state["generator"])
        self.d.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.skipped = int(state["skipped"])
        self.best_val = float(state["best_val"])
        self.wall = float(state["wall_s"])
        self.data.restore(json.loads(state["data_state"]))
        torch.set_rng_state(state["torch_rng"])
        self.crop_gen.set_state(state["crop_rng"])
        if self.main:
            _trim_metrics(self.out / "metrics.csv", self.step)
            log.info("resumed from %s at step %d", path, self.step)

    def _init_from(self, name: str) -> None:
        """Start from the weights of a generator file or a shipped model (fresh optimiser)."""
        source = get_completer(name, device="cpu")
        gen = getattr(source, "generator", None)
        if gen is None:
            raise InputError(f"init needs a generator (gan-mse, gan-gan or a .pt file), got the baseline {name!r}")
        state = gen.state_dict()
        if gen.config.get("width") != self.g.config["width"]:
            raise InputError(f"init: generator config {gen.config} differs from this run's {self.g.config}")
        if gen.config.get("lattice", False) != self.g.config["lattice"]:
            if not self.g.config["lattice"]:
                raise InputError("init: a generator with the lattice input cannot start a run without it")
            # a first-release generator (five inputs): the lattice input starts with zero weights
            w = state["enc0.0.weight"]
            state["enc0.0.weight"] = torch.cat([w, torch.zeros_like(w[:, :1])], dim=1)
        self.g.load_state_dict(state)
        if self.main:
            log.info("initialised the generator from %s", name)

    # ------------------------------------------------------------------ steps
    def _lr(self) -> float:
        """Cosine decay within each stage."""
        cfg = self.cfg
        if self.step < cfg.steps_mse:
            frac = self.step / max(cfg.steps_mse, 1)
            return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        return cfg.lr_adv

    def _autocast(self) -> torch.autocast:
        """Reduced-precision convolutions when ``precision`` picked bfloat16 (see ``pick_precision``)."""
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32)

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        adversarial = self.step >= cfg.steps_mse
        v, m, t = (_to_tensor(a, self.device) for a in self.data.batch(cfg.batch))
        for group in self.opt_g.param_groups:
            group["lr"] = self._lr()
        self.gm.train()
        with self._autocast():
            image, mse, coarse_mse = _losses(self.gm, v, m, t)
        loss = mse + 0.5 * coarse_mse
        stats = {"mse": mse.item(), "coarse_mse": coarse_mse.item()}
        if adversarial:
            # the unwrapped critic: its gradients here are discarded before its own step
            with self._autocast():
                fake_scores = [s.float() for s in self.d(image, self.crop_gen)]
            g_adv = sum(F.mse_loss(s, torch.ones_like(s)) for s in fake_scores) / len(fake_scores)
            loss = loss + cfg.adv_weight * g_adv
            stats["g_adv"] = g_adv.item()
        if not torch.isfinite(loss):
            self.skipped += 1
            self.opt_g.zero_grad(set_to_none=True)
            return stats | {"skipped": 1.0}
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        stats["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.g.parameters(), 1.0))
        self.opt_g.step()
        if adversarial:
            n = t.shape[0]  # one forward for real and fake: same crops, one DDP reduction
            with self._autocast():
                scores = [s.float() for s in self.dm(torch.cat([t, image.detach()]), self.crop_gen)]
            d_loss = sum(
                F.mse_loss(s[:n], torch.ones_like(s[:n])) + F.mse_loss(s[n:], torch.zeros_like(s[n:])) for s in scores
            ) / (2 * len(scores))
            if torch.isfinite(d_loss):
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                torch.nn.utils.clip_grad_norm_(self.d.parameters(), 1.0)
                self.opt_d.step()
                stats["d_loss"] = d_loss.item()
        return stats

    @torch.no_grad()
    def validate(self) -> float:
        self.g.eval()
        errs = []
        for v, m, t in self.val:
            with self._autocast():
                out, _ = self.g(_to_tensor(v[None], self.device), _to_tensor(m[None], self.device))
            errs.append(float(np.mean((out.clamp(0, 1).cpu().numpy()[0, 0] - t) ** 2)))
        if self.writer is not None:
            v, m, t = self.val[0]
            with self._autocast():
                out, _ = self.g(_to_tensor(v[None], self.device), _to_tensor(m[None], self.device))
            panel = np.concatenate([v, out.clamp(0, 1).cpu().numpy()[0, 0], t], axis=1)
            self.writer.add_image("val/partial|completion|truth", panel[None], self.step)
        return float(np.mean(errs))

    def log(self, stats: dict[str, float], val: float | None) -> None:
        row = {"step": self.step, "wall_s": round(self.wall, 1), "lr": self._lr(), **stats}
        if val is not None:
            row |= {"val_mse": val, "val_harmonic_mse": self.val_baseline}
        path = self.out / "metrics.csv"
        new = not path.exists()
        keys = [
            "step",
            "wall_s",
            "lr",
            "mse",
            "coarse_mse",
            "g_adv",
            "d_loss",
            "grad_norm",
            "skipped",
            "val_mse",
            "val_harmonic_mse",
        ]
        with path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        if self.writer is not None:
            for k, x in row.items():
                if k != "step":
                    self.writer.add_scalar(f"train/{k}", x, self.step)

    def export(self, name: str, stage: str) -> None:
        if self.main:
            export_generator(
                self.g,
                self.out / name,
                {
                    "stage": stage,
                    "step": self.step,
                    "wall_s": round(self.wall, 1),
                    "config": self.cfg.to_dict(),
                    "best_val_mse": self.best_val,
                    "val_harmonic_mse": self.val_baseline,
                },
            )


def _trim_metrics(path: Path, step: int) -> None:
    """Drop the rows of ``metrics.csv`` after ``step`` (logged after the checkpoint a resumed
    run starts from; it logs them again) and a torn last line, so each step appears once."""
    if not path.is_file():
        return
    lines = path.read_text("utf-8").splitlines(keepends=True)
    if not lines:
        return
    keep = [lines[0]]
    for line in lines[1:]:
        head = line.split(",", 1)[0]
        if line.endswith("\n") and head.isdigit() and int(head) <= step:
            keep.append(line)
    if len(keep) != len(lines):
        write_text_atomic(path, "".join(keep))


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> Path:
    """Run (or resume) a training run; returns the output folder.

    The run writes ``last.pt``, ``generator_mse.pt`` (after stage 1), ``generator_gan.pt``
    (after stage 2), ``metrics.csv``, ``config.json`` and, with tensorboard, ``tb/``.
    """
    cfg = cfg.resolved()
    run = _Run(cfg, resume, progress)
    total = cfg.steps_mse + cfg.steps_adv
    bar = tqdm(total=total, initial=run.step, desc="train-gan", unit="step", disable=not run.progress)
    try:
        while run.step < total:
            t0 = time.perf_counter()
            stats = run.train_step()
            run.step += 1
            run.wall += time.perf_counter() - t0
            bar.update(1)
            bar.set_postfix(mse=f"{stats['mse']:.2e}", stage="adv" if run.step > cfg.steps_mse else "mse")
            val = None
            if run.main and (run.step % cfg.val_every == 0 or run.step in (cfg.steps_mse, total)):
                val = run.validate()
                run.best_val = min(run.best_val, val)
                bar.write(f"step {run.step}: val MSE {val:.3e} (harmonic baseline {run.val_baseline:.3e})")
            if run.main and (run.step % 25 == 0 or val is not None):
                run.log(stats, val)
            if run.step % cfg.ckpt_every == 0:
                run.save()
            if run.step == cfg.steps_mse and cfg.steps_mse > 0:
                run.save()
                run.export("generator_mse.pt", "mse")
        run.save()
        if cfg.steps_adv > 0:
            run.export("generator_gan.pt", "adversarial")
        elif cfg.steps_mse > 0 and not (run.out / "generator_mse.pt").exists():
            run.export("generator_mse.pt", "mse")
    except KeyboardInterrupt:
        run.save()
        if run.main:
            log.warning("interrupted at step %d: saved %s; resume the run to continue", run.step, run.out / "last.pt")
        raise
    finally:
        bar.close()
        if run.writer is not None:
            run.writer.close()
        if dist.is_initialized():
            dist.destroy_process_group()
    return run.out

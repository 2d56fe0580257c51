"""The completion networks: a two-stage generator and a multi-scale discriminator.

Generator (after Ede & Beanland 2020, changed to serve every path, coverage and preset with one
set of weights):

- Its input is built from the scan itself, at full resolution: the sampled values, the mask,
  a **pull-push fill** (a mask-normalised image pyramid, pulled down to the coarsest level and
  pushed back up, so every pixel gets the mean of the nearest samples at the right scale) and
  the **fill level** (log2 of the pyramid level each pixel's fill came from, a proxy for the
  distance to the nearest sample). The network conditions on the mask and the distance, so it
  knows how far it is extrapolating. A fifth channel is the **sparse-spectrum fill**
  (:func:`completion.fills.sparse_spectrum_fill`), which continues lattices across the gaps, and a sixth (in
  generators made with ``lattice=True``, the default) the **lattice fill**
  (:func:`completion.lattice.lattice_fill`), a least-squares fit of the crystal's Fourier peaks
  with slowly varying amplitudes, checked by cross-validation. The output is a learned
  correction of the last of these fills, so the untrained generator already equals it.
- The **inner generator** works at 1/4 to 1/16 resolution (dilated residual blocks, receptive
  field of a few hundred px) and produces the large-scale structure, a coarse image at 1/4
  resolution that is trained against the 4x-pooled target (deep supervision).
- The **outer generator** restores full-resolution detail from the coarse image and
  full-resolution features of the samples. The output is the base fill (lattice, or
  sparse-spectrum for ``lattice=False``) plus the upsampled coarse correction plus this
  full-resolution residual.

Discriminator: three PatchGAN critics that judge random crops at full, 1/2 and 1/4 scale.

Tensors are (N, 1, H, W) float32; any H, W (padded to a multiple of 16 inside).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .fills import pull_push, sparse_spectrum_fill
from .lattice import lattice_fill

__all__ = ["Generator", "MultiScaleDiscriminator"]


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (optionally dilated)."""

    def __init__(self, ch: int, dilation: int = 1) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(self.act(self.c1(x)))


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True))


def _fuse(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2, inplace=True))


class Generator(nn.Module):
    """Two-stage completion generator.

    Args:
        width: channels at full resolution (the outer generator); deeper levels use
            2x, 4x, 6x and 6x of it.
        lattice: add the lattice fill as a sixth input and use it as the base the output
            corrects (``False`` gives the first released architecture: five inputs, the
            sparse-spectrum fill as the base).

    ``forward(values, mask)`` takes (N, 1, H, W) tensors and returns ``(image, coarse)``:
    the completed image (N, 1, H, W), unclamped, and the inner generator's coarse image
    (N, 1, ceil(H/4), ceil(W/4)) on the padded grid.
    """

    def __init__(self, width: int = 16, lattice: bool = True) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"width": width, "lattice": lattice}
        self.lattice = lattice
        w0, w1, w2, w3, w4 = width, 2 * width, 4 * width, 6 * width, 6 * width
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.enc0 = _fuse(6 if lattice else 5, w0)
        self.enc1 = _down(w0, w1)
        # inner generator: 1/4 .. 1/16 resolution
        self.enc2 = nn.Sequential(_down(w1, w2), ResBlock(w2))
        self.enc3 = nn.Sequential(_down(w2, w3), ResBlock(w3), ResBlock(w3, 2))
        self.enc4 = nn.Sequential(_down(w3, w4), ResBlock(w4), ResBlock(w4, 2), ResBlock(w4, 4))
        self.dec3 = nn.Sequential(_fuse(w4 + w3, w3), ResBlock(w3))
        self.dec2 = nn.Sequential(_fuse(w3 + w2, w2), ResBlock(w2))
        self.coarse_head = nn.Conv2d(w2, 1, 3, padding=1)
        # outer generator: 1/2 and full resolution
        self.dec1 = nn.Sequential(_fuse(w2 + w1 + 1, w1), ResBlock(w1))
        self.dec0 = _fuse(w1 + w0, w0)
        self.head = nn.Conv2d(w0, 1, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        nn.init.zeros_(self.coarse_head.weight)
        nn.init.zeros_(self.coarse_head.bias)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.correct(*self.inputs(values, mask))

    def inputs(self, values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """The network's input channels, computed from the scan (no learned weights).

        Returns ``(x, base, (h, w))``: the channels (N, 5 or 6, H', W') and the base fill the
        output corrects (N, 1, H', W'), both padded to a multiple of 16 px, and the unpadded
        size. ``forward`` is ``correct(*inputs(values, mask))``; test-time tuning
        (:mod:`completion.adapt`) computes the inputs once and runs ``correct`` many times.
        """
        h, w = values.shape[-2:]
        # the classical fills stay in float32 under autocast: only the convolutions (and so
        # only the learned correction) run in reduced precision
        with torch.autocast(values.device.type, enabled=False):
            values, mask = values.float(), mask.float()
            fill, level = pull_push(values, mask)
            sparse = sparse_spectrum_fill(values * mask, mask, fill)
            channels = [values * mask, mask, fill, level, sparse]
            base = sparse
            if self.lattice:
                base = lattice_fill(values * mask, mask, sparse)
                channels.append(base)
            x = torch.cat(channels, dim=1)
        x, _ = _pad_to(x, 16)
        base_p, _ = _pad_to(base, 16)
        return x, base_p, (h, w)

    def correct(
        self, x: torch.Tensor, base_p: torch.Tensor, size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned part: padded inputs (from :meth:`inputs`) -> ``(image, coarse)`` as ``forward``."""
        h, w = size
        if self.enc0[0].weight.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)  # the layout the weights are in
        base_coarse = F.avg_pool2d(base_p, 4)
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        d3 = self.dec3(torch.cat([F.interpolate(e4, size=e3.shape[-2:], mode="nearest"), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:], mode="nearest"), e2], 1))
        coarse = base_coarse + self.coarse_head(d2)
        up_c = F.interpolate(coarse, size=e1.shape[-2:], mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="nearest"), e1, up_c], 1))
        d0 = self.dec0(torch.cat([F.interpolate(d1, size=e0.shape[-2:], mode="nearest"), e0], 1))
        # full-resolution base fill, plus the inner generator's coarse correction, plus detail
        correction = F.interpolate(coarse - base_coarse, size=e0.shape[-2:], mode="bilinear", align_corners=False)
        out = base_p + correction.float() + self.head(d0).float()
        return out[..., :h, :w], coarse.float()

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())


class PatchCritic(nn.Module):
    """A PatchGAN critic: (N, 1, h, w) -> (N, 1, h/8, w/8) realism scores."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2, inplace=True)
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1),
            act,
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            act,
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
            act,
            nn.Conv2d(4 * width, 1, 3, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultiScaleDiscriminator(nn.Module):
    """Three critics judging random ``crop`` px crops at full, 1/2 and 1/4 scale."""

    def __init__(self, width: int = 32, crop: int = 64) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"width": width, "crop": crop}
        self.crop = crop
        self.critics = nn.ModuleList([PatchCritic(width) for _ in range(3)])

    def forward(self, image: torch.Tensor, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Scores per scale for one random crop per scale (the same crop box for a batch)."""
        scores = []
        x = image
        for k, critic in enumerate(self.critics):
            if k:
                x = F.avg_pool2d(x, 2)
            c = min(self.crop, x.shape[-2], x.shape[-1])
            top = int(torch.randint(0, x.shape[-2] - c + 1, (1,), generator=generator))
            left = int(torch.randint(0, x.shape[-1] - c + 1, (1,), generator=generator))
            scores.append(critic(x[..., top : top + c, left : left + c]))
        return scores

"""Classical fills on tensors: pull-push interpolation and sparse-spectrum inpainting.

These are the building blocks of the classical completers (:mod:`completion.baselines`) and
inputs of the generator (:mod:`completion.model`); they have no learned parameters. Tensors are
(N, 1, H, W) float32 on any device.

- :func:`pull_push`: a mask-normalised image pyramid, pulled down to the coarsest level and
  pushed back up, so every pixel gets the mean of the nearest samples at the right scale.
- :func:`sparse_spectrum_fill`: iterative hard thresholding of the 2-D Fourier transform (a
  lattice is a handful of Fourier peaks, so this continues atomic columns across gaps).

The lattice fill, a least-squares fit of the crystal's Fourier peaks, is :mod:`completion.lattice`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .reuse import memoized

__all__ = ["pull_push", "sparse_spectrum_fill"]


def pull_push(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pull-push interpolation of sparse samples.

    Args:
        values: (N, 1, H, W) float, 0 where unseen. mask: (N, 1, H, W) float in {0, 1}.

    Returns:
        ``fill`` (N, 1, H, W): samples where seen, elsewhere the mean of the samples at the
        finest pyramid level that has any, smoothly blended; ``level`` (N, 1, H, W): that level
        (0 at a sample, k where the nearest sample is ~2^k px away), divided by 8.
    """
    nums = [values * mask]
    dens = [mask]
    while min(nums[-1].shape[-2:]) > 1:
        n, d = nums[-1], dens[-1]
        ph, pw = n.shape[-2] % 2, n.shape[-1] % 2
        if ph or pw:  # zero padding is neutral: it adds neither value nor weight
            n = F.pad(n, (0, pw, 0, ph))
            d = F.pad(d, (0, pw, 0, ph))
        nums.append(F.avg_pool2d(n, 2) * 4)
        dens.append(F.avg_pool2d(d, 2) * 4)
    # coarsest level: the global mean (every image has at least one sample)
    fill = nums[-1] / dens[-1].clamp_min(1e-8)
    level = torch.full_like(fill, float(len(nums) - 1))
    for k in range(len(nums) - 2, -1, -1):
        n, d = nums[k], dens[k]
        size = n.shape[-2:]
        up = F.interpolate(fill, size=size, mode="bilinear", align_corners=False)
        up_level = F.interpolate(level, size=size, mode="nearest")
        w = d.clamp(0, 1)
        fill = w * (n / d.clamp_min(1e-8)) + (1 - w) * up
        level = torch.where(d > 0, torch.full_like(up_level, float(k)), up_level)
    return fill, level / 8.0


def _kth_largest(flat: torch.Tensor, k: int, stride: int = 8) -> torch.Tensor:
    """The ``k``-th largest value of each row of ``flat`` (N, M), exactly: (N,).

    A top-k over every ``stride``-th element gives a value that at least ``k`` elements
    exceed (checked); the exact k-th largest is then found among those elements only, which
    is several times cheaper than a top-k over the whole row when k is a few % of it.
    """
    n, m = flat.shape
    if k * 16 > m:
        return torch.topk(flat, k, dim=1, sorted=False).values.amin(dim=1)
    sub = flat[:, ::stride]
    low = torch.topk(sub, min(sub.shape[1], 2 * (k // stride) + 8), dim=1, sorted=False).values.amin(dim=1)
    out = []
    for row, lo in zip(flat, low, strict=True):
        cand = row[row >= lo]
        if cand.numel() < k:  # the sample was unlucky: the plain way
            cand = row
        out.append(torch.topk(cand, k, sorted=False).values.amin())
    return torch.stack(out)


def sparse_spectrum_fill(
    values: torch.Tensor,
    mask: torch.Tensor,
    init: torch.Tensor,
    iterations: int = 60,
    keep: tuple[float, float] = (0.05, 0.002),
) -> torch.Tensor:
    """Sparse-spectrum inpainting: iterative hard thresholding in the Fourier domain.

    Crystal images are sparse in Fourier space (a lattice is a handful of peaks), so a partial
    scan determines them far better than its smooth interpolation does. Each iteration keeps
    the largest Fourier coefficients of the current estimate (a fraction falling geometrically
    from ``keep[0]`` to ``keep[1]`` of all of them, per image; the mean always survives) and
    puts the samples back where they were seen.

    Args:
        values, mask, init: (N, 1, H, W) float; ``init`` is the starting estimate (e.g. the
            pull-push fill).
        iterations: thresholding steps (>= 2).

    Returns:
        (N, 1, H, W) estimate, clamped to [0, 1]. Inside :func:`completion.reuse.reuse_fills`
        the same inputs give a copy of the first result.
    """
    return memoized(
        "sparse_spectrum_fill",
        lambda: _sparse_spectrum_fill(values, mask, init, iterations, keep),
        # all the result depends on: the seen values, where they are, the start (made only to look up)
        lambda: (torch.where(mask > 0, values, torch.zeros_like(values)), mask > 0, init),
        (int(iterations), tuple(keep)),
    )


def _sparse_spectrum_fill(
    values: torch.Tensor, mask: torch.Tensor, init: torch.Tensor, iterations: int, keep: tuple[float, float]
) -> torch.Tensor:
    n, _, h, w = init.shape
    seen = torch.nonzero((mask > 0).flatten()).squeeze(1)  # the samples, as flat indices
    seen_values = values.flatten()[seen]
    x = init.clone(memory_format=torch.contiguous_format)
    x.view(-1)[seen] = seen_values
    for k in range(iterations):
        spec = torch.fft.rfft2(x)
        mag = spec.abs()
        frac = keep[0] * (keep[1] / keep[0]) ** (k / (iterations - 1))
        flat = mag.flatten(1)
        k_keep = max(1, min(flat.shape[1], int(flat.shape[1] * frac)))
        thr = _kth_largest(flat, k_keep).view(n, 1, 1, 1)
        x = torch.fft.irfft2(spec * (mag >= thr), s=(h, w))
        x.view(-1)[seen] = seen_values  # the samples back where they were seen
    return x.clamp(0, 1)

"""Lattice fill: a least-squares fit of the crystal's Fourier peaks to the samples.

Atomic-resolution images are, over most of their area, a lattice: a few Fourier peaks at
continuous (off-grid) frequencies whose amplitudes change slowly across the field (grains,
thickness, a particle's edge). A sparse FFT fill (:func:`completion.fills.sparse_spectrum_fill`)
finds the strongest of those peaks but must spread every off-grid peak over many grid
coefficients, so it loses most of a lattice's contrast in the gaps. This fill:

1. finds up to 12 peaks in the Hann-windowed, 2x zero-padded spectrum of a first
   estimate (the sparse FFT fill), each refined to a fraction of a frequency bin;
2. fits, by ridge-regularised least squares on the samples alone, a smooth background
   (bilinear on a coarse grid, kept smooth) plus a cosine and a sine per peak whose
   amplitudes are bilinear on a ``G x G`` grid over the field (control points about 256 px
   apart: ``G`` is 1 for 128 px, 2 for 256 px, 3 for 512 px), so each grain keeps its own
   peaks and phases;
3. checks the fit by two-fold cross-validation on a checkerboard of 32 px blocks against a
   pull-push fill made from the same samples, and keeps it only where it predicts held-out
   samples better (per image); otherwise the first estimate is returned unchanged.

It is switched off for row-sampled scans (raster, serpentine, grid): samples on equally spaced
lines cannot tell a lattice peak from its aliases one line-spacing away in frequency, and no
held-out check on the same lines can either (:func:`line_sampled`).

Tensors are (N, 1, H, W) float32; the fits run per image in float64 on the CPU side of the
device the inputs are on.
"""

from __future__ import annotations

import math

import torch

from .fills import pull_push
from .reuse import memoized

__all__ = ["find_peaks", "lattice_fill", "line_sampled"]


def line_sampled(mask: torch.Tensor) -> bool:
    """True when ``mask`` (H, W) samples whole, evenly spaced rows or columns.

    The test: the coefficient of variation of the per-row (or per-column) sampled fraction is
    above 1.8 and above 5 times what random samples of the same coverage would give. Raster,
    serpentine and grid scans score 2-20; spiral, Lissajous, random points and walks, and
    polylines stay below (measured over 128-512 px fields and 1/100-1/10 coverage).
    """
    m = mask.double()
    h, w = m.shape
    p = float(m.mean())
    if p <= 0 or p >= 1:
        return False
    for prof, n in ((m.mean(1), w), (m.mean(0), h)):
        cv = float(prof.std() / prof.mean())
        cv_random = math.sqrt((1 - p) / (p * n))
        if cv > 1.8 and cv > 5 * cv_random:
            return True
    return False


def find_peaks(image: torch.Tensor, max_peaks: int = 12, rel: float = 0.03, f_min: float = 1 / 48) -> torch.Tensor:
    """Fourier peaks of ``image`` (H, W): (K, 2) float64 frequencies (fy, fx) in cycles/px.

    One of each conjugate pair (fx > 0, or fx = 0 and fy > 0); peaks weaker than ``rel`` times
    the strongest, or slower than ``f_min`` (left to the background), are dropped. Positions
    are refined by a parabola through the log-magnitudes either side of the peak bin.
    """
    h, w = image.shape
    win = torch.hann_window(h, periodic=False, dtype=torch.float64, device=image.device)[:, None] * torch.hann_window(
        w, periodic=False, dtype=torch.float64, device=image.device
    )
    x = (image.double() - image.double().mean()) * win
    hh, ww = 2 * h, 2 * w
    mag = torch.fft.rfft2(x.float(), s=(hh, ww)).abs()  # (hh, ww // 2 + 1): fx >= 0
    fy = torch.fft.fftfreq(hh, dtype=torch.float64, device=image.device)
    fx = torch.fft.rfftfreq(ww, dtype=torch.float64, device=image.device)
    n_fx = mag.shape[1]
    radius = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    half = (fx[None, :] > 0) | (fy[:, None] > 0)
    score = torch.where(half & (radius >= f_min), mag, torch.full_like(mag, -1.0)).flatten()
    # local maxima over 5 x 5 (wrapping in fy, where the spectrum is periodic), looked for
    # among the strongest bins only: a peak and its side lobes take a few dozen of them
    top_v, top_i = torch.topk(score, min(score.numel(), 64 * max_peaks))
    top_i = top_i[top_v >= 0]
    i, j = top_i // n_fx, top_i % n_fx
    off = torch.arange(-2, 3, device=mag.device)
    ni = (i[:, None, None] + off[None, :, None]) % hh
    nj = j[:, None, None] + off[None, None, :]
    inside = (nj >= 0) & (nj < n_fx)
    around = torch.where(inside, mag[ni, nj.clamp(0, n_fx - 1)], torch.full_like(inside, -1.0, dtype=mag.dtype))
    is_max = mag[i, j] >= around.flatten(1).amax(dim=1)
    i, j = i[is_max], j[is_max]
    if i.numel() == 0:
        return torch.zeros(0, 2, dtype=torch.float64, device=image.device)
    vals = mag[i, j]
    keep = vals >= rel * vals[0]
    i, j = i[keep][:max_peaks], j[keep][:max_peaks]

    def logm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.log(mag[a, b].double() + 1e-12)

    def vertex(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        d = a - 2 * b + c
        return torch.where(d < 0, 0.5 * (a - c) / torch.where(d < 0, d, torch.ones_like(d)), torch.zeros_like(d))

    di = vertex(logm((i - 1) % hh, j), logm(i, j), logm((i + 1) % hh, j))
    jl = (j - 1).clamp_min(0)
    jr = (j + 1).clamp_max(n_fx - 1)
    dj = torch.where((j > 0) & (j < n_fx - 1), vertex(logm(i, jl), logm(i, j), logm(i, jr)), torch.zeros_like(di))
    return torch.stack([fy[i] + di / hh, fx[j] + dj / ww], dim=1)


def _tents(coord: torch.Tensor, n: int, g: int) -> torch.Tensor:
    """Bilinear hat weights (S, g) of ``g`` control points spread over [0, n - 1]."""
    if g == 1:
        return torch.ones(len(coord), 1, dtype=torch.float64, device=coord.device)
    t = coord / max(n - 1, 1) * (g - 1)
    i0 = t.floor().long().clamp(0, g - 2)
    a = t - i0
    out = torch.zeros(len(coord), g, dtype=torch.float64, device=coord.device)
    rows = torch.arange(len(coord), device=coord.device)
    out[rows, i0] = 1 - a
    out[rows, i0 + 1] = a
    return out


class _Model:
    """Background on a ``gb x gb`` grid plus per-peak cos/sin amplitudes on a ``g x g`` grid."""

    def __init__(self, shape: tuple[int, int], freqs: torch.Tensor, g: int, gb: int) -> None:
        self.h, self.w = shape
        self.freqs, self.g, self.gb = freqs, g, gb
        self.n_bg = gb * gb

    @property
    def n_params(self) -> int:
        return self.n_bg + 2 * len(self.freqs) * self.g * self.g

    def design(self, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """(S, n_params) float64 features at integer pixel positions."""
        y, x = ys.double(), xs.double()
        s = len(y)
        bg = (_tents(y, self.h, self.gb)[:, :, None] * _tents(x, self.w, self.gb)[:, None, :]).reshape(s, -1)
        if len(self.freqs) == 0:
            return bg
        amp = (_tents(y, self.h, self.g)[:, :, None] * _tents(x, self.w, self.g)[:, None, :]).reshape(s, -1)
        phase = 2 * math.pi * (y[:, None] * self.freqs[None, :, 0] + x[:, None] * self.freqs[None, :, 1])
        cos = (torch.cos(phase)[:, :, None] * amp[:, None, :]).reshape(s, -1)
        sin = (torch.sin(phase)[:, :, None] * amp[:, None, :]).reshape(s, -1)
        return torch.cat([bg, cos, sin], dim=1)

    def _background_penalty(self, device: torch.device) -> torch.Tensor:
        """(n_bg, n_bg) squared discrete Laplacian of the background grid (smoothness)."""
        gb = self.gb
        d = torch.zeros(gb, gb, dtype=torch.float64, device=device)
        idx = torch.arange(gb, device=device)
        d[idx, idx] = -2.0
        d[idx[:-1], idx[:-1] + 1] = 1.0
        d[idx[1:], idx[1:] - 1] = 1.0
        d[0, 0] = d[-1, -1] = -1.0  # free ends
        eye = torch.eye(gb, dtype=torch.float64, device=device)
        lap = torch.kron(d, eye) + torch.kron(eye, d)
        return lap.T @ lap

    def solve(self, ata: torch.Tensor, atv: torch.Tensor, ridge: float) -> torch.Tensor:
        """Regularised least squares from the normal equations ``ata`` (P, P), ``atv`` (P,).

        The peak amplitudes are shrunk by ``ridge`` x the mean diagonal of ``ata``, so where no
        sample constrains them they fade to 0; the background is held smooth (a discrete
        Laplacian penalty) and pulled weakly towards 0 (the samples' mean is subtracted
        before the fit), so it cannot run away in large unsampled regions.
        """
        ata = ata.double()
        diag = ata.diagonal()
        scale = float(diag.mean()) if diag.numel() else 1.0
        reg = torch.full_like(diag, ridge * scale)
        reg[: self.n_bg] = 1e-3 * scale
        lhs = ata + torch.diag(reg)
        nb = self.n_bg
        lhs[:nb, :nb] += 0.05 * scale * self._background_penalty(ata.device)
        rhs = atv.double()
        try:
            return torch.linalg.solve(lhs, rhs)
        except RuntimeError:  # singular even so (a degenerate sample set)
            return torch.linalg.lstsq(lhs, rhs).solution

    def render(self, coef: torch.Tensor) -> torch.Tensor:
        """The model on the whole (H, W) grid, float64."""
        dev = coef.device
        yy = torch.arange(self.h, dtype=torch.float64, device=dev)
        xx = torch.arange(self.w, dtype=torch.float64, device=dev)
        out = _tents(yy, self.h, self.gb) @ coef[: self.n_bg].reshape(self.gb, self.gb) @ _tents(xx, self.w, self.gb).T
        k = len(self.freqs)
        if k == 0:
            return out
        g2 = self.g * self.g
        c = coef[self.n_bg : self.n_bg + k * g2]
        s = coef[self.n_bg + k * g2 :]
        amp = torch.complex(c, -s).reshape(k, self.g, self.g)  # c cos p + s sin p = Re((c - i s) e^{ip})
        ey = torch.exp(2j * math.pi * self.freqs[:, 0, None] * yy[None, :])  # (K, H)
        ex = torch.exp(2j * math.pi * self.freqs[:, 1, None] * xx[None, :])  # (K, W)
        u = _tents(yy, self.h, self.g).to(torch.complex128)[None] * ey[:, :, None]  # (K, H, g)
        v = _tents(xx, self.w, self.g).to(torch.complex128)[None] * ex[:, :, None]  # (K, W, g)
        return out + torch.einsum("kha,kab,kwb->hw", u, amp, v).real


def _grid_sizes(h: int, w: int, n_samples: int) -> tuple[int, int, int]:
    """(g, gb, max_peaks) for an (h, w) field with ``n_samples`` samples."""
    side = min(h, w)
    g = max(1, min(4, 1 + round((side - 1) / 256)))  # amplitude control points ~256 px apart
    gb = max(2, min(12, round(side / 64)))
    max_peaks = int(min(12, max(0, (n_samples / 6 - gb * gb) / (2 * g * g))))
    return g, gb, max_peaks


def _pull_push_1(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return pull_push(values[None, None], mask[None, None])[0][0, 0]


def _fit_one(
    values: torch.Tensor, mask: torch.Tensor, first: torch.Tensor, ridge: float, max_samples: int, block: int
) -> torch.Tensor | None:
    """The lattice fill of one (H, W) image, or None where it is off or fails its check."""
    h, w = values.shape
    seen = mask > 0
    n = int(seen.sum())
    if n < 64 or line_sampled(seen):
        return None
    g, gb, max_peaks = _grid_sizes(h, w, n)
    if max_peaks < 1:
        return None
    freqs = find_peaks(first, max_peaks=max_peaks)
    if len(freqs) == 0:
        return None
    ys, xs = torch.nonzero(seen, as_tuple=True)
    if n > max_samples:  # a fixed, evenly spread subset keeps the solve cheap and deterministic
        sel = torch.linspace(0, n - 1, max_samples, device=ys.device).round().long()
        ys, xs = ys[sel], xs[sel]
    v = values[ys, xs].double()
    mean = float(v.mean())
    v = v - mean  # the model is fitted about the mean, to which the regularisation pulls it
    model = _Model((h, w), freqs, g, gb)
    a = model.design(ys, xs).float()  # float32 products, float64 solves
    vf = v.float()
    # two-fold check on a checkerboard of blocks: the fit against a pull-push fill, each made
    # from one fold and scored on the other
    fold = ((ys // block) + (xs // block)) % 2
    yy, xx = torch.meshgrid(torch.arange(h, device=ys.device), torch.arange(w, device=ys.device), indexing="ij")
    fold_img = ((yy // block) + (xx // block)) % 2
    parts = []
    for f in (0, 1):
        sel = fold == f
        if int(sel.sum()) < model.n_params // 2 or int((~sel).sum()) < 16:
            return None
        parts.append((a[sel].T @ a[sel], a[sel].T @ vf[sel]))
    err_fit = err_pp = 0.0
    for f in (0, 1):
        test = fold != f
        coef = model.solve(*parts[f], ridge)
        err_fit += float(((a[test].double() @ coef + mean).clamp(0, 1) - mean - v[test]).pow(2).sum())
        m_train = (seen & (fold_img == f)).to(values.dtype)
        pp = _pull_push_1(values * m_train, m_train)
        err_pp += float((pp[ys[test], xs[test]].double() - mean - v[test]).pow(2).sum())
    if not err_fit < err_pp:
        return None
    coef = model.solve(parts[0][0] + parts[1][0], parts[0][1] + parts[1][1], ridge)
    out = model.render(coef) + mean
    if not torch.isfinite(out).all():
        return None
    return out.to(values.dtype).clamp(0, 1)


@torch.no_grad()
def lattice_fill(
    values: torch.Tensor,
    mask: torch.Tensor,
    first: torch.Tensor,
    ridge: float = 1e-1,
    max_samples: int = 4000,
    block: int = 32,
) -> torch.Tensor:
    """Lattice fill of a batch (see the module docstring).

    Args:
        values, mask: (N, 1, H, W) float; values 0 where unseen, mask in {0, 1}.
        first: (N, 1, H, W) the first estimate (the sparse FFT fill): where the peaks are
            looked for, and what is returned for images the fit does not help.
        ridge: shrinkage of the peak amplitudes, relative to the mean diagonal of the normal
            equations.
        max_samples: at most this many samples (evenly spread along the scan order) enter the
            fit (every k-th in raster order).
        block: block size px of the cross-validation checkerboard.

    Returns:
        (N, 1, H, W) in [0, 1], float of ``values``' dtype. Inside
        :func:`completion.reuse.reuse_fills` the same inputs give a copy of the first result.
    """
    return memoized(
        "lattice_fill",
        lambda: _lattice_fill(values, mask, first, ridge, max_samples, block),
        (values, mask, first),
        (float(ridge), int(max_samples), int(block)),
    )


def _lattice_fill(
    values: torch.Tensor, mask: torch.Tensor, first: torch.Tensor, ridge: float, max_samples: int, block: int
) -> torch.Tensor:
    out = first.clone()
    for i in range(values.shape[0]):
        fit = _fit_one(values[i, 0], mask[i, 0], first[i, 0], ridge, max_samples, block)
        if fit is not None:
            out[i, 0] = fit
    return out

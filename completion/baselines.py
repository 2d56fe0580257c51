"""Classical completers, all on the CPU: what a microscopist would otherwise use.

- ``nearest``: each pixel takes the value of the nearest sample (Euclidean distance transform).
- ``linear``: piecewise-linear interpolation on the Delaunay triangulation of the samples;
  outside their convex hull, the nearest sample.
- ``harmonic``: Laplace inpainting, the smoothest fill: unknown pixels solve the 5-point
  Laplace equation with the samples as Dirichlet data (one sparse direct solve).
- ``tv``: total-variation inpainting (edge-preserving): Chambolle-Pock primal-dual iterations
  started from the harmonic fill, samples held fixed.
- ``fourier``: sparse-spectrum inpainting (iterative hard thresholding of the 2-D Fourier
  transform, started from a pull-push fill): lattices are a few Fourier peaks, so this
  continues atomic columns across gaps that the smooth fills blur away. The image is padded
  by a free band (``pad`` px, no samples) so that the transform's periodicity does not tie
  the left border to the right one: on real frames the 8 px border band's error falls from
  1.65 x the interior's to 0.99 x. The same fill (without the band) is an input of the neural
  generator.
- ``lattice``: the sparse-spectrum fill's strongest peaks, refined to off-grid frequencies and
  fitted to the samples by least squares with amplitudes that vary slowly across the field
  (:mod:`completion.lattice`); kept per image only where a cross-validation check says it
  predicts held-out samples better than a pull-push fill, and never on row-sampled scans
  (raster, serpentine, grid), where it returns the sparse-spectrum fill. Where it is kept it is
  a fit, not an interpolant: it passes near the samples, not through them (shot noise is
  averaged out). Also an input of the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch
import torch.nn.functional as F
from scipy import interpolate, ndimage

from scanpaths.errors import InputError

from .base import Completer
from .fills import pull_push, sparse_spectrum_fill
from .lattice import lattice_fill
from .tiles import tiled, tiled_2d

__all__ = [
    "BASELINES",
    "FourierCompleter",
    "HarmonicCompleter",
    "LatticeCompleter",
    "LinearCompleter",
    "NearestCompleter",
    "TVCompleter",
    "get_baseline",
    "lattice_refine",
    "tv_refine",
]


class NearestCompleter(Completer):
    """Nearest-sample fill."""

    name = "nearest"
    summary = "each pixel takes the value of the nearest sample"

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        _, (iy, ix) = ndimage.distance_transform_edt(~mask, return_indices=True)
        return values[iy, ix].astype(np.float32)


class LinearCompleter(Completer):
    """Delaunay piecewise-linear interpolation, nearest sample outside the hull."""

    name = "linear"
    summary = "Delaunay piecewise-linear interpolation (nearest sample outside the hull)"

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(mask)
        if len(xs) < 3 or np.linalg.matrix_rank(np.column_stack([xs - xs[0], ys - ys[0]])) < 2:
            return NearestCompleter()._complete(values, mask)  # collinear samples: no triangles
        pts = np.column_stack([xs, ys]).astype(np.float64)
        interp = interpolate.LinearNDInterpolator(pts, values[ys, xs].astype(np.float64), fill_value=np.nan)
        uy, ux = np.nonzero(~mask)
        out = values.astype(np.float64).copy()
        out[uy, ux] = interp(np.column_stack([ux, uy]).astype(np.float64))
        holes = np.isnan(out)
        if holes.any():
            out[holes] = NearestCompleter()._complete(values, mask)[holes]
        return out.astype(np.float32)


def _laplacian(h: int, w: int) -> sp.csr_matrix:
    """5-point graph Laplacian of an h x w grid (Neumann borders), (h w, h w) sparse."""
    n = h * w
    idx = np.arange(n).reshape(h, w)
    right = (idx[:, :-1].ravel(), idx[:, 1:].ravel())
    down = (idx[:-1, :].ravel(), idx[1:, :].ravel())
    a = np.concatenate([right[0], down[0]])
    b = np.concatenate([right[1], down[1]])
    ones = np.ones(len(a))
    adj = sp.coo_matrix((ones, (a, b)), shape=(n, n))
    adj = (adj + adj.T).tocsr()
    deg = np.asarray(adj.sum(axis=1)).ravel()
    return (sp.diags(deg) - adj).tocsr()


class HarmonicCompleter(Completer):
    """Laplace (harmonic) inpainting by one sparse direct solve.

    Args:
        binning: solve on a grid binned ``binning`` x ``binning`` (each bin the mean of its
            samples), upsample bilinearly and put the samples back: about 7x faster at 2 (the
            solve's cost grows faster than the pixel count), a close stand-in where the gaps
            are several bins wide. 1 (default): the exact fill.
    """

    name = "harmonic"
    summary = "Laplace inpainting, the smoothest fill"

    def __init__(self, binning: int = 1) -> None:
        if not 1 <= int(binning) <= 16:
            raise InputError(f"binning must be in [1, 16], got {binning}")
        self.binning = int(binning)

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return tiled_2d(self._whole, values, mask, desc="harmonic: tiles")  # the solve grows faster than n

    def _whole(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b = self.binning
        if b > 1 and min(values.shape) >= 8 * b:
            return _binned(self._solve, values, mask, b)
        return self._solve(values, mask)

    def _solve(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = values.shape
        lap = _laplacian(h, w)
        known = mask.ravel()
        unknown = ~known
        v = values.ravel().astype(np.float64)
        a = lap[unknown][:, unknown].tocsc()
        rhs = -(lap[unknown][:, known] @ v[known])
        out = v.copy()
        out[unknown] = spl.spsolve(a, rhs)
        return np.clip(out, 0.0, 1.0).reshape(h, w).astype(np.float32)


def _binned(
    fill: Callable[[np.ndarray, np.ndarray], np.ndarray], values: np.ndarray, mask: np.ndarray, b: int
) -> np.ndarray:
    """``fill`` run on the b x b binned scan, upsampled bilinearly, the samples put back."""
    h, w = values.shape
    hp, wp = -(-h // b) * b, -(-w // b) * b
    v = np.zeros((hp, wp), np.float64)
    m = np.zeros((hp, wp), np.float64)
    v[:h, :w] = np.where(mask, values, 0.0)
    m[:h, :w] = mask
    num = v.reshape(hp // b, b, wp // b, b).sum(axis=(1, 3))
    den = m.reshape(hp // b, b, wp // b, b).sum(axis=(1, 3))
    small = fill((num / np.maximum(den, 1)).astype(np.float32), den > 0)
    up = ndimage.zoom(small.astype(np.float64), b, order=1, mode="nearest", grid_mode=True)[:h, :w]
    return np.where(mask, values, up).astype(np.float32)


def _grad(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gx = np.zeros_like(u)
    gy = np.zeros_like(u)
    gx[:, :-1] = u[:, 1:] - u[:, :-1]
    gy[:-1, :] = u[1:, :] - u[:-1, :]
    return gx, gy


def _div(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    d = np.zeros_like(px)
    d[:, 0] = px[:, 0]
    d[:, 1:-1] = px[:, 1:-1] - px[:, :-2]
    d[:, -1] = -px[:, -2]
    d[0, :] += py[0, :]
    d[1:-1, :] += py[1:-1, :] - py[:-2, :]
    d[-1, :] += -py[-2, :]
    return d


class TVCompleter(Completer):
    """Total-variation inpainting (isotropic TV, samples fixed), Chambolle-Pock iterations.

    Args:
        iterations: primal-dual iterations (default 150), started from the harmonic fill.
    """

    name = "tv"
    summary = "total-variation inpainting (edge-preserving), from the harmonic fill"

    def __init__(self, iterations: int = 150) -> None:
        if not 1 <= int(iterations) <= 100_000:
            raise InputError(f"iterations must be in [1, 100000], got {iterations}")
        self.iterations = int(iterations)

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return tv_refine(values, mask, HarmonicCompleter()._complete(values, mask), self.iterations)


def tv_refine(values: np.ndarray, mask: np.ndarray, init: np.ndarray, iterations: int = 150) -> np.ndarray:
    """Chambolle-Pock TV inpainting from ``init`` (H, W), samples fixed; (H, W) float32.

    :class:`TVCompleter` starts from the harmonic fill; pass one already computed to save it.
    """
    u = init.astype(np.float64).copy()
    known = values.astype(np.float64)
    tau = sigma = 1.0 / np.sqrt(8.0)
    px = np.zeros_like(u)
    py = np.zeros_like(u)
    ubar = u.copy()
    for _ in range(iterations):
        gx, gy = _grad(ubar)
        px += sigma * gx
        py += sigma * gy
        norm = np.maximum(1.0, np.sqrt(px**2 + py**2))
        px /= norm
        py /= norm
        u_old = u
        u = u + tau * _div(px, py)
        u[mask] = known[mask]  # projection onto the data constraint
        ubar = 2 * u - u_old
    return np.clip(u, 0.0, 1.0).astype(np.float32)


class FourierCompleter(Completer):
    """Sparse-spectrum (Fourier iterative hard thresholding) inpainting, on the CPU.

    Args:
        iterations: thresholding iterations (default 60, as the generator's input uses).
        pad: width of the free band around the image, px (0: the plain periodic transform).
    """

    name = "fourier"
    summary = "sparse-spectrum inpainting (continues lattices across gaps)"

    def __init__(self, iterations: int = 60, pad: int = 32) -> None:
        if not 2 <= int(iterations) <= 10_000:
            raise InputError(f"iterations must be in [2, 10000], got {iterations}")
        if not 0 <= int(pad) <= 1024:
            raise InputError(f"pad must be in [0, 1024] px, got {pad}")
        self.iterations = int(iterations)
        self.pad = int(pad)

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return tiled_2d(self._whole, values, mask, fft_pad=self.pad, desc=f"{self.name}: tiles")

    def _whole(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        p = self.pad
        with torch.no_grad():
            v = F.pad(torch.from_numpy(values)[None, None], (p, p, p, p))
            m = F.pad(torch.from_numpy(mask.astype(np.float32))[None, None], (p, p, p, p))
            fill, _ = pull_push(v, m)
            out = sparse_spectrum_fill(v, m, fill, self.iterations)
        h, w = values.shape
        return out[0, 0, p : p + h, p : p + w].numpy().astype(np.float32)


class LatticeCompleter(FourierCompleter):
    """Lattice fill (:func:`completion.lattice.lattice_fill`) started from the sparse-spectrum
    fill: the peaks are found in the plain (periodic) fill, as the generator's lattice input
    does; where the fit is refused, the padded fill (no wrap-around at the borders) is returned.

    Args:
        iterations, pad: as :class:`FourierCompleter`.
        tiles: (tile, overlap) px to tile large images as a generator does (so that inside
            ``auto`` each tile's sparse-spectrum fill is the one the generator's inputs were
            built on, computed once); None: the classical fills' tiles.
    """

    name = "lattice"
    summary = "least-squares fit of the lattice's Fourier peaks, kept where cross-validation says it helps"

    def __init__(self, iterations: int = 60, pad: int = 32, tiles: tuple[int, int] | None = None) -> None:
        super().__init__(iterations, pad)
        self.tiles = tiles

    def _complete(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.tiles is None:
            return super()._complete(values, mask)
        tile, overlap = self.tiles

        def fill(v: np.ndarray, m: np.ndarray) -> np.ndarray:  # one (1, h, w) tile
            return self._whole(v[0], m[0])[None]

        return tiled(fill, values, mask, tile, overlap, desc=f"{self.name}: tiles")

    def _whole(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        first = FourierCompleter(self.iterations, pad=0)._whole(values, mask)
        return lattice_refine(values, mask, first, fallback=lambda: FourierCompleter._whole(self, values, mask))


def lattice_refine(
    values: np.ndarray, mask: np.ndarray, first: np.ndarray, fallback: Callable[[], np.ndarray] | None = None
) -> np.ndarray:
    """The lattice fill of (H, W) ``values``/``mask`` from a first estimate (H, W); float32.

    :class:`LatticeCompleter` starts from the sparse-spectrum fill; pass one already computed
    to save it. ``fallback`` makes what is returned where the fit is refused (default: ``first``).
    """

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]

    out = lattice_fill(t(values * mask), t(mask), t(first))
    if fallback is not None and torch.equal(out[0, 0], t(first)[0, 0]):  # refused: nothing was fitted
        return fallback()
    return out[0, 0].numpy().astype(np.float32)


#: The classical completers by name.
BASELINES: dict[str, type[Completer]] = {
    "nearest": NearestCompleter,
    "linear": LinearCompleter,
    "harmonic": HarmonicCompleter,
    "tv": TVCompleter,
    "fourier": FourierCompleter,
    "lattice": LatticeCompleter,
}


def get_baseline(name: str) -> Completer:
    """A classical completer by name (one of :data:`BASELINES`)."""
    if name not in BASELINES:
        raise InputError(f"baseline must be one of {', '.join(BASELINES)}; got {name!r}")
    return BASELINES[name]()

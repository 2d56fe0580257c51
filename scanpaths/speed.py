"""Speed of the scan simulator: Numba kernels vs their plain twins, and a full 2048 px scan.

Prints, in one run:

- samples/s of the Numba coil integrator and rasteriser (and bilinear sampler), and their ratio
  to the plain-Python twins (goal >= 20x) and, for the linear part of the coil response, to
  ``scipy.signal.lfilter`` (which also checks that both give the same beam path);
- the time to simulate a full 2048 x 2048 typical-physics partial scan at 1/20 coverage on one
  core, after compilation (goal < 0.2 s).

Run: ``pstem speed`` (``--quick`` for smaller inputs). Speed goals live here, printed as
ratios; no test asserts a time. It lives in :mod:`scanpaths` because it times the package's
private kernels against their twins.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numba
import numpy as np
from scipy import signal

from . import _kernels as K
from . import specimens
from .paths import make_path
from .physics import coil_matrices, get_preset
from .scanner import simulate

__all__ = ["speed_report"]


def _best_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _lfilter_coil(command: np.ndarray, freq: float, damping: float, dwell: float) -> np.ndarray:
    """The linear coil response (no slew limit) through scipy.signal.lfilter, both axes."""
    w = 2 * np.pi * freq
    sys_c = (
        np.array([[0.0, 1.0], [-(w**2), -2 * damping * w]]),
        np.array([[0.0], [w**2]]),
        np.array([[1.0, 0.0]]),
        np.array([[0.0]]),
    )
    ad, bd, cd, dd, _ = signal.cont2discrete(sys_c, dwell, method="zoh")
    num, den = signal.ss2tf(ad, bd, cd, dd)
    out = np.empty_like(command)
    for k in range(2):
        u = command[:, k] - command[0, k]  # start at rest at the first command
        y = signal.lfilter(num[0], den, u)
        # lfilter's y[i] is the state before input i; the kernel reports the state after it
        out[:-1, k] = y[1:] + command[0, k]
        out[-1, k] = np.nan
    return out


def speed_report(quick: bool = False) -> str:
    """Run the speed benchmark on one core; the figures as text (``quick``: smaller inputs)."""
    out: list[str] = []
    line = out.append
    numba.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rng = np.random.default_rng(0)
    n_fast = 200_000 if quick else 2_000_000
    n_twin = 20_000 if quick else 100_000
    repeat = 3 if quick else 5

    preset = get_preset("typical")
    dwell = preset.dwell_s
    a, b = coil_matrices(preset.natural_freq_hz, preset.damping, dwell)
    cmd = np.cumsum(rng.normal(0, 1.0, size=(n_fast, 2)), axis=0)
    vmax = preset.slew_fov_per_s * 2048
    line(f"numba {numba.__version__}, threads 1; {n_fast:,} samples for Numba, {n_twin:,} for the twins\n")

    # ---- coil integrator
    K.coil_response(cmd[:10], a, b, 1, vmax * dwell, vmax)  # compile / load cache
    t_nb = _best_time(lambda: K.coil_response(cmd, a, b, 1, vmax * dwell, vmax), repeat)
    t_py = _best_time(lambda: K.coil_response_py(cmd[:n_twin], a, b, 1, vmax * dwell, vmax), 1)
    t_lf = _best_time(lambda: _lfilter_coil(cmd, preset.natural_freq_hz, preset.damping, dwell), repeat)
    nb_lin = K.coil_response(cmd, a, b, 1, np.inf, np.inf)
    lf = _lfilter_coil(cmd, preset.natural_freq_hz, preset.damping, dwell)
    diff = np.nanmax(np.abs(nb_lin - lf))
    rate_nb, rate_py, rate_lf = n_fast / t_nb, n_twin / t_py, n_fast / t_lf
    line("coil integrator (2nd order + slew limit, both axes)")
    line(f"  numba           {rate_nb:>14,.0f} samples/s")
    line(f"  python twin     {rate_py:>14,.0f} samples/s   numba / twin    = {rate_nb / rate_py:8.1f}x (goal >= 20x)")
    line(f"  scipy lfilter   {rate_lf:>14,.0f} samples/s   numba / lfilter = {rate_nb / rate_lf:8.2f}x (linear part)")
    line(f"  numba vs lfilter, no slew limit: max |difference| = {diff:.2e} px\n")

    # ---- rasteriser
    h = w = 2048
    pos = rng.uniform(-1, 2048, size=(n_fast, 2))
    vals = rng.random(n_fast)
    use = rng.random(n_fast) > 0.05
    K.rasterize(pos[:10], vals[:10], use[:10], h, w)
    t_nb = _best_time(lambda: K.rasterize(pos, vals, use, h, w), repeat)
    t_py = _best_time(lambda: K.rasterize_py(pos[:n_twin], vals[:n_twin], use[:n_twin], h, w), 1)
    t_np = _best_time(lambda: K.rasterize_numpy(pos, vals, use, h, w), repeat)
    rate_nb, rate_py, rate_np = n_fast / t_nb, n_twin / t_py, n_fast / t_np
    line("rasteriser (samples -> per-pixel sums and counts, 2048 x 2048)")
    line(f"  numba           {rate_nb:>14,.0f} samples/s")
    line(f"  python twin     {rate_py:>14,.0f} samples/s   numba / twin    = {rate_nb / rate_py:8.1f}x (goal >= 20x)")
    line(f"  numpy bincount  {rate_np:>14,.0f} samples/s   numba / numpy   = {rate_nb / rate_np:8.2f}x\n")

    # ---- bilinear sampler
    img = rng.random((h, w))
    K.bilinear_sample(img, pos[:10], use[:10])
    t_nb = _best_time(lambda: K.bilinear_sample(img, pos, use), repeat)
    t_py = _best_time(lambda: K.bilinear_sample_py(img, pos[:n_twin], use[:n_twin]), 1)
    rate_nb, rate_py = n_fast / t_nb, n_twin / t_py
    line("bilinear detector sampling")
    line(f"  numba           {rate_nb:>14,.0f} samples/s")
    line(f"  python twin     {rate_py:>14,.0f} samples/s   numba / twin    = {rate_nb / rate_py:8.1f}x\n")

    # ---- a full scan
    size = 1024 if quick else 2048
    spec = specimens.generate((size, size), seed=0, scene="crystal")
    t0 = time.perf_counter()
    path = make_path("spiral", (size, size), coverage=1 / 20, seed=0)
    t_path = time.perf_counter() - t0
    simulate(spec.image, path, preset="typical", seed=0)  # warm
    t_sim = _best_time(lambda: simulate(spec.image, path, preset="typical", seed=0), repeat)
    scan = simulate(spec.image, path, preset="typical", dose=20.0, seed=0)
    t_dose = _best_time(lambda: simulate(spec.image, path, preset="typical", dose=20.0, seed=0), repeat)
    line(f"full scan: {size} x {size} spiral at 1/20 coverage, typical physics, one core")
    line(f"  make_path (coverage solver)  {t_path:7.3f} s   ({path.n_samples:,} samples, coverage {scan.coverage:.4f})")
    line(f"  simulate                     {t_sim:7.3f} s   (goal < 0.2 s)")
    line(f"  simulate with dose noise     {t_dose:7.3f} s")
    line(f"  simulated scan time          {scan.time_s * 1e3:7.1f} ms of microscope time")
    return "\n".join(out)

"""``pstem paths``, ``specimens``, ``simulate`` and ``presets``: the scan simulator."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import numpy as np

import scanpaths
from benchmarks import plotting
from benchmarks.panels import paths_panel, specimen_gallery
from scanpaths.common import atomic_write
from scanpaths.errors import InputError

from .options import add_image_options, coverage, figure_file, prepare, seed, suffixed

__all__ = ["configure"]


def _check_range(value: int, flag: str, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InputError(f"{flag} must be in [{low}, {high}], got {value}")


def _kinds_help() -> str:
    return ", ".join(scanpaths.PATH_KINDS)


# --------------------------------------------------------------------------- commands
def _paths(args: argparse.Namespace) -> int:
    _check_range(args.size, "--size", 64, 2048)
    _check_range(args.dpi, "--dpi", 20, 600)
    scanpaths.get_preset(args.preset)
    for k in args.kinds or ():
        if k not in scanpaths.PATH_KINDS:
            raise InputError(f"--kinds: unknown path kind {k!r}; choose from {_kinds_help()}")
    prepare(args.out)
    rows = paths_panel(
        args.out,
        size=args.size,
        coverage=args.coverage,
        preset=args.preset,
        seed=args.seed,
        kinds=args.kinds,
        dpi=args.dpi,
    )
    print(f"{'path':<12} {'coverage':>9} {'time ms':>9} {'median err px':>14} {'max err px':>11}")
    for r in rows:
        print(
            f"{r['kind']:<12} {r['coverage']:>9.4f} {r['time_s'] * 1e3:>9.2f} "
            f"{r['median_err_px']:>14.2f} {r['max_err_px']:>11.1f}"
        )
    print(f"wrote {args.out}")
    return 0


def _specimens(args: argparse.Namespace) -> int:
    _check_range(args.size, "--size", 16, 2048)
    _check_range(args.dpi, "--dpi", 20, 600)
    _check_range(args.n, "-n", 1, 64)
    prepare(args.out)
    specimen_gallery(args.out, n=args.n, size=args.size, seed=args.seed, dpi=args.dpi)
    print(f"wrote {args.out}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    if (args.image is None) == (args.synthetic is None):
        raise InputError("give either an IMAGE file or --synthetic SIZE")
    stepped = "@" in args.path
    if stepped:
        from rl.equal_time import fixed_path, spiral_time, split_step  # here: rl loads torch, which --help need not

        try:
            split_step(args.path)
        except InputError as exc:
            raise InputError(f"--path: {exc}") from None
    elif args.path not in scanpaths.PATH_KINDS:
        raise InputError(f"--path must be one of {_kinds_help()}, or KIND@STEP; got {args.path!r}")
    preset = scanpaths.get_preset(args.preset)
    if args.image is not None:
        frame = scanpaths.io.read_image(
            args.image, frame=args.frame, scaling=args.scaling, pixel_size_nm=args.pixel_size
        )
        image, calibration = frame.image, frame.calibration
        source = frame.name
        for note in frame.notes:
            print(f"{source}: {note}")
    else:
        if args.frame is not None or args.scaling != "auto":
            raise InputError("--frame and --scaling apply to an IMAGE file, not to --synthetic")
        _check_range(args.synthetic, "--synthetic", 16, 8192)
        spec = scanpaths.specimens.generate((args.synthetic, args.synthetic), seed=args.seed)
        image = spec.image
        calibration = scanpaths.io.Calibration.given(args.pixel_size) if args.pixel_size else scanpaths.io.Calibration()
        source = f"synthetic {spec.scene} (seed {args.seed})"
    if calibration.pixel_size_nm is None:
        pixel_nm = preset.pixel_size_nm
        print(f"pixel size: {calibration.describe()}; the preset's {pixel_nm:g} nm/px assumed (--pixel-size NM)")
    else:
        pixel_nm = calibration.pixel_size_nm
        print(f"pixel size: {calibration.describe()}")
    extra = {}
    if args.path == "waypoints":
        if args.waypoints is None:
            raise InputError("--path waypoints needs --waypoints FILE.npy holding a (K, 2) array of (x, y) px")
        extra["waypoints"] = np.load(args.waypoints, allow_pickle=False)
    if stepped:  # the time a spiral at the coverage takes, at the dwell the scan will have
        timed = preset if args.dwell is None else dataclasses.replace(preset, dwell_s=args.dwell)
        budget_s = spiral_time(image.shape, args.coverage, timed)
        path = fixed_path(args.path, image.shape, budget_s, timed, seed=args.seed)
        print(f"{args.path}: the {budget_s * 1e3:.3g} ms a spiral at coverage {args.coverage:g} takes")
    else:
        path = scanpaths.make_path(args.path, image.shape, coverage=args.coverage, seed=args.seed, **extra)
    scan = scanpaths.simulate(
        image,
        path,
        preset=preset,
        dose=args.dose,
        seed=args.seed,
        dwell_s=args.dwell,
        pixel_size_nm=pixel_nm,
        register=args.register,
    )
    prepare(args.out)
    with atomic_write(args.out) as fh:  # to a file object: the name given, no ".npz" appended
        np.savez_compressed(
            fh,
            values=scan.values,
            mask=scan.mask,
            counts=scan.counts,
            trajectory=scan.trajectory.astype(np.float32),
            commanded=scan.commanded.astype(np.float32),
            blanked=scan.blanked,
            truth=image.astype(np.float32),
            time_s=scan.time_s,
            dwell_s=scan.dwell_s,
            pixel_size_nm=pixel_nm,
        )
    dose = "no dose noise" if scan.dose_e is None else f"{scan.dose_e:.3g} e-"
    print(
        f"{source}: {args.path} at coverage {scan.coverage:.4f} (1/{1 / scan.coverage:.1f}), "
        f"'{scan.preset.name}' physics, {scan.time_s * 1e3:.2f} ms, {dose}"
    )
    print(f"wrote {args.out} (values, mask, counts, trajectory, commanded, blanked, truth, pixel_size_nm)")
    if args.png is not None:
        prepare(args.png)
        fig, axes = plotting.figure(1, 3, figsize=(12, 4.3))
        axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("specimen")
        plotting.show_scan(axes[1], np.where(scan.mask, scan.values, np.nan))
        axes[1].set_title(f"partial scan, coverage 1/{1 / scan.coverage:.0f} (blue: not scanned)", fontsize=10)
        on = ~scan.blanked
        axes[2].imshow(image, cmap="gray", vmin=0, vmax=1, alpha=0.4)
        axes[2].plot(*scan.commanded[on].T, ",", color="tab:blue")
        axes[2].plot(*scan.trajectory[on].T, ",", color="tab:orange")
        axes[2].set_title("commanded (blue) vs actual (orange)")
        for ax in axes:
            ax.set_xlabel("x (px)")
            plotting.scale_bar(ax, image.shape[1], pixel_nm)
        fig.tight_layout()
        plotting.save(fig, args.png, dpi=110)
        print(f"wrote {args.png}")
    return 0


def _presets(_args: argparse.Namespace) -> int:
    head = f"{'preset':<16} {'dwell us':>8} {'f_n kHz':>8} {'zeta':>5} {'tau us':>7} {'slew FOV/ms':>11} "
    head += f"{'settle us':>9} {'jitter nm':>9} {'drift nm/s':>10} {'belief':>6}"
    print(head)
    for p in scanpaths.PRESETS.values():
        fn = "inf" if math.isinf(p.natural_freq_hz) else f"{p.natural_freq_hz / 1e3:.0f}"
        tau = "0" if math.isinf(p.natural_freq_hz) else f"{p.tau_s * 1e6:.1f}"
        slew = "inf" if math.isinf(p.slew_fov_per_s) else f"{p.slew_fov_per_s / 1e3:.0f}"
        jit = sum(a for _, a in p.jitter_lines)
        print(
            f"{p.name:<16} {p.dwell_s * 1e6:>8.2f} {fn:>8} {p.damping:>5.2f} {tau:>7} {slew:>11} "
            f"{p.settle_s * 1e6:>9.1f} {jit:>9.3f} {p.drift_nm_per_s:>10.3f} {p.coil_belief:>6.2f}"
        )
        print(f"{'':<16} {p.description}")
    print(
        "\nbelief: the coils' natural frequency as the scan system believes it, over the true one "
        "(its feed-forward and coil model use it)"
    )
    print("\nsources:")
    for line in scanpaths.physics.PRESET_SOURCES:
        print(f"- {line}")
    return 0


# --------------------------------------------------------------------------- parsers
def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``name`` to its subparser ``p``."""
    presets = ", ".join(scanpaths.PRESETS)
    if name == "paths":
        p.description = (
            "Draw every path kind on a synthetic crystal: commanded vs actual beam under a preset's coil "
            "physics, a zoom on the worst distortion, the mask and the partial scan."
        )
        p.add_argument("--size", type=int, default=512, help="image size in px (64-2048, default 512)")
        p.add_argument("--coverage", type=coverage, default=0.05, help="fraction scanned, e.g. 0.05 or 1/20")
        p.add_argument("--preset", default="typical", help=f"physics preset: {presets}")
        p.add_argument("--seed", type=seed, default=0, help="seed for the specimen and random paths")
        p.add_argument("--kinds", nargs="+", metavar="KIND", help=f"path kinds (default all: {_kinds_help()})")
        p.add_argument(
            "-o", "--out", type=figure_file, default=Path("paths.png"), help="output PNG/PDF/SVG (default paths.png)"
        )
        p.add_argument("--dpi", type=int, default=110, help="resolution of the PNG (default 110)")
        p.set_defaults(func=_paths)
    elif name == "specimens":
        p.description = "Draw synthetic HAADF specimens with their planted defects marked."
        p.add_argument("-n", type=int, default=8, help="how many (1-64, default 8)")
        p.add_argument("--size", type=int, default=256, help="image size in px (16-2048, default 256)")
        p.add_argument("--seed", type=seed, default=0, help="first seed (default 0)")
        p.add_argument("-o", "--out", type=figure_file, default=Path("specimens.png"), help="output PNG/PDF/SVG")
        p.add_argument("--dpi", type=int, default=110, help="resolution of the PNG (default 110)")
        p.set_defaults(func=_specimens)
    elif name == "simulate":
        p.description = (
            "Scan an image along a path through a preset's physics and save the partial scan (values, mask, "
            "counts, trajectory, commanded, blanked, truth) as .npz."
        )
        p.add_argument(
            "image",
            nargs="?",
            type=Path,
            help="TIFF, NumPy or PNG image (DM3/DM4, SER/EMI, EMD, MRC with the formats extra); its pixel "
            "size, where the file has one, sets the jitter and drift in px",
        )
        p.add_argument("--synthetic", type=int, metavar="SIZE", help="scan a synthetic SIZE x SIZE specimen instead")
        p.add_argument(
            "--path",
            default="spiral",
            help=f"path kind: {_kinds_help()}; or KIND@STEP (e.g. lissajous@3): the kind moving STEP px per "
            "tick, its lines that much closer, in the time a spiral at --coverage takes",
        )
        p.add_argument("--waypoints", type=Path, help="for --path waypoints: .npy with a (K, 2) array of (x, y) px")
        p.add_argument("--coverage", type=coverage, default=0.05, help="fraction scanned (default 0.05)")
        p.add_argument("--preset", default="typical", help=f"physics preset: {presets}")
        p.add_argument("--dose", type=float, help="electrons per sample for Poisson noise (default: none)")
        p.add_argument("--dwell", type=float, help="dwell time per sample in s (default: the preset's)")
        p.add_argument(
            "--register",
            choices=scanpaths.REGISTERS,
            default="commanded",
            help="file each sample where the beam was commanded (default), where the coil model puts it for the "
            "drive (no jitter or drift: what a scan generator that knows its coils can compute), or where it was",
        )
        p.add_argument("--seed", type=seed, default=0, help="seed (default 0)")
        add_image_options(p)
        p.add_argument(
            "-o", "--out", type=suffixed(".npz"), default=Path("scan.npz"), help="output .npz (default scan.npz)"
        )
        p.add_argument("--png", type=figure_file, help="also draw specimen, partial scan and trajectory to this PNG")
        p.set_defaults(func=_simulate)
    elif name == "presets":
        p.description = "List the physics presets and the numbers behind them."
        p.set_defaults(func=_presets)

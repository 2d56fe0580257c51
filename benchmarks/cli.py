"""``pstem``: the partialstem command line.

Every subcommand validates its input first; a bad value prints one line
``pstem: error: ...`` on stderr (no traceback) and exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path as FsPath

import numpy as np

import scanpaths
from scanpaths.errors import InputError

log = logging.getLogger("pstem")

_EPILOG = """\
examples:
  pstem paths --size 512 --coverage 0.05 -o paths.png   every path kind, commanded vs actual
  pstem specimens -n 8 -o specimens.png                 the synthetic specimen mix
  pstem simulate my_image.tif --path spiral --coverage 0.05 -o scan.npz
  pstem simulate --synthetic 512 --path lissajous --coverage 0.02 --dose 10 -o scan.npz --png scan.png
  pstem complete --demo -o demo.png                     complete a built-in specimen, draw a panel
  pstem complete scan.npz -o completed.tif              complete a partial scan with the shipped model
  pstem train-gan --out runs/gan                        train the completion generator
  pstem presets                                         the microscope presets and their numbers
  pstem train-rl --out runs/rl --steps 100000           train an adaptive-scan agent (PPO)
  pstem bench                                           the quick benchmark suite -> bench-quick/
  pstem bench --suite paper --out bench-paper           Ede & Beanland's grid, with and without physics
  pstem plot bench-quick                                redraw summary and plots from results.csv
  pstem speed                                           speed of the Numba kernels (ratios)

coverage is the fraction of pixels scanned: 0.05 = 1/20. Run 'pstem COMMAND --help' for more.
"""


def _coverage(text: str) -> float:
    """Parse a coverage given as 0.05 or 1/20."""
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.05 or 1/20, got {text!r}") from None
    if not (0 < value <= 1) or math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _out_file(text: str) -> FsPath:
    p = FsPath(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    return p


def _prepare(out: FsPath) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for {out}: {exc.strerror}") from None


# --------------------------------------------------------------------------- subcommands
def _cmd_paths(args: argparse.Namespace) -> int:
    from .panels import paths_panel

    _prepare(args.out)
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


def _cmd_specimens(args: argparse.Namespace) -> int:
    from .panels import specimen_gallery

    _prepare(args.out)
    specimen_gallery(args.out, n=args.n, size=args.size, seed=args.seed, dpi=args.dpi)
    print(f"wrote {args.out}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    if (args.image is None) == (args.synthetic is None):
        raise InputError("give either an IMAGE file or --synthetic SIZE")
    if args.image is not None:
        image = scanpaths.io.load_image(args.image)
        source = str(args.image)
    else:
        spec = scanpaths.specimens.generate((args.synthetic, args.synthetic), seed=args.seed)
        image = spec.image
        source = f"synthetic {spec.scene} (seed {args.seed})"
    extra = {}
    if args.path == "waypoints":
        if args.waypoints is None:
            raise InputError("--path waypoints needs --waypoints FILE.npy holding a (K, 2) array of (x, y) px")
        extra["waypoints"] = np.load(args.waypoints, allow_pickle=False)
    path = scanpaths.make_path(args.path, image.shape, coverage=args.coverage, seed=args.seed, **extra)
    scan = scanpaths.simulate(image, path, preset=args.preset, dose=args.dose, seed=args.seed, dwell_s=args.dwell)
    _prepare(args.out)
    np.savez_compressed(
        args.out,
        values=scan.values,
        mask=scan.mask,
        counts=scan.counts,
        trajectory=scan.trajectory.astype(np.float32),
        commanded=scan.commanded.astype(np.float32),
        blanked=scan.blanked,
        truth=image.astype(np.float32),
        time_s=scan.time_s,
        dwell_s=scan.dwell_s,
    )
    dose = "no dose noise" if scan.dose_e is None else f"{scan.dose_e:.3g} e-"
    print(
        f"{source}: {args.path} at coverage {scan.coverage:.4f} (1/{1 / scan.coverage:.1f}), "
        f"'{scan.preset.name}' physics, {scan.time_s * 1e3:.2f} ms, {dose}"
    )
    print(f"wrote {args.out} (values, mask, counts, trajectory, commanded, blanked, truth)")
    if args.png is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        _prepare(args.png)
        fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
        axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("specimen")
        axes[1].imshow(scan.values, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[1].set_title(f"partial scan, coverage 1/{1 / scan.coverage:.0f}")
        on = ~scan.blanked
        axes[2].imshow(image, cmap="gray", vmin=0, vmax=1, alpha=0.4)
        axes[2].plot(*scan.commanded[on].T, ",", color="tab:blue")
        axes[2].plot(*scan.trajectory[on].T, ",", color="tab:orange")
        axes[2].set_title("commanded (blue) vs actual (orange)")
        for ax in axes:
            ax.set_xlabel("x (px)")
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        plt.close(fig)
        print(f"wrote {args.png}")
    return 0


def _cmd_presets(_args: argparse.Namespace) -> int:
    head = f"{'preset':<11} {'dwell us':>8} {'f_n kHz':>8} {'zeta':>5} {'tau us':>7} {'slew FOV/ms':>11} "
    head += f"{'settle us':>9} {'jitter nm':>9} {'drift nm/s':>10}"
    print(head)
    for p in scanpaths.PRESETS.values():
        fn = "inf" if math.isinf(p.natural_freq_hz) else f"{p.natural_freq_hz / 1e3:.0f}"
        tau = "0" if math.isinf(p.natural_freq_hz) else f"{p.tau_s * 1e6:.1f}"
        slew = "inf" if math.isinf(p.slew_fov_per_s) else f"{p.slew_fov_per_s / 1e3:.0f}"
        jit = sum(a for _, a in p.jitter_lines)
        print(
            f"{p.name:<11} {p.dwell_s * 1e6:>8.2f} {fn:>8} {p.damping:>5.2f} {tau:>7} {slew:>11} "
            f"{p.settle_s * 1e6:>9.1f} {jit:>9.3f} {p.drift_nm_per_s:>10.3f}"
        )
        print(f"{'':<11} {p.description}")
    return 0


def _cmd_complete(args: argparse.Namespace) -> int:
    from completion import get_completer

    completer = get_completer(args.model, device=args.device, precision=args.precision)
    if args.demo:
        return _complete_demo(args, completer)
    if args.scan is None:
        raise InputError("give SCAN (and MASK), a .npz from 'pstem simulate', or --demo")
    if args.scan.suffix.lower() == ".npz" and args.mask is None:
        with np.load(args.scan, allow_pickle=False) as z:
            if not {"values", "mask"} <= set(z.files):
                raise InputError(f"{args.scan}: an .npz needs arrays 'values' and 'mask' (as pstem simulate writes)")
            values, mask = z["values"], z["mask"]
    else:
        if args.mask is None:
            raise InputError("MASK is missing: give the mask file after the scan (nonzero = scanned)")
        values = scanpaths.io.read_array(args.scan)
        mask = scanpaths.io.read_array(args.mask) != 0
    _prepare(args.out)
    image = completer.complete(values, mask)
    scanpaths.io.save_image(args.out, image)
    print(f"completed {values.shape[0]}x{values.shape[1]} px at coverage {mask.mean():.4f} with {completer.name}")
    print(f"wrote {args.out}")
    return 0


def _complete_demo(args: argparse.Namespace, completer: object) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from completion import baselines

    size = 512
    spec = scanpaths.specimens.generate((size, size), seed=args.seed, scene="crystal")
    path = scanpaths.make_path("spiral", (size, size), coverage=args.coverage, seed=args.seed)
    scan = scanpaths.simulate(spec.image, path, preset="typical", seed=args.seed)
    out = completer.complete(scan.values, scan.mask)  # type: ignore[attr-defined]
    lin = baselines.get_baseline("linear").complete(scan.values, scan.mask)
    mse = float(np.mean((out - spec.clean) ** 2))
    mse_lin = float(np.mean((lin - spec.clean) ** 2))
    png = args.out if args.out.suffix.lower() in (".png", ".pdf") else args.out.with_suffix(".png")
    _prepare(png)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    panels = [
        (spec.image, "specimen (full scan)"),
        (scan.values, f"spiral partial scan, 1/{1 / scan.coverage:.0f}"),
        (lin, f"linear: MSE {mse_lin:.2e}"),
        (out, f"{completer.name}: MSE {mse:.2e}"),  # type: ignore[attr-defined]
    ]
    for ax, (img, title) in zip(axes, panels, strict=True):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle("MSE against the noise-free specimen")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    print(f"demo: {size}x{size} crystal, spiral at {scan.coverage:.4f}, typical physics; MSE vs noise-free truth:")
    print(f"  linear {mse_lin:.3e}   {completer.name} {mse:.3e}")  # type: ignore[attr-defined]
    print(f"wrote {png}")
    return 0


def _cmd_train_gan(args: argparse.Namespace) -> int:
    from completion.data import DataConfig
    from completion.train import TrainConfig, train

    pool_shape = args.pool_shape if args.pool_shape is not None else max(256, args.crop + 64)
    data = DataConfig(crop=args.crop, pool_size=args.pool_size, pool_shape=pool_shape, user_dir=args.data_dir)
    cfg = TrainConfig(
        out=str(args.out),
        steps_mse=args.steps_mse,
        steps_adv=args.steps_adv,
        batch=args.batch,
        lr=args.lr,
        adv_weight=args.adv_weight,
        width=args.width,
        lattice=args.lattice,
        seed=args.seed,
        device=args.device,
        val_every=args.val_every,
        ckpt_every=args.ckpt_every,
        threads=args.threads,
        init=args.init,
        precision=args.precision,
        data=data,
    )
    try:
        out = train(cfg, resume=args.resume)
    except KeyboardInterrupt:
        print(
            f"pstem: interrupted; the last checkpoint is in {args.out}/last.pt (continue with --resume)",
            file=sys.stderr,
        )
        return 130
    print(f"wrote {out}/generator_mse.pt, generator_gan.pt, last.pt, metrics.csv")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import os
    import time

    from .bench import check_out, example_panels, run_suite
    from .report import write_report
    from .suite import load_suite

    suite = load_suite(args.suite)
    out = args.out if args.out is not None else FsPath(f"bench-{suite.name}")
    check_out(out, suite)
    if args.scheduler is not None and args.dask_local is not None:
        raise InputError("give --scheduler or --dask-local, not both")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    where = (
        f"Dask scheduler {args.scheduler}"
        if args.scheduler
        else f"a Dask LocalCluster of {args.dask_local} workers"
        if args.dask_local
        else f"{workers} local process{'es' if workers > 1 else ''}"
    )
    print(f"suite '{suite.name}' ({suite.source}): {suite.description}")
    print(
        f"{suite.n_cells} cells = {len(suite.images)} images x {len(suite.paths)} paths x {len(suite.coverages)} "
        f"coverages x {len(suite.presets)} presets x {len(suite.seeds)} seeds x {len(suite.completers)} completers; "
        f"on {where}; results in {out}/"
    )
    t0 = time.perf_counter()
    try:
        rows = run_suite(
            suite, out, workers=workers, scheduler=args.scheduler, dask_local=args.dask_local, max_scans=args.limit
        )
    except KeyboardInterrupt:
        print(
            f"pstem: interrupted; finished cells are in {out}/results.csv (run the same command to go on)",
            file=sys.stderr,
        )
        return 130
    wall = time.perf_counter() - t0
    print(f"{len(rows)}/{suite.n_cells} cells in {out}/results.csv ({wall:.1f} s)")
    if not rows:
        return 0
    files = write_report(rows, out, f"Benchmark suite '{suite.name}'", suite.references, pdf=args.pdf)
    if not args.no_examples and len(rows) == suite.n_cells:
        files += example_panels(suite, out, pdf=args.pdf)
    _print_mse_table(rows)
    print("wrote " + ", ".join(str(f.relative_to(out)) for f in files) + f" in {out}/")
    return 0


def _print_mse_table(rows: list[dict[str, str]]) -> None:
    from .report import Results, completer_label
    from .suite import coverage_label

    res = Results(rows)
    for preset in res.presets:
        print(f"\nmean MSE x 1e-3 vs truth, preset '{preset}' (95 % intervals in summary.md)")
        print(f"{'path':<12}{'coverage':>9}" + "".join(f"{completer_label(c)[:11]:>12}" for c in res.completers))
        for path in res.paths:
            for cov in res.coverages:
                vals = [res.stat(preset, path, cov, c, "mse")[0] * 1e3 for c in res.completers]
                if not any(math.isfinite(v) for v in vals):
                    continue
                print(f"{path:<12}{coverage_label(cov):>9}" + "".join(f"{v:>12.3f}" for v in vals))


def _cmd_plot(args: argparse.Namespace) -> int:
    import json

    from .bench import read_results
    from .report import write_report
    from .suite import Reference

    results = args.out / "results.csv"
    if not results.is_file():
        raise InputError(f"{results} does not exist; give the --out folder of a pstem bench run")
    rows = read_results(results)
    if not rows:
        raise InputError(f"{results} holds no finished cell yet")
    title, refs = "Benchmark", []
    meta = args.out / "suite.json"
    if meta.is_file():
        info = json.loads(meta.read_text("utf-8"))
        title = f"Benchmark suite '{info.get('name', '?')}'"
        refs = [
            Reference(**{**r, "coverages": tuple(r["coverages"]), "values": tuple(r["values"])})
            for r in info.get("references", [])
        ]
    files = write_report(rows, args.out, title, refs, pdf=args.pdf)
    print("wrote " + ", ".join(str(f.relative_to(args.out)) for f in files) + f" in {args.out}/")
    return 0


def _cmd_train_rl(args: argparse.Namespace) -> int:
    from rl.train import RLConfig, train

    cfg = RLConfig(
        out=str(args.out),
        algo=args.algo,
        total_steps=args.steps,
        n_envs=args.envs,
        subproc=args.subproc,
        seed=args.seed,
        lr=args.lr if args.lr is not None else (1e-3 if args.algo == "search" else 3e-4),
        eval_every=args.eval_every,
        n_eval=args.n_eval,
        eval_completer=args.eval_completer,
        device=args.device,
        threads=args.threads,
        warm_start=args.warm_start,
        bc_episodes=args.bc_episodes,
        gamma=args.gamma,
        n_steps=args.n_steps,
        batch_size=args.batch,
        n_epochs=args.epochs,
        search_rounds=args.rounds,
        search_episodes=args.episodes,
        search_coverages=tuple(args.label_coverages),
        search_epochs=args.fit_epochs,
        workers=args.workers,
    )
    if not 0 < args.max_turn <= 90:
        raise InputError(f"--max-turn must be in (0, 90] degrees, got {args.max_turn:g}")
    cfg.env.update(
        size=args.size,
        preset=args.preset,
        coverage=args.coverage,
        completer=args.completer,
        reward_mode=args.reward,
        reference=args.reference,
        steering=args.steering,
        variable_length=args.variable_length,
        segment_len=args.segment_len,
        residual=args.residual,
        residual_scale=args.residual_scale,
        mode=args.mode,
        max_turn=math.radians(args.max_turn),
        step_px=args.step_px if args.step_px is not None else (1.0 if args.mode == "lines" else math.sqrt(2.0)),
    )
    try:
        out = train(cfg, resume=args.resume)
    except KeyboardInterrupt:
        kept = "the rounds labelled so far are" if args.algo == "search" else "the checkpoint is"
        print(f"pstem: interrupted; {kept} in {args.out}/ (continue with --resume)", file=sys.stderr)
        return 130
    saved = "states_*.npz, state.json" if args.algo == "search" else "last.zip"
    print(f"wrote {out}/policy.pt, best_policy.pt, {saved}, eval.csv")
    return 0


def _cmd_speed(args: argparse.Namespace) -> int:
    from .speed_scanpaths import main as speed_main

    return speed_main(["--quick"] if args.quick else [])


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``pstem`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="pstem",
        description="partialstem: simulate partial and adaptive STEM scans, complete them, benchmark them.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "paths",
        help="draw every scan path: commanded vs actual beam, mask, partial scan (PNG)",
        description="Draw every path kind on a synthetic crystal: commanded vs actual beam under a "
        "preset's coil physics, a zoom on the worst distortion, the mask and the partial scan.",
    )
    p.add_argument("--size", type=int, default=512, help="image size in px (64-2048, default 512)")
    p.add_argument("--coverage", type=_coverage, default=0.05, help="fraction scanned, e.g. 0.05 or 1/20")
    p.add_argument("--preset", default="typical", help=f"physics preset: {', '.join(scanpaths.PRESETS)}")
    p.add_argument("--seed", type=int, default=0, help="seed for the specimen and random paths")
    p.add_argument(
        "--kinds",
        nargs="+",
        metavar="KIND",
        help=f"path kinds (default all: {' '.join(scanpaths.PATH_KINDS)})",
    )
    p.add_argument(
        "-o",
        "--out",
        type=_out_file,
        default=FsPath("paths.png"),
        help="output PNG/PDF (default paths.png)",
    )
    p.add_argument("--dpi", type=int, default=110, help="resolution of the PNG (default 110)")
    p.set_defaults(func=_cmd_paths)

    p = sub.add_parser(
        "specimens",
        help="draw a gallery of synthetic specimens (PNG)",
        description="Draw synthetic HAADF specimens with their planted defects marked.",
    )
    p.add_argument("-n", type=int, default=8, help="how many (1-64, default 8)")
    p.add_argument("--size", type=int, default=256, help="image size in px (default 256)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("-o", "--out", type=_out_file, default=FsPath("specimens.png"), help="output PNG/PDF")
    p.add_argument("--dpi", type=int, default=110, help="resolution of the PNG (default 110)")
    p.set_defaults(func=_cmd_specimens)

    p = sub.add_parser(
        "simulate",
        help="simulate a partial scan of an image file or a synthetic specimen (.npz)",
        description="Scan an image along a path through a preset's physics and save the partial scan "
        "(values, mask, counts, trajectory, commanded, blanked, truth) as .npz.",
    )
    p.add_argument(
        "image",
        nargs="?",
        type=FsPath,
        help="TIFF, NumPy or PNG image (DM3/DM4/EMD with the formats extra)",
    )
    p.add_argument(
        "--synthetic",
        type=int,
        metavar="SIZE",
        help="scan a synthetic SIZE x SIZE specimen instead",
    )
    p.add_argument("--path", default="spiral", help=f"path kind: {', '.join(scanpaths.PATH_KINDS)}")
    p.add_argument(
        "--waypoints",
        type=FsPath,
        help="for --path waypoints: .npy with a (K, 2) array of (x, y) px",
    )
    p.add_argument("--coverage", type=_coverage, default=0.05, help="fraction scanned (default 0.05)")
    p.add_argument("--preset", default="typical", help=f"physics preset: {', '.join(scanpaths.PRESETS)}")
    p.add_argument("--dose", type=float, help="electrons per sample for Poisson noise (default: none)")
    p.add_argument("--dwell", type=float, help="dwell time per sample in s (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument(
        "-o",
        "--out",
        type=_out_file,
        default=FsPath("scan.npz"),
        help="output .npz (default scan.npz)",
    )
    p.add_argument("--png", type=_out_file, help="also draw specimen, partial scan and trajectory to this PNG")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "presets",
        help="list the microscope physics presets",
        description="List the physics presets and the numbers behind them.",
    )
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser(
        "complete",
        help="complete a partial scan (TIFF/NumPy values + mask, or a pstem simulate .npz)",
        description="Fill in the unscanned pixels of a partial scan with the shipped generator or a "
        "baseline. SCAN holds the sampled values in [0, 1] (0 where unseen), MASK is nonzero where "
        "scanned; an .npz written by 'pstem simulate' holds both. Writes a float32 TIFF.",
    )
    p.add_argument("scan", nargs="?", type=FsPath, help="values: .tif/.npy/.png, or an .npz with values and mask")
    p.add_argument("mask", nargs="?", type=FsPath, help="mask: .tif/.npy/.png, nonzero where scanned")
    p.add_argument(
        "-o", "--out", type=_out_file, default=FsPath("completed.tif"), help="output .tif/.npy (--demo: a PNG)"
    )
    p.add_argument(
        "--model",
        default="gan-mse",
        help="gan-mse (default), gan-gan, nearest, linear, harmonic, tv, or a checkpoint file",
    )
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "float32", "bfloat16"],
        help="generator precision: auto (default) is bfloat16 convolutions where the hardware does them "
        "natively (about 2x faster, completions move by ~1e-7 in MSE), float32 elsewhere",
    )
    p.add_argument("--demo", action="store_true", help="complete a built-in 512 px specimen and draw a panel")
    p.add_argument("--coverage", type=_coverage, default=0.05, help="with --demo: coverage (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="with --demo: specimen seed")
    p.set_defaults(func=_cmd_complete)

    p = sub.add_parser(
        "train-gan",
        help="train the completion generator (MSE, then adversarial); CUDA and torchrun aware",
        description="Train the two-stage completion generator on synthetic specimens (and your images with "
        "--data-dir): MSE pre-training, then adversarial fine-tuning. Writes checkpoints, metrics.csv and "
        "TensorBoard logs to --out; --resume continues; Ctrl-C saves first. Uses CUDA when available; run "
        "under 'torchrun --nproc_per_node N' for data-parallel training.",
    )
    p.add_argument("--out", type=FsPath, default=FsPath("runs/gan"), help="run folder (default runs/gan)")
    p.add_argument("--steps-mse", type=int, default=4000, help="MSE pre-training steps (default 4000)")
    p.add_argument("--steps-adv", type=int, default=1000, help="adversarial fine-tuning steps (default 1000)")
    p.add_argument("--batch", type=int, default=12, help="crops per step and process (default 12)")
    p.add_argument("--crop", type=int, default=128, help="crop size in px, a multiple of 16 (default 128)")
    p.add_argument("--width", type=int, default=16, help="generator width (default 16)")
    p.add_argument(
        "--no-lattice",
        dest="lattice",
        action="store_false",
        help="leave out the lattice-fit input (the first released architecture)",
    )
    p.add_argument("--lr", type=float, default=1e-3, help="generator learning rate, MSE stage (default 1e-3)")
    p.add_argument("--adv-weight", type=float, default=1e-3, help="weight of the adversarial loss (default 1e-3)")
    p.add_argument("--pool-size", type=int, default=600, help="synthetic specimens kept in memory (default 600)")
    p.add_argument(
        "--pool-shape",
        type=int,
        help="size in px of the synthetic specimens crops are cut from (default: 256, or crop + 64 if larger)",
    )
    p.add_argument("--data-dir", help="folder of your own images to mix in (TIFF/NumPy/PNG)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "float32", "bfloat16"],
        help="convolution precision: auto (default) is bfloat16 mixed precision where the hardware does it "
        "natively (AVX512-BF16/AMX CPUs, bf16 GPUs), float32 elsewhere",
    )
    p.add_argument("--val-every", type=int, default=250, help="validate every N steps (default 250)")
    p.add_argument("--ckpt-every", type=int, default=250, help="checkpoint every N steps (default 250)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--resume", action="store_true", help="continue from --out/last.pt")
    p.add_argument("--init", help="start from these generator weights: gan-mse, gan-gan or a .pt file")
    p.set_defaults(func=_cmd_train_gan)

    p = sub.add_parser(
        "train-rl",
        help="train an agent that picks each next scan segment (SB3 PPO, SAC or RecurrentPPO)",
        description="Train an SB3 agent on partialstem/AdaptiveScan-v0: each step it picks the next straight "
        "segment of the scan from what it has seen; the reward is the drop in completion error. Evaluates "
        "against the fixed paths (spiral, Lissajous, grid, serpentine) of equal scan time on held-out "
        "specimens, writes policy.pt, best_policy.pt (safe policy files), last.zip (checkpoint) and "
        "eval.csv to --out; --resume continues; "
        "Ctrl-C saves first. Uses CUDA when available.",
    )
    p.add_argument("--out", type=FsPath, default=FsPath("runs/rl"), help="run folder (default runs/rl)")
    p.add_argument(
        "--algo",
        default="ppo",
        help="ppo (default), sac, recurrent-ppo (needs sb3-contrib), or search: with --mode lines, label "
        "each state of training scans by trying every candidate next line to the end (the simulator knows "
        "the truth of a training specimen), learn to predict those outcomes from the observation, and "
        "repeat on the states the learned policy reaches (DAgger); --rounds, --episodes, --fit-epochs",
    )
    p.add_argument("--steps", type=int, default=100_000, help="environment steps in all (default 100000)")
    p.add_argument("--envs", type=int, default=8, help="parallel environments (default 8)")
    p.add_argument("--subproc", action="store_true", help="run the environments in subprocesses")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 3e-4; search 1e-3)")
    p.add_argument("--eval-every", type=int, default=10_000, help="evaluate every N steps (default 10000)")
    p.add_argument("--n-eval", type=int, default=16, help="held-out specimens per evaluation (default 16)")
    p.add_argument("--size", type=int, default=96, help="field of view in px (default 96, as Ede 2021)")
    p.add_argument("--preset", default="typical", help=f"physics preset: {', '.join(scanpaths.PRESETS)}")
    p.add_argument("--coverage", type=_coverage, default=1 / 23, help="budget: a spiral's scan time at this coverage")
    p.add_argument("--completer", default="harmonic", help="completer of the reward: harmonic (fast), gan-mse, ...")
    p.add_argument("--eval-completer", default="harmonic", help="completer of the evaluations (default harmonic)")
    p.add_argument("--reward", choices=("final", "dense"), default="final", help="complete at the end or every step")
    p.add_argument(
        "--reference",
        choices=("spiral", "serpentine", "none"),
        default="spiral",
        help="return relative to a spiral (default) or a serpentine of equal scan time, or absolute",
    )
    p.add_argument(
        "--mode",
        choices=("segments", "lines"),
        default="segments",
        help="segments: each step a short straight segment (default, as Ede 2021); lines: each step a whole "
        "line across the field, turned and spaced from the last one (a zero action is a serpentine)",
    )
    p.add_argument("--max-turn", type=float, default=45.0, help="lines: the largest turn between lines, deg (45)")
    p.add_argument(
        "--step-px",
        type=float,
        default=None,
        help="px between commanded samples (default sqrt(2) for segments, as Ede 2021; 1 for lines)",
    )
    p.add_argument("--gamma", type=float, default=0.995, help="discount (default 0.995)")
    p.add_argument("--n-steps", type=int, default=128, help="PPO rollout steps per environment (default 128)")
    p.add_argument("--batch", type=int, default=256, help="minibatch size (default 256)")
    p.add_argument("--epochs", type=int, default=4, help="PPO epochs per rollout (default 4)")
    p.add_argument("--steering", choices=("relative", "absolute"), default="relative", help="the action turns or aims")
    p.add_argument("--variable-length", action="store_true", help="the action also sets the segment length")
    p.add_argument(
        "--warm-start",
        choices=("none", "serpentine"),
        default="none",
        help="first imitate a scripted expert (behaviour cloning), then improve with PPO: 'serpentine' "
        "needs --steering absolute --variable-length (default none)",
    )
    p.add_argument(
        "--residual",
        choices=("none", "serpentine"),
        default="none",
        help="'serpentine': the action corrects a scripted serpentine (a zero action follows it); needs "
        "--steering absolute --variable-length (default none)",
    )
    p.add_argument(
        "--residual-scale",
        type=float,
        default=0.25,
        help="with --residual: the size of a full correction, in action units (default 0.25)",
    )
    p.add_argument(
        "--bc-episodes", type=int, default=300, help="expert episodes to imitate with --warm-start (default 300)"
    )
    p.add_argument(
        "--segment-len",
        type=int,
        default=20,
        help="samples per segment, sqrt(2) px apart (default 20, as Ede 2021); with --variable-length the "
        "action picks 1/4 to all of it",
    )
    p.add_argument("--rounds", type=int, default=3, help="search: labelling rounds (default 3; DAgger after 1)")
    p.add_argument("--episodes", type=int, default=300, help="search: training scans labelled per round (300)")
    p.add_argument(
        "--label-coverages",
        type=_coverage,
        nargs="+",
        default=[1 / 20, 1 / 30, 1 / 40],
        help="search: budgets of the labelled scans, in turn (default 1/20 1/30 1/40)",
    )
    p.add_argument("--fit-epochs", type=int, default=40, help="search: passes over the labelled states (40)")
    p.add_argument("--workers", type=int, default=0, help="search: labelling processes (default: all cores)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    p.add_argument("--resume", action="store_true", help="continue from --out/last.zip (search: --out/state.json)")
    p.set_defaults(func=_cmd_train_rl)

    p = sub.add_parser(
        "bench",
        help="run a benchmark suite: paths x coverages x presets x completers -> table and plots",
        description="Simulate, complete and score every cell of a suite (image x path x coverage x preset x "
        "seed x completer): MSE, MAE, PSNR, SSIM, error vs distance from the path, defect recall, scan time "
        "and dose. Writes OUT/results.csv (one row per cell, appended as cells finish), OUT/summary.md (means "
        "with 95% bootstrap intervals) and plots. Run the same command again to resume a killed run.",
        epilog="built-in suites: quick (default, about a minute on 2 cores), paper (Ede & Beanland's grid: "
        "spiral and grid at 1/17.9-1/87, ideal and typical physics), full (everything; for a cluster), "
        "adaptive (the shipped learned path vs fixed paths, 96 px). "
        "A suite file is TOML; see benchmarks/suites/*.toml and 'python -c \"import benchmarks.suite as s; "
        "help(s)\"'.",
    )
    p.add_argument("--suite", default="quick", help="quick (default), paper, full, adaptive, or a suite .toml file")
    p.add_argument("-o", "--out", type=FsPath, help="output folder (default bench-SUITE)")
    p.add_argument("--workers", type=int, help="local worker processes (default: the number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786 (dask extra)")
    p.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N workers (dask extra)")
    p.add_argument("--limit", type=int, metavar="N", help="run at most N scans, then stop (resume later)")
    p.add_argument("--pdf", action="store_true", help="write every plot as PDF too")
    p.add_argument("--no-examples", action="store_true", help="skip the example panels (they re-run one cell per path)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser(
        "plot",
        help="redraw the summary and plots of a bench run from its results.csv",
        description="Redraw OUT/summary.md and the plots of a 'pstem bench' run from OUT/results.csv alone "
        "(the example panels are drawn by pstem bench).",
    )
    p.add_argument("out", type=FsPath, metavar="OUT", help="the output folder of a pstem bench run")
    p.add_argument("--pdf", action="store_true", help="write every plot as PDF too")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser(
        "speed",
        help="time the Numba kernels against their twins (prints ratios)",
        description="Time the scan simulator's Numba kernels against plain Python/NumPy and "
        "scipy.signal.lfilter, and a full 2048x2048 typical-physics scan at 1/20 coverage.",
    )
    p.add_argument("--quick", action="store_true", help="smaller inputs (a few seconds)")
    p.set_defaults(func=_cmd_speed)
    return parser


def _validate(args: argparse.Namespace) -> None:
    if hasattr(args, "size") and args.command in ("paths", "specimens"):
        low = 64 if args.command == "paths" else 16
        if not low <= args.size <= 2048:
            raise InputError(f"--size must be in [{low}, 2048], got {args.size}")
    if getattr(args, "preset", None) is not None:
        scanpaths.get_preset(args.preset)
    if args.command == "paths" and args.kinds:
        for k in args.kinds:
            if k not in scanpaths.PATH_KINDS:
                raise InputError(f"--kinds: unknown path kind {k!r}; choose from {', '.join(scanpaths.PATH_KINDS)}")
    if args.command == "simulate" and args.path not in scanpaths.PATH_KINDS:
        raise InputError(f"--path must be one of {', '.join(scanpaths.PATH_KINDS)}; got {args.path!r}")
    if args.command == "simulate" and args.synthetic is not None and not 16 <= args.synthetic <= 8192:
        raise InputError(f"--synthetic must be in [16, 8192], got {args.synthetic}")
    if getattr(args, "dpi", 100) is not None and not 20 <= getattr(args, "dpi", 100) <= 600:
        raise InputError(f"--dpi must be in [20, 600], got {args.dpi}")
    if args.command == "bench":
        for name in ("workers", "dask_local", "limit"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.command == "specimens" and not 1 <= args.n <= 64:
        raise InputError(f"-n must be in [1, 64], got {args.n}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pstem``; return the exit status (0 ok, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        _validate(args)
        return int(args.func(args))
    except InputError as exc:
        print(f"pstem: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``pstem complete``: fill in a partial scan (default: ``auto``, the per-image validated blend of
the shipped generator and classical fills), optionally with its uncertainty map."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import scanpaths
from benchmarks import plotting
from completion import baselines
from completion.base import Completer, check_inputs
from completion.device import DEVICES, PRECISIONS
from completion.registry import COMPLETERS, get_completer
from scanpaths.errors import InputError

from .options import FIGURE_SUFFIXES, add_image_options, coverage, figure_file, out_file, prepare, seed

__all__ = ["configure"]


_OUTPUTS = (".tif", ".tiff", ".npy")


def _output(args: argparse.Namespace) -> Path:
    """The completion's file: the name given, which must be a TIFF or .npy (a PNG is --png)."""
    if args.out is None:
        return Path("completed.tif")
    if args.out.suffix.lower() not in _OUTPUTS:
        hint = " (a preview picture is --png FILE)" if args.out.suffix.lower() in FIGURE_SUFFIXES else ""
        raise InputError(f"-o {args.out}: a completion is written as {', '.join(_OUTPUTS)}{hint}")
    return args.out


def _read_scan(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float | None]:
    """(values, mask, truth or None, pixel size nm or None) of SCAN [MASK]."""
    for f in (args.scan, args.mask):
        if f is not None and not f.is_file():
            raise InputError(f"{f}: no such file")
    if args.scan.suffix.lower() == ".npz" and args.mask is None:
        with np.load(args.scan, allow_pickle=False) as z:
            if not {"values", "mask"} <= set(z.files):
                raise InputError(f"{args.scan}: an .npz needs arrays 'values' and 'mask' (as pstem simulate writes)")
            truth = z["truth"] if "truth" in z.files else None
            nm = float(z["pixel_size_nm"]) if "pixel_size_nm" in z.files else None
            values, mask = z["values"], z["mask"]
        if truth is not None and truth.shape != values.shape:
            raise InputError(f"{args.scan}: its truth {truth.shape} and values {values.shape} differ in shape")
        return values, mask, truth, args.pixel_size or nm
    if args.mask is None:
        raise InputError("MASK is missing: give the mask file after the scan (nonzero = scanned)")
    values = scanpaths.io.read_array(args.scan, frame=args.frame)
    mask = scanpaths.io.read_array(args.mask, frame=args.frame) != 0
    return values, mask, None, args.pixel_size


def _complete(args: argparse.Namespace) -> int:
    completer = get_completer(args.model, device=args.device, precision=args.precision)
    if args.demo:
        return _demo(args, completer)
    if args.scan is None:
        raise InputError("give SCAN (and MASK), a .npz from 'pstem simulate', or --demo")
    out = _output(args)
    values, mask, truth, pixel_nm = _read_scan(args)
    check_inputs(values, mask)  # bad input is refused before any folder is made
    unc_out = _uncertainty_file(args, out)
    if args.png is not None and args.png.resolve() in {out.resolve(), *([unc_out.resolve()] if unc_out else [])}:
        raise InputError(f"--png {args.png} is another output's name; give another")
    prepare(out)
    if unc_out is not None:
        prepare(unc_out)
    if args.png is not None:
        prepare(args.png)
    if unc_out is not None:
        image, unc = completer.complete(values, mask, return_uncertainty=True)
    elif args.png is not None:  # the preview shows the map when the scan can calibrate one
        try:
            image, unc = completer.complete(values, mask, return_uncertainty=True)
        except InputError:
            image, unc = completer.complete(values, mask), None
    else:
        image, unc = completer.complete(values, mask), None
    scanpaths.io.save_image(out, image)
    print(f"completed {values.shape[0]}x{values.shape[1]} px at coverage {mask.mean():.4f} with {completer.name}")
    if truth is not None:
        mse = float(np.mean((image - truth) ** 2))
        psnr = 10 * np.log10(1.0 / mse) if mse > 0 else float("inf")
        print(f"against the truth in {args.scan.name} (the image it scanned): MSE {mse:.3e}, PSNR {psnr:.1f} dB")
    choice = getattr(completer, "last_choice", None)
    if choice is not None:  # a validated choice says what it chose
        errors = ", ".join(f"{k} {v:.3e}" for k, v in choice.errors.items()) or "too few samples to hold out"
        print(f"chose {choice.chosen} (error on {choice.held_out} held-out samples: {errors})")
    for part in [completer, *getattr(completer, "candidates", {}).values()]:
        rec = getattr(part, "last_tuning", None)
        if rec is not None and not rec.splits:
            print(f"{part.name}: not tuned (too few samples to hold any out); the shipped weights as they are")
        elif rec is not None:  # a generator tuned on the scan says what the tuning did
            kept = f"kept step {rec.step}" if rec.step else "the shipped weights kept: no step predicted them better"
            print(
                f"tuned {part.name} on the scan ({rec.splits} splits): MSE on never-tuned held-out samples "
                f"{rec.before:.3e} -> {rec.after:.3e} ({kept})"
            )
    setting = getattr(completer, "last_setting", None)
    if setting is not None:  # and what the column correction did
        if setting.sigma is None:
            print("column correction: off (it did not predict held-out samples better)")
        else:
            print(
                f"column correction: columns of sigma {setting.sigma:g} px corrected to the samples on them "
                f"(held-out MSE {setting.mse_before:.3e} -> {setting.mse_after:.3e})"
            )
            if setting.guided:
                print(f"  {setting.guided} columns corrected are the lattice fill's, where the completion drew none")
            if setting.departures is not None:
                print(
                    f"  {setting.departures} columns the samples clearly contradict (noise {setting.noise:.3g}) "
                    "corrected by their own amplitude: vacancies, substitutions, misses"
                )
        if setting.residual is not None:
            print(
                f"samples kept: their residuals spread over {setting.residual_sigma:g} px around the path "
                f"(the completion weighs as {setting.residual:g} sample)"
            )
    print(f"wrote {out}")
    if args.png is not None:
        _preview(args.png, values, mask, image, unc, truth, pixel_nm, completer.name)
        print(f"wrote {args.png}")
    if unc_out is not None and unc is not None:
        scanpaths.io.save_image(unc_out, unc)
        model = completer.last_error_model
        held = f", calibrated on {model.held_out} held-out samples" if model is not None else ""
        print(
            f"wrote {unc_out}: half-width of the 90 % interval per pixel (median {float(np.median(unc)):.3g}, "
            f"95th percentile {float(np.percentile(unc, 95)):.3g}{held})"
        )
    return 0


def _uncertainty_file(args: argparse.Namespace, completion: Path) -> Path | None:
    """Where ``--uncertainty`` writes (None without it): the name given, or OUT's stem plus
    ``_uncertainty`` with OUT's suffix."""
    if args.uncertainty is None:
        return None
    if args.uncertainty:
        out = out_file(args.uncertainty)
        if out.suffix.lower() not in _OUTPUTS:
            raise InputError(f"--uncertainty {out}: the map is written as {', '.join(_OUTPUTS)}")
    else:
        out = completion.with_name(f"{completion.stem}_uncertainty{completion.suffix}")
    if out.resolve() == completion.resolve():
        raise InputError(f"--uncertainty {out} is the completion's own output; give another name")
    return out


def _preview(
    png: Path,
    values: np.ndarray,
    mask: np.ndarray,
    image: np.ndarray,
    unc: np.ndarray | None,
    truth: np.ndarray | None,
    pixel_nm: float | None,
    name: str,
) -> None:
    """A picture of the partial scan, the completion, its uncertainty and (when known) its error."""
    shown = np.where(mask, np.clip(values, 0, 1), np.nan)
    panels: list[tuple[np.ndarray, str, str]] = [
        (shown, f"partial scan ({100 * mask.mean():.2g} % sampled)", "scan"),
        (image, f"completion ({name})", "image"),
    ]
    if unc is not None:
        panels.append((unc, "uncertainty: 90 % half-width", "unc"))
    if truth is not None:
        panels.append((np.abs(image - truth), "|completion - truth|", "unc"))
    fig, axes = plotting.figure(1, len(panels), figsize=(4.2 * len(panels), 4.6))
    for ax, (img, title, kind) in zip(np.atleast_1d(axes), panels, strict=True):
        if kind == "unc":
            im = ax.imshow(img, cmap="magma", vmin=0, interpolation="nearest")
        elif kind == "scan":
            im = plotting.show_scan(ax, img)
        else:
            im = ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="intensity")  # on every panel: equal sizes
        ax.set_title(title, fontsize=10)
        ax.axis("off")
        plotting.scale_bar(ax, img.shape[1], pixel_nm)
    fig.tight_layout()
    plotting.save(fig, png, dpi=110)


def _demo(args: argparse.Namespace, completer: Completer) -> int:
    png = args.out if args.out is not None else Path("demo.png")
    if png.suffix.lower() not in FIGURE_SUFFIXES:  # before any work
        raise InputError(f"-o {png}: the demo draws a figure, written as {', '.join(FIGURE_SUFFIXES)}")
    size = 512
    spec = scanpaths.specimens.generate((size, size), seed=args.seed, scene="crystal")
    path = scanpaths.make_path("spiral", (size, size), coverage=args.coverage, seed=args.seed)
    scan = scanpaths.simulate(spec.image, path, preset="typical", seed=args.seed)
    unc = None
    if args.uncertainty is not None:
        out, unc = completer.complete(scan.values, scan.mask, return_uncertainty=True)
    else:
        out = completer.complete(scan.values, scan.mask)
    lin = baselines.get_baseline("linear").complete(scan.values, scan.mask)
    mse = float(np.mean((out - spec.clean) ** 2))
    mse_lin = float(np.mean((lin - spec.clean) ** 2))
    prepare(png)
    panels = [
        (spec.image, "specimen (full scan)"),
        (scan.values, f"spiral partial scan, 1/{1 / scan.coverage:.0f}"),
        (lin, f"linear: MSE {mse_lin:.2e}"),
        (out, f"{completer.name}: MSE {mse:.2e}"),
    ]
    fig, axes = plotting.figure(
        1, len(panels) + (unc is not None), figsize=(4 * (len(panels) + (unc is not None)), 4.4)
    )
    pixel_nm = scanpaths.get_preset("typical").pixel_size_nm
    for i, (ax, (img, title)) in enumerate(zip(axes, panels, strict=False)):
        if i == 1:
            im = plotting.show_scan(ax, np.where(scan.mask, scan.values, np.nan))
        else:
            im = ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
        plotting.scale_bar(ax, size, pixel_nm)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)  # on every panel: all panels the same size
    if unc is not None:
        ax = axes[-1]
        im = ax.imshow(unc, cmap="magma", vmin=0, interpolation="nearest")
        ax.set_title("uncertainty: 90 % half-width")
        ax.axis("off")
        plotting.scale_bar(ax, size, pixel_nm)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("MSE against the noise-free specimen")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    plotting.save(fig, png, dpi=100)
    print(f"demo: {size}x{size} crystal, spiral at {scan.coverage:.4f}, typical physics; MSE vs noise-free truth:")
    print(f"  linear {mse_lin:.3e}   {completer.name} {mse:.3e}")
    print(f"wrote {png}")
    return 0


def configure(name: str, p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``pstem complete`` to its subparser ``p``."""
    p.description = (
        "Fill in the unscanned pixels of a partial scan (default: auto, a per-image validated blend of the "
        "shipped generator and classical fills; --model names any other). SCAN holds the "
        "sampled values in [0, 1] (0 where unseen), MASK is nonzero where scanned; an .npz written by 'pstem "
        "simulate' holds both. Writes a float32 TIFF."
    )
    p.add_argument("scan", nargs="?", type=Path, help="values: .tif/.npy/.png, or an .npz with values and mask")
    p.add_argument("mask", nargs="?", type=Path, help="mask: .tif/.npy/.png, nonzero where scanned")
    p.add_argument(
        "-o",
        "--out",
        type=out_file,
        help="output .tif/.tiff/.npy (default completed.tif); with --demo a figure .png/.pdf/.svg (default demo.png)",
    )
    p.add_argument(
        "--png",
        type=figure_file,
        metavar="FILE",
        help="also draw a preview: partial scan, completion, uncertainty map and, for a simulated .npz, the error",
    )
    add_image_options(p, scaling=False)
    p.add_argument(
        "--model",
        default="auto",
        help=f"completer: {', '.join(COMPLETERS.choices())} (default auto: a per-image validated blend, about 1 s "
        "per 512 x 512 on 2 cores; gan-mse is the fast one, 0.15 s)",
    )
    p.add_argument("--device", default="auto", help=f"{', '.join(DEVICES)} (default auto: CUDA when available)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=list(PRECISIONS),
        help="generator precision: auto (default) is bfloat16 convolutions where the hardware does them "
        "natively (about 2x faster, completions move by ~1e-7 in MSE), float32 elsewhere",
    )
    p.add_argument(
        "--uncertainty",
        nargs="?",
        const="",
        metavar="FILE",
        help="also write a float32 map of the half-width of each pixel's 90 %% interval, calibrated on held-out "
        "tiles of the scan (default FILE: OUT's name plus _uncertainty); with --demo, a fifth panel",
    )
    p.add_argument("--demo", action="store_true", help="complete a built-in 512 px specimen and draw a panel")
    p.add_argument("--coverage", type=coverage, default=0.05, help="with --demo: coverage (default 0.05)")
    p.add_argument("--seed", type=seed, default=0, help="with --demo: specimen seed")
    p.set_defaults(func=_complete)

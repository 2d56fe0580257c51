"""``pstem bench``: suites load and validate, cells run, results resume after a kill, plots."""

from __future__ import annotations

import csv
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import bench
from benchmarks.suite import BUILTIN_SUITES, load_suite
from scanpaths.errors import InputError

Cli = Callable[..., Any]

TINY = """
name = "tiny"
[images]
synthetic = {n}
size = {size}
[scan]
paths = ["spiral", "raster"]
coverages = {covs}
presets = ["typical"]
[completion]
completers = {comps}
"""


def _suite(
    tmp_path: Path,
    n: int = 2,
    size: int = 64,
    covs: str = '["1/10", "1/20"]',
    comps: str = '["linear", "harmonic"]',
    name: str = "tiny.toml",
) -> Path:
    p = tmp_path / name
    p.write_text(TINY.format(n=n, size=size, covs=covs, comps=comps))
    return p


def _strip(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k not in bench.TIMING_COLUMNS} for r in rows]


@pytest.mark.parametrize("name", BUILTIN_SUITES)
def test_builtin_suites_load(name: str) -> None:
    suite = load_suite(name)
    assert suite.n_cells > 0 and suite.name == name
    assert len(list(bench.iter_tasks(suite))) == suite.n_scans


def test_quick_suite_is_the_documented_size() -> None:
    suite = load_suite("quick")
    assert suite.n_cells == 384 and {"gan-mse", "lattice"} <= set(suite.completers)


def test_run_writes_one_row_per_cell_with_every_metric(tmp_path: Path) -> None:
    suite = load_suite(str(_suite(tmp_path)))
    rows = bench.run_suite(suite, tmp_path / "out", progress=False)
    assert len(rows) == suite.n_cells == 16
    with open(tmp_path / "out" / "results.csv", newline="") as fh:
        on_disk = list(csv.DictReader(fh))
    assert on_disk == rows
    assert list(on_disk[0]) == list(bench.COLUMNS)
    keys = {tuple(r[c] for c in bench.KEY_COLUMNS) for r in rows}
    assert len(keys) == 16
    for r in rows:
        assert 0 < float(r["mse"]) < 0.2 and 0 < float(r["ssim"]) <= 1 and float(r["psnr"]) > 5
        assert float(r["scan_time_s"]) > 0 and int(r["n_samples"]) > 0
        assert abs(float(r["coverage"]) - float(r["coverage_target"])) < 0.2 * float(r["coverage_target"])
    # harmonic beats linear on average, as it should on these lattices
    lin = np.mean([float(r["mse"]) for r in rows if r["completer"] == "linear"])
    har = np.mean([float(r["mse"]) for r in rows if r["completer"] == "harmonic"])
    assert har < lin


def test_same_suite_gives_the_same_numbers_in_one_or_two_processes(tmp_path: Path) -> None:
    suite = load_suite(str(_suite(tmp_path, comps='["linear", "gan-mse"]')))
    one = bench.run_suite(suite, tmp_path / "a", workers=1, progress=False)
    two = bench.run_suite(suite, tmp_path / "b", workers=2, progress=False)
    assert _strip(one) == _strip(two)


def test_a_killed_run_resumes_to_the_rows_of_an_uninterrupted_one(tmp_path: Path, cli: Cli) -> None:
    suite_file = _suite(tmp_path, n=4, size=96, covs='["1/10", "1/20", "1/40"]')
    suite = load_suite(str(suite_file))
    whole = bench.run_suite(suite, tmp_path / "whole", progress=False)
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "pstem",
        "bench",
        "--suite",
        str(suite_file),
        "--out",
        str(out),
        "--workers",
        "1",
        "--no-examples",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = out / "results.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.is_file() and results.read_text().count("\n") >= 5:  # header + a few rows
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(bench.read_results(results))
    assert 0 < n_before < suite.n_cells
    with open(results, "a") as fh:  # a row torn in half by the kill
        fh.write("synthetic-3,spiral,0.1,typ")
    assert cli("bench", "--suite", suite_file, "--out", out, "--workers", "1", "--no-examples").code == 0
    resumed = bench.read_results(results)
    assert _strip(resumed) == _strip(whole)


def test_a_second_run_on_the_same_folder_is_refused(tmp_path: Path, cli: Cli) -> None:
    suite_file = _suite(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with bench._Lock(out):
        run = cli("bench", "--suite", suite_file, "--out", out)
    assert run.code == 2 and "another pstem bench is writing" in run.err
    assert not (out / "results.csv").exists()


def test_a_different_suite_may_not_reuse_a_folder(tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "out"
    bench.run_suite(load_suite(str(_suite(tmp_path, covs='["1/10"]'))), out, progress=False)
    other = _suite(tmp_path, covs='["1/20"]', name="other.toml")
    run = cli("bench", "--suite", other, "--out", out)
    assert run.code == 2 and "different suite" in run.err


def test_bench_cli_writes_summary_plots_and_examples(tmp_path: Path, cli: Cli) -> None:
    suite_file = _suite(tmp_path)
    out = tmp_path / "out"
    run = cli("bench", "--suite", suite_file, "--out", out, "--workers", "1", "--pdf")
    assert run.code == 0
    text = run.out
    assert "16/16 cells" in text and "harmonic" in text
    for name in (
        "summary.md",
        "error_vs_coverage.png",
        "error_vs_coverage.pdf",
        "error_vs_distance.png",
        "error_maps_linear.png",
        "examples/spiral.png",
        "examples/raster.png",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 500, name
    summary = (out / "summary.md").read_text()
    assert "| spiral | 1/10 |" in summary and "[" in summary
    for f in out.glob("*.png"):
        f.unlink()
    (out / "summary.md").unlink()
    assert cli("plot", out).code == 0
    assert (out / "error_vs_coverage.png").is_file() and (out / "summary.md").read_text() == summary


def test_reference_numbers_appear_beside_ours(tmp_path: Path, cli: Cli) -> None:
    text = (
        TINY.format(n=1, size=64, covs='["1/17.9"]', comps='["linear"]')
        + """
[[reference]]
label = "Someone (2020)"
metric = "rmse_blur"
path = "spiral"
coverages = ["1/17.9"]
values = [0.038]
"""
    )
    (tmp_path / "ref.toml").write_text(text)
    out = tmp_path / "out"
    assert cli("bench", "--suite", tmp_path / "ref.toml", "--out", out, "--workers", "1", "--no-examples").code == 0
    summary = (out / "summary.md").read_text()
    assert "Beside Someone (2020)" in summary and "| 1/17.9 | 0.0380 |" in summary


def test_a_suite_names_published_numbers_by_name(tmp_path: Path) -> None:
    (tmp_path / "pub.toml").write_text(
        TINY.format(n=1, size=64, covs='["1/17.9"]', comps='["linear"]')
        + '\n[[reference]]\npublished = "ede-beanland-2020"\n'
    )
    (ref,) = load_suite(str(tmp_path / "pub.toml")).references
    assert ref.label.startswith("Ede & Beanland") and ref.values[0] == 0.038 and ref.coverages[0] == 1 / 17.9
    assert load_suite("paper").references == (ref,)


def test_user_image_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(2):
        np.save(tmp_path / f"img{i}.npy", rng.random((80, 72)).astype(np.float32))
    (tmp_path / "files.toml").write_text(
        '[images]\nfiles = "img*.npy"\n[scan]\npaths = ["spiral"]\ncoverages = [0.1]\n'
        '[completion]\ncompleters = ["nearest"]\n'
    )
    rows = bench.run_suite(load_suite(str(tmp_path / "files.toml")), tmp_path / "out", progress=False)
    assert len(rows) == 2 and {r["scene"] for r in rows} == {"file"}
    assert rows[0]["height"] == "80" and rows[0]["defect_recall"] == "nan"


def test_bench_images_glob_list_frames_and_calibration(tmp_path: Path, cli: Cli) -> None:
    """--images replaces a suite's images; a file's pixel size reaches the physics; a stack needs
    its frame; the table says the reference is the files themselves."""
    import tifffile

    rng = np.random.default_rng(1)
    img = rng.random((72, 72)).astype(np.float32)
    tifffile.imwrite(tmp_path / "cal.tif", img, imagej=True, resolution=(5.0, 5.0), metadata={"unit": "nm"})
    np.save(tmp_path / "plain.npy", img)
    suite = load_suite("quick", images=[str(tmp_path / "cal.tif"), str(tmp_path / "*.npy")])
    assert [Path(i.file).name for i in suite.images] == ["cal.tif", "plain.npy"]  # type: ignore[arg-type]
    assert [i.pixel_size_nm for i in suite.images] == [pytest.approx(0.2), None]
    task = next(bench.iter_tasks(suite))
    assert bench.simulate_task(task)[3].preset.pixel_size_nm == pytest.approx(0.2)
    np.save(tmp_path / "stack.npy", np.stack([img, img]))
    with pytest.raises(InputError, match="choose one with --frame"):
        load_suite("quick", images=[str(tmp_path / "stack.npy")])
    (tmp_path / "s.toml").write_text(
        '[images]\nfiles = ["plain.npy"]\n[scan]\npaths = ["spiral"]\ncoverages = [0.1]\n'
        '[completion]\ncompleters = ["nearest"]\n'
    )
    run = cli("bench", "--suite", tmp_path / "s.toml", "--out", tmp_path / "o", "--workers", "64", "--no-examples")
    assert run.code == 0, run.err
    assert "--workers 64: using 1" in run.out and "vs the image files (raw, noisy)" in run.out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ('paths = ["spiral", "zigzag"]', "unknown path kind 'zigzag'"),
        ('completers = ["linear", "magic"]', "unknown completer 'magic'"),
        ('presets = ["warp"]', "unknown preset 'warp'"),
        ('coverages = ["1/0"]', "coverage must look like"),
        ("colour = 1", "unknown key(s) colour"),
    ],
)
def test_bad_suites_fail_before_anything_is_written(tmp_path: Path, cli: Cli, edit: str, message: str) -> None:
    text = TINY.format(n=1, size=64, covs='["1/10"]', comps='["linear"]')
    key = edit.split(" = ")[0]
    lines = [edit if line.startswith(key + " =") else line for line in text.splitlines()]
    if edit not in lines:
        lines.insert(lines.index("[scan]"), edit)
    (tmp_path / "bad.toml").write_text("\n".join(lines))
    out = tmp_path / "out"
    run = cli("bench", "--suite", tmp_path / "bad.toml", "--out", out)
    assert run.code == 2
    err = run.err
    assert err.startswith("pstem: error:") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_bad_images_and_outputs_fail_with_one_line(tmp_path: Path, cli: Cli) -> None:
    def run(images: str, out: Path) -> str:
        (tmp_path / "s.toml").write_text(
            f'[images]\n{images}\n[scan]\npaths = ["spiral"]\ncoverages = [0.1]\n'
            '[completion]\ncompleters = ["linear"]\n'
        )
        res = cli("bench", "--suite", tmp_path / "s.toml", "--out", out)
        assert res.code == 2
        assert res.err.startswith("pstem: error:") and res.err.count("\n") == 1
        return res.err

    assert "matches no file" in run('files = "nothing/*.tif"', tmp_path / "o1")
    (tmp_path / "broken.tif").write_bytes(b"not a tiff at all")
    assert "cannot read" in run('files = "broken.tif"', tmp_path / "o2")
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    assert "is a file" in run("synthetic = 1\nsize = 64", a_file)
    bad_name = cli("bench", "--suite", "nonesuch")
    assert bad_name.code == 2 and "neither a built-in suite" in bad_name.err
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_workers_must_be_positive(cli: Cli) -> None:
    run = cli("bench", "--workers", "0")
    assert run.code == 2 and "--workers must be at least 1" in run.err


def test_training_seeds_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        '[images]\nsynthetic = 2\nfirst_seed = 899999\n[scan]\npaths = ["spiral"]\ncoverages = [0.1]\n'
        '[completion]\ncompleters = ["linear"]\n'
    )
    with pytest.raises(InputError, match="belong to training or validation"):
        load_suite(str(tmp_path / "s.toml"))


def test_dask_local_cluster_gives_the_same_rows(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    suite = load_suite(str(_suite(tmp_path, n=1)))
    local = bench.run_suite(suite, tmp_path / "a", progress=False)
    dask = bench.run_suite(suite, tmp_path / "b", dask_local=2, progress=False)
    assert _strip(local) == _strip(dask)


def test_pool_workers_die_with_their_parent(tmp_path: Path) -> None:
    """A process that asked to die with its parent (as bench's pool workers do) is gone once
    the parent is killed with SIGKILL."""
    script = tmp_path / "parent.py"
    pid_file = tmp_path / "child.pid"
    script.write_text(
        "import subprocess, sys, time\n"
        "code = 'from benchmarks.bench import _die_with_parent; import time; _die_with_parent(); time.sleep(60)'\n"
        "child = subprocess.Popen([sys.executable, '-c', code])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    for _ in range(100):
        if pid_file.is_file() and pid_file.read_text():
            break
        time.sleep(0.05)
    child = int(pid_file.read_text())
    time.sleep(1.0)  # let the child import and make its request
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    stat = Path(f"/proc/{child}/stat")
    for _ in range(100):
        if not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
            return  # gone, or dead and waiting to be reaped
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the child outlived its killed parent")


def test_a_suite_files_its_samples_where_it_says(tmp_path: Path) -> None:
    plain = load_suite(str(_suite(tmp_path)))
    text = TINY.format(n=1, size=64, covs='["1/10"]', comps='["linear"]')
    (tmp_path / "model.toml").write_text(text.replace("[completion]", 'register = "model"\n[completion]'))
    model = load_suite(str(tmp_path / "model.toml"))
    assert plain.register == "commanded" and model.register == "model"
    assert "register" not in plain.fingerprint() and '"register": "model"' in model.fingerprint()
    task = next(bench.iter_tasks(model))
    filed = bench.simulate_task(task)[3]
    commanded = bench.simulate_task(dataclasses.replace(task, register="commanded"))[3]
    assert filed.time_s == pytest.approx(commanded.time_s) and not np.array_equal(filed.mask, commanded.mask)
    (tmp_path / "bad.toml").write_text(text.replace("[completion]", 'register = "sensor"\n[completion]'))
    with pytest.raises(InputError, match="register must be one of commanded, model, actual"):
        load_suite(str(tmp_path / "bad.toml"))

"""The README's two set-up commands are exactly what CI runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set-up", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README's Set-up section has no bash block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_two_setup_commands_and_ci_runs_them() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for cmd in commands:
        assert cmd in ci, f"CI does not run the README command: {cmd}"


def test_readme_pictures_exist() -> None:
    for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text()):
        assert (ROOT / ref).is_file(), ref


def test_readme_component_tables_are_the_registries() -> None:
    """The README's tables of path kinds, presets, completers and strategies are what the
    registries hold (regenerate them with ``pstem components --markdown``)."""
    from pstem.components import components_markdown

    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- components: begin -->\n", 1)[1].split("<!-- components: end -->", 1)[0]
    assert block == components_markdown(), "README out of date: paste `pstem components --markdown` between the markers"


def test_readme_python_blocks_run_as_written(tmp_path: Path, monkeypatch: Any) -> None:
    """Every ```python block of the README, in order and in one namespace (a later block may use
    what an earlier one made), runs without error; ``my_scan.tif`` is a calibrated TIFF here."""
    import numpy as np
    import tifffile

    monkeypatch.chdir(tmp_path)
    ramp = np.linspace(0, 1, 256 * 256, dtype=np.float32).reshape(256, 256)
    tifffile.imwrite("my_scan.tif", ramp, imagej=True, resolution=(50.0, 50.0), metadata={"unit": "nm"})
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 2
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    assert namespace["frame"].calibration.pixel_size_nm == 0.02
    assert namespace["images"].shape == (2, 512, 512)

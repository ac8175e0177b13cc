"""The Dagster UI in a real browser: `dagster dev`, a ranking launched through GraphQL, and
headless Chromium screenshots of the asset graph, of ranked_leads' latest materialization and of
the run's HTML report."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.orchestration.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_the_screenshot_script_produces_every_picture(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "ui_screenshots.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("asset_graph.png", "ranked_leads.png", "report.png", "retried_run.png"):
        picture = tmp_path / name
        assert png_size(picture) == (1600, 1000)
        assert picture.stat().st_size > 20_000, f"{name} looks blank"

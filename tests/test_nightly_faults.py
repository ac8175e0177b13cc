"""What a night can bring, against real processes and filesystems: a disk that fills while the
campaign is written."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, instance_for_test
from support import run_rank_leads

from pipeline.orchestration.settings import DUCKDB_SCHEMA, Settings

FILLER = "filler.bin"


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as test:
        yield test


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB filesystem of its own (tmpfs): mounting one needs root, as in CI."""
    folder = tmp_path / "exports"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """A file taking all the room of the folder's filesystem but `leave` bytes."""
    stats = os.statvfs(folder)
    filler = folder / FILLER
    with filler.open("wb") as stream:
        stream.write(b"\0" * (stats.f_bavail * stats.f_frsize - leave))
    return filler


def outputs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.name != FILLER}


def test_a_full_disk_keeps_the_previous_files_whole_and_the_next_night_writes_them(
    tmp_path: Path, instance: DagsterInstance, small_disk: Path
) -> None:
    settings = Settings(
        warehouse_path=tmp_path / "warehouse.duckdb",
        export_path=small_disk / "campaign.csv",
        evaluator="rules",
    )
    assert run_rank_leads(settings, instance).success
    before = outputs(small_disk)
    assert {"campaign.csv", "campaign_new.csv", "campaign_dropped.csv"} <= set(before)
    assert settings.report_file.name in before
    # Room for half of what the night writes: the disk fills part of the way through.
    filler = fill(small_disk, leave=sum(map(len, before.values())) // 2)
    night = replace(settings, top_n=2)

    failed = run_rank_leads(night, instance, raise_on_error=False)
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "campaign_export"
    message = failure.step_failure_data.user_failure_data.description
    assert f"cannot write the campaign files in {small_disk}" in message
    assert "No space left on device" in message
    # Every previous file whole, no half-written one beside them.
    assert outputs(small_disk) == before
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        recorded = connection.execute(
            f"select count(distinct run_id) from {DUCKDB_SCHEMA}.campaign_history"
        ).fetchall()
    assert recorded == [(1,)]  # the failed night never counts as sent

    filler.unlink()
    assert run_rank_leads(night, instance).success
    after = outputs(small_disk)
    assert set(after) == set(before)
    assert after["campaign.csv"] != before["campaign.csv"]
    assert after[settings.report_file.name] != before[settings.report_file.name]

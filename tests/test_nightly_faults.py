"""What a night can bring, against real processes and filesystems: a run worker killed under
`dagster dev` (run monitoring and run retries), a disk that fills while the campaign is
written."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, instance_for_test
from dagster_dev import (
    dagster_dev,
    kill_step_process,
    launch_ranking,
    new_home,
    retry_of,
    wait_for_run,
    wait_until,
)
from support import run_rank_leads

from pipeline.groq_server.server import MockGroq
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


@pytest.mark.slow
@pytest.mark.groq_server
def test_a_killed_run_worker_is_failed_and_retried_from_its_failure_paying_no_call_twice(
    tmp_path: Path, groq_server: Callable[..., MockGroq]
) -> None:
    """SIGKILL to the run's process half-way through the model step, under `dagster dev`
    with the project's instance settings: the run is marked failed, the daemon retries it
    from the failed step, and the retry sends only the leads no finished call answered."""
    server = groq_server(latency_s=0.3)
    home = new_home(tmp_path / "dagster_home")
    # The project's settings, with the daemon looking every 5 s rather than every 30.
    config = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    config["run_monitoring"] |= {"poll_interval_seconds": 5, "free_slots_after_run_end_seconds": 1}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        "GROQ_API_KEY": "gsk_test_key",
        "GROQ_BASE_URL": server.base_url,
        "PERSONA_RANKER_EVALUATOR": "groq",
        "PERSONA_RANKER_GROQ_BATCH_SIZE": "4",
        "PERSONA_RANKER_GROQ_CONCURRENCY": "1",
        "PERSONA_RANKER_WAREHOUSE": str(warehouse),
        "PERSONA_RANKER_EXPORT": str(tmp_path / "campaign.csv"),
        "PERSONA_RANKER_WORK_DIR": str(tmp_path / "work"),
    }
    with (
        dagster_dev(home, env, log=tmp_path / "dagster_dev.log") as port,
        DagsterInstance.from_config(str(home)) as instance,
    ):
        run_id = launch_ranking(port, {"dagster/partition": "default"})
        wait_until(lambda: len(server.served()) >= 4, 120, "four model calls")
        kill_step_process(instance, run_id, "lead_evaluations.evaluate_shard")
        killed_at = time.monotonic()
        assert wait_for_run(port, run_id, timeout_s=120) == "FAILURE"
        failed_after_s = time.monotonic() - killed_at
        retry = retry_of(instance, run_id)
        assert retry.tags["dagster/retry_number"] == "1"
        assert wait_for_run(port, retry.run_id, timeout_s=300) == "SUCCESS"
        retried_steps = {
            record.step_key
            for record in instance.all_logs(retry.run_id, of_type=DagsterEventType.STEP_START)
        }
    assert failed_after_s < 30, f"the killed run was marked failed after {failed_after_s:.0f} s"
    # From the failure: the steps that had succeeded were not run again.
    assert retried_steps.isdisjoint({"ingest_lead_file", "enriched_leads"})
    assert "lead_evaluations.plan_evaluation" not in retried_steps
    assert "campaign_export" in retried_steps
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        calls = connection.execute(
            f"select run_id, leads from {DUCKDB_SCHEMA}.llm_calls where status = 'ok'"
        ).df()
        paid = connection.execute(
            f"select count(*) - count(distinct cache_key) from {DUCKDB_SCHEMA}.llm_cache"
        ).fetchall()
    finished_before = calls[calls["run_id"] == run_id]
    assert len(finished_before) >= 3  # the fourth may have been in flight
    assert set(calls["run_id"]) == {run_id, retry.run_id}
    assert paid == [(0,)]
    # Every request the server answered was recorded, but at most the one in flight when the
    # worker died: the only call a kill can cost twice.
    assert len(server.served()) - len(calls) <= 1

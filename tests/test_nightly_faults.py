"""What a night can bring, against real processes and filesystems, under `dagster dev` with
the project's instance settings (run monitoring and run retries on): PostgreSQL killed in the
middle of a write, the run worker killed, a disk that fills while the campaign is written,
forty files dropped in the inboxes at once; and five nights of `bench/soak.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import psycopg2
import pytest
import yaml
from dagster import (
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_sensor_context,
    instance_for_test,
)
from dagster_dev import (
    dagster_dev,
    kill_step_process,
    launch_ranking,
    new_home,
    retry_of,
    wait_for_run,
    wait_until,
)
from make_leads import make_leads, write_leads
from own_postgres import OwnPostgres
from support import run_rank_leads, run_request

from pipeline.definitions import build_definitions
from pipeline.groq_server.server import MockGroq
from pipeline.orchestration.inbox import ARCHIVE_DIR, REJECTED_DIR
from pipeline.orchestration.settings import DATA_DIR, DUCKDB_SCHEMA, PROJECT_ROOT, Settings

FILLER = "filler.bin"
SCHEMA = "persona_ranker"


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
    home = new_home(tmp_path / "dagster_home", quick=True)
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


def copying_into(url: str, table: str) -> bool:
    """Whether a COPY into `table` is running on the server now."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity where state = 'active' and query ilike %s",
            (f"copy %{table}%",),
        )
        return cursor.fetchone()[0] > 0


def table_rows(url: str, table: str) -> list[tuple[object, ...]]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"select lead_id, company_rank from {SCHEMA}.{table} order by lead_id")
        return cursor.fetchall()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_killed_mid_write_keeps_the_last_rows_and_the_retry_finishes_the_night(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server of the test's own holds both the warehouse and the Dagster instance. Night
    two's run is under way when the server is SIGKILLed during the COPY into ranked_leads and
    started again: the step fails, night one's rows are whole, and the daemon's retry, from
    the failed step, ranks night two with no operator."""
    leads = tmp_path / "leads.csv"
    write_leads(make_leads(20_000, 2_000, seed=1), leads)
    with OwnPostgres() as server:
        instance_storage = {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(server.port),
            "DAGSTER_PG_DB": "postgres",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
        }
        for name, value in instance_storage.items():
            monkeypatch.setenv(name, value)  # this process reads the instance too
        env = {
            **instance_storage,
            "PERSONA_RANKER_DATABASE_URL": server.url,
            "PERSONA_RANKER_DATABASE_SCHEMA": SCHEMA,
            "PERSONA_RANKER_LEADS": str(leads),
            "PERSONA_RANKER_EVALUATOR": "rules",
            "PERSONA_RANKER_EXPORT": str(tmp_path / "campaign.csv"),
            "PERSONA_RANKER_WORK_DIR": str(tmp_path / "work"),
        }
        home = new_home(tmp_path / "dagster_home", postgres_storage=True, quick=True)
        with dagster_dev(home, env, log=tmp_path / "dagster_dev.log") as port:
            first = launch_ranking(port, {"dagster/partition": "default"})
            assert wait_for_run(port, first) == "SUCCESS"
            night_one = table_rows(server.url, "ranked_leads")

            write_leads(make_leads(20_000, 2_000, seed=2), leads)
            second = launch_ranking(port, {"dagster/partition": "default"})
            wait_until(lambda: copying_into(server.url, "ranked_leads"), 300, "the COPY")
            server.kill()
            time.sleep(1)
            server.start()
            # Rolled back whole by the crash: night one's rows, not a part of night two's.
            assert table_rows(server.url, "ranked_leads") == night_one
            assert wait_for_run(port, second) == "FAILURE"
            with DagsterInstance.from_config(str(home)) as instance:
                failure = next(
                    record.dagster_event
                    for record in instance.all_logs(second, of_type=DagsterEventType.STEP_FAILURE)
                )
                retry = retry_of(instance, second)
            assert failure.step_key == "ranked_leads"
            message = failure.step_failure_data.error.cause.message  # under the IO manager's
            assert f"lost the warehouse {server.url} while writing {SCHEMA}.ranked_leads" in message
            assert "the previous rows stay" in message
            assert wait_for_run(port, retry.run_id) == "SUCCESS"
            night_two = table_rows(server.url, "ranked_leads")
            with DagsterInstance.from_config(str(home)) as instance:
                retried_steps = {
                    record.step_key
                    for record in instance.all_logs(
                        retry.run_id, of_type=DagsterEventType.STEP_START
                    )
                }
        # The retry ran from the failed step: ingest and evaluation were not run again.
        assert "ranked_leads" in retried_steps
        assert retried_steps.isdisjoint(
            {"ingest_lead_file", "enriched_leads", "lead_evaluations.collect_evaluations"}
        )
        assert len(night_two) == len({row[0] for row in night_two}) > 0
        assert night_two != night_one
        with psycopg2.connect(server.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                f"select count(*) from {SCHEMA}.lead_evaluations e "
                f"join {SCHEMA}.ranked_leads r using (client, lead_id)"
            )
            assert cursor.fetchone()[0] == len(night_two)


CLIENTS = ("north", "south", "east", "west", "central")
TITLES = ("VP of Sales", "Head of Sales", "Sales Manager", "HR Director", "Welder", "CFO")


def drop(inbox: Path, name: str, rows: list[tuple[str, ...]]) -> tuple[str, ...]:
    """A leads file in the inbox; the leads' (company, first, last) in it."""
    inbox.mkdir(parents=True, exist_ok=True)
    lines = [
        "account_name,lead_first_name,lead_last_name,lead_job_title,account_domain,"
        "account_employee_range,account_industry"
    ]
    lines += [",".join(row) for row in rows]
    (inbox / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tuple(f"{row[0]}|{row[1]}|{row[2]}" for row in rows)


def export_rows(client: str, number: int) -> list[tuple[str, ...]]:
    """One CRM export: three companies of the client's, their own in no other file."""
    return [
        (
            f"{client.title()} Firm {number}-{company}",
            f"Ann{person}",
            f"Lee{number}{company}",
            TITLES[(number + company + person) % len(TITLES)],
            f"{client}-firm{number}-{company}.example",
            "51-200",
            "Software",
        )
        for company in range(3)
        for person in range(4)
    ]


@pytest.mark.slow
def test_an_inbox_burst_merges_each_file_once_and_coalesces_one_run_per_client(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    """Forty files for five clients within a minute, seen by two sensor ticks: exports,
    copies of an export under another name, a file dropped again with its name and content,
    one unreadable file. Each file is merged once or rejected with its reason, each tick asks
    for at most one run per client, and every lead of every good file is ranked."""
    agency = tmp_path / "clients.yaml"
    agency.write_text(
        yaml.safe_dump(
            {
                "clients": {
                    name: {"persona": str(DATA_DIR / "persona.yaml"), "leads": f"{name}.csv"}
                    for name in CLIENTS
                }
            }
        ),
        encoding="utf-8",
    )
    settings = Settings(
        clients_path=agency,
        warehouse_path=tmp_path / "w.duckdb",
        export_path=tmp_path / "exports" / "campaign.csv",
        inbox_path=tmp_path / "inbox",
        inbox_settle_s=0,  # the files are whole when written
        evaluator="rules",
    )
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("lead_inbox")
    expected: dict[str, set[str]] = {client: set() for client in CLIENTS}
    dropped = 0
    requests: list[RunRequest] = []
    cursor = None
    for wave in (0, 1):
        for client in CLIENTS:
            inbox = settings.inbox_path / client
            for number in range(3 * wave, 3 * wave + 3):
                rows = export_rows(client, number)
                expected[client].update(drop(inbox, f"export-{number}.csv", rows))
            if wave == 1 and client == "east":
                # Dropped again as it was: name and content seen before.
                drop(inbox, "export-0.csv", export_rows(client, 0))
            elif wave == 1 and client == "west":
                (inbox / "broken.csv").write_bytes(b"\x00\x01PK\x03\x04" * 64)
            else:
                # A copy of an export under the name a browser gives a second download.
                drop(inbox, f"export-{3 * wave} (1).csv", export_rows(client, 3 * wave))
            dropped += 4
        result = sensor(build_sensor_context(instance=instance, cursor=cursor))
        cursor = result.cursor
        partitions = [request.partition_key for request in result.run_requests]
        assert sorted(partitions) == sorted(CLIENTS), "one run per client per tick"
        requests += result.run_requests
    assert dropped == 40
    after = sensor(build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(after, SkipReason), "nothing new to rank"

    for request in requests:
        assert run_request(instance, settings, request)
    for client in CLIENTS:
        inbox = settings.inbox_path / client
        assert not [path for path in inbox.iterdir() if path.is_file()], "every file handled"
        archived = [path for path in (inbox / ARCHIVE_DIR).iterdir() if path.suffix == ".csv"]
        rejected = sorted(path.name for path in (inbox / REJECTED_DIR).glob("*"))
        assert len(archived) == (7 if client == "west" else 8)
        if client == "west":
            assert [name.split("-", 1)[1] for name in rejected] == [
                "broken.csv",
                "broken.csv.reason.txt",
            ]
        else:
            assert rejected == []
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
            ranked = connection.execute(
                "select account_name, lead_first_name, lead_last_name from "
                f"{DUCKDB_SCHEMA}.ranked_leads where client = ?",
                [client],
            ).fetchall()
        assert {"|".join(row) for row in ranked} == expected[client]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.groq_server
def test_five_nights_of_faults_break_no_invariant() -> None:
    """`bench/soak.py` for five nights: the deployed system, faults drawn with a seed, every
    invariant checked after every night."""
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "soak.py"), "--nights", "5", "--json"],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=PROJECT_ROOT,
        check=False,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["nights"] == 5
    assert sum(figures["faults"].values()) >= 5
    assert figures["violations"] == 0, figures["violation_details"]
    assert done.returncode == 0, done.stderr[-3000:]

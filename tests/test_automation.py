"""The nightly schedule, the inbox sensor and run history, on a test instance."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from support import run_request

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.orchestration.inbox import ARCHIVE_DIR, REJECTED_DIR
from pipeline.orchestration.partitions import PARTITION_TAG
from pipeline.orchestration.run_history import TRIGGER_TAG, trigger_of
from pipeline.orchestration.settings import DUCKDB_SCHEMA, Settings

BASE = [
    ("Acme", "Ana", "Ruiz", "Founder & CEO", "acme.com", "11-50", "Software"),
    ("Acme", "Bo", "Li", "HR Manager", "acme.com", "11-50", "Software"),
    ("Globex", "Di", "Oz", "VP Sales Development", "globex.com", "501-1000", "Software"),
    ("Initech", "Ed", "Po", "Head of Sales", "initech.com", "51-200", "Software"),
]


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def settings(tmp_path: Path, write_leads: Callable[..., Path]) -> Settings:
    return Settings(
        leads_path=write_leads(BASE, name="lead_base.csv"),
        warehouse_path=tmp_path / "w.duckdb",
        export_path=tmp_path / "campaign.csv",
        inbox_path=tmp_path / "inbox",
        inbox_settle_s=0,  # the tests' files are whole when written
        evaluator="rules",
    )


def scope(request: RunRequest) -> list[str] | None:
    """The companies a run request judges again (None: every company of its client)."""
    config = request.run_config.get("ops", {}).get("lead_evaluations", {}).get("config", {})
    return config.get("companies")


def tick(settings: Settings, instance: DagsterInstance, cursor: str | None = None):
    sensor = build_definitions(settings).resolve_sensor_def("lead_inbox")
    return sensor(build_sensor_context(instance=instance, cursor=cursor))


def evaluations(settings: Settings) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(
            f"select lead_id, company_key, evaluated_at from {DUCKDB_SCHEMA}.lead_evaluations"
        ).df()


def test_the_schedule_skips_while_there_is_no_lead_base(
    settings: Settings, instance: DagsterInstance, tmp_path: Path
) -> None:
    empty = replace(settings, leads_path=tmp_path / "none.csv")
    schedule = build_definitions(empty).resolve_schedule_def("nightly_rerank")
    result = schedule(build_schedule_context(instance=instance))
    assert isinstance(result, SkipReason)
    assert "no lead base" in result.skip_message


def test_the_schedule_requests_one_run_over_every_company(
    settings: Settings, instance: DagsterInstance
) -> None:
    schedule = build_definitions(settings).resolve_schedule_def("nightly_rerank")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    (request,) = schedule(build_schedule_context(instance=instance))
    assert isinstance(request, RunRequest)
    assert request.partition_key == "default"
    assert scope(request) is None
    assert request.tags[TRIGGER_TAG] == "schedule"
    assert run_request(instance, settings, request)


def test_the_schedule_time_is_configurable(settings: Settings) -> None:
    later = replace(settings, schedule_cron="30 4 * * 1-5", schedule_timezone="Europe/Madrid")
    schedule = build_definitions(later).resolve_schedule_def("nightly_rerank")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "30 4 * * 1-5",
        "Europe/Madrid",
    )


def test_a_dropped_file_leads_to_one_run_judging_its_changed_companies(
    settings: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    assert run_request(instance, settings, RunRequest(partition_key="default"))
    before = evaluations(settings)
    settings.inbox_path.mkdir()
    # Acme gains a lead, Globex is exported unchanged, Umbrella is new; Initech is absent.
    write_leads(
        [
            *BASE[:2],
            ("Acme", "Cy", "Ng", "VP Sales", "acme.com", "11-50", "Software"),
            BASE[2],
            ("Umbrella", "Fa", "Qi", "CRO", "umbrella.com", "201-500", "Biotech"),
        ],
        name="inbox/monday.csv",
    )
    result = tick(settings, instance)
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests
    assert request.tags[TRIGGER_TAG] == "sensor"
    # Acme and Umbrella are judged again; Globex (unchanged) and Initech keep theirs.
    assert request.partition_key == "default"
    assert scope(request) == ["acme.com", "umbrella.com"]
    assert request.tags["persona_ranker/companies"] == "acme.com,umbrella.com"
    # The lead base now holds the merged leads; the file is archived, not deleted.
    base = pd.read_csv(settings.leads_path, dtype=str)
    assert len(base) == 6 and "Umbrella" in set(base["account_name"])
    assert [
        p.name.endswith("-monday.csv") for p in (settings.inbox_path / ARCHIVE_DIR).iterdir()
    ] == [True]
    assert not (settings.inbox_path / "monday.csv").exists()

    assert run_request(instance, settings, request)
    after = evaluations(settings)
    merged = after.merge(
        before, on=["lead_id", "company_key"], how="left", suffixes=("", "_before")
    )
    touched = merged[merged["evaluated_at"] != merged["evaluated_at_before"]]
    assert set(touched["company_key"]) == {"acme.com", "umbrella.com"}
    assert len(after) == after["lead_id"].nunique() == 6


def test_the_first_dropped_file_of_a_new_deployment_judges_every_company(
    settings: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    """The client was never evaluated: the sensor's run judges every company, and
    succeeds."""
    settings.inbox_path.mkdir()
    write_leads(
        [("Umbrella", "Fa", "Qi", "CRO", "umbrella.com", "201-500", "Biotech")],
        name="inbox/first.csv",
    )
    result = tick(settings, instance)
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests
    assert scope(request) is None
    assert run_request(instance, settings, request)
    assert len(evaluations(settings)) == len(BASE) + 1


def test_the_same_file_is_not_picked_up_twice(
    settings: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    settings.inbox_path.mkdir()
    rows = [("Umbrella", "Fa", "Qi", "CRO", "umbrella.com", "201-500", "Biotech")]
    write_leads(rows, name="inbox/new.csv")
    first = tick(settings, instance)
    assert isinstance(first, SensorResult) and len(first.run_requests) == 1
    # The same file dropped again, after a restart: a new context with the stored cursor.
    write_leads(rows, name="inbox/new.csv")
    again = tick(settings, instance, cursor=first.cursor)
    assert isinstance(again, SkipReason)
    assert len(list((settings.inbox_path / ARCHIVE_DIR).iterdir())) == 2
    # Unchanged leads under another name: processed, but nothing to run.
    write_leads(rows, name="inbox/copy.csv")
    copy = tick(settings, instance, cursor=first.cursor)
    assert isinstance(copy, SensorResult) and not copy.run_requests
    assert len(json.loads(copy.cursor)["default"]) == 2


def test_a_file_still_being_written_waits_until_it_has_settled(
    settings: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    settings.inbox_path.mkdir()
    rows = [("Umbrella", "Fa", "Qi", "CRO", "umbrella.com", "201-500", "Biotech")]
    arriving = write_leads(rows, name="inbox/arriving.csv")
    waiting = replace(settings, inbox_settle_s=30)
    assert isinstance(tick(waiting, instance), SkipReason)
    assert arriving.exists()
    a_minute_ago = arriving.stat().st_mtime - 60
    os.utime(arriving, (a_minute_ago, a_minute_ago))
    settled = tick(waiting, instance)
    assert isinstance(settled, SensorResult) and len(settled.run_requests) == 1


def test_a_broken_file_is_rejected_with_a_reason_and_the_rest_goes_on(
    settings: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    settings.inbox_path.mkdir()
    (settings.inbox_path / "broken.csv").write_text("name,title\nAna,CEO\n", encoding="utf-8")
    write_leads(
        [("Umbrella", "Fa", "Qi", "CRO", "umbrella.com", "201-500", "Biotech")],
        name="inbox/good.csv",
    )
    result = tick(settings, instance)
    assert isinstance(result, SensorResult) and len(result.run_requests) == 1
    rejected = sorted(p.name for p in (settings.inbox_path / REJECTED_DIR).iterdir())
    assert len(rejected) == 2 and rejected[0].endswith("broken.csv")
    reason = (settings.inbox_path / REJECTED_DIR / rejected[1]).read_text()
    assert "missing required column 'account_name'" in reason


@pytest.mark.parametrize(
    ("tags", "trigger"),
    [
        ({"dagster/schedule_name": "nightly_rerank"}, "schedule"),
        ({"dagster/sensor_name": "lead_inbox", TRIGGER_TAG: "sensor"}, "sensor"),
        ({TRIGGER_TAG: "cli"}, "cli"),
        ({}, "manual"),
    ],
)
def test_the_trigger_of_a_run_comes_from_its_tags(tags: dict[str, str], trigger: str) -> None:
    assert trigger_of(tags) == trigger


def test_a_run_records_itself_in_run_stats_without_the_cli(
    settings: Settings, instance: DagsterInstance
) -> None:
    job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
    result = job.execute_in_process(instance=instance, partition_key="default")
    assert result.dagster_run.tags[PARTITION_TAG] == "default"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        row = connection.execute(
            "select run_id, client, status, trigger, leads, companies, ranked, evaluator_mix, "
            f"calls, started_at < finished_at from {DUCKDB_SCHEMA}.run_stats"
        ).fetchone()
    assert row == (
        result.run_id,
        "default",
        DagsterRunStatus.SUCCESS.value,
        "manual",
        4,
        3,
        3,
        '{"rules": 4}',
        0,
        True,
    )


def test_a_failed_run_records_itself_in_run_stats(
    settings: Settings, instance: DagsterInstance, tmp_path: Path
) -> None:
    broken = replace(settings, leads_path=tmp_path / "gone.csv")
    job = build_definitions(broken).resolve_job_def(RANK_LEADS_JOB)
    result = job.execute_in_process(
        instance=instance, partition_key="default", raise_on_error=False
    )
    assert not result.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        rows = connection.execute(
            f"select run_id, status, leads from {DUCKDB_SCHEMA}.run_stats"
        ).fetchall()
    assert rows == [(result.run_id, DagsterRunStatus.FAILURE.value, None)]


def test_bad_rows_of_a_dropped_file_are_kept_beside_it_in_the_archive(
    settings: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    settings.inbox_path.mkdir()
    write_leads(
        [
            ("Umbrella", "Fa", "Qi", "CRO", "umbrella.com", "201-500", "Biotech"),
            ("", "No", "Company", "CEO", "", "", ""),
        ],
        name="inbox/mixed.csv",
    )
    result = tick(settings, instance)
    assert isinstance(result, SensorResult) and len(result.run_requests) == 1
    (report,) = (settings.inbox_path / ARCHIVE_DIR).glob("*.rejected.csv")
    rejected = pd.read_csv(report)
    assert rejected["source_row"].tolist() == [3]
    assert rejected["reason"].str.startswith("no company").all()

"""Run history for BI: one `run_stats` row per run of the ranking job, read from Dagster's
record of the run (its tags, times and the metadata its assets recorded)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dagster import DagsterEventType, DagsterInstance

from pipeline.orchestration.clients import DEFAULT_CLIENT
from pipeline.orchestration.partitions import client_of_run
from pipeline.storage.stores import Warehouse, create_tables

RUN_STATS_TABLE = "run_stats"
TRIGGER_TAG = "persona_ranker/trigger"
_COLUMNS = (
    "run_id varchar primary key",
    "client varchar not null",
    "job varchar not null",
    "status varchar not null",
    "trigger varchar not null",
    "started_at timestamp with time zone",
    "finished_at timestamp with time zone",
    "leads integer",
    "companies integer",
    "ranked integer",
    "evaluator_mix varchar",
    "calls integer",
    "tokens integer",
    "usd double precision",
)


# Runs recorded before clients existed were the one client's, `default`.
_CLIENT_COLUMN_FOR_OLDER_STATS = "client varchar default 'default'"


def trigger_of(tags: Mapping[str, str]) -> str:
    """schedule, sensor, cli (or eval), or manual: a run launched from the UI carries none of
    the other tags."""
    if "dagster/schedule_name" in tags:
        return "schedule"
    if "dagster/sensor_name" in tags:
        return "sensor"
    return tags.get(TRIGGER_TAG, "manual")


def run_stats_row(
    instance: DagsterInstance, run_id: str, status: str | None = None
) -> dict[str, Any]:
    """The run's row; `status`: how it ends, told by its last step before Dagster records
    the end (finished now)."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        raise ValueError(f"no run {run_id} in this instance")
    run = record.dagster_run
    metadata = asset_metadata(instance, run_id)
    evaluations = metadata.get("lead_evaluations", {})
    tokens = evaluations.get("prompt_tokens", 0) + evaluations.get("completion_tokens", 0)
    return {
        "run_id": run_id,
        "client": client_of_run(run.tags) or DEFAULT_CLIENT,
        "job": run.job_name,
        "status": status or run.status.value,
        "trigger": trigger_of(run.tags),
        "started_at": _time(record.start_time),
        "finished_at": datetime.now(UTC) if status else _time(record.end_time),
        "leads": metadata.get("enriched_leads", {}).get("rows"),
        "companies": evaluations.get("companies"),
        "ranked": metadata.get("ranked_leads", {}).get("ranked"),
        "evaluator_mix": json.dumps(evaluations["evaluator_mix"])
        if "evaluator_mix" in evaluations
        else None,
        "calls": evaluations.get("calls", 0),
        "tokens": tokens,
        "usd": float(evaluations.get("usd", 0.0)),
    }


def asset_metadata(instance: DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Each single-output asset's metadata in the run, by step name.

    Read from the steps' output events, one per asset, rather than the materializations,
    which a partitioned asset records once per partition.
    """
    found: dict[str, dict[str, Any]] = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_OUTPUT):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        output = event.step_output_data
        if output.step_output_handle.output_name == "result":
            # A graph asset's last step, `lead_evaluations.collect_evaluations`, is its asset's.
            asset = event.step_key.split(".")[0]
            found[asset] = {key: value.value for key, value in output.metadata.items()}
    return found


def _time(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


class RunStatsStore:
    """The `run_stats` table in the warehouse; recording a run twice keeps one row."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._table = f'"{warehouse.schema}"."{RUN_STATS_TABLE}"'

    def record(self, row: Mapping[str, Any]) -> None:
        mark = self.warehouse.placeholder
        with self.warehouse.transaction() as cursor:
            create_tables(cursor, self.warehouse.schema, {RUN_STATS_TABLE: _COLUMNS})
            cursor.execute(
                f"alter table {self._table} add column if not exists "
                f"{_CLIENT_COLUMN_FOR_OLDER_STATS}"
            )
            cursor.execute(f"delete from {self._table} where run_id = {mark}", [row["run_id"]])
            cursor.execute(
                f"insert into {self._table} ({', '.join(row)}) "
                f"values ({', '.join([mark] * len(row))})",
                list(row.values()),
            )


def record_run(instance: DagsterInstance, run_id: str, warehouse: Warehouse) -> dict[str, Any]:
    row = run_stats_row(instance, run_id)
    RunStatsStore(warehouse).record(row)
    return row

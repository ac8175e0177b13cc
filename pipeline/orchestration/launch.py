"""One run of the rank_leads job for one client, recorded in the instance and executed on the
executor its settings name: the one way the CLI runs the job.

The run carries its settings (in the job's pointer) and its executor (in its config), so a
step on a Celery worker writes the same rows to the same place as a step in this process.
What the run's steps log on other machines reaches this terminal through the instance.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from dagster import (
    AssetMaterialization,
    AssetObservation,
    DagsterEventType,
    DagsterInstance,
    EventLogEntry,
    RunsFilter,
    execute_job,
)

from pipeline.definitions import reconstructable_rank_leads
from pipeline.orchestration.clients import Client
from pipeline.orchestration.executors import executor_config
from pipeline.orchestration.partitions import PARTITION_TAG
from pipeline.orchestration.run_history import TRIGGER_TAG
from pipeline.orchestration.settings import Settings

RUN_LOGGERS = {"console": {"config": {"log_level": "INFO"}}}
# Finds the run a launch created, before it ends, to follow its steps' lines.
LAUNCH_TAG = "persona_ranker/launch"
_POLL_S = 0.5


def run_config(
    settings: Settings, companies: Sequence[str] = (), batch: bool = False
) -> dict[str, Any]:
    """The run's executor and log level; the evaluation's scope when it has one."""
    config: dict[str, Any] = {
        "loggers": RUN_LOGGERS,
        "execution": executor_config(settings.executor, settings.celery_broker),
    }
    evaluation: dict[str, Any] = {"companies": list(companies)} if companies else {}
    if batch:
        evaluation["batch"] = True
    if evaluation:
        config["ops"] = {"lead_evaluations": {"config": evaluation}}
    return config


@dataclass(frozen=True)
class RunOutcome:
    """A finished run, read back from the instance whatever process ran its steps."""

    instance: DagsterInstance
    run_id: str
    success: bool

    def _entries(self, kind: DagsterEventType) -> list[EventLogEntry]:
        return list(self.instance.all_logs(self.run_id, of_type=kind))

    def materializations(self, asset: str) -> list[AssetMaterialization]:
        found = (
            entry.asset_materialization
            for entry in self._entries(DagsterEventType.ASSET_MATERIALIZATION)
        )
        return [event for event in found if event is not None and event.asset_key.path == [asset]]

    def observations(self) -> list[AssetObservation]:
        return [
            entry.asset_observation
            for entry in self._entries(DagsterEventType.ASSET_OBSERVATION)
            if entry.asset_observation is not None
        ]

    def failures(self) -> list[tuple[str, str]]:
        """(step, error message) of each failed step."""
        found = []
        for entry in self._entries(DagsterEventType.STEP_FAILURE):
            event = entry.dagster_event
            data = event.step_failure_data if event is not None else None
            message = data.error.message.strip() if data and data.error else "unknown error"
            found.append((entry.step_key or "", message))
        return found


def launch(
    settings: Settings,
    clients: Mapping[str, Client],
    client: str,
    trigger: str,
    instance: DagsterInstance,
    companies: Sequence[str] = (),
    batch: bool = False,
    lines: TextIO | None = None,
) -> RunOutcome:
    """Runs the job for `client` (only `companies` judged again, when given; the model's
    leads in a batch, with `batch`). With `lines`, what steps in other processes log is
    written there as it is recorded."""
    launch_id = uuid.uuid4().hex
    job = reconstructable_rank_leads(settings, clients)
    # Steps on this machine print to this terminal themselves; a worker's print on its own.
    following = (
        _followed(instance, launch_id, lines)
        if lines is not None and settings.executor == "celery"
        else nullcontext()
    )
    with following:
        result = execute_job(
            job,
            instance,
            run_config=run_config(settings, companies, batch),
            tags={PARTITION_TAG: client, TRIGGER_TAG: trigger, LAUNCH_TAG: launch_id},
        )
    return RunOutcome(instance, result.run_id, result.success)


@contextmanager
def _followed(instance: DagsterInstance, launch_id: str, lines: TextIO) -> Iterator[None]:
    """Copies the run's step log lines to `lines` while the block runs, and what is left of
    them once it ends."""
    done = threading.Event()
    follower = threading.Thread(
        target=_follow, args=(instance, launch_id, lines, done), daemon=True
    )
    follower.start()
    try:
        yield
    finally:
        done.set()
        follower.join()


def _follow(
    instance: DagsterInstance, launch_id: str, lines: TextIO, done: threading.Event
) -> None:
    run_id: str | None = None
    cursor: str | None = None
    while True:
        finishing = done.is_set()
        if run_id is None:
            runs = instance.get_run_ids(RunsFilter(tags={LAUNCH_TAG: launch_id}), limit=1)
            run_id = runs[0] if runs else None
        while run_id is not None:
            page = instance.get_records_for_run(run_id, cursor=cursor, limit=500)
            cursor = page.cursor
            for record in page.records:
                entry = record.event_log_entry
                # The run's own process logs its events itself; a step's lines come from
                # wherever it ran.
                if entry.dagster_event is None and entry.step_key:
                    print(log_line(entry), file=lines, flush=True)
            if not page.has_more:
                break
        if finishing:
            return
        done.wait(_POLL_S)


def log_line(entry: EventLogEntry) -> str:
    """An event-log message the way Dagster's console logger prints one."""
    when = datetime.fromtimestamp(entry.timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    level = logging.getLevelName(entry.level)
    return (
        f"{when} - dagster - {level} - {entry.job_name} - {entry.run_id} - {entry.step_key} - "
        f"{entry.user_message}"
    )

"""Which Dagster instance runs are recorded in, so the CLI and the UI share one history."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from dagster import DagsterEventType, DagsterInstance
from dagster._core.storage.dagster_run import FINISHED_STATUSES
from sqlalchemy.exc import SQLAlchemyError

from pipeline.orchestration.settings import PROJECT_ROOT

LOCAL_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME when set; otherwise the project's own `.dagster_home` (Dagster's default
    local storage), which `persona-ranker run` and `persona-ranker dev` both use."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        return Path(home)
    LOCAL_DAGSTER_HOME.mkdir(exist_ok=True)
    config = LOCAL_DAGSTER_HOME / "dagster.yaml"
    local_config = local_instance_config()
    if not config.exists() or config.read_text(encoding="utf-8") != local_config:
        config.write_text(local_config, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(LOCAL_DAGSTER_HOME)
    return LOCAL_DAGSTER_HOME


def local_instance_config() -> str:
    """The project's dagster.yaml (run queue, the "groq" pool, run monitoring) without its
    PostgreSQL storage: local runs keep Dagster's default storage in `.dagster_home/`."""
    settings = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    settings.pop("storage", None)
    header = "# Generated from the project's dagster.yaml, minus its storage: do not edit.\n"
    return header + yaml.safe_dump(settings, sort_keys=False)


def project_instance() -> DagsterInstance:
    ensure_dagster_home()
    return DagsterInstance.get()


def ensure_pool(instance: DagsterInstance, pool: str) -> None:
    """Gives the pool its default limit before a run claims it.

    A run's first claim on a pool the instance has never seen writes its limit; on
    PostgreSQL, two runs doing that at once make one of them fail ("current transaction is
    aborted", dagster-io/dagster#33552). Here, a process that loses the race finds the row
    the other wrote.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or pool in storage.get_concurrency_keys():
        return
    try:
        storage.initialize_concurrency_limit_to_default(pool)
    except SQLAlchemyError:
        if pool not in storage.get_concurrency_keys():
            raise


def release_abandoned_runs(instance: DagsterInstance) -> list[str]:
    """Marks failed the runs whose process on this machine died mid-run (a killed CLI run) and
    frees the concurrency slots they, or any finished run, still hold.

    A step of the `groq` pool claims the pool's one slot; a process killed before releasing it
    would otherwise block every later run. Dagster's daemon frees slots of finished runs, but a
    CLI run has no daemon and a killed run never finishes. Returns the runs released.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    released = []
    for run_id in storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status not in FINISHED_STATUSES:
            pid = _run_process(instance, run_id)
            if pid is None or _is_alive(pid):
                continue
            instance.report_run_failed(run, f"its process (pid {pid}) is gone")
        storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released


def _run_process(instance: DagsterInstance, run_id: str) -> int | None:
    for record in instance.all_logs(run_id, of_type=DagsterEventType.RUN_START):
        if record.dagster_event is not None and record.dagster_event.pid is not None:
            return record.dagster_event.pid
    return None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

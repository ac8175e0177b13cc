"""The celery executor end to end: two `persona-ranker workers` on Redis, Dagster's instance
and the warehouse on PostgreSQL, the agency's two clients and a client of 20,000 generated
leads ranked at once, the large one's evaluation in shards. Every row and every campaign file
is the one an in-process run writes, whichever worker ran a step and whatever that worker's
own environment says."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest
import redis
from dagster import DagsterEventType, DagsterInstance, DagsterRun, RunsFilter
from support import POSTGRES_URL

from pipeline.groq_server.server import MockGroq
from pipeline.orchestration.settings import DATA_DIR, PROJECT_ROOT
from pipeline.storage.postgres_warehouse import pg_transaction

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BIN = Path(sys.executable).parent
CLIENTS = ("outbound", "hr-software", "generated")
# 20,000 leads in shards of at most 6,000: four or more judging steps.
_GENERATED = ("20000", "2000")
_LEADS_PER_SHARD = "6000"
# Rows differ between runs only in when they were made.
_TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")
# One row per run, not per lead: compared by what they hold, not by id.
_PER_RUN_TABLES = ("run_stats", "campaign_history", "llm_calls", "llm_batches")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    """A database of its own on the machine's Redis; a Redis of its own when none answers."""
    if _answers("redis://127.0.0.1:6379/0"):
        url = f"redis://127.0.0.1:6379/{uuid.uuid4().int % 14 + 2}"
        redis.Redis.from_url(url).flushdb()
        yield url
        redis.Redis.from_url(url).flushdb()
        return
    port = _free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while not _answers(url):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def agency(tmp_path: Path) -> Path:
    """The bundled agency's clients file, with the files it names, in a folder of its own,
    and a third client of generated leads."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR / "agency", data / "agency")
    for name in ("persona.yaml", "eval_dev.csv", "titles.yaml"):
        shutil.copy(DATA_DIR / name, data / name)
    generated = data / "agency" / "leads" / "generated.csv"
    subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "bench" / "make_leads.py"),
            *_GENERATED,
            "--seed",
            "5",
            "--out",
            str(generated),
        ],
        check=True,
        capture_output=True,
    )
    clients = data / "agency" / "clients.yaml"
    with clients.open("a", encoding="utf-8") as stream:
        stream.write(
            "  generated:\n    persona: ../persona.yaml\n    leads: leads/generated.csv\n"
            "    evaluator: rules\n"
        )
    return clients


def _start_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stream:
        worker = subprocess.Popen(
            [str(BIN / "persona-ranker"), "workers", "--concurrency", "1", "--name", name],
            stdout=stream,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 90
    while b" ready." not in log.read_bytes():
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return worker


@contextmanager
def _workers(*envs: tuple[dict[str, str], str], logs: Path) -> Iterator[None]:
    """A worker per (environment, name), concurrency 1 each, stopped after the block."""
    started = [_start_worker(env, f"{name}@%h", logs / f"{name}.log") for env, name in envs]
    try:
        yield
    finally:
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.wait(timeout=60)


@contextmanager
def _instance(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """The runs' Dagster instance, on PostgreSQL, as the commands saw it."""
    for key in (
        "DAGSTER_HOME",
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_PORT",
        "DAGSTER_PG_DB",
        "DAGSTER_PG_USER",
        "DAGSTER_PG_PASSWORD",
    ):
        monkeypatch.setenv(key, env[key])
    with DagsterInstance.get() as instance:
        yield instance


def _celery_runs(instance: DagsterInstance) -> list[DagsterRun]:
    return [
        record.dagster_run
        for record in instance.get_run_records(RunsFilter(tags={"persona_ranker/trigger": "cli"}))
        if record.dagster_run.run_config["execution"]["config"].get("celery")
    ]


def _worker_of_steps(
    instance: DagsterInstance, runs: list[DagsterRun]
) -> dict[tuple[str, str], str]:
    """(client, step) -> the name of the worker that ran it, from the runs' own events."""
    return {
        (
            run.tags["dagster/partition"],
            entry.step_key or "",
        ): entry.dagster_event.engine_event_data.metadata["Celery worker"].value.split("@")[0]
        for run in runs
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
        if entry.dagster_event is not None
        and "Celery worker" in entry.dagster_event.engine_event_data.metadata
    }


def _rank(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "persona-ranker"), "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out


def _tables(schema: str) -> dict[str, list[tuple[object, ...]]]:
    """Every per-lead table of the schema, its rows sorted, without its time columns."""
    found: dict[str, list[tuple[object, ...]]] = {}
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = %s order by table_name, ordinal_position",
            [schema],
        )
        columns: dict[str, list[str]] = {}
        for table, column, kind in cursor.fetchall():
            if table not in _PER_RUN_TABLES and kind not in _TIME_TYPES:
                columns.setdefault(table, []).append(column)
        for table, names in columns.items():
            listed = ", ".join(f'"{name}"' for name in names)
            cursor.execute(f'select {listed} from "{schema}"."{table}" order by {listed}')
            found[table] = cursor.fetchall()
    return found


def _schema_exists(schema: str) -> bool:
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute("select 1 from information_schema.schemata where schema_name = %s", [schema])
        return cursor.fetchone() is not None


def test_two_celery_workers_rank_two_clients_at_once_as_one_process_does(
    production_env: dict[str, str],
    pg_schema: str,
    other_pg_schema: str,
    broker: str,
    agency: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alone = {
        **production_env,
        "PERSONA_RANKER_CLIENTS": str(agency),
        "PERSONA_RANKER_EXPORT": str(tmp_path / "alone" / "campaign.csv"),
    }
    _finished(_rank(alone, "--all-clients"))

    spread = {
        **alone,
        "PERSONA_RANKER_DATABASE_SCHEMA": other_pg_schema,
        "PERSONA_RANKER_EXPORT": str(tmp_path / "spread" / "campaign.csv"),
        "PERSONA_RANKER_CELERY_BROKER": broker,
        "PERSONA_RANKER_WORK_DIR": (tmp_path / "work").as_uri(),
        "PERSONA_RANKER_LEADS_PER_SHARD": _LEADS_PER_SHARD,
    }
    # The second worker's own settings point elsewhere: the runs' settings win.
    astray = {
        **spread,
        "PERSONA_RANKER_DATABASE_SCHEMA": f"{other_pg_schema}_astray",
        "PERSONA_RANKER_EXPORT": str(tmp_path / "astray" / "campaign.csv"),
        "PERSONA_RANKER_CLIENTS": "",
        "PERSONA_RANKER_EVALUATOR": "groq",
        "PERSONA_RANKER_WORK_DIR": str(tmp_path / "astray-work"),
        "PERSONA_RANKER_LEADS_PER_SHARD": "1",
    }
    with _workers((spread, "first"), (astray, "second"), logs=tmp_path):
        runs = [_rank(spread, "--client", name, "--executor", "celery") for name in CLIENTS]
        for run in runs:
            _finished(run)

    with _instance(production_env, monkeypatch) as instance:
        spread_runs = _celery_runs(instance)
        assert len(spread_runs) == len(CLIENTS)
        assert all(run.is_success for run in spread_runs)
        worker_of = _worker_of_steps(instance, spread_runs)
    assert set(worker_of.values()) == {"first", "second"}
    shards = {
        worker
        for (client, step), worker in worker_of.items()
        if client == "generated" and step.startswith("lead_evaluations.evaluate_shard[")
    }
    assert len([key for key in worker_of if "evaluate_shard[" in key[1]]) >= 4 + 2
    assert shards == {"first", "second"}

    assert _tables(other_pg_schema) == _tables(pg_schema)
    assert not _schema_exists(f"{other_pg_schema}_astray")
    assert not (tmp_path / "astray").exists()
    for name in CLIENTS:
        campaign = (tmp_path / "spread" / name / "campaign.csv").read_bytes()
        assert campaign == (tmp_path / "alone" / name / "campaign.csv").read_bytes()


def test_the_groq_pool_and_the_token_budget_hold_across_workers(
    production_env: dict[str, str],
    broker: str,
    agency: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    groq_server: Callable[..., MockGroq],
) -> None:
    server = groq_server(latency_s=0.2)
    clients = agency.with_name("model_clients.yaml")
    clients.write_text(
        "clients:\n"
        "  first-client: {persona: ../persona.yaml, leads: leads/outbound.csv}\n"
        "  second-client: {persona: ../persona.yaml, leads: leads/hr_software.csv}\n",
        encoding="utf-8",
    )
    env = {
        **production_env,
        "PERSONA_RANKER_CLIENTS": str(clients),
        "PERSONA_RANKER_EXPORT": str(tmp_path / "exports" / "campaign.csv"),
        "PERSONA_RANKER_CELERY_BROKER": broker,
        "PERSONA_RANKER_WORK_DIR": (tmp_path / "work").as_uri(),
        "PERSONA_RANKER_LEADS_PER_SHARD": "60",
        "GROQ_API_KEY": "test-key",
        "GROQ_BASE_URL": server.base_url,
    }
    with _workers((env, "first"), (env, "second"), logs=tmp_path):
        runs = [
            _rank(env, "--client", name, "--executor", "celery")
            for name in ("first-client", "second-client")
        ]
        for run in runs:
            _finished(run)

    with _instance(production_env, monkeypatch) as instance:
        celery_runs = _celery_runs(instance)
        assert len(celery_runs) == 2 and all(run.is_success for run in celery_runs)
        judging = {
            key: worker
            for key, worker in _worker_of_steps(instance, celery_runs).items()
            if key[1].startswith("lead_evaluations.evaluate_shard[")
        }
        spans = sorted(
            _step_span(instance, run.run_id, step)
            for run in celery_runs
            for client, step in judging
            if client == run.tags["dagster/partition"]
        )
    assert len(spans) >= 4
    assert set(judging.values()) == {"first", "second"}
    # The pool's one slot: no two judging steps at once, whichever run and worker.
    overlapping = [(earlier, later) for earlier, later in pairwise(spans) if later[0] < earlier[1]]
    assert not overlapping, overlapping
    served = server.served()
    assert served and all(request.status == 200 for request in served)
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(
            f'select count(*) from "{production_env["PERSONA_RANKER_DATABASE_SCHEMA"]}".llm_calls'
        )
        assert cursor.fetchone()[0] == len(served)


def _step_span(instance: DagsterInstance, run_id: str, step: str) -> tuple[float, float]:
    times = [
        entry.timestamp
        for entry in instance.all_logs(
            run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
        )
        if entry.step_key == step
    ]
    return min(times), max(times)

from __future__ import annotations

import csv
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
from dagster import DagsterInstance
from support import POSTGRES_URL

from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.leads.records import LEAD_COLUMNS
from pipeline.llm.ratelimit import RateLimits
from pipeline.orchestration.settings import DATA_DIR, PROJECT_ROOT
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import Persona
from pipeline.storage.postgres_warehouse import pg_transaction, psycopg2_dsn

LEAD_HEADER = LEAD_COLUMNS


@pytest.fixture(scope="session")
def persona() -> Persona:
    return load_persona(DATA_DIR / "persona.yaml")


@pytest.fixture
def write_leads(tmp_path: Path) -> Callable[..., Path]:
    """Writes rows (tuples in LEAD_HEADER order) to a CSV under tmp_path."""

    def write(
        rows: Sequence[Sequence[str]], name: str = "leads.csv", header: Sequence[str] = LEAD_HEADER
    ) -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    return write


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


# Generous limits: tests that are not about rate limits never wait for them.
ROOMY_LIMITS = RateLimits(
    requests_per_minute=10_000,
    tokens_per_minute=10_000_000,
    requests_per_day=1_000_000,
    tokens_per_day=100_000_000,
)


@pytest.fixture
def groq_server(persona: Persona) -> Iterator[Callable[..., MockGroq]]:
    """Starts local Groq-compatible servers on free ports; stops them after the test."""
    started: list[MockGroq] = []

    def start(limits: RateLimits = ROOMY_LIMITS, **settings: Any) -> MockGroq:
        server = MockGroq(persona, MockSettings(limits=limits, **settings)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def fresh_schema() -> Iterator[str]:
    """A fresh schema name in the test database, dropped with its tables afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(f'drop schema if exists "{name}" cascade')


pg_schema = pytest.fixture(fresh_schema, name="pg_schema")
# A second one, for a test that compares two warehouses.
other_pg_schema = pytest.fixture(fresh_schema, name="other_pg_schema")


@pytest.fixture
def instance_database() -> Iterator[str]:
    """A database of its own for Dagster's run, event-log and schedule storage."""
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(psycopg2_dsn(POSTGRES_URL))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    yield name
    with admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


@pytest.fixture
def production_env(tmp_path: Path, instance_database: str, pg_schema: str) -> dict[str, str]:
    """DAGSTER_HOME holding the project's dagster.yaml and the variables it reads."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    server = urlsplit(POSTGRES_URL)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GROQ_", "PERSONA_RANKER_"))
    }
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": server.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(server.port or 5432),
        "DAGSTER_PG_DB": instance_database,
        "DAGSTER_PG_USER": server.username or "postgres",
        "DAGSTER_PG_PASSWORD": server.password or "",
        "PERSONA_RANKER_DATABASE_URL": POSTGRES_URL,
        "PERSONA_RANKER_DATABASE_SCHEMA": pg_schema,
    }

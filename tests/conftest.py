from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance
from support import POSTGRES_URL

from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.llm.ratelimit import RateLimits
from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import Persona
from pipeline.storage.postgres_warehouse import pg_transaction

LEAD_HEADER = (
    "account_name",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "account_domain",
    "account_employee_range",
    "account_industry",
)


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


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema name in the test database, dropped with its tables afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(f'drop schema if exists "{name}" cascade')

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pipeline.persona import Persona, load_persona
from pipeline.settings import DATA_DIR

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

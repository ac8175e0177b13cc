"""The SQL of docs/querying.md runs unchanged on DuckDB and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance
from support import POSTGRES_URL, run_rank_leads

from pipeline.llm.store import LlmStore
from pipeline.orchestration.settings import PROJECT_ROOT, Settings
from pipeline.storage.postgres_warehouse import pg_transaction
from pipeline.storage.stores import Warehouse


def documented_queries() -> list[str]:
    page = (PROJECT_ROOT / "docs" / "querying.md").read_text(encoding="utf-8")
    block = re.search(r"```sql\n(.*?)```", page, re.DOTALL)
    assert block, "no SQL block in docs/querying.md"
    return [query.strip() for query in block.group(1).split(";") if query.strip()]


def rank_into(settings: Settings) -> None:
    """A full run, and the LLM tables (empty: the rules evaluator calls no model)."""
    with DagsterInstance.ephemeral() as instance:
        assert run_rank_leads(settings, instance).success
    LlmStore(Warehouse(settings.warehouse_location, settings.warehouse_schema), "default").calls()


def test_there_are_five_example_queries() -> None:
    assert len(documented_queries()) == 5


def test_the_documented_queries_run_on_duckdb(tmp_path: Path) -> None:
    settings = Settings(
        warehouse_path=tmp_path / "w.duckdb", export_path=tmp_path / "c.csv", evaluator="rules"
    )
    rank_into(settings)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute(f"set search_path = '{settings.warehouse_schema}'")
        top, bands, campaigns, suppressed, _cost = (
            connection.execute(q).fetchall() for q in documented_queries()
        )
    assert len(top) == 36 and len(bands) == 4
    assert [leads for _run, _at, leads in campaigns] == [36] and suppressed == []


@pytest.mark.postgres
def test_the_documented_queries_run_on_postgres(tmp_path: Path, pg_schema: str) -> None:
    settings = Settings(
        database_url=POSTGRES_URL,
        database_schema=pg_schema,
        export_path=tmp_path / "c.csv",
        evaluator="rules",
    )
    rank_into(settings)
    results = []
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(f'set search_path to "{pg_schema}"')
        for query in documented_queries():
            cursor.execute(query)
            results.append(cursor.fetchall())
    top, bands, campaigns, suppressed, _cost = results
    assert len(top) == 36 and len(bands) == 4
    assert [leads for _run, _at, leads in campaigns] == [36] and suppressed == []

"""Two clients in one PostgreSQL warehouse, and each client's analysts reading only their
client's rows: real roles connecting as themselves, row-level security, views that read as
the querying role, and the pipeline still writing (as a superuser and as a plain owner)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg2
import pytest
from dagster import DagsterInstance
from support import POSTGRES_URL, run_rank_leads
from test_clients import TABLES, write_agency

from pipeline.cli import main
from pipeline.llm.client import CallRecord
from pipeline.llm.store import LlmStore
from pipeline.orchestration.run_history import record_run
from pipeline.orchestration.settings import Settings
from pipeline.storage.postgres_warehouse import frame_from_cursor, pg_transaction
from pipeline.storage.reader_access import grant_reader, revoke_reader
from pipeline.storage.stores import Warehouse

pytestmark = pytest.mark.postgres

CLIENT_TABLES = (
    *TABLES,
    "rejected_leads",
    "suppression_list",
    "campaign_history",
    "llm_calls",
    "run_stats",
)
VIEWS = ("current_ranked_leads", "llm_cost_per_run")


def url_as(role: str) -> str:
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit((parts.scheme, f"{role}@{parts.hostname}:{parts.port}", *parts[2:]))


def as_role(role: str, statement: str) -> pd.DataFrame:
    with psycopg2.connect(url_as(role)) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        return frame_from_cursor(cursor)


@pytest.fixture
def roles() -> Iterator[Callable[[str], str]]:
    """Unique role names; every role made is dropped afterwards with what it was granted."""
    made: list[str] = []

    def name(prefix: str) -> str:
        made.append(f"{prefix}_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield name
    with pg_transaction(POSTGRES_URL) as cursor:
        for role in made:
            cursor.execute("select 1 from pg_roles where rolname = %s", [role])
            if cursor.fetchone():
                cursor.execute(f'drop owned by "{role}"')
                cursor.execute(f'drop role "{role}"')


@pytest.fixture
def agency(tmp_path: Path, write_leads: Callable[..., Path], pg_schema: str) -> Settings:
    return Settings(
        clients_path=write_agency(tmp_path, write_leads),
        database_url=POSTGRES_URL,
        database_schema=pg_schema,
        export_path=tmp_path / "exports" / "campaign.csv",
        evaluator="rules",
    )


def rank_both(settings: Settings, instance: DagsterInstance) -> None:
    """Both clients ranked, each run in run_stats and one model call logged per client, as the
    CLI and the Groq path record them."""
    warehouse = Warehouse(settings.warehouse_location, settings.warehouse_schema)
    for client in ("sales", "people"):
        result = run_rank_leads(settings, instance, client=client)
        assert result.success
        record_run(instance, result.run_id, warehouse)
        LlmStore(warehouse, client).record_call(
            result.run_id, CallRecord(model="m", leads=1, companies="acme.com"), [], "v", "f"
        )


def ranked_with_reader(
    settings: Settings, instance: DagsterInstance, roles: Callable[[str], str], *clients: str
) -> str:
    """Both clients ranked and a new reader granted these clients; its role name."""
    rank_both(settings, instance)
    reader = roles("bi")
    with pg_transaction(POSTGRES_URL) as cursor:
        for client in clients:
            grant_reader(cursor, settings.warehouse_schema, client, reader, None)
    return reader


def client_rows(schema: str, table: str) -> pd.DataFrame:
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(f'select * from "{schema}"."{table}"')
        return frame_from_cursor(cursor)


def test_two_clients_share_the_warehouse_and_one_run_leaves_the_other_alone(
    agency: Settings, pg_schema: str, instance: DagsterInstance
) -> None:
    for client in ("sales", "people"):
        assert run_rank_leads(agency, instance, client=client).success

    def people_rows(table: str) -> pd.DataFrame:
        rows = client_rows(pg_schema, table).query("client == 'people'")
        return rows.sort_values("lead_id").reset_index(drop=True)

    people = {table: people_rows(table) for table in TABLES}
    assert run_rank_leads(agency, instance, client="sales").success
    for table in TABLES:
        after = client_rows(pg_schema, table)
        pd.testing.assert_frame_equal(people_rows(table), people[table])
        assert set(after["client"]) == {"sales", "people"}, table
    # One person, a lead of both clients: the key is (client, lead_id).
    ranked = client_rows(pg_schema, "ranked_leads")
    assert ranked.groupby("lead_id")["client"].nunique().max() == 2


def test_each_reader_sees_exactly_its_clients_rows_and_nothing_else(
    agency: Settings, pg_schema: str, instance: DagsterInstance, roles: Callable[[str], str]
) -> None:
    rank_both(agency, instance)
    sales_reader, people_reader, stranger = roles("sales_bi"), roles("people_bi"), roles("nobody")
    with pg_transaction(POSTGRES_URL) as cursor:
        grant_reader(cursor, pg_schema, "sales", sales_reader, None)
        grant_reader(cursor, pg_schema, "people", people_reader, None)
        cursor.execute(f'create role "{stranger}" login')
    everything = {name: client_rows(pg_schema, name) for name in (*CLIENT_TABLES, *VIEWS)}
    for reader, client in ((sales_reader, "sales"), (people_reader, "people")):
        other = "people" if client == "sales" else "sales"
        for name, rows in everything.items():
            seen = as_role(reader, f'select * from "{pg_schema}"."{name}"')
            assert len(seen) == (rows["client"] == client).sum(), (reader, name)
            assert set(seen["client"]) <= {client}, (reader, name)
            counted = as_role(
                reader,
                f'select count(*) from "{pg_schema}"."{name}" where client = \'{other}\'',
            )
            assert counted.iloc[0, 0] == 0, (reader, name)
        joined = as_role(
            reader,
            f'select count(*) from "{pg_schema}".ranked_leads r '
            f'join "{pg_schema}".lead_evaluations e using (lead_id)',
        )
        assert joined.iloc[0, 0] == (everything["ranked_leads"]["client"] == client).sum()
        mapping = as_role(reader, f'select role_name, client from "{pg_schema}".reader_clients')
        assert list(mapping.itertuples(index=False, name=None)) == [(reader, client)]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_role(reader, f'select * from "{pg_schema}".llm_cache')
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_role(reader, f"delete from \"{pg_schema}\".ranked_leads where client = '{client}'")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_role(
                reader,
                f"insert into \"{pg_schema}\".run_stats (run_id, client) values ('x', '{other}')",
            )
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role(stranger, f'select count(*) from "{pg_schema}".ranked_leads')
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role(stranger, f'select count(*) from "{pg_schema}".current_ranked_leads')


def test_the_pipeline_keeps_writing_after_a_grant_and_new_rows_stay_apart(
    agency: Settings, pg_schema: str, instance: DagsterInstance, roles: Callable[[str], str]
) -> None:
    reader = ranked_with_reader(agency, instance, roles, "sales")
    assert run_rank_leads(agency, instance, client="people").success
    assert run_rank_leads(agency, instance, client="sales").success
    seen = as_role(reader, f'select client from "{pg_schema}".ranked_leads')
    assert len(seen) == (client_rows(pg_schema, "ranked_leads")["client"] == "sales").sum() > 0
    assert set(seen["client"]) == {"sales"}


def test_a_plain_owner_writes_through_forced_row_security(
    agency: Settings, pg_schema: str, instance: DagsterInstance, roles: Callable[[str], str]
) -> None:
    """Not a superuser: the owner is held to the policies (FORCE), so COPY into its own
    tables is refused by PostgreSQL; the rows go through a staging table instead."""
    owner, reader = roles("pipeline_owner"), roles("people_bi")
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(f'create role "{owner}" login')
        cursor.execute(f'create schema "{pg_schema}" authorization "{owner}"')
        # Roles are the administrator's; the owner grants its tables to one that exists.
        cursor.execute(f'create role "{reader}" login')
    own = replace(agency, database_url=url_as(owner))
    rank_both(own, instance)
    with psycopg2.connect(url_as(owner)) as connection, connection.cursor() as cursor:
        grant_reader(cursor, pg_schema, "people", reader, None)
    rerun = run_rank_leads(own, instance, client="people")
    assert rerun.success
    seen = as_role(reader, f'select client, company_rank from "{pg_schema}".ranked_leads')
    assert set(seen["client"]) == {"people"}
    assert seen["company_rank"].notna().sum() > 0
    policies = client_rows(pg_schema, "ranked_leads")
    assert set(policies["client"]) == {"sales", "people"}, "the owner still sees every client"


def test_grant_and_revoke_from_the_command_line(
    agency: Settings,
    pg_schema: str,
    instance: DagsterInstance,
    roles: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rank_both(agency, instance)
    reader = roles("sales_bi")
    monkeypatch.setenv("PERSONA_RANKER_DATABASE_SCHEMA", pg_schema)
    common = ["--clients", str(agency.clients_path), "--warehouse", POSTGRES_URL]
    assert main(["grant-reader", "--client", "sales", "--role", reader, *common]) == 0
    assert len(as_role(reader, f'select * from "{pg_schema}".current_ranked_leads')) > 0
    assert main(["grant-reader", "--client", "acme", "--role", reader, *common]) == 2
    assert "unknown client 'acme' (known: sales, people)" in capsys.readouterr().err
    assert main(["revoke-reader", "--role", reader, *common]) == 0
    assert "1 grant(s) removed" in capsys.readouterr().out
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role(reader, f'select * from "{pg_schema}".current_ranked_leads')


def test_a_duckdb_warehouse_has_no_roles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["grant-reader", "--client", "default", "--role", "bi", "--warehouse", str(tmp_path / "w")]
    )
    assert code == 2
    assert "a DuckDB warehouse has no roles: it is a single-team store" in capsys.readouterr().err


def test_revoking_one_client_keeps_the_others(
    agency: Settings, pg_schema: str, instance: DagsterInstance, roles: Callable[[str], str]
) -> None:
    reader = ranked_with_reader(agency, instance, roles, "sales", "people")
    assert set(as_role(reader, f'select client from "{pg_schema}".ranked_leads')["client"]) == {
        "sales",
        "people",
    }
    with pg_transaction(POSTGRES_URL) as cursor:
        assert revoke_reader(cursor, pg_schema, reader, "people") == 1
    seen = as_role(reader, f'select client from "{pg_schema}".ranked_leads')
    assert set(seen["client"]) == {"sales"}

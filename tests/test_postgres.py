"""Every asset in PostgreSQL: the whole chain, partition replacement, failed and concurrent
writes, analysts' views, the LLM tables, and secrets kept out of resource config."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import groq
import pandas as pd
import pytest
from dagster import (
    DagsterInstance,
    DynamicPartitionsDefinition,
    EnvVar,
    asset,
    materialize,
)
from support import POSTGRES_URL, run_rank_leads

from pipeline.definitions import build_definitions
from pipeline.groq_server.server import MockGroq
from pipeline.leads.files import read_lead_file
from pipeline.llm.client import GroqChat
from pipeline.llm.config import load_groq_config
from pipeline.llm.evaluator import HybridEvaluator
from pipeline.llm.ratelimit import RateLimiter
from pipeline.llm.store import LlmStore
from pipeline.orchestration.resources import warehouse_config
from pipeline.orchestration.settings import DATA_DIR, ENV_DATABASE_URL, Settings
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.storage.postgres_warehouse import (
    PostgresPandasIOManager,
    PostgresUrlError,
    frame_from_cursor,
    pg_transaction,
    psycopg2_dsn,
    redact,
)
from pipeline.storage.stores import Warehouse

pytestmark = pytest.mark.postgres

RANK_COLUMNS = ["lead_id", "company_key", "company_rank", "relevance_score", "is_relevant"]


def query(schema: str, statement: str, parameters: list[object] | None = None) -> pd.DataFrame:
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(statement.replace("$schema", f'"{schema}"'), parameters)
        return frame_from_cursor(cursor)


def run_job(settings: Settings, instance: DagsterInstance) -> None:
    assert run_rank_leads(settings, instance).success


@pytest.fixture
def pg_settings(tmp_path: Path, pg_schema: str) -> Settings:
    return Settings(
        database_url=POSTGRES_URL,
        database_schema=pg_schema,
        export_path=tmp_path / "campaign.csv",
        evaluator="rules",
    )


def test_the_whole_chain_lands_in_postgres_with_the_duckdb_ranking(
    pg_settings: Settings, pg_schema: str, tmp_path: Path, instance: DagsterInstance
) -> None:
    run_job(pg_settings, instance)
    duckdb_settings = replace(
        pg_settings, database_url=None, database_schema=None, warehouse_path=tmp_path / "w.duckdb"
    )
    with DagsterInstance.ephemeral() as other:
        done = run_rank_leads(duckdb_settings, other)
    expected = done.output_for_node("ranked_leads")[RANK_COLUMNS]
    ranked = query(pg_schema, "select * from $schema.ranked_leads")[RANK_COLUMNS]
    pd.testing.assert_frame_equal(
        ranked.sort_values("lead_id").reset_index(drop=True),
        expected.sort_values("lead_id").reset_index(drop=True),
    )
    for table in ("raw_leads", "enriched_leads", "lead_evaluations", "campaign_export"):
        assert len(query(pg_schema, f"select * from $schema.{table}")) > 0, table


def test_tables_have_real_types_keys_and_indexes(
    pg_settings: Settings, pg_schema: str, instance: DagsterInstance
) -> None:
    run_job(pg_settings, instance)
    types = query(
        pg_schema,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = 'ranked_leads'",
        [pg_schema],
    ).set_index("column_name")["data_type"]
    assert types["relevance_score"] == "bigint"
    assert types["company_rank"] == "bigint"
    assert types["is_relevant"] == "boolean"
    assert types["evaluated_at"] == "timestamp with time zone"
    assert types["reasoning"] == "text"
    indexes = query(
        pg_schema, "select tablename, indexdef from pg_indexes where schemaname = %s", [pg_schema]
    )
    definitions = " ".join(indexes["indexdef"])
    for table in ("enriched_leads", "lead_evaluations", "ranked_leads", "campaign_export"):
        assert f"{table}_pkey" in definitions
    assert "raw_leads_pkey" not in definitions  # a file may repeat a lead
    assert "ranked_leads_company_rank_idx" in definitions
    assert "lead_evaluations_company_key_idx" in definitions


def test_the_current_ranked_leads_view_holds_only_ranked_leads(
    pg_settings: Settings, pg_schema: str, instance: DagsterInstance
) -> None:
    run_job(pg_settings, instance)
    view = query(pg_schema, "select * from $schema.current_ranked_leads")
    ranked = query(pg_schema, "select * from $schema.ranked_leads where company_rank is not null")
    assert len(view) == len(ranked) == 53
    assert view["company_rank"].min() == 1


def test_one_company_rerun_alone_leaves_the_other_companies_untouched(
    pg_settings: Settings, pg_schema: str, instance: DagsterInstance
) -> None:
    run_job(pg_settings, instance)
    columns = "lead_id, company_key, evaluated_at"
    before = query(pg_schema, f"select {columns} from $schema.lead_evaluations")
    assert run_rank_leads(pg_settings, instance, companies=["steelcase.com"]).success
    after = query(pg_schema, f"select {columns} from $schema.lead_evaluations")
    assert len(after) == len(before) == after["lead_id"].nunique()
    merged = before.merge(after, on=["lead_id", "company_key"], suffixes=("_before", "_after"))
    changed = merged["evaluated_at_before"] != merged["evaluated_at_after"]
    assert set(merged.loc[changed, "company_key"]) == {"steelcase.com"}
    assert changed.sum() == (after["company_key"] == "steelcase.com").sum() < len(after)


PARTITIONS = DynamicPartitionsDefinition(name="pg_test_companies")
NEXT_ROWS: dict[str, pd.DataFrame] = {}


@asset(partitions_def=PARTITIONS, metadata={"partition_expr": "company_key"})
def scores() -> pd.DataFrame:
    return NEXT_ROWS["frame"]


def write_scores(schema: str, instance: DagsterInstance, frame: pd.DataFrame, key: str) -> bool:
    NEXT_ROWS["frame"] = frame
    return materialize(
        [scores],
        partition_key=key,
        instance=instance,
        resources={"io_manager": PostgresPandasIOManager(url=POSTGRES_URL, schema=schema)},
        raise_on_error=False,
    ).success


def stored_scores(schema: str) -> list[tuple[str, int]]:
    frame = query(schema, "select company_key, score from $schema.scores order by 1, 2")
    return list(frame.itertuples(index=False, name=None))


def test_a_write_failing_half_way_leaves_the_previous_rows(
    pg_schema: str, instance: DagsterInstance
) -> None:
    instance.add_dynamic_partitions("pg_test_companies", ["a.com", "b.com"])
    for key, score in (("a.com", 1), ("b.com", 2)):
        assert write_scores(
            pg_schema, instance, pd.DataFrame({"company_key": [key], "score": [score]}), key
        )
    # The delete of a.com's rows succeeds, then COPY fails on the second row (text in a bigint
    # column): the transaction rolls the delete back.
    broken = pd.DataFrame({"company_key": ["a.com", "a.com"], "score": ["5", "not a number"]})
    assert not write_scores(pg_schema, instance, broken, "a.com")
    assert stored_scores(pg_schema) == [("a.com", 1), ("b.com", 2)]
    assert write_scores(
        pg_schema, instance, pd.DataFrame({"company_key": ["a.com"], "score": [3]}), "a.com"
    )
    assert stored_scores(pg_schema) == [("a.com", 3), ("b.com", 2)]


def test_a_reader_during_a_write_sees_the_old_partition_or_the_new(
    pg_schema: str, instance: DagsterInstance
) -> None:
    instance.add_dynamic_partitions("pg_test_companies", ["a.com"])
    old = pd.DataFrame({"company_key": ["a.com"] * 3, "score": [1, 2, 3]})
    assert write_scores(pg_schema, instance, old, "a.com")
    deleted = threading.Event()
    release = threading.Event()
    seen: list[list[tuple[str, int]]] = []

    def slow_replace() -> None:
        # The IO manager's order: delete the slice, copy the new rows, commit at the end.
        with pg_transaction(POSTGRES_URL) as cursor:
            cursor.execute(f'delete from "{pg_schema}".scores where company_key = %s', ["a.com"])
            cursor.execute(f'insert into "{pg_schema}".scores values (%s, %s)', ["a.com", 9])
            deleted.set()
            release.wait(10)

    writer = threading.Thread(target=slow_replace)
    writer.start()
    assert deleted.wait(10)
    seen.append(stored_scores(pg_schema))
    release.set()
    writer.join()
    seen.append(stored_scores(pg_schema))
    assert seen == [[("a.com", 1), ("a.com", 2), ("a.com", 3)], [("a.com", 9)]]


def test_the_llm_tables_live_in_postgres_too(
    pg_schema: str,
    persona: Persona,
    groq_server: Callable[..., MockGroq],
) -> None:
    server = groq_server(disagreement=0.0)
    config = load_groq_config(DATA_DIR / "groq.yaml")
    leads = enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)
    store = LlmStore(Warehouse(POSTGRES_URL, pg_schema), "default")

    def evaluate() -> int:
        client = groq.Groq(api_key="k", base_url=server.base_url, max_retries=0, timeout=10)
        chat = GroqChat(client, "openai/gpt-oss-120b", RateLimiter(server.settings.limits), config)
        with client:
            _, stats = HybridEvaluator(
                persona, chat, store, "run-pg", 40, log=lambda _: None
            ).evaluate(leads, datetime.now(UTC))
        return stats.calls

    calls = evaluate()
    assert calls > 0 and evaluate() == 0
    per_run = query(pg_schema, "select * from $schema.llm_cost_per_run")
    assert per_run["calls"].tolist() == [calls]
    assert per_run["usd"].iloc[0] > 0


def test_database_urls_are_normalised_and_checked() -> None:
    assert psycopg2_dsn("postgresql+psycopg2://u@h:5432/db") == "postgresql://u@h:5432/db"
    assert psycopg2_dsn("postgres://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(PostgresUrlError, match="not a PostgreSQL URL"):
        psycopg2_dsn("mysql://u@h/db")
    assert redact("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"


def test_a_database_password_reaches_the_resources_only_as_an_env_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_password = "postgresql://u:s3cret@127.0.0.1:5432/db"
    settings = Settings(database_url=with_password)
    with pytest.raises(ValueError, match="PGPASSWORD"):
        warehouse_config(settings, environ={})
    assert warehouse_config(settings, environ={ENV_DATABASE_URL: with_password}) == EnvVar(
        ENV_DATABASE_URL
    )
    assert warehouse_config(Settings(database_url=POSTGRES_URL), environ={}) == POSTGRES_URL
    monkeypatch.setenv(ENV_DATABASE_URL, with_password)
    resources = build_definitions(Settings(database_url=with_password)).resources
    assert "s3cret" not in repr(resources["io_manager"])

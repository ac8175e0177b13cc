"""The rank_leads job with the Groq evaluator, on an instance with the project's "groq" pool,
against the local Groq-compatible server over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult, instance_for_test
from support import run_rank_leads

from assets.evaluation import GROQ_POOL, lead_evaluations_asset
from pipeline.definitions import build_definitions
from pipeline.groq_server.server import MockGroq
from pipeline.orchestration.resources import GroqEvaluator
from pipeline.orchestration.settings import DATA_DIR, DUCKDB_SCHEMA, Settings

pytestmark = pytest.mark.groq_server

SECRET = "gsk_test_secret_never_shown_0123456789"


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as test:
        yield test


@pytest.fixture
def server(groq_server: Callable[..., MockGroq], monkeypatch: pytest.MonkeyPatch) -> MockGroq:
    started = groq_server()
    monkeypatch.setenv("GROQ_API_KEY", SECRET)
    monkeypatch.setenv("GROQ_BASE_URL", started.base_url)
    return started


def settings_for(tmp_path: Path, evaluator: str = "groq") -> Settings:
    return Settings(
        warehouse_path=tmp_path / "warehouse.duckdb",
        export_path=tmp_path / "campaign.csv",
        evaluator=evaluator,
    )


def run_job(settings: Settings, instance: DagsterInstance) -> ExecuteInProcessResult:
    return run_rank_leads(settings, instance, raise_on_error=False)


def evaluation_metadata(result: ExecuteInProcessResult) -> dict[str, object]:
    materialization = result.asset_materializations_for_node("lead_evaluations")[0]
    return {key: value.value for key, value in materialization.metadata.items()}


def query(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.sql(sql.replace("$schema", DUCKDB_SCHEMA)).df()


def test_only_the_judging_steps_that_may_call_the_model_are_in_the_groq_pool() -> None:
    def pools(calls_model: bool) -> dict[str, str | None]:
        graph = lead_evaluations_asset(calls_model).node_def
        return {node.name: node.definition.pool for node in graph.nodes}

    assert pools(True) == {
        "plan_evaluation": None,
        "evaluate_shard": GROQ_POOL,
        "collect_evaluations": None,
    }
    assert set(pools(False).values()) == {None}


def test_the_groq_evaluator_is_chosen_and_its_key_is_an_env_var(server: MockGroq) -> None:
    for choice in ("groq", "auto"):
        evaluator = build_definitions(Settings(evaluator=choice)).resources["evaluator"]
        assert isinstance(evaluator, GroqEvaluator)
        assert SECRET not in repr(evaluator)


def test_a_groq_run_ranks_records_its_cost_and_the_next_run_makes_no_calls(
    server: MockGroq, instance: DagsterInstance, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    first = run_job(settings, instance)
    assert first.success
    usage = evaluation_metadata(first)
    assert usage["calls"] == len(server.served()) > 0
    assert usage["usd"] > 0 and usage["prompt_tokens"] > 0 and usage["tokens_per_lead"] > 0
    assert usage["rules_fallbacks"] == 0
    ranked = query(settings, "select * from $schema.ranked_leads")
    assert set(ranked["evaluator"]) == {"rules", "groq"}
    assert ranked["company_rank"].notna().sum() > 0
    calls = query(settings, "select * from $schema.llm_calls")
    assert calls["run_id"].tolist() == [first.run_id] * usage["calls"]
    assert calls["usd"].sum() == pytest.approx(usage["usd"], abs=1e-6)

    second = run_job(settings, instance)
    assert second.success
    again = evaluation_metadata(second)
    assert again["calls"] == 0 and again["cache_hits"] == usage["sent_to_model"]
    assert len(server.served()) == usage["calls"]
    assert len(query(settings, "select * from $schema.lead_evaluations")) == 200


def test_the_daily_cap_fails_the_step_cleanly_and_keeps_the_previous_evaluations(
    server: MockGroq, instance: DagsterInstance, tmp_path: Path
) -> None:
    assert run_job(settings_for(tmp_path, evaluator="rules"), instance).success
    # One call at a time: which call meets the cap is then fixed.
    settings = replace(settings_for(tmp_path), groq_concurrency=1)
    before = query(settings, "select * from $schema.lead_evaluations order by lead_id")
    server.queue_faults(["ok", "429_daily"])
    stopped = run_job(settings, instance)
    assert not stopped.success
    failure = next(e for e in stopped.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert "daily limit reached" in message and "pending (not judged" in message
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert metadata["pending_leads"].value > 0
    after = query(settings, "select * from $schema.lead_evaluations order by lead_id")
    pd.testing.assert_frame_equal(before, after)
    # The batch paid for before the cap (two of its leads share a title, so one answer).
    cached = query(settings, "select count(*) as n from $schema.llm_cache")["n"][0]
    assert 0 < cached <= 40

    resumed = run_job(settings, instance)
    assert resumed.success
    # The answers paid before the cap, for the leads asked and the colleagues sharing them.
    assert evaluation_metadata(resumed)["cache_hits"] >= cached
    resumed_metadata = evaluation_metadata(resumed)
    assert (
        resumed_metadata["cache_hits"] + resumed_metadata["answered_by_model"]
        == (resumed_metadata["sent_to_model"])
    )


def test_groq_down_all_night_fails_the_step_and_keeps_the_ranking_and_files(
    server: MockGroq, instance: DagsterInstance, tmp_path: Path
) -> None:
    """Every call refused for the whole run: the step stops after three calls failing every
    retry, naming the pending leads; the ranking, the campaign file and the report stay as
    the last night left them, and the next night sends only the pending leads."""
    settings = settings_for(tmp_path)
    assert run_job(settings_for(tmp_path, evaluator="rules"), instance).success
    outputs = sorted(path for path in tmp_path.iterdir() if path.suffix in (".csv", ".html"))
    assert outputs
    files = {path: path.read_bytes() for path in outputs}
    tables = {
        table: query(settings, f"select * from $schema.{table} order by lead_id")
        for table in ("lead_evaluations", "ranked_leads")
    }
    server.set_outage("503")
    stopped = run_job(settings, instance)
    assert not stopped.success
    failure = next(e for e in stopped.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data.user_failure_data
    assert "Groq is unavailable" in data.description and "pending" in data.description
    assert data.metadata["pending_leads"].value > 0
    assert data.metadata["rules_fallbacks"].value == 0
    # Retrying at once cannot help: the daemon's run retries leave this run alone.
    tags = instance.get_run_by_id(stopped.run_id).tags
    assert tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert {path: path.read_bytes() for path in outputs} == files
    for table, before in tables.items():
        after = query(settings, f"select * from $schema.{table} order by lead_id")
        pd.testing.assert_frame_equal(before, after)

    server.set_outage("")
    served = len(server.served())
    resumed = run_job(settings, instance)
    assert resumed.success
    usage = evaluation_metadata(resumed)
    assert usage["answered_by_model"] == data.metadata["pending_leads"].value
    assert usage["rules_fallbacks"] == 0
    assert len(server.served()) - served == usage["calls"]


def test_the_api_key_appears_nowhere_in_the_run_record(
    server: MockGroq, instance: DagsterInstance, tmp_path: Path
) -> None:
    server.queue_faults(["500", "ok", "429_daily"])
    result = run_job(settings_for(tmp_path), instance)
    assert not result.success
    records = instance.all_logs(result.run_id)
    assert records
    assert all(SECRET not in str(record) for record in records)
    run = instance.get_run_by_id(result.run_id)
    assert SECRET not in str(run.run_config) and SECRET not in str(run.tags)


@pytest.mark.slow
def test_clients_share_the_cache_where_persona_and_lead_are_the_same_and_pay_apart(
    server: MockGroq, instance: DagsterInstance, tmp_path: Path
) -> None:
    """Two clients with the same persona and lead base: the second pays nothing (its answers
    are the first's); a client with another persona pays its own calls. Each call is logged
    under the client whose run made it."""
    agency = tmp_path / "clients.yaml"
    agency.write_text(
        "clients:\n"
        f"  first: {{persona: {DATA_DIR / 'persona.yaml'}, leads: {DATA_DIR / 'leads.csv'}}}\n"
        f"  second: {{persona: {DATA_DIR / 'persona.yaml'}, leads: {DATA_DIR / 'leads.csv'}}}\n"
        f"  hr: {{persona: {DATA_DIR / 'agency/personas/hr_software.yaml'}, "
        f"leads: {DATA_DIR / 'leads.csv'}}}\n",
        encoding="utf-8",
    )
    # Developer-tier limits: this test is about who pays, not about waiting for the budget.
    settings = replace(settings_for(tmp_path), clients_path=agency, groq_tier="developer")
    calls = {}
    for client in ("first", "second", "hr"):
        result = run_rank_leads(settings, instance, client=client)
        assert result.success
        calls[client] = evaluation_metadata(result)["calls"]
    assert calls["first"] > 0 and calls["hr"] > 0
    assert calls["second"] == 0
    logged = query(settings, "select client, count(*) as calls from $schema.llm_calls group by 1")
    assert dict(zip(logged["client"], logged["calls"], strict=True)) == {
        "first": calls["first"],
        "hr": calls["hr"],
    }


def test_the_run_log_shows_progress_after_every_call(
    server: MockGroq, instance: DagsterInstance, tmp_path: Path
) -> None:
    settings = replace(settings_for(tmp_path), groq_tier="developer", groq_batch_size=10)
    result = run_job(settings, instance)
    assert result.success
    usage = evaluation_metadata(result)
    lines = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if record.user_message.startswith("model calls ")
    ]
    assert len(lines) == usage["calls"] >= 5
    assert lines[-1].startswith(f"model calls {usage['calls']}/{usage['calls']}:")
    assert "ETA" in lines[0] and "waited in the limiter" in lines[0]
    assert usage["concurrency"] == 8, "the developer tier's default"
    assert "limiter_wait_s" in usage

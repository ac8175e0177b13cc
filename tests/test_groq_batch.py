"""Groq's Batch API end to end: the rank_leads job in batch mode against the local
Groq-compatible server's Files and Batch endpoints, through the real `groq` SDK over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import duckdb
import groq
import pandas as pd
import pytest
from dagster import (
    DagsterInstance,
    ExecuteInProcessResult,
    SensorResult,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from support import POSTGRES_URL, answers_needed

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.groq_server.server import MockGroq
from pipeline.llm.batch.ledger import SUBMITTING
from pipeline.llm.batch.submission import GroqBatches
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.clients import DEFAULT_CLIENT
from pipeline.orchestration.resources import GroqEvaluator, resolved_batches
from pipeline.orchestration.run_history import TRIGGER_TAG
from pipeline.orchestration.settings import DUCKDB_SCHEMA, Settings
from pipeline.storage.postgres_warehouse import pg_transaction

pytestmark = pytest.mark.groq_server

BATCH = {"ops": {"lead_evaluations": {"config": {"batch": True}}}}


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as test:
        yield test


@pytest.fixture
def serve(
    groq_server: Callable[..., MockGroq], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., MockGroq]:
    """Starts a local Groq-compatible server and points the Groq evaluator at it."""

    def start(**settings: object) -> MockGroq:
        server = groq_server(**settings)
        monkeypatch.setenv("GROQ_API_KEY", "gsk_batch_test")
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        return server

    return start


# Leads per call (a batch line): the bundled file's model leads fill three lines.
LINE = 30


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(
        warehouse_path=tmp_path / "warehouse.duckdb",
        export_path=tmp_path / "campaign.csv",
        evaluator="groq",
        groq_tier="developer",
        groq_batch_size=LINE,
    )
    return replace(base, **changes)


def run(settings: Settings, instance: DagsterInstance, batch: bool) -> ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
    return job.execute_in_process(
        instance=instance, partition_key=DEFAULT_CLIENT, run_config=BATCH if batch else None
    )


def batches_for(settings: Settings) -> AbstractContextManager[GroqBatches]:
    evaluator = build_definitions(settings).resources["evaluator"]
    assert isinstance(evaluator, GroqEvaluator)
    return resolved_batches(evaluator, DEFAULT_CLIENT)


def query(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.sql(sql.replace("$schema", DUCKDB_SCHEMA)).df()


def ranking(settings: Settings) -> pd.DataFrame:
    return query(
        settings,
        "select lead_id, company_rank, relevance_score from $schema.ranked_leads order by lead_id",
    )


def test_a_batch_run_costs_half_and_ranks_as_the_synchronous_run(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    server = serve()
    synchronous = settings_for(tmp_path / "sync")
    assert run(synchronous, instance, batch=False).success

    batched = settings_for(tmp_path / "batch")
    submitted = run(batched, instance, batch=True)
    assert submitted.success
    assert not submitted.asset_materializations_for_node("lead_evaluations")
    with batches_for(batched) as batches:
        open_rows = batches.ledger.open_batches(DEFAULT_CLIENT)
        assert len(open_rows) == 1 and open_rows[0].status == "in_progress"
        assert len(server.served()) == len(query(synchronous, "select * from $schema.llm_calls"))
        still_open, ingested = batches.collect(DEFAULT_CLIENT)
    assert not still_open and len(ingested) == 1
    finished = run(batched, instance, batch=True)
    assert finished.success
    metadata = {
        k: v.value
        for k, v in finished.asset_materializations_for_node("lead_evaluations")[0].metadata.items()
    }
    assert metadata["calls"] == 0 and metadata["cache_hits"] == metadata["sent_to_model"] > 0
    pd.testing.assert_frame_equal(ranking(batched), ranking(synchronous))

    sync_calls = query(synchronous, "select * from $schema.llm_calls")
    batch_calls = query(batched, "select * from $schema.llm_calls")
    assert len(batch_calls) == len(sync_calls) and (batch_calls["batch_key"] != "").all()
    assert batch_calls["prompt_tokens"].sum() == sync_calls["prompt_tokens"].sum()
    config = load_groq_config(batched.groq_config_path)
    price = config.price(batched.groq_model)
    list_price = (
        sync_calls["prompt_tokens"].sum() * price.input_per_million
        + sync_calls["completion_tokens"].sum() * price.output_per_million
    ) / 1e6
    assert batch_calls["usd"].sum() == pytest.approx(list_price / 2, rel=1e-6)


def evaluations(settings: Settings) -> pd.DataFrame:
    return query(settings, "select * from $schema.lead_evaluations order by lead_id")


def test_failed_lines_and_bad_answers_go_to_a_new_batch_then_to_the_rules(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    server = serve()
    settings = settings_for(tmp_path)
    # The first batch: one line fails (HTTP 500), one answers all but one lead, one is fine.
    server.queue_faults([], ["line_error", "missing_id"])
    assert run(settings, instance, batch=True).success
    with batches_for(settings) as batches:
        _, (first,) = batches.collect(DEFAULT_CLIENT)
        assert first.lines == 3 and first.failed_lines == 1
        unanswered = first.failed_leads
        assert unanswered == LINE + 1
        # Filing the same batch again pays nothing twice.
        calls_before = len(query(settings, "select * from $schema.llm_calls"))
        batches.ingest(first)
        assert len(query(settings, "select * from $schema.llm_calls")) == calls_before
    failed_call = query(settings, "select * from $schema.llm_calls where status = 'failed'")
    assert len(failed_call) == 1 and failed_call["usd"].sum() == 0

    # The next run sends only the unanswered leads, in a new batch that fails them again.
    server.queue_faults([], ["line_error", "line_error"])
    again = run(settings, instance, batch=True)
    assert not again.asset_materializations_for_node("lead_evaluations")
    with batches_for(settings) as batches:
        _, (second,) = batches.collect(DEFAULT_CLIENT)
    assert second.leads == unanswered and second.failed_leads == unanswered

    # Two batches failed them: the rules judge them, flagged; nobody is irrelevant for it.
    finished = run(settings, instance, batch=True)
    assert finished.asset_materializations_for_node("lead_evaluations")
    judged = evaluations(settings)
    fell_back = judged[judged["evaluator"] == "rules_fallback"]
    assert answers_needed(fell_back["lead_id"]) == unanswered
    assert fell_back["fallback_reason"].str.startswith("no batch answer (2 batches)").all()
    rules = run_rules(tmp_path / "rules", instance)
    by_rules = rules.set_index("lead_id").loc[fell_back["lead_id"]]
    assert (fell_back["is_relevant"].to_numpy() == by_rules["is_relevant"].to_numpy()).all()


def run_rules(folder: Path, instance: DagsterInstance) -> pd.DataFrame:
    settings = settings_for(folder, evaluator="rules")
    assert run(settings, instance, batch=False).success
    return evaluations(settings)


def test_an_expired_batch_keeps_its_answers_and_the_rest_are_called_now(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    server = serve(batch_delay_s=3.0, batch_expire_s=1.0)
    settings = settings_for(tmp_path, groq_batch_failed="sync")
    assert run(settings, instance, batch=True).success
    with batches_for(settings) as batches:
        still_open, ingested = batches.collect(DEFAULT_CLIENT)
        assert still_open and not ingested
        time.sleep(1.1)
        _, (expired,) = batches.collect(DEFAULT_CLIENT)
    # One line of three was reached before the batch expired.
    assert expired.status == "expired" and expired.completed_lines == 1
    assert expired.answered_leads > 0 and expired.failed_leads > 0
    served = len(server.served())
    finished = run(settings, instance, batch=True)
    metadata = finished.asset_materializations_for_node("lead_evaluations")[0].metadata
    # Every lead the batch answered, and its colleagues with the same title, from cache.
    assert metadata["cache_hits"].value >= expired.answered_leads
    assert metadata["answered_by_model"].value == (
        metadata["sent_to_model"].value - metadata["cache_hits"].value
    )
    assert metadata["calls"].value == len(server.served()) - served > 0
    assert metadata["rules_fallbacks"].value == 0
    assert (evaluations(settings)["evaluator"] != "rules_fallback").all()


def test_a_cancelled_batch_leaves_its_leads_to_the_rules_when_so_configured(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    serve(batch_delay_s=60.0)
    settings = settings_for(tmp_path, groq_batch_failed="rules")
    assert run(settings, instance, batch=True).success
    with batches_for(settings) as batches:
        (row,) = batches.ledger.open_batches(DEFAULT_CLIENT)
        batches.client.batches.cancel(str(row.batch_id))
        _, (cancelled,) = batches.collect(DEFAULT_CLIENT)
    assert cancelled.status == "cancelled" and cancelled.answered_leads == 0
    assert run(settings, instance, batch=True).success
    judged = evaluations(settings)
    fell_back = judged[judged["evaluator"] == "rules_fallback"]
    assert answers_needed(fell_back["lead_id"]) == cancelled.leads
    assert fell_back["fallback_reason"].str.contains("batch_cancelled").all()


def test_a_batch_groq_refuses_as_invalid_fails_its_leads_with_groqs_reason(
    groq_server: Callable[..., MockGroq], tmp_path: Path
) -> None:
    server = groq_server()
    client = groq.Groq(api_key="gsk_test", base_url=server.base_url, max_retries=0)
    upload = client.files.create(
        file=("bad.jsonl", b'{"custom_id": "a", "method": "GET"}\nnot json\n'), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=str(upload.id), endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "failed"
    assert [(e.line, e.code) for e in batch.errors.data] == [
        (1, "invalid_url"),
        (2, "invalid_json"),
    ]
    assert client.batches.retrieve(batch.id).status == "failed"
    assert batch.id in {b.id for b in client.batches.list().data}
    assert client.files.info(str(upload.id)).bytes == upload.bytes
    assert client.files.delete(str(upload.id)).deleted
    with pytest.raises(groq.NotFoundError):
        client.files.content(str(upload.id))


def test_the_batch_sensor_files_a_finished_batch_and_requests_the_run_that_ranks_from_cache(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    # Long enough for the run that submits the batch to end before the batch does.
    server = serve(batch_delay_s=3.0)
    settings = settings_for(tmp_path)
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("groq_batches")

    def tick() -> object:
        with build_sensor_context(
            instance=instance, resources={"evaluator": definitions.resources["evaluator"]}
        ) as context:
            return sensor(context)

    assert "no open batches" in str(tick())
    assert run(settings, instance, batch=True).success
    assert "1 batch(es) still open" in str(tick())
    time.sleep(3.1)
    result = tick()
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests
    assert request.partition_key == DEFAULT_CLIENT and request.run_config == BATCH
    assert request.tags[TRIGGER_TAG] == "batch"
    assert "no open batches" in str(tick())

    served = len(server.served())
    finished = definitions.resolve_job_def(RANK_LEADS_JOB).execute_in_process(
        instance=instance, partition_key=request.partition_key, run_config=request.run_config
    )
    assert finished.asset_materializations_for_node("campaign_export")
    assert len(server.served()) == served, "the run answered from the cache"


def test_the_nightly_schedule_runs_in_batch_mode_when_configured(
    instance: DagsterInstance, tmp_path: Path
) -> None:
    for batch, config in ((False, {}), (True, BATCH)):
        settings = settings_for(tmp_path, evaluator="rules", groq_batch=batch)
        schedule = build_definitions(settings).resolve_schedule_def("nightly_rerank")
        (request,) = schedule(build_schedule_context(instance=instance))
        assert request.run_config == config


def test_the_batch_sensor_skips_without_a_key(
    instance: DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    definitions = build_definitions(settings_for(tmp_path, evaluator="auto"))
    sensor = definitions.resolve_sensor_def("groq_batches")
    with build_sensor_context(
        instance=instance, resources={"evaluator": definitions.resources["evaluator"]}
    ) as context:
        assert "no Groq key" in str(sensor(context))


def test_a_batch_whose_submitter_died_before_recording_it_is_found_again(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    """The process died between Groq's create and our record of it: the row still names the
    uploaded file, and the next poll finds the batch by it."""
    serve()
    settings = settings_for(tmp_path)
    assert run(settings, instance, batch=True).success
    with batches_for(settings) as batches:
        (row,) = batches.ledger.open_batches(DEFAULT_CLIENT)
        created_id = row.batch_id
        row.batch_id, row.status = None, SUBMITTING
        batches.ledger.update(row)
        _, (found,) = batches.collect(DEFAULT_CLIENT)
    assert found.batch_id == created_id and found.answered_leads == found.leads


@pytest.mark.postgres
def test_batches_are_recorded_and_filed_in_postgres(
    serve: Callable[..., MockGroq],
    instance: DagsterInstance,
    tmp_path: Path,
    pg_schema: str,
) -> None:
    server = serve()
    server.queue_faults([], ["line_error"])
    settings = settings_for(tmp_path, database_url=POSTGRES_URL, database_schema=pg_schema)
    assert run(settings, instance, batch=True).success
    with batches_for(settings) as batches:
        _, (first,) = batches.collect(DEFAULT_CLIENT)
        assert first.failed_leads == LINE and first.answered_leads == first.leads - LINE
        assert batches.ledger.failures(DEFAULT_CLIENT, first.submitted_at).keys()
    assert run(settings, instance, batch=True).success
    with batches_for(settings) as batches:
        _, (second,) = batches.collect(DEFAULT_CLIENT)
    assert second.leads == LINE and second.answered_leads == LINE
    assert run(settings, instance, batch=True).asset_materializations_for_node("ranked_leads")
    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(
            f'select status, count(*) from "{pg_schema}".llm_batch_leads group by 1 order by 1'
        )
        assert cursor.fetchall() == [("answered", first.leads), ("failed", LINE)]

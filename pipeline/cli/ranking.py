"""`persona-ranker run`: each chosen client's run, its batches, its summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dagster import DagsterInstance, Definitions

from assets.evaluation import GROQ_POOL
from pipeline.definitions import build_definitions
from pipeline.leads.records import LeadsFileError, companies_named
from pipeline.llm.batch.submission import GroqBatches
from pipeline.llm.progress import PROGRESS_EVENTS, ProgressSnapshot, duration
from pipeline.orchestration.clients import (
    Client,
    ClientsFileError,
    choose_clients,
    load_clients,
)
from pipeline.orchestration.instance import (
    ensure_pool,
    project_instance,
    release_abandoned_runs,
)
from pipeline.orchestration.launch import RunOutcome, launch
from pipeline.orchestration.resources import GroqEvaluator, client_config, resolved_batches
from pipeline.orchestration.run_history import record_run
from pipeline.orchestration.settings import (
    Settings,
)
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import PersonaError
from pipeline.storage.stores import Warehouse
from pipeline.summary import (
    SUMMARY_CAMPAIGN_COLUMNS,
    SUMMARY_RANKED_COLUMNS,
    format_summary,
    format_usage,
)

_MOST_BATCH_ROUNDS = 5


@dataclass(frozen=True)
class BatchRequest:
    """`--batch` (and `--wait`): the model's leads go to Groq's Batch API."""

    definitions: Definitions
    wait: bool


def run(
    settings: Settings,
    names: Sequence[str] = (),
    every: bool = False,
    companies: Sequence[str] = (),
    batch: bool = False,
    wait: bool = False,
) -> int:
    """Runs each chosen client in turn; a client whose files are bad fails alone."""
    if wait and not batch:
        raise ValueError("--wait follows a batch: give --batch too")
    clients = load_clients(settings)
    chosen = choose_clients(clients, list(names), every)
    if companies and len(chosen) > 1:
        raise ClientsFileError("--company names companies of one client: choose one --client")
    definitions = build_definitions(settings, clients)
    if batch and not isinstance(definitions.resources["evaluator"], GroqEvaluator):
        raise ValueError(
            "--batch sends the model's leads to Groq's Batch API: it needs GROQ_API_KEY and "
            "the groq (or auto) evaluator"
        )
    batching = BatchRequest(definitions, wait) if batch else None
    codes = {
        client.name: _run_client(settings, clients, client, companies, batching)
        for client in chosen
    }
    failed = [name for name, code in codes.items() if code]
    if failed and len(chosen) > 1:
        print(
            f"error: {len(failed)} of {len(chosen)} clients failed: {', '.join(failed)}",
            file=sys.stderr,
        )
    # 2: a client's input is bad; 1: a run failed.
    return max(codes.values())


def _run_client(
    settings: Settings,
    clients: Mapping[str, Client],
    client: Client,
    companies: Sequence[str],
    batching: BatchRequest | None = None,
) -> int:
    own = client.settings
    try:
        scope = _checked_inputs(own, companies)
    except (LeadsFileError, PersonaError, ValueError, OSError) as error:
        print(f"error: client {client.name}: {error}", file=sys.stderr)
        return 2
    # A stopped database fails here, before a run is recorded: the previous tables stay.
    warehouse = Warehouse(settings.warehouse_location, settings.warehouse_schema)
    warehouse.check()
    batch = batching is not None
    result = rank_client(settings, clients, project_instance(), client.name, "cli", scope, batch)
    if batching is not None:
        result = _finish_batches(settings, clients, batching, client.name, scope, result)
    if result is None:
        return 1
    if not result.materializations("lead_evaluations"):
        # Submitted, not waited for: the previous ranking stands until the batch is in.
        return 0
    print()
    if len(clients) > 1:
        print(f"Client {client.name}")
    usage = _model_usage(result)
    if usage:
        print(format_usage(usage))
    print(
        format_summary(
            warehouse.client_rows("ranked_leads", client.name, SUMMARY_RANKED_COLUMNS),
            warehouse.client_rows("campaign_export", client.name, SUMMARY_CAMPAIGN_COLUMNS),
            own.export_path,
            warehouse.label(),
            own.report_file,
            _changes_line(result),
            own.report_max_companies,
        )
    )
    return 0


def _checked_inputs(own: Settings, companies: Sequence[str]) -> list[str]:
    """Every input read before anything is recorded, so a bad file stops here; the company
    keys `companies` names. The leads read here are let go before the run reads them again:
    a large file would otherwise be held twice."""
    load_persona(own.persona_path)
    config = client_config(own)
    leads = config.read_leads().leads
    config.read_suppression()
    return companies_named(leads, list(companies)) if companies else []


def rank_client(
    settings: Settings,
    clients: Mapping[str, Client],
    instance: DagsterInstance,
    client: str,
    trigger: str,
    companies: Sequence[str] = (),
    batch: bool = False,
) -> RunOutcome | None:
    """One run of the rank_leads job for one client (only `companies` judged again, when
    given; the model's leads in a batch, with `batch`); None (errors printed) on failure."""
    for run_id in release_abandoned_runs(instance):
        print(f"Released run {run_id}: its process died mid-run", file=sys.stderr)
    ensure_pool(instance, GROQ_POOL)
    outcome = launch(
        settings, clients, client, trigger, instance, companies, batch, lines=sys.stderr
    )
    try:
        record_run(
            instance,
            outcome.run_id,
            Warehouse(settings.warehouse_location, settings.warehouse_schema),
        )
    except Exception as error:  # the run's outcome matters more than its stats
        print(f"warning: run_stats not recorded: {' '.join(str(error).split())}", file=sys.stderr)
    if outcome.success:
        return outcome
    for step, message in outcome.failures():
        print(f"error: client {client}: {step} failed: {message}", file=sys.stderr)
    print(f"error: client {client}: run {outcome.run_id} failed", file=sys.stderr)
    return None


def _finish_batches(
    settings: Settings,
    clients: Mapping[str, Client],
    batching: BatchRequest,
    client: str,
    companies: Sequence[str],
    result: RunOutcome | None,
) -> RunOutcome | None:
    """After a batch-mode run that left leads waiting: without --wait, says so; with it,
    follows the client's batches until they end, files their answers and runs again (which
    answers from the cache, or submits what the batches left, as configured)."""
    evaluator = batching.definitions.resources["evaluator"]
    # Each rerun either ranks or submits only what earlier batches failed, which stops after
    # the configured attempts; the bound is a guard.
    for _ in range(_MOST_BATCH_ROUNDS):
        if result is None or result.materializations("lead_evaluations"):
            return result
        print(_awaiting(result), flush=True)
        if not batching.wait:
            print(
                f"Client {client}: the ranking is written when the batch is in: start the "
                "groq_batches sensor (`persona-ranker dev`), or run again with --batch --wait."
            )
            return result
        with resolved_batches(evaluator, client) as batches:
            follow_batches(batches, client, settings.groq_batch_poll_s)
        result = rank_client(settings, clients, project_instance(), client, "cli", companies, True)
    return result


def follow_batches(batches: GroqBatches, client: str, poll_s: float) -> None:
    """Polls the client's open batches until none is left, filing each as it ends: a line
    each poll (and a bar on a terminal)."""
    started = time.monotonic()
    while True:
        still_open, ingested = batches.collect(client)
        for row in ingested:
            print(
                f"batch {row.batch_id} {row.status}: {row.answered_leads} leads answered, "
                f"{row.failed_leads} without an answer, ${row.usd:.4f}",
                flush=True,
            )
        if not still_open:
            return
        done = sum(row.completed_lines + row.failed_lines for row in still_open)
        total = sum(row.lines for row in still_open)
        statuses = ", ".join(sorted({row.status for row in still_open}))
        waited = duration(time.monotonic() - started)
        line = (
            f"{len(still_open)} batch(es) {statuses}: {done}/{total} calls done ({waited} waited)"
        )
        print(line, flush=True)
        PROGRESS_EVENTS.info(
            line,
            extra={
                "snapshot": ProgressSnapshot(
                    started, "batch calls", done, total, f"{statuses}, {waited} waited"
                )
            },
        )
        time.sleep(poll_s)


def _awaiting(result: RunOutcome) -> str:
    for observation in result.observations():
        if observation.description:
            return observation.description
    return "leads wait for a batch"


def _changes_line(result: RunOutcome) -> str:
    """What the campaign gained and lost since the last one, from campaign_export's metadata."""
    for materialization in result.materializations("campaign_export"):
        found = {key: value.value for key, value in materialization.metadata.items()}
        return (
            f"Since the last campaign ({found['last_campaign']}): {found['new_since_last']} new "
            f"({found['new_file']}), {found['dropped_since_last']} dropped "
            f"({found['dropped_file']})"
        )
    return ""


def _model_usage(result: RunOutcome) -> dict[str, object]:
    """The Groq figures of the run's lead_evaluations (every shard carries the same)."""
    for materialization in result.materializations("lead_evaluations"):
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        return metadata if "calls" in metadata else {}
    return {}

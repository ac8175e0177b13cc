"""What runs the ranking unattended: the nightly schedule, the inbox sensor, the sensor that
follows Groq batches, and the sensor that records every finished run in `run_stats`."""

import json
from collections.abc import Mapping

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets.evaluation import LEAD_EVALUATIONS
from pipeline.leads.files import read_lead_file
from pipeline.leads.records import LeadsFileError
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.clients import DEFAULT_CLIENT, Client
from pipeline.orchestration.inbox import (
    archive,
    inbox_files,
    merge_into_lead_base,
    reject,
    write_lead_base,
)
from pipeline.orchestration.resources import GroqEvaluator, LeadEvaluator
from pipeline.orchestration.run_history import TRIGGER_TAG
from pipeline.orchestration.settings import Settings

# Run config of a run whose model leads go to Groq's Batch API.
BATCH_RUN_CONFIG = {"ops": {"lead_evaluations": {"config": {"batch": True}}}}
# The companies a sensor run covers, for the UI's run list (tags are capped in length).
COMPANIES_TAG = "persona_ranker/companies"
_TAG_LIMIT = 4000


def build_nightly_schedule(
    settings: Settings, clients: Mapping[str, Client], job: JobDefinition
) -> ScheduleDefinition:
    scheduled = [client for client in clients.values() if client.scheduled]
    mode = (
        " The model's leads go to Groq's Batch API (half price); the groq_batches sensor "
        "finishes each run when its batch is in."
        if settings.groq_batch
        else ""
    )

    @schedule(
        name="nightly_rerank",
        job=job,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=(
            "Re-ranks every scheduled client, one run each "
            f"({settings.schedule_cron}, {settings.schedule_timezone}): "
            f"{', '.join(client.name for client in scheduled) or 'none'}. Unchanged leads "
            "cost nothing: the rules are cheap and model answers come from the cache." + mode
        ),
    )
    def nightly_rerank(context: ScheduleEvaluationContext) -> list[RunRequest] | SkipReason:
        requests = [
            RunRequest(
                partition_key=client.name,
                run_config=BATCH_RUN_CONFIG if settings.groq_batch else {},
                tags={TRIGGER_TAG: "schedule"},
            )
            for client in scheduled
            if client.settings.leads_path.exists()
        ]
        if not requests:
            return SkipReason(
                "no lead base for any scheduled client: drop a leads file in its inbox first"
            )
        return requests

    return nightly_rerank


def build_inbox_sensor(clients: Mapping[str, Client], job: JobDefinition) -> SensorDefinition:
    folders = ", ".join(str(client.settings.inbox_path) for client in clients.values())

    @sensor(
        name="lead_inbox",
        job=job,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            f"Watches each client's inbox ({folders}) for leads files (CSV, Excel, .gz, .zip): "
            "merges each into that client's lead base and requests a run of the client that "
            "judges again the companies whose leads changed. Files are archived; unreadable "
            "ones go to rejected/ with a reason."
        ),
    )
    def lead_inbox(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        seen = _seen_by_client(context.cursor)
        evaluated = context.instance.get_materialized_partitions(LEAD_EVALUATIONS)
        requests = []
        taken = 0
        for client in clients.values():
            client_seen = set(seen.get(client.name, []))
            before = len(client_seen)
            changed = _take_inbox(context, client, client_seen)
            taken += len(client_seen) - before
            seen[client.name] = sorted(client_seen)
            if changed:
                requests.append(
                    _inbox_run(client.name, changed, client.name in evaluated, len(client_seen))
                )
        if not taken:
            return SkipReason(f"no new leads files in {folders}")
        cursor = json.dumps(seen, sort_keys=True)
        if not requests:
            return SensorResult(skip_reason="no client's leads changed", cursor=cursor)
        return SensorResult(run_requests=requests, cursor=cursor)

    return lead_inbox


def _seen_by_client(cursor: str | None) -> dict[str, list[str]]:
    """Fingerprints of the files each client's inbox took; a cursor from before clients
    existed is the default client's."""
    if not cursor:
        return {}
    loaded = json.loads(cursor)
    return {DEFAULT_CLIENT: loaded} if isinstance(loaded, list) else loaded


def _take_inbox(context: SensorEvaluationContext, client: Client, seen: set[str]) -> list[str]:
    """Merges the client's new inbox files into its lead base; the companies that changed."""
    inbox, lead_base = client.settings.inbox_path, client.settings.leads_path
    files = []
    for file in inbox_files(inbox, client.settings.inbox_settle_s):
        if file.fingerprint in seen:
            # The same name and content again: it counted once already.
            context.log.info(f"{client.name}: {file.path.name} was processed before: archived")
            archive(file, inbox)
        else:
            files.append(file)
    if not files:
        return []
    keep = client.settings.keep_columns
    base = read_lead_file(lead_base, keep=keep).leads if lead_base.exists() else None
    changed: set[str] = set()
    merged = []
    for file in files:
        seen.add(file.fingerprint)
        try:
            incoming = read_lead_file(file.path, keep=keep)
        except LeadsFileError as problem:
            moved = reject(file, inbox, str(problem))
            context.log.warning(f"{client.name}: rejected {file.path.name} ({problem}): {moved}")
            continue
        merge = merge_into_lead_base(base, incoming.leads)
        base = merge.lead_base
        changed.update(merge.changed)
        merged.append((file, incoming.rejected))
        context.log.info(
            f"{client.name}: {file.path.name}: {incoming.describe()}; "
            f"{len(merge.changed)} companies changed, {len(merge.new)} new"
        )
    # The lead base first: if writing it fails, the files stay in the inbox for the next tick.
    if changed and base is not None:
        write_lead_base(base, lead_base)
    for file, rejected_rows in merged:
        archive(file, inbox, rejected_rows)
    return sorted(changed)


def _inbox_run(
    client: str, changed: list[str], evaluated_before: bool, files_taken: int
) -> RunRequest:
    """A run of the client judging again only the changed companies; every company when the
    client was never evaluated (the ranking needs each lead's evaluation)."""
    scope = {"ops": {"lead_evaluations": {"config": {"companies": changed}}}}
    return RunRequest(
        # Unique per file taken: the same companies changing again is another run.
        run_key=f"inbox-{client}-{files_taken}",
        partition_key=client,
        run_config=scope if evaluated_before else {},
        tags={TRIGGER_TAG: "sensor", COMPANIES_TAG: ",".join(changed)[:_TAG_LIMIT]},
    )


def build_batch_sensor(clients: Mapping[str, Client], job: JobDefinition) -> SensorDefinition:
    @sensor(
        name="groq_batches",
        job=job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            "Follows the Groq batches that batch-mode runs submitted: asks Groq how each is "
            "doing, and when one has ended files its answers in the model cache and the call "
            "log (at batch prices) and requests the client's ranking run, which then answers "
            "from the cache. One batch is filed per tick, so a tick stays well inside a "
            "sensor's minute."
        ),
    )
    def groq_batches(
        context: SensorEvaluationContext, evaluator: LeadEvaluator
    ) -> SensorResult | SkipReason:
        if not isinstance(evaluator, GroqEvaluator):
            return SkipReason(f"no Groq key ({evaluator.selected_because}): no batches to follow")
        batches = evaluator.batches(load_groq_config(evaluator.config_path), DEFAULT_CLIENT)
        still_open, ingested = batches.collect(most=1)
        for row in still_open:
            context.log.info(
                f"batch {row.batch_id} ({row.client}): {row.status}, {row.completed_lines} of "
                f"{row.lines} calls done, {row.failed_lines} failed"
            )
        requests = [
            RunRequest(
                run_key=f"batch-{row.batch_key}",
                partition_key=row.client,
                run_config=BATCH_RUN_CONFIG,
                tags={TRIGGER_TAG: "batch"},
            )
            for row in ingested
            if row.client in clients
        ]
        if not requests:
            return SkipReason(
                f"{len(still_open)} batch(es) still open" if still_open else "no open batches"
            )
        return SensorResult(run_requests=requests)

    return groq_batches

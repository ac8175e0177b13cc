"""What runs the ranking unattended: the nightly schedule, the inbox sensor, and the sensor
that records every finished run in `run_stats`."""

import json

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunStatusSensorContext,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    schedule,
    sensor,
)

from pipeline.leads.files import read_lead_file
from pipeline.leads.records import LeadsFileError
from pipeline.leads.shards import SHARD_KEYS, shards_of
from pipeline.orchestration.inbox import (
    archive,
    inbox_files,
    merge_into_lead_base,
    reject,
    write_lead_base,
)
from pipeline.orchestration.partitions import full_range_tags, range_tags
from pipeline.orchestration.run_history import TRIGGER_TAG, record_run
from pipeline.orchestration.settings import Settings
from pipeline.storage.stores import Warehouse

LEAD_EVALUATIONS = AssetKey("lead_evaluations")
# The companies a sensor run covers, for the UI's run list (tags are capped in length).
COMPANIES_TAG = "persona_ranker/companies"
_TAG_LIMIT = 4000


def build_nightly_schedule(settings: Settings, job: JobDefinition) -> ScheduleDefinition:
    @schedule(
        name="nightly_rerank",
        job=job,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=(
            "Re-ranks every company of the lead base in one run over all shards "
            f"({settings.schedule_cron}, {settings.schedule_timezone}). Unchanged leads cost "
            "nothing: the rules are cheap and model answers come from the cache."
        ),
    )
    def nightly_rerank(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        # A plain ScheduleDefinition on this partitioned job fails at run time: the run must
        # name its partition range.
        if not settings.leads_path.exists():
            return SkipReason(
                f"no lead base at {settings.leads_path}: drop a leads file in the inbox first"
            )
        return RunRequest(tags={**full_range_tags(), TRIGGER_TAG: "schedule"})

    return nightly_rerank


def build_inbox_sensor(settings: Settings, job: JobDefinition) -> SensorDefinition:
    inbox = settings.inbox_path

    @sensor(
        name="lead_inbox",
        job=job,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            f"Watches {inbox} for leads files (CSV, Excel, .gz, .zip): merges each into the "
            f"lead base ({settings.leads_path}) and requests one run over the shards of the "
            "companies whose leads changed. Files are archived; unreadable ones go to "
            "rejected/ with a reason."
        ),
    )
    def lead_inbox(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        seen = set(json.loads(context.cursor)) if context.cursor else set()
        files = []
        for file in inbox_files(inbox):
            if file.fingerprint in seen:
                # The same name and content again: it counted once already.
                context.log.info(f"{file.path.name} was processed before: archived unread")
                archive(file, inbox)
            else:
                files.append(file)
        if not files:
            return SkipReason(f"no new CSV files in {inbox}")
        lead_base = settings.leads_path
        base = read_lead_file(lead_base).leads if lead_base.exists() else None
        changed: set[str] = set()
        merged = []
        for file in files:
            seen.add(file.fingerprint)
            try:
                incoming = read_lead_file(file.path)
            except LeadsFileError as problem:
                moved = reject(file, inbox, str(problem))
                context.log.warning(f"Rejected {file.path.name} ({problem}): moved to {moved}")
                continue
            merge = merge_into_lead_base(base, incoming.leads)
            base = merge.lead_base
            changed.update(merge.changed)
            merged.append((file, incoming.rejected))
            context.log.info(
                f"{file.path.name}: {incoming.describe()}; {len(merge.changed)} companies "
                f"changed, {len(merge.new)} new"
            )
        # The lead base first: if writing it fails, the files stay in the inbox for the next
        # tick.
        if changed:
            write_lead_base(base, settings.leads_path)
        for file, rejected_rows in merged:
            archive(file, inbox, rejected_rows)
        cursor = json.dumps(sorted(seen))
        if not changed:
            return SensorResult(skip_reason="no company's leads changed", cursor=cursor)
        keys = sorted(changed)
        # One run, because every run also re-ranks the whole base: it must also cover the
        # shards never evaluated yet (a new deployment), or the ranking would refuse to run.
        # Dagster runs a contiguous range of partitions, so it spans these shards from first
        # to last; unchanged leads in between cost a rules pass or a cache hit.
        evaluated = context.instance.get_materialized_partitions(LEAD_EVALUATIONS)
        never_evaluated = [shard for shard in SHARD_KEYS if shard not in evaluated]
        tags = range_tags([*shards_of(keys), *never_evaluated])
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=f"inbox-{len(seen)}-{keys[0]}-{keys[-1]}",
                    tags={
                        **tags,
                        TRIGGER_TAG: "sensor",
                        COMPANIES_TAG: ",".join(keys)[:_TAG_LIMIT],
                    },
                )
            ],
            cursor=cursor,
        )

    return lead_inbox


def build_run_stats_sensors(settings: Settings, job: JobDefinition) -> list[SensorDefinition]:
    """Runs launched by the daemon or the UI land in `run_stats` when they finish (the CLI
    records its own runs)."""
    warehouse = Warehouse(settings.warehouse_location, settings.warehouse_schema)

    @run_status_sensor(
        name="record_successful_runs",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        default_status=DefaultSensorStatus.STOPPED,
        description="Adds every successful ranking run to the run_stats table.",
    )
    def record_successful_runs(context: RunStatusSensorContext) -> None:
        record_run(context.instance, context.dagster_run.run_id, warehouse)

    @run_failure_sensor(
        name="record_failed_runs",
        monitored_jobs=[job],
        default_status=DefaultSensorStatus.STOPPED,
        description="Adds every failed ranking run to the run_stats table.",
    )
    def record_failed_runs(context: RunStatusSensorContext) -> None:
        record_run(context.instance, context.dagster_run.run_id, warehouse)

    return [record_successful_runs, record_failed_runs]

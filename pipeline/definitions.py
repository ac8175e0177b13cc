"""The Dagster definitions: the one graph the CLI, the UI and the tests all run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    BackfillPolicy,
    Definitions,
    JobDefinition,
    PartitionsDefinition,
    define_asset_job,
    definitions,
)
from dagster._core.definitions.reconstruct import ReconstructableJob, build_reconstructable_job

from assets.automation import (
    build_batch_sensor,
    build_inbox_sensor,
    build_nightly_schedule,
)
from assets.evaluation import lead_evaluations_asset
from assets.ingest import enriched_leads, ingest_lead_file
from assets.quality import quality_check
from assets.ranking import campaign_export, ranked_leads, ranking_checks
from assets.run_records import record_failed_run, record_finished_run
from pipeline.orchestration.clients import Client, load_clients
from pipeline.orchestration.executors import project_executor
from pipeline.orchestration.partitions import client_partitions
from pipeline.orchestration.resources import (
    ExpertLabels,
    GroqEvaluator,
    client_directory,
    select_evaluator,
    shared_evaluator_choice,
    warehouse_config,
    warehouse_reader,
)
from pipeline.orchestration.run_settings import (
    clients_document,
    clients_from_document,
    settings_document,
    settings_from_document,
)
from pipeline.orchestration.settings import Settings
from pipeline.orchestration.work_files import (
    WORK_IO_MANAGER,
    sharding_settings,
    work_io_manager,
)
from pipeline.storage.duckdb_warehouse import AtomicDuckDBPandasIOManager
from pipeline.storage.postgres_warehouse import PostgresPandasIOManager

RANK_LEADS_JOB = "rank_leads"
# A backfill of several clients runs one client per run, as the CLI and the schedule do.
_ONE_CLIENT_PER_RUN = BackfillPolicy.multi_run(max_partitions_per_run=1)


def client_assets(
    partitions: PartitionsDefinition, calls_model: bool = False
) -> list[AssetsDefinition]:
    """Every asset, partitioned by client; the judging steps in the `groq` pool when
    `calls_model`."""
    evaluations = lead_evaluations_asset(calls_model)
    return [
        asset.map_asset_specs(
            lambda spec: spec.replace_attributes(partitions_def=partitions)
        ).with_attributes(backfill_policy=_ONE_CLIENT_PER_RUN)
        for asset in (ingest_lead_file, enriched_leads, evaluations, ranked_leads, campaign_export)
    ]


def client_checks(partitions: PartitionsDefinition) -> list[AssetChecksDefinition]:
    return [*ranking_checks(partitions), quality_check(partitions)]


def warehouse_io_manager(
    settings: Settings,
) -> AtomicDuckDBPandasIOManager | PostgresPandasIOManager:
    """One setting picks the store of every asset: DuckDB by default, PostgreSQL when a
    database URL is configured."""
    if settings.database_url:
        return PostgresPandasIOManager(
            url=warehouse_config(settings), schema=settings.warehouse_schema
        )
    return AtomicDuckDBPandasIOManager(
        database=str(settings.warehouse_path), schema=settings.warehouse_schema
    )


def build_definitions(
    settings: Settings, clients: Mapping[str, Client] | None = None
) -> Definitions:
    """The graph for these settings' clients (the clients file's, or the one default)."""
    clients = dict(clients) if clients is not None else load_clients(settings)
    partitions = client_partitions(clients)
    rank_leads_job = define_asset_job(
        RANK_LEADS_JOB,
        description="One client: ingest its leads file, evaluate every company's leads, "
        "rank and export its campaign file and report.",
        executor_def=project_executor(settings.executor, settings.celery_broker),
        hooks={record_finished_run, record_failed_run},
    )
    evaluator = select_evaluator(replace(settings, evaluator=shared_evaluator_choice(clients)))
    return Definitions(
        assets=client_assets(partitions, isinstance(evaluator, GroqEvaluator)),
        asset_checks=client_checks(partitions),
        jobs=[rank_leads_job],
        schedules=[build_nightly_schedule(settings, clients, rank_leads_job)],
        sensors=[
            build_inbox_sensor(clients, rank_leads_job),
            build_batch_sensor(clients, rank_leads_job),
        ],
        resources={
            "io_manager": warehouse_io_manager(settings),
            "clients": client_directory(clients),
            "evaluator": evaluator,
            "sharding": sharding_settings(settings),
            WORK_IO_MANAGER: work_io_manager(settings),
            "warehouse": warehouse_reader(settings),
            "expert_labels": ExpertLabels(),
        },
    )


def rank_leads_job(settings: Mapping[str, Any], clients: Mapping[str, Any]) -> JobDefinition:
    """The rank_leads job of the settings and clients a run was launched with (documents of
    `pipeline.orchestration.run_settings`): what a step's process rebuilds."""
    return build_definitions(
        settings_from_document(settings), clients_from_document(clients)
    ).resolve_job_def(RANK_LEADS_JOB)


def reconstructable_rank_leads(
    settings: Settings, clients: Mapping[str, Client]
) -> ReconstructableJob:
    """The rank_leads job as a pointer that carries these settings and clients, so a step in
    another process or on another machine runs exactly this graph."""
    return build_reconstructable_job(
        __name__,
        rank_leads_job.__name__,
        reconstructable_kwargs={
            "settings": settings_document(settings),
            "clients": clients_document(clients),
        },
    )


@definitions
def defs() -> Definitions:
    """What `dagster dev`, the daemon and a code server load: the environment's settings. Built
    when loaded, not when imported: a worker imports this module for `rank_leads_job` with an
    environment of its own."""
    return build_definitions(Settings.from_env())

"""The Dagster definitions: the one graph the CLI, the UI and the tests all run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    BackfillPolicy,
    Definitions,
    PartitionsDefinition,
    define_asset_job,
)

from assets.automation import (
    build_batch_sensor,
    build_inbox_sensor,
    build_nightly_schedule,
    build_run_stats_sensors,
)
from assets.evaluation import lead_evaluations
from assets.ingest import enriched_leads, ingest_lead_file
from assets.quality import quality_check
from assets.ranking import campaign_export, ranked_leads, ranking_checks
from pipeline.orchestration.clients import Client, load_clients
from pipeline.orchestration.partitions import client_partitions
from pipeline.orchestration.resources import (
    ExpertLabels,
    client_directory,
    select_evaluator,
    shared_evaluator_choice,
    warehouse_config,
    warehouse_reader,
)
from pipeline.orchestration.settings import Settings
from pipeline.storage.duckdb_warehouse import AtomicDuckDBPandasIOManager
from pipeline.storage.postgres_warehouse import PostgresPandasIOManager

RANK_LEADS_JOB = "rank_leads"
_ASSETS = (ingest_lead_file, enriched_leads, lead_evaluations, ranked_leads, campaign_export)
# A backfill of several clients runs one client per run, as the CLI and the schedule do.
_ONE_CLIENT_PER_RUN = BackfillPolicy.multi_run(max_partitions_per_run=1)


def client_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    """Every asset, partitioned by client."""
    return [
        asset.map_asset_specs(
            lambda spec: spec.replace_attributes(partitions_def=partitions)
        ).with_attributes(backfill_policy=_ONE_CLIENT_PER_RUN)
        for asset in _ASSETS
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
    )
    evaluator_settings = replace(settings, evaluator=shared_evaluator_choice(clients))
    return Definitions(
        assets=client_assets(partitions),
        asset_checks=client_checks(partitions),
        jobs=[rank_leads_job],
        schedules=[build_nightly_schedule(settings, clients, rank_leads_job)],
        sensors=[
            build_inbox_sensor(clients, rank_leads_job),
            build_batch_sensor(clients, rank_leads_job),
            *build_run_stats_sensors(settings, rank_leads_job),
        ],
        resources={
            "io_manager": warehouse_io_manager(settings),
            "clients": client_directory(clients),
            "evaluator": select_evaluator(evaluator_settings),
            "warehouse": warehouse_reader(settings),
            "expert_labels": ExpertLabels(),
        },
    )


defs = build_definitions(Settings.from_env())

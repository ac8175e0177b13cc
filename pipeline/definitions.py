"""The Dagster definitions: the one graph the CLI, the UI and the tests all run."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from assets.automation import (
    build_inbox_sensor,
    build_nightly_schedule,
    build_run_stats_sensors,
)
from assets.evaluation import lead_evaluations
from assets.ingest import enriched_leads, ingest_lead_file
from assets.quality import ranking_matches_expert_labels
from assets.ranking import (
    campaign_export,
    campaign_has_at_most_top_n_per_company,
    every_lead_has_exactly_one_evaluation,
    ranked_leads,
    ranks_are_contiguous_and_only_for_relevant_leads,
)
from pipeline.orchestration.resources import (
    CampaignExporter,
    ExpertLabels,
    PersonaSource,
    lead_source,
    select_evaluator,
    warehouse_config,
)
from pipeline.orchestration.settings import Settings
from pipeline.storage.duckdb_warehouse import AtomicDuckDBPandasIOManager
from pipeline.storage.postgres_warehouse import PostgresPandasIOManager

RANK_LEADS_JOB = "rank_leads"
ASSETS = [ingest_lead_file, enriched_leads, lead_evaluations, ranked_leads, campaign_export]
ASSET_CHECKS = [
    ranks_are_contiguous_and_only_for_relevant_leads,
    every_lead_has_exactly_one_evaluation,
    campaign_has_at_most_top_n_per_company,
    ranking_matches_expert_labels,
]

rank_leads_job = define_asset_job(
    RANK_LEADS_JOB,
    selection=AssetSelection.all(),
    description="Ingest the leads file, evaluate every company's leads, rank and export.",
)


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


def build_definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[rank_leads_job],
        schedules=[build_nightly_schedule(settings, rank_leads_job)],
        sensors=[
            build_inbox_sensor(settings, rank_leads_job),
            *build_run_stats_sensors(settings, rank_leads_job),
        ],
        resources={
            "io_manager": warehouse_io_manager(settings),
            "lead_source": lead_source(settings),
            "persona": PersonaSource(path=str(settings.persona_path)),
            "evaluator": select_evaluator(settings),
            "expert_labels": ExpertLabels(path=str(settings.labels_path)),
            "campaign_exporter": CampaignExporter(
                path=str(settings.export_path),
                report_path=str(settings.report_file),
                top_n=settings.top_n,
            ),
        },
    )


defs = build_definitions(Settings.from_env())

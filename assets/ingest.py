"""Ingest: the leads file as given, then one enriched row per distinct lead."""

import pandas as pd
from dagster import AssetExecutionContext, BackfillPolicy, Output, asset

from assets.metadata import counts_by
from pipeline.enrichment import duplicate_count, enrich_leads
from pipeline.leads import company_keys
from pipeline.partitions import sync_company_partitions
from pipeline.resources import LeadSource, PersonaSource


@asset(
    group_name="ingest",
    kinds={"csv", "duckdb"},
    owners=["team:sales-ops"],
    backfill_policy=BackfillPolicy.single_run(),
)
def raw_leads(context: AssetExecutionContext, lead_source: LeadSource) -> Output[pd.DataFrame]:
    """One row per row of the leads CSV, values as given, plus `source_file`, `source_row`,
    `company_key` and a stable `lead_id`. Each run replaces the lead base with the file."""
    frame = lead_source.read()
    context.log.info(f"Read {len(frame)} leads from {lead_source.path}")
    return Output(
        frame,
        metadata={
            "source_file": lead_source.path,
            "rows": len(frame),
            "companies": frame["company_key"].nunique(),
        },
    )


@asset(
    group_name="ingest",
    kinds={"duckdb"},
    owners=["team:sales-ops"],
    backfill_policy=BackfillPolicy.single_run(),
)
def enriched_leads(
    context: AssetExecutionContext, raw_leads: pd.DataFrame, persona: PersonaSource
) -> Output[pd.DataFrame]:
    """One row per distinct lead (repeated rows dropped) with `size_band` and what the title
    says: `title_role`, `title_seniority`, `title_departments`, `title_tags`, `title_flags`.
    Registers the lead base's companies as partitions and retires those that left it."""
    enriched = enrich_leads(raw_leads, persona.load())
    duplicates = duplicate_count(raw_leads)
    if duplicates:
        context.log.warning(f"Dropped {duplicates} repeated lead row(s) (same lead_id)")
    companies = company_keys(enriched)
    sync = sync_company_partitions(context.instance, companies)
    context.log.info(
        f"Companies: {len(companies)} "
        f"({len(sync.added)} new partitions, {len(sync.removed)} retired)"
    )
    return Output(
        enriched,
        metadata={
            "rows": len(enriched),
            "duplicates_dropped": duplicates,
            "leads_per_size_band": counts_by(enriched, "size_band"),
            "leads_per_seniority": counts_by(enriched, "title_seniority"),
        },
    )

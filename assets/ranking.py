"""Ranking: per-company ranks over the client's lead base, its campaign file and report."""

import time
from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    Failure,
    MetadataValue,
    Output,
    PartitionsDefinition,
    asset,
    asset_check,
)

from assets.metadata import counts_by, markdown_table
from pipeline.campaign.changes import CampaignChanges, campaign_changes
from pipeline.campaign.files import ExportFailed
from pipeline.campaign.suppression import suppressed_reasons
from pipeline.leads.records import for_client
from pipeline.orchestration.resources import ClientDirectory, WarehouseReader
from pipeline.orchestration.run_history import asset_metadata
from pipeline.ranking.invariants import (
    campaign_problems,
    evaluation_coverage_problems,
    rank_problems,
)
from pipeline.ranking.ranked_table import CAMPAIGN_COLUMNS, build_ranked_leads, campaign_rows
from pipeline.report.html import ReportSummary, render_report
from pipeline.storage.campaign_history import CampaignHistory

# What the campaign, its changes and the report read of ranked_leads: not the fits, title
# readings and provenance analysts query, which are a third of a large table's load.
_EXPORTED_COLUMNS = (
    *CAMPAIGN_COLUMNS,
    "suppressed_reason",
    "first_seen_at",
    "evaluator",
    "ladder_rung",
)
# How many ranks per company the UI preview of ranked_leads shows.
_PREVIEW_RANKS = 3
# How many of the campaign's changes the UI shows.
_PREVIEW_CHANGES = 20


@asset(
    group_name="ranking",
    kinds={"duckdb"},
    owners=["team:sales-ops"],
    metadata={"partition_expr": "client"},
)
def ranked_leads(
    context: AssetExecutionContext,
    enriched_leads: pd.DataFrame,
    lead_evaluations: pd.DataFrame,
    suppression_list: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """One row per current lead of the client with its evaluation and `company_rank` (1..n
    per company among relevant leads, NULL for irrelevant ones), and `suppressed_reason`
    where the do-not-contact list covers it (it keeps its rank; the campaign skips it).
    Analysts query this table; its columns are stable."""
    ranked = for_client(
        build_ranked_leads(
            enriched_leads,
            lead_evaluations,
            lambda leads: suppressed_reasons(leads, suppression_list),
        ),
        context.partition_key,
    )
    ranked_count = int(ranked["company_rank"].notna().sum())
    suppressed = ranked[ranked["suppressed_reason"] != ""]
    companies = int(ranked["company_key"].nunique())
    # Each selection takes only the columns it shows: a million rows hold forty.
    preview = ranked.loc[
        ranked["company_rank"] <= _PREVIEW_RANKS,
        [
            "company_key",
            "account_name",
            "company_rank",
            "lead_first_name",
            "lead_last_name",
            "lead_job_title",
            "relevance_score",
        ],
    ].sort_values(["company_key", "company_rank"])
    relevant = ranked.loc[ranked["is_relevant"].astype(bool), ["size_band", "ladder_rung"]]
    context.log.info(f"Ranked {ranked_count} of {len(ranked)} leads at {companies} companies")
    return Output(
        ranked,
        metadata={
            "rows": len(ranked),
            "ranked": ranked_count,
            "companies": companies,
            "suppressed": len(suppressed),
            "suppressed_ranked": int(suppressed["company_rank"].notna().sum()),
            "relevant_per_size_band": counts_by(relevant, "size_band"),
            # How deep down the persona's ladder the companies had to go.
            "ranked_per_rung": counts_by(relevant, "ladder_rung"),
            "top_leads": markdown_table(preview.drop(columns="company_key")),
        },
    )


@asset(
    group_name="ranking",
    kinds={"duckdb", "csv"},
    owners=["team:sales-ops"],
    metadata={"partition_expr": "client"},
    ins={"ranked_leads": AssetIn(metadata={"columns": list(_EXPORTED_COLUMNS)})},
)
def campaign_export(
    context: AssetExecutionContext,
    ranked_leads: pd.DataFrame,
    clients: ClientDirectory,
    warehouse: WarehouseReader,
) -> Output[pd.DataFrame]:
    """The top N contactable leads of every company of the client, as a table and as the
    client's campaign CSV in its sending tool's format; what changed since the last campaign
    (`campaign_new.csv`, `campaign_dropped.csv`, recorded in `campaign_history`); and the
    run's HTML report beside them."""
    client = context.partition_key
    config = clients.get(client)
    exporter = config.exporter()
    rows = campaign_rows(ranked_leads, exporter.top_n)
    history = CampaignHistory(warehouse.warehouse())
    previous, since = history.last_campaign(client, context.run.run_id)
    changes = campaign_changes(previous, since, rows, ranked_leads)
    started = time.perf_counter()
    summary = _report_summary(context, client, exporter.top_n)
    page = render_report(ranked_leads, summary, changes, config.report_max_companies)
    report_s = time.perf_counter() - started
    # The file is the client's own: its rows need no client column; the table's do.
    try:
        files = exporter.write_all(rows, changes, page)
    except ExportFailed as failed:
        raise Failure(
            description=str(failed), metadata={"folder": MetadataValue.path(str(failed.folder))}
        ) from failed
    context.log.info(
        f"Client {client}: wrote {len(rows)} campaign rows to {files.campaign} "
        f"({exporter.export_format} format); {len(changes.new)} new and {len(changes.dropped)} "
        f"dropped since {_since(changes)}; the report to {files.report} "
        f"({len(page.encode()) / 1e6:.1f} MB)"
    )
    # Recorded once the files are out: a run that fails before never counts as sent.
    history.record(client, context.run.run_id, datetime.now(UTC), rows)
    return Output(
        for_client(rows, client),
        metadata={
            "rows": len(rows),
            "top_n": exporter.top_n,
            "export_format": exporter.export_format,
            "new_since_last": len(changes.new),
            "dropped_since_last": len(changes.dropped),
            "last_campaign": _since(changes),
            "changes": markdown_table(_changes_preview(changes), _PREVIEW_CHANGES),
            "path": MetadataValue.path(str(files.campaign)),
            "new_file": MetadataValue.path(str(files.new)),
            "dropped_file": MetadataValue.path(str(files.dropped)),
            "report": MetadataValue.url(files.report.resolve().as_uri()),
            "report_bytes": len(page.encode()),
            "report_render_s": round(report_s, 3),
            # How many companies got 1, 2, ... N rows (a list per company would not fit the
            # event log of a client with 100,000 companies).
            "companies_by_rows": counts_by(
                rows.groupby("company_key").size().rename("rows").to_frame(), "rows"
            ),
        },
    )


def _changes_preview(changes: CampaignChanges) -> pd.DataFrame:
    columns = ["change", "account_name", "lead_first_name", "lead_last_name", "change_reason"]
    parts = [
        rows.assign(change=label)[columns]
        for label, rows in (("new", changes.new), ("dropped", changes.dropped))
        if not rows.empty
    ]
    return pd.concat(parts) if parts else pd.DataFrame(columns=columns)


def _since(changes: CampaignChanges) -> str:
    if changes.since is None:
        return "no earlier campaign"
    return changes.since.strftime("%Y-%m-%d %H:%M UTC")


def _report_summary(context: AssetExecutionContext, client: str, top_n: int) -> ReportSummary:
    """The run's model use, as lead_evaluations recorded it in this run (none when the
    evaluations were not part of it)."""
    evaluations = asset_metadata(context.instance, context.run.run_id).get("lead_evaluations", {})
    return ReportSummary(
        title=f"Persona Ranker: ranked leads ({client})",
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        top_n=top_n,
        model_calls=int(evaluations.get("calls", 0)),
        model_usd=float(evaluations.get("usd", 0.0)),
        model=str(evaluations.get("model", "")),
    )


def _result(problems: list[str]) -> AssetCheckResult:
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={"problems": MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none")},
    )


# Each check reads from the warehouse only the columns it checks: a million-lead client's
# ranked table has forty columns, and loading them all is most of a check's time.
def ranks_are_contiguous_and_only_for_relevant_leads(
    context: AssetCheckExecutionContext, warehouse: WarehouseReader
) -> AssetCheckResult:
    """Ranks are 1..n per company over relevant leads, NULL for the rest; scores within 0-100.
    Blocking: a broken ranking never reaches the campaign file."""
    ranked = warehouse.client_rows(
        "ranked_leads",
        context.partition_key,
        ["company_key", "company_rank", "is_relevant", "relevance_score"],
    )
    return _result(rank_problems(ranked))


def every_lead_has_exactly_one_evaluation(
    context: AssetCheckExecutionContext, warehouse: WarehouseReader
) -> AssetCheckResult:
    """Each current (enriched) lead is in the ranked table exactly once, scored by an
    evaluator: no lead lost, none counted twice."""
    client = context.partition_key
    ranked = warehouse.client_rows(
        "ranked_leads", client, ["lead_id", "evaluator", "relevance_score"]
    )
    enriched = warehouse.client_rows("enriched_leads", client, ["lead_id"])
    return _result(evaluation_coverage_problems(enriched, ranked))


def campaign_has_at_most_top_n_per_company(
    context: AssetCheckExecutionContext, clients: ClientDirectory, warehouse: WarehouseReader
) -> AssetCheckResult:
    """No company gets more campaign rows than the client's top N."""
    client = context.partition_key
    campaign = warehouse.client_rows("campaign_export", client, ["company_key"])
    return _result(campaign_problems(campaign, clients.get(client).top_n))


def ranking_checks(partitions: PartitionsDefinition) -> list[AssetChecksDefinition]:
    """The invariants, checked per client partition like the assets they check."""
    return [
        asset_check(asset=ranked_leads, blocking=True, partitions_def=partitions)(
            ranks_are_contiguous_and_only_for_relevant_leads
        ),
        asset_check(
            asset=ranked_leads,
            additional_deps=["enriched_leads"],
            partitions_def=partitions,
        )(every_lead_has_exactly_one_evaluation),
        asset_check(asset=campaign_export, partitions_def=partitions)(
            campaign_has_at_most_top_n_per_company
        ),
    ]

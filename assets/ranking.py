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
    MetadataValue,
    Output,
    PartitionsDefinition,
    asset,
    asset_check,
)

from assets.metadata import counts_by, markdown_table
from pipeline.leads.records import for_client
from pipeline.orchestration.resources import ClientDirectory
from pipeline.orchestration.run_history import asset_metadata
from pipeline.ranking.invariants import (
    campaign_problems,
    evaluation_coverage_problems,
    rank_problems,
)
from pipeline.ranking.ranked_table import build_ranked_leads, campaign_rows
from pipeline.report.html import ReportSummary, render_report

# How many ranks per company the UI preview of ranked_leads shows.
_PREVIEW_RANKS = 3


@asset(
    group_name="ranking",
    kinds={"duckdb"},
    owners=["team:sales-ops"],
    metadata={"partition_expr": "client"},
)
def ranked_leads(
    context: AssetExecutionContext, enriched_leads: pd.DataFrame, lead_evaluations: pd.DataFrame
) -> Output[pd.DataFrame]:
    """One row per current lead of the client with its evaluation and `company_rank` (1..n
    per company among relevant leads, NULL for irrelevant ones). Analysts query this table;
    its columns are stable."""
    ranked = for_client(build_ranked_leads(enriched_leads, lead_evaluations), context.partition_key)
    ranked_count = int(ranked["company_rank"].notna().sum())
    companies = int(ranked["company_key"].nunique())
    preview = ranked[ranked["company_rank"] <= _PREVIEW_RANKS][
        [
            "account_name",
            "company_rank",
            "lead_first_name",
            "lead_last_name",
            "lead_job_title",
            "relevance_score",
        ]
    ]
    context.log.info(f"Ranked {ranked_count} of {len(ranked)} leads at {companies} companies")
    return Output(
        ranked,
        metadata={
            "rows": len(ranked),
            "ranked": ranked_count,
            "companies": companies,
            "relevant_per_size_band": counts_by(ranked[ranked["is_relevant"]], "size_band"),
            # How deep down the persona's ladder the companies had to go.
            "ranked_per_rung": counts_by(ranked[ranked["is_relevant"]], "ladder_rung"),
            "top_leads": markdown_table(preview),
        },
    )


@asset(
    group_name="ranking",
    kinds={"duckdb", "csv"},
    owners=["team:sales-ops"],
    metadata={"partition_expr": "client"},
)
def campaign_export(
    context: AssetExecutionContext, ranked_leads: pd.DataFrame, clients: ClientDirectory
) -> Output[pd.DataFrame]:
    """The top N relevant leads of every company of the client, as a table and as the
    client's campaign CSV, and the run's HTML report (every company with its ranked leads and
    the others) beside it."""
    client = context.partition_key
    exporter = clients.get(client).exporter()
    rows = campaign_rows(ranked_leads, exporter.top_n)
    # The file is the client's own: its rows need no client column; the table's do.
    path = exporter.write_csv(rows)
    context.log.info(f"Client {client}: wrote {len(rows)} campaign rows to {path}")
    started = time.perf_counter()
    page = render_report(ranked_leads, _report_summary(context, client, exporter.top_n))
    report = exporter.write_report(page)
    report_s = time.perf_counter() - started
    context.log.info(f"Wrote the report to {report} ({len(page.encode()) / 1e6:.1f} MB)")
    return Output(
        for_client(rows, client),
        metadata={
            "rows": len(rows),
            "top_n": exporter.top_n,
            "path": MetadataValue.path(str(path)),
            "report": MetadataValue.url(report.resolve().as_uri()),
            "report_bytes": len(page.encode()),
            "report_write_s": round(report_s, 3),
            "rows_per_company": counts_by(rows, "account_name"),
        },
    )


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


def ranks_are_contiguous_and_only_for_relevant_leads(
    ranked_leads: pd.DataFrame,
) -> AssetCheckResult:
    """Ranks are 1..n per company over relevant leads, NULL for the rest; scores within 0-100.
    Blocking: a broken ranking never reaches the campaign file."""
    return _result(rank_problems(ranked_leads))


def every_lead_has_exactly_one_evaluation(
    ranked_leads: pd.DataFrame, enriched_leads: pd.DataFrame
) -> AssetCheckResult:
    """Each current (enriched) lead is in the ranked table exactly once, scored by an
    evaluator: no lead lost, none counted twice."""
    return _result(evaluation_coverage_problems(enriched_leads, ranked_leads))


def campaign_has_at_most_top_n_per_company(
    context: AssetCheckExecutionContext, campaign_export: pd.DataFrame, clients: ClientDirectory
) -> AssetCheckResult:
    """No company gets more campaign rows than the client's top N."""
    return _result(campaign_problems(campaign_export, clients.get(context.partition_key).top_n))


def ranking_checks(partitions: PartitionsDefinition) -> list[AssetChecksDefinition]:
    """The invariants, checked per client partition like the assets they check."""
    return [
        asset_check(asset=ranked_leads, blocking=True, partitions_def=partitions)(
            ranks_are_contiguous_and_only_for_relevant_leads
        ),
        asset_check(
            asset=ranked_leads,
            additional_ins={"enriched_leads": AssetIn("enriched_leads")},
            partitions_def=partitions,
        )(every_lead_has_exactly_one_evaluation),
        asset_check(asset=campaign_export, partitions_def=partitions)(
            campaign_has_at_most_top_n_per_company
        ),
    ]

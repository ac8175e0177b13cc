"""The plain-text report the CLI prints after a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pipeline.report.html import DEFAULT_MAX_COMPANIES

# What the summary reads of the run's ranked_leads and campaign_export tables.
SUMMARY_RANKED_COLUMNS = ("company_key", "account_name", "size_band", "company_rank", "evaluator")
SUMMARY_CAMPAIGN_COLUMNS = (
    "company_key",
    "company_rank",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "relevance_score",
)


def format_summary(
    ranked: pd.DataFrame,
    campaign: pd.DataFrame,
    export_path: Path,
    warehouse: str,
    report_path: Path | None = None,
    changes: str = "",
    max_companies: int = DEFAULT_MAX_COMPANIES,
) -> str:
    """`changes`: what the campaign gained and lost since the last one, as a line. Each
    company's campaign leads are listed up to `max_companies` companies; beyond, a terminal
    of them helps nobody and the report and campaign file hold them."""
    evaluators = ", ".join(sorted(ranked["evaluator"].unique()))
    companies = ranked.groupby("company_key", sort=True).agg(
        account_name=("account_name", "first"),
        size_band=("size_band", "first"),
        leads=("company_key", "size"),
        ranked=("company_rank", "count"),
    )
    lines = [
        f"Ranked {int(companies['ranked'].sum())} of {len(ranked)} leads at {len(companies)} "
        f"companies (evaluator: {evaluators}); {len(campaign)} in the campaign."
    ]
    if len(companies) > max_companies:
        lines += [
            "",
            f"Each company's campaign leads are in the campaign file and the report (listed "
            f"here up to {max_companies:,} companies).",
        ]
    else:
        lines += _company_lines(companies, campaign)
    lines.append("")
    lines.append(f"Campaign file: {export_path} ({len(campaign)} rows)")
    if changes:
        lines.append(changes)
    if report_path is not None:
        lines.append(f"Report: {report_path}")
    lines.append(f"Warehouse: {warehouse}")
    return "\n".join(lines)


def _company_lines(companies: pd.DataFrame, campaign: pd.DataFrame) -> list[str]:
    """Each company (name, key, size band, ranked of all) and its campaign leads."""
    chosen: dict[str, list[str]] = {}
    # A table's rows come back in no particular order.
    campaign = campaign.sort_values(["company_key", "company_rank"], kind="stable")
    for key, rank, first, last, title, score in zip(
        campaign["company_key"],
        campaign["company_rank"],
        campaign["lead_first_name"],
        campaign["lead_last_name"],
        campaign["lead_job_title"],
        campaign["relevance_score"],
        strict=True,
    ):
        name = f"{first} {last}".strip()
        chosen.setdefault(key, []).append(f"  {rank:>2}. {name}: {title.strip()} [{score}]")
    lines: list[str] = []
    for key, name, band, leads, ranked in zip(
        companies.index,
        companies["account_name"],
        companies["size_band"],
        companies["leads"],
        companies["ranked"],
        strict=True,
    ):
        lines += ["", f"{name} ({key}, {band}): {ranked} of {leads} leads ranked"]
        lines += chosen.get(key, ["   nobody worth contacting"])
    return lines


def format_usage(usage: Mapping[str, object]) -> str:
    """The model's share of a run: who decided, what it cost."""
    return (
        f"Groq ({usage['model']}): {usage['sent_to_model']} leads needed the model, "
        f"{usage['cache_hits']} answered from the cache, {usage['rules_fallbacks']} judged by "
        f"the rules after a failed answer.\n"
        f"{usage['calls']} calls ({usage['retries']} retries): {usage['prompt_tokens']} prompt "
        f"tokens ({usage['cached_tokens']} cached) + {usage['completion_tokens']} completion "
        f"({usage['reasoning_tokens']} reasoning) = {usage['tokens_per_lead']} tokens a lead; "
        f"${float(usage['usd']):.4f}.\n"
    )

"""The plain-text report the CLI prints after a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd


def format_summary(
    ranked: pd.DataFrame,
    campaign: pd.DataFrame,
    export_path: Path,
    warehouse: str,
    report_path: Path | None = None,
    changes: str = "",
) -> str:
    """`changes`: what the campaign gained and lost since the last one, as a line."""
    lines: list[str] = []
    evaluators = ", ".join(sorted(ranked["evaluator"].unique()))
    ranked_count = int(ranked["company_rank"].notna().sum())
    lines.append(
        f"Ranked {ranked_count} of {len(ranked)} leads at {ranked['company_key'].nunique()} "
        f"companies (evaluator: {evaluators}); {len(campaign)} in the campaign."
    )
    by_company = dict(tuple(campaign.groupby("company_key", sort=False)))
    for company_key, leads in ranked.groupby("company_key", sort=True):
        first = leads.iloc[0]
        chosen = by_company.get(company_key, campaign.iloc[0:0])
        relevant = int(leads["company_rank"].notna().sum())
        lines.append("")
        lines.append(
            f"{first['account_name']} ({company_key}, {first['size_band']}): "
            f"{relevant} of {len(leads)} leads ranked"
        )
        if chosen.empty:
            lines.append("   nobody worth contacting")
        for row in chosen.itertuples(index=False):
            name = f"{row.lead_first_name} {row.lead_last_name}".strip()
            lines.append(
                f"  {row.company_rank:>2}. {name}: {row.lead_job_title.strip()} "
                f"[{row.relevance_score}]"
            )
    lines.append("")
    lines.append(f"Campaign file: {export_path} ({len(campaign)} rows)")
    if changes:
        lines.append(changes)
    if report_path is not None:
        lines.append(f"Report: {report_path}")
    lines.append(f"Warehouse: {warehouse}")
    return "\n".join(lines)


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

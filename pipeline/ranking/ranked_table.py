"""Per-company ranks from evaluations, and the top-N campaign rows."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from pipeline.leads.records import CONTACT_COLUMNS, SOURCE_COLUMNS

RANKED_LEADS_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "company_key",
    "account_name",
    "account_domain",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "account_employee_range",
    "account_industry",
    "size_band",
    "relevance_score",
    "is_relevant",
    "company_rank",
    "reasoning",
    "department_fit",
    "seniority_fit",
    "evaluator",
    "evaluated_at",
    # Beyond the stable schema analysts rely on:
    "title_role",
    "title_seniority",
    "title_departments",
    "title_status",
    "title_roles_held",
    "title_qualifiers",
    "decision_basis",
    "ladder_rung",
    "persona_fingerprint",
    "source_file",
    # How to reach the person, where the row came from, and whether it may be contacted.
    "email",
    "phone",
    "linkedin_url",
    "source_record_id",
    "account_website",
    "source_system",
    "kept_columns",
    "first_seen_at",
    "suppressed_reason",
)

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "company_key",
    "account_name",
    "company_rank",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "email",
    "phone",
    "linkedin_url",
    "account_domain",
    "account_website",
    "account_employee_range",
    "account_industry",
    "size_band",
    "relevance_score",
    "reasoning",
    "source_record_id",
    "source_system",
    "kept_columns",
    "lead_id",
)

# Ties on score go to the more senior; then to the title holding more of the persona's roles
# (a "Founder & CEO" is its first and its second startup target); then, by account-based
# selling's rule of starting with the widest remit, to the role with fewer qualifiers (a
# region, product line or segment narrows it: "Director of Sales" before "Director of Sales,
# Fire Products, Gujarat"); then to the better department fit. Names and the id make the
# order total, so the same input always gives the same ranks.
_TIE_BREAK_COLUMNS = [
    "relevance_score",
    "seniority_fit",
    "title_roles_held",
    "title_qualifiers",
    "department_fit",
    "lead_last_name",
    "lead_first_name",
    "lead_id",
]
_TIE_BREAK_ASCENDING = [False, False, False, True, False, True, True, True]


def in_rank_order(leads: pd.DataFrame) -> pd.DataFrame:
    """The leads best first: score, then the tie-breaks.

    Expects the tie-break columns (scores, fits, the title's roles and qualifiers, names,
    lead_id).
    """
    return leads.sort_values(_TIE_BREAK_COLUMNS, ascending=_TIE_BREAK_ASCENDING, kind="stable")


def rank_leads(leads: pd.DataFrame) -> pd.DataFrame:
    """Adds `company_rank`: 1..n per company over relevant leads, NULL for irrelevant ones.

    Expects one row per lead with company_key, is_relevant and the tie-break
    columns.
    """
    out = in_rank_order(leads)
    relevant = out[out["is_relevant"].astype(bool)]
    ranks = relevant.groupby("company_key", sort=False).cumcount() + 1
    out["company_rank"] = pd.Series(ranks, dtype="Int64").reindex(out.index)
    return out.sort_values(["company_key", "company_rank", "lead_id"], na_position="last")


def campaign_rows(ranked: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The best `top_n` ranked leads of every company that may be contacted, in company then
    rank order: a suppressed lead keeps its rank, and the next one takes its place."""
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    contactable = ranked[ranked["company_rank"].notna() & (ranked["suppressed_reason"] == "")]
    ordered = contactable.sort_values(["company_key", "company_rank"])
    chosen = ordered[ordered.groupby("company_key", sort=False).cumcount() < top_n]
    return chosen[list(CAMPAIGN_COLUMNS)].reset_index(drop=True)


class MissingEvaluationsError(RuntimeError):
    """Some current leads have no evaluation: the client's evaluations were never run."""


def build_ranked_leads(
    enriched: pd.DataFrame,
    evaluations: pd.DataFrame,
    suppressed: Callable[[pd.DataFrame], pd.Series] | None = None,
) -> pd.DataFrame:
    """Every current lead with its evaluation, rank and `suppressed_reason` (from
    `suppressed`, '' for a lead that may be contacted).

    Evaluations of leads no longer in the lead base are ignored, so a company that left the
    base keeps no ranks.
    """
    # Stored evaluations carry their client, as the enriched leads do.
    evaluation_columns = [c for c in evaluations.columns if c not in ("company_key", "client")]
    merged = enriched.merge(
        evaluations[evaluation_columns], on="lead_id", how="left", validate="one_to_one"
    )
    missing = merged[merged["relevance_score"].isna()]
    if not missing.empty:
        companies = sorted(missing["company_key"].unique())
        shown = ", ".join(companies[:10]) + (" ..." if len(companies) > 10 else "")
        raise MissingEvaluationsError(
            f"{len(missing)} lead(s) at {len(companies)} compan(ies) have no evaluation "
            f"({shown}); materialize the client's lead_evaluations first"
        )
    merged = merged.astype(
        {
            "relevance_score": "int64",
            "department_fit": "int64",
            "seniority_fit": "int64",
            "is_relevant": "bool",
        }
    )
    for column in (*CONTACT_COLUMNS, *SOURCE_COLUMNS):
        if column not in merged:
            merged[column] = ""  # leads read from the expert's labels have none
    if "first_seen_at" not in merged:
        merged["first_seen_at"] = pd.NaT
    ranked = rank_leads(merged)
    ranked["suppressed_reason"] = suppressed(ranked) if suppressed else ""
    return ranked[list(RANKED_LEADS_COLUMNS)].reset_index(drop=True)

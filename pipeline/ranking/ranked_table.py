"""Per-company ranks from evaluations, and the top-N campaign rows."""

from __future__ import annotations

import pandas as pd

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
)

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "company_key",
    "account_name",
    "company_rank",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "account_domain",
    "size_band",
    "relevance_score",
    "reasoning",
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
    """The best `top_n` ranked leads of every company, in company then rank order."""
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    chosen = ranked[ranked["company_rank"].notna() & (ranked["company_rank"] <= top_n)]
    ordered = chosen.sort_values(["company_key", "company_rank"])
    return ordered[list(CAMPAIGN_COLUMNS)].reset_index(drop=True)


class MissingEvaluationsError(RuntimeError):
    """Some current leads have no evaluation: the client's evaluations were never run."""


def build_ranked_leads(enriched: pd.DataFrame, evaluations: pd.DataFrame) -> pd.DataFrame:
    """Every current lead with its evaluation and rank.

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
    return rank_leads(merged)[list(RANKED_LEADS_COLUMNS)].reset_index(drop=True)

"""Per-company ranks from evaluations, and the top-N campaign rows."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
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
TIE_BREAK_COLUMNS = (
    "relevance_score",
    "seniority_fit",
    "title_roles_held",
    "title_qualifiers",
    "department_fit",
    "lead_last_name",
    "lead_first_name",
    "lead_id",
)
_TIE_BREAK_ASCENDING = (False, False, False, True, False, True, True, True)


def positions_in_rank_order(leads: pd.DataFrame) -> np.ndarray:
    """Each lead's place (1, 2, ...) among its company's leads, best first: score, then the
    tie-breaks. A SQL window over the columns it orders by: sorting a million rows of names
    in pandas takes seconds, DuckDB a fraction of one.

    Expects company_key and the tie-break columns (scores, fits, the title's roles and
    qualifiers, names, lead_id).
    """
    order = ", ".join(
        f'"{column}" {"asc" if ascending else "desc"} nulls last'
        for column, ascending in zip(TIE_BREAK_COLUMNS, _TIE_BREAK_ASCENDING, strict=True)
    )
    found = _by_window(
        leads[["company_key", *TIE_BREAK_COLUMNS]],
        f"row_number() over (partition by company_key order by {order}, row_position)",
    )
    return found.astype(np.int64)


def rank_leads(leads: pd.DataFrame) -> pd.DataFrame:
    """Adds `company_rank`: 1..n per company over relevant leads, NULL for irrelevant ones.
    The rows stay in their order: a table's rows have none, and whoever lists them sorts
    (reordering a million rows of 38 columns took more than a second).

    Expects one row per lead with company_key, is_relevant and the tie-break
    columns.
    """
    # Only relevant leads are ordered: the others get no rank, and are most of a large base.
    relevant = leads["is_relevant"].astype(bool).to_numpy()
    ranks = pd.array(np.full(len(leads), pd.NA), dtype="Int64")
    ranks[relevant] = positions_in_rank_order(
        leads.loc[relevant, ["company_key", *TIE_BREAK_COLUMNS]]  # not all forty columns
    )
    return leads.assign(company_rank=ranks)


def _by_window(columns: pd.DataFrame, window: str) -> np.ndarray:
    """The window expression's value for each row of `columns`, in their order."""
    if columns.empty:
        return np.zeros(0, dtype=np.int64)
    rows = columns.reset_index(drop=True).assign(row_position=np.arange(len(columns)))
    with duckdb.connect() as connection:
        connection.register("leads", rows)
        found = connection.execute(
            f"select row_position, {window} as value from leads"
        ).fetchnumpy()
    values = np.empty(len(rows), dtype=np.int64)
    values[found["row_position"]] = found["value"]
    return values


def campaign_rows(ranked: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The best `top_n` ranked leads of every company that may be contacted, in company then
    rank order: a suppressed lead keeps its rank, and the next one takes its place."""
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    # The campaign's columns only: each selection and the sort copy every column held.
    contactable = ranked.loc[
        ranked["company_rank"].notna() & (ranked["suppressed_reason"] == ""),
        list(CAMPAIGN_COLUMNS),
    ]
    ordered = contactable.sort_values(["company_key", "company_rank"])
    chosen = ordered[ordered.groupby("company_key", sort=False).cumcount() < top_n]
    return chosen.reset_index(drop=True)


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
    evaluation_columns = [
        c for c in evaluations.columns if c not in ("company_key", "client", "lead_id")
    ]
    by_lead = pd.Index(evaluations["lead_id"])
    if not by_lead.is_unique:
        raise ValueError("the evaluations hold a lead more than once")
    # A join by lead_id as positions: a merge of a million rows copies every column twice.
    found = by_lead.get_indexer(enriched["lead_id"])
    if (found < 0).any():  # only then: selecting rows copies every column of a million
        missing = enriched[found < 0]
        companies = sorted(missing["company_key"].unique())
        shown = ", ".join(companies[:10]) + (" ..." if len(companies) > 10 else "")
        raise MissingEvaluationsError(
            f"{len(missing)} lead(s) at {len(companies)} compan(ies) have no evaluation "
            f"({shown}); materialize the client's lead_evaluations first"
        )
    judged = evaluations[evaluation_columns].iloc[found].reset_index(drop=True)
    merged = pd.concat([enriched.reset_index(drop=True), judged], axis=1)
    for column, kind in (
        ("relevance_score", "int64"),
        ("department_fit", "int64"),
        ("seniority_fit", "int64"),
        ("is_relevant", "bool"),
    ):
        merged[column] = merged[column].astype(kind)
    for column in (*CONTACT_COLUMNS, *SOURCE_COLUMNS):
        if column not in merged:
            merged[column] = ""  # leads read from the expert's labels have none
    if "first_seen_at" not in merged:
        merged["first_seen_at"] = pd.NaT
    ranked = rank_leads(merged)
    ranked["suppressed_reason"] = suppressed(ranked) if suppressed else ""
    return ranked[list(RANKED_LEADS_COLUMNS)].reset_index(drop=True)

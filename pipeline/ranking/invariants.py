"""Invariants of the ranked table and the campaign, as lists of human-readable problems."""

from __future__ import annotations

import pandas as pd


def rank_problems(ranked: pd.DataFrame) -> list[str]:
    """Ranks must be 1..n per company over relevant leads, and absent for irrelevant ones."""
    problems = []
    wrongly_ranked = ranked[~ranked["is_relevant"].astype(bool) & ranked["company_rank"].notna()]
    if not wrongly_ranked.empty:
        problems.append(f"{len(wrongly_ranked)} irrelevant lead(s) have a rank")
    relevant = ranked.loc[ranked["is_relevant"].astype(bool), ["company_key", "company_rank"]]
    # Sorted by rank, a company's k-th relevant lead must hold rank k: one vectorised pass
    # (a loop over companies took 10 s at 100,000 companies), then details for the bad ones.
    ordered = relevant.sort_values(["company_key", "company_rank"], na_position="last")
    expected = ordered.groupby("company_key", sort=False).cumcount() + 1
    wrong = (ordered["company_rank"] != expected).fillna(True).astype(bool)
    for company in sorted(ordered.loc[wrong, "company_key"].unique()):
        group = ordered[ordered["company_key"] == company]
        ranks = [int(rank) for rank in group["company_rank"].dropna()]
        problems.append(f"{company}: ranks {ranks[:10]} are not 1..{len(group)}")
    out_of_range = ranked[~ranked["relevance_score"].between(0, 100)]
    if not out_of_range.empty:
        problems.append(f"{len(out_of_range)} score(s) outside 0-100")
    return problems


def campaign_problems(campaign: pd.DataFrame, top_n: int) -> list[str]:
    sizes = campaign.groupby("company_key").size()
    return [
        f"{company}: {count} campaign rows, more than {top_n}"
        for company, count in sizes[sizes > top_n].items()
    ]


def evaluation_coverage_problems(enriched: pd.DataFrame, ranked: pd.DataFrame) -> list[str]:
    """Every current lead appears exactly once in the ranked table, with an evaluation."""
    problems = []
    ids = ranked["lead_id"]
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        problems.append(f"{len(repeated)} lead(s) appear more than once, e.g. {repeated[0]}")
    current = enriched["lead_id"].drop_duplicates()
    missing = int((~current.isin(ids)).sum())
    if missing:
        problems.append(f"{missing} current lead(s) have no evaluation")
    unjudged = ranked[ranked["evaluator"].isna() | ranked["relevance_score"].isna()]
    if not unjudged.empty:
        problems.append(f"{len(unjudged)} lead(s) lack a score or an evaluator")
    return problems

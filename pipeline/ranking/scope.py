"""Re-evaluating only some companies of a client: which companies must be judged again, and
the evaluations kept for the rest."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def companies_to_evaluate(
    leads: pd.DataFrame, previous: pd.DataFrame, named: Iterable[str]
) -> set[str]:
    """The named companies, and every company with a lead never evaluated: the ladder ranks a
    company's leads together, so a company is judged whole or not at all."""
    evaluated = set(previous["lead_id"]) if not previous.empty else set()
    unjudged = leads.loc[~leads["lead_id"].isin(evaluated), "company_key"]
    return set(named) | set(unjudged)


def kept_evaluations(
    previous: pd.DataFrame, leads: pd.DataFrame, judged_again: set[str]
) -> pd.DataFrame:
    """The previous evaluations of current leads at the companies not judged again."""
    if previous.empty:
        return previous
    keep = previous["lead_id"].isin(set(leads["lead_id"])) & ~previous["company_key"].isin(
        judged_again
    )
    return previous[keep]

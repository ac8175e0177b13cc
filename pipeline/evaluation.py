"""Evaluations as a table: the rows every evaluator returns, and the rules evaluator's rows."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipeline.persona import Persona
from pipeline.rules import evaluate_title
from pipeline.titles import parse_title

EVALUATION_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "company_key",
    "relevance_score",
    "is_relevant",
    "reasoning",
    "department_fit",
    "seniority_fit",
    "evaluator",
    "evaluated_at",
    "decision_basis",
    "persona_fingerprint",
)


def evaluate_with_rules(
    leads: pd.DataFrame, persona: Persona, evaluator_name: str, evaluated_at: datetime
) -> pd.DataFrame:
    """One evaluation row per lead; each distinct (title, size band) is judged once."""
    pairs = leads[["lead_job_title", "size_band"]].drop_duplicates()
    verdicts = {
        (title, band): evaluate_title(parse_title(title, persona), band, persona)
        for title, band in pairs.itertuples(index=False)
    }
    keys = list(zip(leads["lead_job_title"], leads["size_band"], strict=True))
    rows = [verdicts[key] for key in keys]
    frame = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "company_key": leads["company_key"].to_numpy(),
            "relevance_score": pd.array([v.relevance_score for v in rows], dtype="int64"),
            "is_relevant": pd.array([v.is_relevant for v in rows], dtype="bool"),
            "reasoning": [v.reasoning for v in rows],
            "department_fit": pd.array([v.department_fit for v in rows], dtype="int64"),
            "seniority_fit": pd.array([v.seniority_fit for v in rows], dtype="int64"),
            "evaluator": evaluator_name,
            "evaluated_at": pd.Timestamp(evaluated_at),
            "decision_basis": [v.basis for v in rows],
            "persona_fingerprint": persona.fingerprint,
        }
    )
    return frame[list(EVALUATION_COLUMNS)]

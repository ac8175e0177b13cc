"""Evaluations as a table: the rows every evaluator returns, and the rules evaluator's rows."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipeline.persona.semantic import needs_meaning, read_by_meaning
from pipeline.persona.spec import Persona
from pipeline.persona.titles import TitleProfile
from pipeline.ranking.enrichment import split_values
from pipeline.ranking.ladder import RUNG_FIT, climb_ladder
from pipeline.ranking.rules import evaluate_title

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
    # The rung of the persona's ladder the lead stands on ('' for none).
    "ladder_rung",
    "persona_fingerprint",
    # The model that scored the lead ('' when the rules did).
    "model",
    # Why the rules judged a lead the model was asked about ('' otherwise).
    "fallback_reason",
)


# What a verdict depends on: the parsed title and the size band (last).
_JUDGED_COLUMNS = (
    "title_role",
    "title_seniority",
    "title_departments",
    "title_tags",
    "title_flags",
    "size_band",
)


def _profile_from_columns(
    role: str, seniority: str, departments: str, tags: str, flags: str
) -> TitleProfile:
    return TitleProfile(
        role, seniority, split_values(departments), split_values(tags), split_values(flags)
    )


def evaluate_with_rules(
    leads: pd.DataFrame, persona: Persona, evaluator_name: str, evaluated_at: datetime
) -> pd.DataFrame:
    """One evaluation row per lead: each title judged by the rules (titles the vocabulary
    cannot read, by the semantic reader), then the ladder per company."""
    judged = judge_with_rules(leads, persona, evaluator_name, evaluated_at, by_meaning=True)
    return climb_ladder(leads, judged, persona)


def judge_with_rules(
    leads: pd.DataFrame,
    persona: Persona,
    evaluator_name: str,
    evaluated_at: datetime,
    by_meaning: bool = False,
) -> pd.DataFrame:
    """One row per lead, each judged alone (before the ladder), with its fit on its rung in
    `RUNG_FIT` for the ladder to read; each distinct (parsed title, size band) is judged once.

    Reads the title as `enriched_leads` parsed it, so titles are parsed once per run. With
    `by_meaning`, a title the vocabulary could not read is read by the semantic reader first;
    without, it is judged unread (the model's to read).
    """
    keys, profiles = title_profiles(leads, persona, by_meaning)
    verdicts = {key: evaluate_title(profile, key[-1], persona) for key, profile in profiles.items()}
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
            "ladder_rung": [v.rung for v in rows],
            "persona_fingerprint": persona.fingerprint,
            "model": "",
            "fallback_reason": "",
            RUNG_FIT: pd.array([v.fit for v in rows], dtype="int64"),
        }
    )
    return frame[[*EVALUATION_COLUMNS, RUNG_FIT]]


def title_profiles(
    leads: pd.DataFrame, persona: Persona, by_meaning: bool
) -> tuple[list[tuple[str, ...]], dict[tuple[str, ...], TitleProfile]]:
    """Each lead's key (its parsed title and size band) and each distinct key's title as the
    rules read it: from the enriched columns, and by meaning where asked and needed."""
    keys = list(leads[list(_JUDGED_COLUMNS)].itertuples(index=False, name=None))
    profiles = {key: _profile_from_columns(*key[:-1]) for key in dict.fromkeys(keys)}
    if by_meaning:
        profiles.update(_read_by_meaning(leads, keys, profiles, persona))
    return keys, profiles


def _read_by_meaning(
    leads: pd.DataFrame,
    keys: list[tuple[str, ...]],
    profiles: dict[tuple[str, ...], TitleProfile],
    persona: Persona,
) -> dict[tuple[str, ...], TitleProfile]:
    """The unread profiles read by meaning, from the title as written (one title per
    profile: the titles of one profile read alike)."""
    written: dict[tuple[str, ...], str] = {}
    for key, title in zip(keys, leads["lead_job_title"], strict=True):
        if key not in written and needs_meaning(profiles[key], persona):
            written[key] = title
    read = read_by_meaning({title: profiles[key] for key, title in written.items()}, persona)
    return {key: read[title] for key, title in written.items() if title in read}

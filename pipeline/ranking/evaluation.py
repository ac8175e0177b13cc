"""Evaluations as a table: the rows every evaluator returns, and the rules evaluator's rows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from pipeline.leads.records import distinct_rows, frame_of, spread
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
    codes, keys, profiles = title_profiles(leads, persona, by_meaning)
    verdicts = [
        evaluate_title(profile, key[-1], persona)
        for key, profile in zip(keys, profiles, strict=True)
    ]

    def per_lead(attribute: str, dtype: str | None = None) -> np.ndarray:
        values = spread([getattr(verdict, attribute) for verdict in verdicts], codes)
        return values.astype(dtype) if dtype else values

    def same(value: object) -> np.ndarray:
        return np.full(len(leads), value, dtype=object)

    # Each column stays its own array (`frame_of`): a million rows are not copied into one.
    columns = {
        "lead_id": leads["lead_id"].to_numpy(),
        "company_key": leads["company_key"].to_numpy(),
        "relevance_score": per_lead("relevance_score", "int64"),
        "is_relevant": per_lead("is_relevant", "bool"),
        "reasoning": per_lead("reasoning"),
        "department_fit": per_lead("department_fit", "int64"),
        "seniority_fit": per_lead("seniority_fit", "int64"),
        "evaluator": same(evaluator_name),
        "evaluated_at": pd.Series(pd.Timestamp(evaluated_at), index=pd.RangeIndex(len(leads))),
        "decision_basis": per_lead("basis"),
        "ladder_rung": per_lead("rung"),
        "persona_fingerprint": same(persona.fingerprint),
        "model": same(""),
        "fallback_reason": same(""),
        RUNG_FIT: per_lead("fit", "int64"),
    }
    return frame_of({name: columns[name] for name in (*EVALUATION_COLUMNS, RUNG_FIT)})


def title_profiles(
    leads: pd.DataFrame, persona: Persona, by_meaning: bool
) -> tuple[np.ndarray, list[tuple[str, ...]], list[TitleProfile]]:
    """Each lead's key code, the distinct keys (a parsed title and a size band) and each key's
    title as the rules read it: from the enriched columns, and by meaning where asked and
    needed."""
    codes, first = distinct_rows(leads, _JUDGED_COLUMNS)
    keys = list(leads[list(_JUDGED_COLUMNS)].iloc[first].itertuples(index=False, name=None))
    profiles = [_profile_from_columns(*key[:-1]) for key in keys]
    if not by_meaning:
        return codes, keys, profiles
    unread = np.array([needs_meaning(profile, persona) for profile in profiles], dtype=bool)
    rows = np.flatnonzero(unread[codes]) if len(codes) else np.zeros(0, dtype=np.int64)
    if not len(rows):
        return codes, keys, profiles
    # Titles the words left unread parse alike but may mean different things: each is read
    # as written, so a lead's reading never depends on which other leads came with it.
    by_title = {"key": codes[rows], "title": leads["lead_job_title"].to_numpy()[rows]}
    title_codes, title_first = distinct_rows(by_title, ("key", "title"))
    firsts = [(str(by_title["title"][row]), int(by_title["key"][row])) for row in title_first]
    read = read_by_meaning({title: profiles[key] for title, key in firsts}, persona)
    codes = codes.copy()
    codes[rows] = len(keys) + title_codes
    for title, key in firsts:
        keys.append(keys[key])
        profiles.append(read.get(title, profiles[key]))
    return codes, keys, profiles

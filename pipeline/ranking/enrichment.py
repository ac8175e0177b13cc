"""Raw leads to enriched leads: one row per distinct lead with size band and parsed title."""

from __future__ import annotations

import re

import pandas as pd

from pipeline.leads.companies import is_same_company
from pipeline.leads.text import normalize_text
from pipeline.persona.sizing import size_band
from pipeline.persona.spec import Persona
from pipeline.persona.titles import parse_title, title_status


def join_values(values: frozenset[str]) -> str:
    """Sets of departments, tags or flags as stored in the tables: 'engineering,executive'."""
    return ",".join(sorted(values))


def split_values(joined: str) -> frozenset[str]:
    return frozenset(value for value in joined.split(",") if value)


def enrich_leads(raw: pd.DataFrame, persona: Persona) -> pd.DataFrame:
    """Adds what sizing and titles say to distinct leads (the file reader sets repeats
    aside): the size band, the title's level, functions, tags and `title_status` (works there
    now, former, student, another organisation's, ...).

    Work is done once per distinct employee range and per distinct title: files repeat both.
    """
    leads = raw.reset_index(drop=True)
    bands = {
        value: size_band(value, persona.size_bands)
        for value in leads["account_employee_range"].unique()
    }
    profiles = {title: parse_title(title, persona) for title in leads["lead_job_title"].unique()}
    out = leads.copy()
    out["size_band"] = out["account_employee_range"].map(bands)
    titles = out["lead_job_title"]
    out["title_role"] = titles.map({t: p.role_text for t, p in profiles.items()})
    out["title_seniority"] = titles.map({t: p.seniority for t, p in profiles.items()})
    out["title_departments"] = titles.map(
        {t: join_values(p.departments) for t, p in profiles.items()}
    )
    out["title_tags"] = titles.map({t: join_values(p.tags) for t, p in profiles.items()})
    out["title_flags"] = titles.map({t: join_values(p.flags) for t, p in profiles.items()})
    out["title_employer"] = titles.map({t: p.employer for t, p in profiles.items()})
    out["title_roles_held"] = titles.map({t: p.roles_held for t, p in profiles.items()})
    out["title_qualifiers"] = titles.map({t: p.qualifiers for t, p in profiles.items()})
    _add_tag(out, _public_administrations(out, persona), persona.public_administration_tag)
    # "Partner at X Capital", "Account Executive at Y": they work at another firm.
    _add_tag(out, _named_firm_is_another(out), persona.other_firm_tag)
    statuses = {
        tags: title_status(split_values(tags), persona) for tags in out["title_tags"].unique()
    }
    out["title_status"] = out["title_tags"].map(statuses)
    return out


def _add_tag(leads: pd.DataFrame, rows: pd.Series, tag: str) -> None:
    leads.loc[rows, "title_tags"] = leads.loc[rows, "title_tags"].map(
        lambda tags: join_values(split_values(tags) | {tag})
    )


def _named_firm_is_another(leads: pd.DataFrame) -> pd.Series:
    """Leads whose title names a firm that is not their company (once per distinct case)."""
    cases = list(
        zip(leads["title_employer"], leads["account_name"], leads["account_domain"], strict=True)
    )
    verdicts = {case: bool(case[0]) and not is_same_company(*case) for case in set(cases)}
    return pd.Series([verdicts[case] for case in cases], index=leads.index, dtype="bool")


def _public_administrations(leads: pd.DataFrame, persona: Persona) -> pd.Series:
    """Leads whose account name or industry says a public administration (once per company)."""
    if not persona.public_administration_phrases:
        return pd.Series(False, index=leads.index)
    pattern = re.compile(
        r"\b(?:" + "|".join(map(re.escape, persona.public_administration_phrases)) + r")\b"
    )
    described = leads["account_name"].fillna("") + " " + leads["account_industry"].fillna("")
    verdicts = {text: bool(pattern.search(normalize_text(text))) for text in described.unique()}
    return described.map(verdicts).astype(bool)

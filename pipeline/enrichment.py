"""Raw leads to enriched leads: one row per distinct lead with size band and parsed title."""

from __future__ import annotations

import pandas as pd

from pipeline.persona import Persona
from pipeline.sizing import size_band
from pipeline.titles import parse_title


def _joined(values: frozenset[str]) -> str:
    return ",".join(sorted(values))


def enrich_leads(raw: pd.DataFrame, persona: Persona) -> pd.DataFrame:
    """Drops repeated leads (same lead_id, first row kept) and adds what sizing and titles say.

    Work is done once per distinct employee range and per distinct title: files repeat both.
    """
    leads = raw.drop_duplicates(subset="lead_id", keep="first").reset_index(drop=True)
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
    out["title_departments"] = titles.map({t: _joined(p.departments) for t, p in profiles.items()})
    out["title_tags"] = titles.map({t: _joined(p.tags) for t, p in profiles.items()})
    out["title_flags"] = titles.map({t: _joined(p.flags) for t, p in profiles.items()})
    return out


def duplicate_count(raw: pd.DataFrame) -> int:
    return int(raw["lead_id"].duplicated().sum())

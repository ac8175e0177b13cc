"""Raw leads to enriched leads: one row per distinct lead with size band and parsed title."""

from __future__ import annotations

import pandas as pd

from pipeline.leads.companies import is_same_company
from pipeline.leads.shards import shard_of
from pipeline.persona.sizing import size_band
from pipeline.persona.spec import Persona
from pipeline.persona.titles import parse_title


def join_values(values: frozenset[str]) -> str:
    """Sets of departments, tags or flags as stored in the tables: 'engineering,executive'."""
    return ",".join(sorted(values))


def split_values(joined: str) -> frozenset[str]:
    return frozenset(value for value in joined.split(",") if value)


def enrich_leads(raw: pd.DataFrame, persona: Persona) -> pd.DataFrame:
    """Adds the company's shard and what sizing and titles say to distinct leads (the file
    reader sets repeats aside).

    Work is done once per distinct employee range and per distinct title: files repeat both.
    """
    leads = raw.reset_index(drop=True)
    bands = {
        value: size_band(value, persona.size_bands)
        for value in leads["account_employee_range"].unique()
    }
    profiles = {title: parse_title(title, persona) for title in leads["lead_job_title"].unique()}
    out = leads.copy()
    out["company_shard"] = out["company_key"].map(
        {key: shard_of(key) for key in out["company_key"].unique()}
    )
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
    leads_a_firm = titles.map(
        {t: bool(p.employer and p.tags & persona.other_firm_roles) for t, p in profiles.items()}
    )
    for index, row in out[leads_a_firm.astype(bool)].iterrows():
        if not is_same_company(row["title_employer"], row["account_name"], row["account_domain"]):
            # A founder, partner or investor whose title names another firm leads that firm.
            out.at[index, "title_tags"] = join_values(
                split_values(row["title_tags"]) | {persona.other_firm_tag}
            )
    return out

"""Raw leads to enriched leads: one row per distinct lead with size band and parsed title."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from pipeline.leads.companies import company_words, firm_words, same_firm
from pipeline.leads.records import distinct_rows, spread
from pipeline.leads.text import normalize_text
from pipeline.persona.sizing import size_band
from pipeline.persona.spec import Persona
from pipeline.persona.titles import TitleProfile, parse_title, title_status


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
    out = leads.copy(deep=False)  # copy-on-write: only the columns changed are copied
    band_codes, ranges = pd.factorize(leads["account_employee_range"], use_na_sentinel=False)
    out["size_band"] = spread(
        [size_band(value, persona.size_bands) for value in ranges], band_codes
    )
    title_codes, titles = pd.factorize(leads["lead_job_title"], use_na_sentinel=False)
    profiles = [parse_title(title, persona) for title in titles]
    for column, value_of in _PROFILE_COLUMNS.items():
        values = spread([value_of(profile) for profile in profiles], title_codes)
        out[column] = values.astype(np.int64) if column in _COUNT_COLUMNS else values
    _add_tag(out, _public_administrations(out, persona), persona.public_administration_tag)
    # "Partner at X Capital", "Account Executive at Y": they work at another firm.
    _add_tag(out, _named_firm_is_another(out), persona.other_firm_tag)
    tag_codes, tag_sets = pd.factorize(out["title_tags"], use_na_sentinel=False)
    out["title_status"] = spread(
        [title_status(split_values(tags), persona) for tags in tag_sets], tag_codes
    )
    return out


# The enriched columns read off each distinct title's profile.
_PROFILE_COLUMNS: dict[str, Callable[[TitleProfile], object]] = {
    "title_role": lambda profile: profile.role_text,
    "title_seniority": lambda profile: profile.seniority,
    "title_departments": lambda profile: join_values(profile.departments),
    "title_tags": lambda profile: join_values(profile.tags),
    "title_flags": lambda profile: join_values(profile.flags),
    "title_employer": lambda profile: profile.employer,
    "title_roles_held": lambda profile: profile.roles_held,
    "title_qualifiers": lambda profile: profile.qualifiers,
}
# Counts, stored as integers.
_COUNT_COLUMNS = frozenset({"title_roles_held", "title_qualifiers"})


def _add_tag(leads: pd.DataFrame, rows: pd.Series, tag: str) -> None:
    leads.loc[rows, "title_tags"] = leads.loc[rows, "title_tags"].map(
        lambda tags: join_values(split_values(tags) | {tag})
    )


def _named_firm_is_another(leads: pd.DataFrame) -> pd.Series:
    """Leads whose title names a firm that is not their company. Only titles that name an
    employer can; each firm and each company is read once."""
    verdicts = np.zeros(len(leads), dtype=bool)
    naming = np.flatnonzero((leads["title_employer"] != "").to_numpy())
    if len(naming):
        # The three columns read, not all of the table's.
        subset = leads[["title_employer", "account_name", "account_domain"]].iloc[naming]
        firm_codes, firms = pd.factorize(subset["title_employer"])
        named = [firm_words(firm) for firm in firms]
        company_codes, first = distinct_rows(subset, ("account_name", "account_domain"))
        companies = [
            company_words(name, domain)
            for name, domain in zip(
                subset["account_name"].to_numpy()[first],
                subset["account_domain"].to_numpy()[first],
                strict=True,
            )
        ]
        # Once per distinct (firm, company): a company's leads name the same few firms.
        pairs = {"firm": firm_codes, "company": company_codes}
        case_codes, first_of_case = distinct_rows(pairs, ("firm", "company"))
        per_case = np.array(
            [
                not same_firm(named[firm_codes[row]], companies[company_codes[row]])
                for row in first_of_case
            ],
            dtype=bool,
        )
        verdicts[naming] = per_case[case_codes]
    return pd.Series(verdicts, index=leads.index)


def _public_administrations(leads: pd.DataFrame, persona: Persona) -> pd.Series:
    """Leads whose account name or industry says a public administration (once per company)."""
    if not persona.public_administration_phrases:
        return pd.Series(False, index=leads.index)
    pattern = re.compile(
        r"\b(?:" + "|".join(map(re.escape, persona.public_administration_phrases)) + r")\b"
    )
    # Once per distinct company name and industry: a company's leads share both.
    codes, first = distinct_rows(leads, _DESCRIBING)
    names, industries = (leads[column].to_numpy()[first] for column in _DESCRIBING)
    verdicts = np.array(
        [
            bool(pattern.search(normalize_text(f"{_text(name)} {_text(industry)}")))
            for name, industry in zip(names, industries, strict=True)
        ],
        dtype=bool,
    )
    return pd.Series(verdicts[codes], index=leads.index)


# What says a company is a public administration: its name and its industry.
_DESCRIBING = ("account_name", "account_industry")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""

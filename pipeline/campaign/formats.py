"""The campaign file in the sending tool's own import format.

Each layout writes the column names the tool's CSV import documents (cited in
docs/configuration.md), with values in the form it asks for, then the source columns the
client chose to keep under their own names. `generic` is every column of ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pandas as pd

from pipeline.persona.sizing import parse_employee_count
from pipeline.ranking.ranked_table import CAMPAIGN_COLUMNS

# Ours: the campaign table's columns, the kept ones written as their own columns instead.
GENERIC_COLUMNS: tuple[str, ...] = tuple(
    name
    for name in CAMPAIGN_COLUMNS
    if name not in ("account_employee_range", "account_industry", "kept_columns")
)
LEAD_SOURCE = "Persona Ranker"
Column = Callable[[pd.DataFrame], pd.Series]


def _our(name: str) -> Column:
    return lambda rows: rows[name]


_PHONE = _our("phone")


def _record_id_from(system: str) -> Column:
    """The source's record id where the lead came from this tool: its import updates that
    record. Blank for leads from elsewhere, which the import creates."""
    return lambda rows: rows["source_record_id"].where(rows["source_system"] == system, "")


def _website(rows: pd.DataFrame) -> pd.Series:
    return rows["account_website"].where(rows["account_website"] != "", rows["account_domain"])


def _employee_count(rows: pd.DataFrame) -> pd.Series:
    """A number field takes a number: a range's floor ('51-200' -> 51), blank when unread."""
    counts = rows["account_employee_range"].map(parse_employee_count)
    return counts.map(lambda count: "" if count is None else str(count))


def _description(rows: pd.DataFrame) -> pd.Series:
    return (
        "Persona Ranker rank "
        + rows["company_rank"].astype(str)
        + " at "
        + rows["account_name"]
        + ": "
        + rows["reasoning"]
    )


LAYOUTS: Mapping[str, tuple[tuple[str, Column], ...]] = {
    "generic": tuple((name, _PHONE if name == "phone" else _our(name)) for name in GENERIC_COLUMNS),
    # HubSpot contacts: headers named as the contact properties; Record ID updates a record.
    "hubspot": (
        ("First Name", _our("lead_first_name")),
        ("Last Name", _our("lead_last_name")),
        ("Email", _our("email")),
        ("Phone Number", _PHONE),
        ("Job Title", _our("lead_job_title")),
        ("Company Name", _our("account_name")),
        ("Website URL", _website),
        ("LinkedIn URL", _our("linkedin_url")),
        ("Record ID", _record_id_from("hubspot")),
    ),
    # Salesforce leads: the Data Import Wizard's labels; Last Name and Company are required.
    "salesforce": (
        ("First Name", _our("lead_first_name")),
        ("Last Name", _our("lead_last_name")),
        ("Title", _our("lead_job_title")),
        ("Company", _our("account_name")),
        ("Email", _our("email")),
        ("Phone", _PHONE),
        ("Website", _website),
        ("Industry", _our("account_industry")),
        ("No. of Employees", _employee_count),
        ("Lead Source", lambda rows: pd.Series(LEAD_SOURCE, index=rows.index)),
        ("Description", _description),
        ("LinkedIn URL", _our("linkedin_url")),
        ("Lead ID", _record_id_from("salesforce")),
    ),
    # Outreach prospects: the prospect fields its CSV import maps to.
    "outreach": (
        ("First Name", _our("lead_first_name")),
        ("Last Name", _our("lead_last_name")),
        ("Email", _our("email")),
        ("Title", _our("lead_job_title")),
        ("Company", _our("account_name")),
        ("Work Phone", _PHONE),
        ("LinkedIn URL", _our("linkedin_url")),
        ("Website", _website),
        ("Tags", lambda rows: pd.Series("persona-ranker", index=rows.index)),
    ),
    # Apollo contacts: the website as a bare domain, without www. or a scheme, as it asks.
    "apollo": (
        ("First Name", _our("lead_first_name")),
        ("Last Name", _our("lead_last_name")),
        ("Title", _our("lead_job_title")),
        ("Company Name", _our("account_name")),
        ("Company Website", _our("account_domain")),
        ("Contact Email", _our("email")),
        ("Contact LinkedIn URL", _our("linkedin_url")),
        ("Contact Phone", _PHONE),
    ),
    # lemlist leads: its lead fields by their API names, which its import maps by name.
    "lemlist": (
        ("email", _our("email")),
        ("firstName", _our("lead_first_name")),
        ("lastName", _our("lead_last_name")),
        ("companyName", _our("account_name")),
        ("jobTitle", _our("lead_job_title")),
        ("linkedinUrl", _our("linkedin_url")),
        ("phone", _PHONE),
        ("companyDomain", _our("account_domain")),
    ),
}
EXPORT_FORMATS: tuple[str, ...] = tuple(LAYOUTS)
# Each layout's phone column: the one place a leading '+' is a phone number, not a formula.
PHONE_HEADERS: Mapping[str, str] = {
    name: header
    for name, layout in LAYOUTS.items()
    for header, column in layout
    if column is _PHONE
}


def check_export_format(name: str) -> str:
    if name not in LAYOUTS:
        raise ValueError(f"unknown export format {name!r} (choose from {', '.join(LAYOUTS)})")
    return name


def in_export_format(rows: pd.DataFrame, export_format: str) -> pd.DataFrame:
    """The campaign rows (campaign table columns) as the tool imports them."""
    layout = LAYOUTS[check_export_format(export_format)]
    out = pd.DataFrame({header: column(rows) for header, column in layout}, index=rows.index)
    kept = kept_columns(rows)
    for name in kept.columns:
        # A kept column named like one of the layout's keeps its name with a mark.
        out[name if name not in out.columns else f"{name} (source)"] = kept[name]
    return out.reset_index(drop=True)


def kept_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """The source columns each row kept (JSON in `kept_columns`), one column each."""
    parsed = [json.loads(text) if text else {} for text in rows["kept_columns"]]
    names = list(dict.fromkeys(name for entry in parsed for name in entry))
    return pd.DataFrame(
        {name: [entry.get(name, "") for entry in parsed] for name in names}, index=rows.index
    )

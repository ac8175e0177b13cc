"""Do not contact: a client's list of people who opted out, existing customers and
competitors, and which leads it covers.

A suppression file is a CSV or Excel file (or a plain list, one entry a line). With a header,
its columns say what each cell is (email, LinkedIn URL, domain, company name) and an optional
`reason` column says why; without one, every cell is read for what it looks like. Matching
ignores case, surrounding spaces and invisible characters; a domain covers its subdomains
and `www.`, on the company's website and on the person's email address alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from pipeline.leads.companies import company_name_key, normalize_domain
from pipeline.leads.records import LeadsFileError
from pipeline.leads.sources import header_key
from pipeline.leads.tables import read_table
from pipeline.leads.text import clean_cell

SUPPRESSION_COLUMNS = ("kind", "value", "match_key", "reason", "source_file", "source_row")
KINDS = ("email", "linkedin", "domain", "company")
DEFAULT_REASON = "on the do-not-contact list"
_HEADERS = {
    "email": {"email", "email address", "e mail", "work email", "emails"},
    "linkedin": {
        "linkedin",
        "linkedin url",
        "linkedin profile",
        "linkedin profile url",
        "person linkedin url",
        "profile url",
    },
    "domain": {"domain", "domains", "website", "company domain", "website url", "url"},
    "company": {"company", "company name", "account", "account name", "organization"},
    "reason": {"reason", "note", "notes", "comment", "type", "category", "list"},
    "": {"value", "entry", "contact", "do not contact"},
}
_LINKEDIN = re.compile(r"(?:^|[/.])linkedin\.com(/[^?#]*)", re.IGNORECASE)


class SuppressionFileError(LeadsFileError):
    """The suppression file cannot be used; the message names it, and the row where one is
    to blame."""


def read_suppression_file(path: str | Path) -> pd.DataFrame:
    """One row per entry (`SUPPRESSION_COLUMNS`). A file that cannot be read, or is empty,
    is an error: a do-not-contact list that lost its contents must stop the campaign, not
    let it through (a header line alone is an empty list)."""
    path = Path(path)
    try:
        table = read_table(path, single_column=True)
    except LeadsFileError as error:
        raise SuppressionFileError(f"suppression list: {error}") from None
    except OSError as error:
        raise SuppressionFileError(
            f"suppression list: {path}: cannot be read ({error.strerror})"
        ) from None
    rows = list(table.rows)
    kinds = _header_kinds(rows[0][1]) if rows else None
    body = rows[1:] if kinds else rows
    entries = pd.DataFrame(list(_entries(body, kinds, path)), columns=list(SUPPRESSION_COLUMNS))
    entries = entries.astype({"source_row": "int64"})
    return entries.drop_duplicates(["kind", "match_key"]).reset_index(drop=True)


def _header_kinds(cells: list[str]) -> list[str | None] | None:
    """Each column's kind ('' for read-by-look, 'reason', or None for a column to skip), when
    the first row is a header."""
    keys = [header_key(clean_cell(cell)) for cell in cells]
    kinds = [next((k for k, names in _HEADERS.items() if key in names), None) for key in keys]
    return kinds if any(kind is not None for kind in kinds) else None


def _entries(
    rows: list[tuple[int, list[str]]], kinds: list[str | None] | None, path: Path
) -> Iterator[tuple[str, str, str, str, str, int]]:
    for line, cells in rows:
        values = [clean_cell(cell) for cell in cells]
        named = kinds or [""] * len(values)
        reason = next(
            (v for v, kind in zip(values, named, strict=False) if kind == "reason" and v),
            DEFAULT_REASON,
        )
        for value, kind in zip(values, named, strict=False):
            if not value or kind in (None, "reason"):
                continue
            entry_kind = kind or _looks_like(value)
            key = match_key(entry_kind, value)
            if not key:
                raise SuppressionFileError(
                    f"suppression list: {path}: row {line}: {value!r} is no {entry_kind}"
                )
            yield entry_kind, value, key, reason, path.name, line


def _looks_like(value: str) -> str:
    if _LINKEDIN.search(value):
        return "linkedin"
    if "@" in value.strip("@"):
        return "email"
    if value.startswith("@") or (" " not in value and normalize_domain(value)):
        return "domain"
    return "company"


def match_key(kind: str, value: str) -> str:
    """What an entry or a lead is compared by; '' when the value holds none."""
    text = clean_cell(value)
    if kind == "email":
        address = text.casefold().removeprefix("mailto:").strip()
        return address if "@" in address.strip("@") else ""
    if kind == "linkedin":
        found = _LINKEDIN.search(text)
        return "linkedin.com" + found.group(1).rstrip("/").casefold() if found else ""
    if kind == "domain":
        return normalize_domain(text.lstrip("@"))
    return company_name_key(text)


def suppressed_reasons(leads: pd.DataFrame, entries: pd.DataFrame) -> pd.Series:
    """Each lead's reason for not being contacted ('' for none): `leads` has email,
    linkedin_url, account_domain and account_name. Each distinct value is keyed once: files
    repeat companies, domains and often addresses."""
    if entries.empty:
        return pd.Series("", index=leads.index, dtype=object)
    lists = {
        kind: dict(zip(group["match_key"], _described(group), strict=True))
        for kind, group in entries.groupby("kind")
    }
    emails, linkedin, domains, companies = (lists.get(kind, {}) for kind in KINDS)
    addresses = _by_distinct(leads["email"], lambda value: match_key("email", value))
    found = addresses.map(emails)
    if linkedin:
        profiles = _by_distinct(leads["linkedin_url"], lambda value: match_key("linkedin", value))
        found = found.fillna(profiles.map(linkedin))
    if domains:
        for hosts in (leads["account_domain"], addresses.str.rpartition("@")[2]):
            found = found.fillna(_by_distinct(hosts, lambda host: _domain_reason(domains, host)))
    if companies:
        found = found.fillna(
            _by_distinct(leads["account_name"], lambda name: companies.get(company_name_key(name)))
        )
    return found.fillna("").astype(object)


def _by_distinct(values: pd.Series, work: Callable[[str], str | None]) -> pd.Series:
    """`work` of every value, computed once per distinct value ('' and None stay empty)."""
    results = {value: work(value) if value else None for value in values.unique()}
    return values.map(results)


def _described(group: pd.DataFrame) -> list[str]:
    return [
        f"{reason} ({kind} {value})"
        for kind, value, reason in zip(group["kind"], group["value"], group["reason"], strict=True)
    ]


def _domain_reason(domains: dict[str, str], host: str) -> str | None:
    """The entry covering the host or a domain above it ('eu.acme.com' is acme.com's)."""
    parts = normalize_domain(host).split(".")
    for start in range(len(parts) - 1):
        found = domains.get(".".join(parts[start:]))
        if found:
            return found
    return None

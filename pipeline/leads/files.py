"""Reading lead exports as CRMs, list vendors and scrapers write them: CSV, Excel, gzip or zip;
any common encoding, delimiter and column naming; every row checked, bad rows set aside with
the reason, good rows kept.

A problem with the whole file (empty, not a table, a required column missing, two columns
that both could be one of ours) is a `LeadsFileError` naming the file. A problem with a row
(wrong number of fields, a corrupt byte, no company, the same person again) puts the row in
`rejected` with its line, column, value and reason; with `strict=True` any such row fails the
read instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.leads.companies import normalize_domain
from pipeline.leads.records import LEAD_COLUMNS, REQUIRED_COLUMNS, LeadsFileError, identities
from pipeline.leads.tables import read_table
from pipeline.leads.text import clean_cell

REJECTED_COLUMNS = ("source_file", "source_row", "column", "value", "reason")
# Header names seen in CRM, LinkedIn and scraper exports, compared after `_header_key`
# (camelCase and snake_case split into words).
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "account_name": (
        "company",
        "company name",
        "account name",
        "account",
        "organization",
        "organisation",
        "organization name",
        "employer",
    ),
    "lead_first_name": ("first name", "firstname", "given name", "first"),
    "lead_last_name": ("last name", "lastname", "surname", "family name", "last"),
    "lead_job_title": ("job title", "title", "position", "role", "headline"),
    "account_domain": (
        "domain",
        "website",
        "company website",
        "company domain",
        "url",
        "website url",
        "company url",
        "company website url",
    ),
    "account_employee_range": (
        "employees",
        "# employees",
        "employee range",
        "company size",
        "number of employees",
        "headcount",
        "employee count",
        "company employee count",
        "company headcount",
        "size",
    ),
    "account_industry": ("industry", "company industry"),
}
FULL_NAME_ALIASES = ("full name", "name", "lead name", "contact name", "contact")
# Several URL columns are common (a website and a LinkedIn page): each row takes the first
# that holds a company domain, so none is dropped and a social network never becomes one.
_COMBINED_COLUMNS = frozenset({"account_domain"})
_ROW_PREVIEW = 10


@dataclass(frozen=True)
class LeadFile:
    """Good rows (`source_file`, `source_row`, the lead columns, `company_key`, `lead_id`),
    rejected rows (`REJECTED_COLUMNS`) and how the file was read."""

    leads: pd.DataFrame
    rejected: pd.DataFrame
    encoding: str
    delimiter: str
    # Our column -> the file's header(s) it was read from.
    columns: dict[str, str] = field(default_factory=dict)
    format: str = ""

    def describe(self) -> str:
        mapped = ", ".join(f"{theirs!r} -> {ours}" for ours, theirs in self.columns.items())
        return (
            f"{len(self.leads)} leads, {len(self.rejected)} rows rejected; "
            f"{self.format}; columns: {mapped}"
        )


def read_lead_file(
    path: str | Path,
    strict: bool = False,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> LeadFile:
    """`sheet` picks an Excel sheet (the first by default); `columns` maps one of ours to the
    file's header, where the header names alone do not say which to read."""
    path = Path(path)
    table = read_table(path, sheet)
    header = [clean_cell(name) for name in table.header]
    sources, full_name = map_columns(header, path, columns or {})
    rows = []
    for line, fields in table.records:
        values = dict(zip(header, (clean_cell(value) for value in fields), strict=True))
        row = {ours: _pick(theirs, values) for ours, theirs in sources.items()}
        if full_name:
            first, _, last = values[full_name].partition(" ")
            row["lead_first_name"], row["lead_last_name"] = first, last.strip()
        rows.append({"source_file": path.name, "source_row": line, **row})
    # Optional columns the file lacks are empty, as in a full export with blank cells.
    frame = pd.DataFrame(rows, columns=["source_file", "source_row", *LEAD_COLUMNS]).fillna("")
    leads, identity_rejects = _with_identities(frame)
    rejected = [
        _reject(path, row.line, "", row.value, row.reason) for row in table.rejected
    ] + identity_rejects
    rejected_frame = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    if strict and not rejected_frame.empty:
        raise LeadsFileError(f"{path}: --strict: {_summary(rejected_frame)}")
    if leads.empty:
        detail = f": {_summary(rejected_frame)}" if not rejected_frame.empty else ""
        raise LeadsFileError(f"{path}: no usable leads{detail}")
    mapping = {ours: " | ".join(theirs) for ours, theirs in sources.items()}
    if full_name:
        mapping["lead_first_name"] = mapping["lead_last_name"] = f"{full_name} (split)"
    return LeadFile(
        leads, rejected_frame, table.encoding, table.delimiter, mapping, table.describe()
    )


def _pick(theirs: list[str], values: Mapping[str, str]) -> str:
    """The row's value; of several URL columns, the first holding a company domain."""
    if len(theirs) == 1:
        return values[theirs[0]]
    domains = [values[name] for name in theirs if normalize_domain(values[name])]
    return domains[0] if domains else next((values[n] for n in theirs if values[n]), "")


def _header_key(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return " ".join(re.sub(r"[^a-z0-9#]+", " ", spaced.lower()).split())


def map_columns(
    header: list[str], path: Path, chosen: Mapping[str, str] | None = None
) -> tuple[dict[str, list[str]], str | None]:
    """Our column -> the file's header(s), and the full-name column to split when the file has
    no first and last names. Two headers that both could be one of ours are refused, unless
    `chosen` names the one to read."""
    chosen = dict(chosen or {})
    unknown = sorted(set(chosen) - set(LEAD_COLUMNS))
    if unknown:
        raise LeadsFileError(
            f"{path}: --columns names {', '.join(unknown)}: not one of ours "
            f"({', '.join(LEAD_COLUMNS)})"
        )
    for ours, theirs in chosen.items():
        if theirs not in header:
            raise LeadsFileError(
                f"{path}: --columns {ours}={theirs}: no such column (found: {', '.join(header)})"
            )
    by_key: dict[str, list[str]] = {}
    for name in header:
        by_key.setdefault(_header_key(name), []).append(name)
    taken = set(chosen.values())
    columns: dict[str, list[str]] = {ours: [theirs] for ours, theirs in chosen.items()}
    for ours in LEAD_COLUMNS:
        if ours in columns:
            continue
        keys = (_header_key(ours), *COLUMN_ALIASES[ours])
        found = [n for key in dict.fromkeys(keys) for n in by_key.get(key, []) if n not in taken]
        if len(found) > 1 and ours not in _COMBINED_COLUMNS:
            raise LeadsFileError(
                f"{path}: columns {' and '.join(map(repr, found))} could each be {ours}; "
                f'choose one with --columns "{ours}={found[0]}"'
            )
        if found:
            columns[ours] = found
    full_name = None
    if not {"lead_first_name", "lead_last_name"} <= columns.keys():
        names = [n for alias in FULL_NAME_ALIASES for n in by_key.get(alias, [])]
        full_name = names[0] if names else None
    missing = [
        column
        for column in REQUIRED_COLUMNS
        if column not in columns
        and not (full_name and column in ("lead_first_name", "lead_last_name"))
    ]
    if missing:
        accepted = ", ".join(f"'{alias}'" for alias in COLUMN_ALIASES[missing[0]])
        raise LeadsFileError(
            f"{path}: missing required column '{missing[0]}' (found: "
            f"{', '.join(header) or 'none'}; accepted names: {accepted}; or name it with "
            f'--columns "{missing[0]}=<header>")'
        )
    if full_name:
        for column in ("lead_first_name", "lead_last_name"):
            columns.pop(column, None)
    return columns, full_name


def _with_identities(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """`company_key` and `lead_id` for every row; rows without a company, and the same
    person again, are set aside."""
    rejected: list[dict[str, object]] = []
    keys, ids = identities(frame)
    keep = []
    first_seen: dict[str, int] = {}
    for index, (key, identity, line, source) in enumerate(
        zip(keys, ids, frame["source_row"], frame["source_file"], strict=True)
    ):
        if not key:
            rejected.append(
                _reject(
                    source,
                    line,
                    "account_name",
                    frame.at[index, "account_name"],
                    "no company: account_name is empty and account_domain holds no domain",
                )
            )
        elif identity in first_seen:
            rejected.append(
                _reject(
                    source,
                    line,
                    "",
                    frame.at[index, "lead_job_title"],
                    f"duplicate of row {first_seen[identity]}: same person, title and company",
                )
            )
        else:
            first_seen[identity] = line
            keep.append(index)
    out = frame.assign(company_key=keys, lead_id=ids).loc[keep].reset_index(drop=True)
    return out, rejected


def _reject(
    source: object, line: object, column: str, value: object, reason: str
) -> dict[str, object]:
    name = source.name if isinstance(source, Path) else source
    return {
        "source_file": name,
        "source_row": line,
        "column": column,
        "value": str(value),
        "reason": reason,
    }


def _summary(rejected: pd.DataFrame) -> str:
    shown = "; ".join(
        f"line {row.source_row}: {row.reason}"
        for row in rejected.head(_ROW_PREVIEW).itertuples(index=False)
    )
    more = f" (and {len(rejected) - _ROW_PREVIEW} more)" if len(rejected) > _ROW_PREVIEW else ""
    return f"{len(rejected)} bad row(s): {shown}{more}"

"""Reading lead exports as CRMs and scrapers write them: any common encoding, delimiter and
column naming; every row checked, bad rows set aside with the reason, good rows kept.

A problem with the whole file (empty, not text, not a table, a required column missing) is a
`LeadsFileError` naming the file. A problem with a row (wrong number of fields, no company, the
same person again) puts the row in `rejected` with its line, column, value and reason; with
`strict=True` any such row fails the read instead.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.leads.records import LEAD_COLUMNS, REQUIRED_COLUMNS, LeadsFileError, identities

REJECTED_COLUMNS = ("source_file", "source_row", "column", "value", "reason")
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Header names seen in CRM, LinkedIn and scraper exports, compared after `_header_key`.
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "account_name": (
        "company",
        "company name",
        "account name",
        "account",
        "organization",
        "organisation",
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
    ),
    "account_employee_range": (
        "employees",
        "# employees",
        "employee range",
        "company size",
        "number of employees",
        "headcount",
        "employee count",
        "size",
    ),
    "account_industry": ("industry", "company industry"),
}
FULL_NAME_ALIASES = ("full name", "name", "lead name", "contact name", "contact")
_SAMPLE_CHARS = 64_000
_ROW_PREVIEW = 10


@dataclass(frozen=True)
class LeadFile:
    """Good rows (`source_file`, `source_row`, the lead columns, `company_key`, `lead_id`),
    rejected rows (`REJECTED_COLUMNS`) and how the file was read."""

    leads: pd.DataFrame
    rejected: pd.DataFrame
    encoding: str
    delimiter: str
    # Our column -> the file's header it was read from.
    columns: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        mapped = ", ".join(f"{theirs!r} -> {ours}" for ours, theirs in self.columns.items())
        return (
            f"{len(self.leads)} leads, {len(self.rejected)} rows rejected; "
            f"encoding {self.encoding}, {_DELIMITER_NAMES[self.delimiter]}-separated; "
            f"columns: {mapped}"
        )


def read_lead_file(path: str | Path, strict: bool = False) -> LeadFile:
    path = Path(path)
    text, encoding = decode(path)
    delimiter = sniff_delimiter(text, path)
    header, records, rejected = _records(text, delimiter, path)
    columns, full_name = map_columns(header, path)
    rows = []
    for line, fields in records:
        values = dict(zip(header, fields, strict=True))
        row = {ours: values[theirs].strip() for ours, theirs in columns.items()}
        if full_name:
            first, _, last = values[full_name].strip().partition(" ")
            row["lead_first_name"], row["lead_last_name"] = first, last.strip()
        rows.append({"source_file": path.name, "source_row": line, **row})
    # Optional columns the file lacks are empty, as in a full export with blank cells.
    frame = pd.DataFrame(rows, columns=["source_file", "source_row", *LEAD_COLUMNS]).fillna("")
    leads, identity_rejects = _with_identities(frame)
    rejected.extend(identity_rejects)
    rejected_frame = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    if strict and not rejected_frame.empty:
        raise LeadsFileError(f"{path}: --strict: {_summary(rejected_frame)}")
    if leads.empty:
        detail = f": {_summary(rejected_frame)}" if not rejected_frame.empty else ""
        raise LeadsFileError(f"{path}: no usable leads{detail}")
    mapping = dict(columns)
    if full_name:
        mapping["lead_first_name"] = mapping["lead_last_name"] = f"{full_name} (split)"
    return LeadFile(leads, rejected_frame, encoding, delimiter, mapping)


def decode(path: Path) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (with or without BOM), UTF-16 with
    a BOM, else Windows-1252 (a superset of Latin-1 for text), never silently."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise LeadsFileError(f"{path}: file not found") from error
    if not raw.strip():
        raise LeadsFileError(f"{path}: the file is empty")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    if b"\x00" in raw[:_SAMPLE_CHARS]:
        raise LeadsFileError(f"{path}: not a text file (binary content): expected a CSV")
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str, path: Path) -> str:
    """The delimiter that splits the header into the most fields (quotes respected)."""
    first_line = text.lstrip()[:1]
    if first_line in ("<", "{", "["):
        raise LeadsFileError(f"{path}: looks like HTML or JSON, not a CSV")
    header = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    if counts[best] < 2:
        raise LeadsFileError(
            f"{path}: not a CSV: the first line has no comma, semicolon, tab or pipe "
            "separating columns"
        )
    return best


def _records(
    text: str, delimiter: str, path: Path
) -> tuple[list[str], list[tuple[int, list[str]]], list[dict[str, object]]]:
    """Header and rows with the line each starts on; rows of the wrong width set aside."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
        records: list[tuple[int, list[str]]] = []
        rejected: list[dict[str, object]] = []
        line = reader.line_num + 1
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not any(value.strip() for value in fields):
                continue  # blank line
            if len(fields) > len(header) and not any(v.strip() for v in fields[len(header) :]):
                fields = fields[: len(header)]  # trailing empty fields some exports add
            if len(fields) != len(header):
                rejected.append(
                    _reject(
                        path,
                        start,
                        "",
                        delimiter.join(fields)[:200],
                        f"{len(fields)} fields where the header has {len(header)}",
                    )
                )
                continue
            records.append((start, fields))
    except csv.Error as error:
        raise LeadsFileError(
            f"{path}: line {reader.line_num}: not a readable CSV ({error})"
        ) from error
    if not records and not rejected:
        raise LeadsFileError(f"{path}: the file holds a header but no leads")
    return header, records, rejected


def _header_key(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9#]+", " ", name.lower()).split())


def map_columns(header: list[str], path: Path) -> tuple[dict[str, str], str | None]:
    """Our column -> the file's header, and the full-name column to split when the file has
    no first and last names."""
    by_key = {}
    for name in header:
        by_key.setdefault(_header_key(name), name)
    columns: dict[str, str] = {}
    for ours in LEAD_COLUMNS:
        for candidate in (_header_key(ours), *COLUMN_ALIASES[ours]):
            if candidate in by_key:
                columns[ours] = by_key[candidate]
                break
    full_name = None
    if not {"lead_first_name", "lead_last_name"} <= columns.keys():
        full_name = next((by_key[a] for a in FULL_NAME_ALIASES if a in by_key), None)
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
            f"{', '.join(header) or 'none'}; accepted names: {accepted})"
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

"""Reading lead exports as CRMs, list vendors and scrapers write them: CSV, Excel, gzip or zip;
any common encoding, delimiter and column naming; every row checked, bad rows set aside with
the reason, good rows kept.

The header is the first of the top rows that holds our required columns: CRM reports put a
title, filters and blank rows above it. Known tools' exports are recognised by their headers
(`pipeline.leads.sources`). A problem with the whole file (empty, not a table, a required
column missing, two columns that both could be one of ours) is a `LeadsFileError` naming the
file. A problem with a row (wrong number of fields, a corrupt byte, no company, no person, a
report's total or footer line, the same person again) puts the row in `rejected` with its
line, column, value and reason; with `strict=True` any such row fails the read instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.leads.columns import (
    MAPPED_COLUMNS,
    MissingColumnError,
    kept_headers,
    map_columns,
    pick,
)
from pipeline.leads.companies import normalize_domain
from pipeline.leads.records import LeadsFileError, identities
from pipeline.leads.sources import ExportSource
from pipeline.leads.tables import RawTable, read_table
from pipeline.leads.text import clean_cell

REJECTED_COLUMNS = ("source_file", "source_row", "column", "value", "reason")
_ROW_PREVIEW = 10
# How far down a report's title, filters and blank rows may push the header.
HEADER_SEARCH_ROWS = 30
# First cells of the lines CRM reports write below the data: totals, the confidentiality
# notice, who generated it when.
_FOOTER = re.compile(
    r"^(?:(?:grand\s+)?totals?\b|sub-?totals?\b|count\b|record\s+count|generated\s+(?:by|on|at)\b"
    r"|confidential|copyright|\(c\)|©|filtered\s+by\b|report\s+(?:generated|run)\b"
    r"|exported\s+(?:by|on|at)\b|powered\s+by\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LeadFile:
    """Good rows (`source_file`, `source_row`, the lead, contact and source columns,
    `company_key`, `lead_id`), rejected rows (`REJECTED_COLUMNS`) and how the file was read."""

    leads: pd.DataFrame
    rejected: pd.DataFrame
    encoding: str
    delimiter: str
    # Our column -> the file's header(s) it was read from.
    columns: dict[str, str] = field(default_factory=dict)
    format: str = ""
    # The line the header was found on (1 unless a report's title rows come first).
    header_row: int = 1
    # The tool the export is recognised as ("Apollo"), or "".
    source: str = ""

    def describe(self) -> str:
        mapped = ", ".join(f"{theirs!r} -> {ours}" for ours, theirs in self.columns.items())
        where = f"header on row {self.header_row}; " if self.header_row != 1 else ""
        source = f"{self.source} export; " if self.source else ""
        return (
            f"{len(self.leads)} leads, {len(self.rejected)} rows rejected; {source}{where}"
            f"{self.format}; columns: {mapped}"
        )


def read_lead_file(
    path: str | Path,
    strict: bool = False,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
    keep: Sequence[str] = (),
) -> LeadFile:
    """`sheet` picks an Excel sheet (the first by default); `columns` maps one of ours to the
    file's header, where the header names alone do not say which to read; `keep` names other
    columns of the file to carry to the campaign file."""
    path = Path(path)
    table = read_table(path, sheet)
    if len(table.rows) == 1 and not table.rejected:
        raise LeadsFileError(f"{path}: {_where(table)} holds a header but no leads{_hint(table)}")
    header_index, header, (sources, full_name, source) = _locate_header(table, path, columns)
    header_line = table.rows[header_index][0]
    kept = kept_headers(header, keep, path)
    body, row_rejects = _body(table, header_index, header, path)
    if not body and not row_rejects:
        raise LeadsFileError(f"{path}: {_where(table)} holds a header but no leads{_hint(table)}")
    rows = []
    for line, values in body:
        row = {ours: pick(ours, theirs, values) for ours, theirs in sources.items()}
        if full_name:
            first, _, last = values[full_name].partition(" ")
            row["lead_first_name"], row["lead_last_name"] = first, last.strip()
        reason = _not_a_lead(values, row)
        if reason:
            row_rejects.append(_reject(path, line, "", _shown(values), reason))
            continue
        row["kept_columns"] = json.dumps({name: values[name] for name in kept}) if kept else ""
        # A lead base written by the inbox says which tool each row came from.
        row["source_system"] = values.get("source_system") or (source.system if source else "")
        rows.append({"source_file": path.name, "source_row": line, **row})
    # Optional columns the file lacks are empty, as in a full export with blank cells.
    frame = pd.DataFrame(
        rows,
        columns=["source_file", "source_row", *MAPPED_COLUMNS, "source_system", "kept_columns"],
    ).fillna("")
    frame.insert(frame.columns.get_loc("source_system"), "account_website", frame["account_domain"])
    frame["account_domain"] = frame["account_website"].map(normalize_domain)
    leads, identity_rejects = _with_identities(frame)
    rejected = (
        [_reject(path, row.line, "", row.value, row.reason) for row in table.rejected]
        + sorted(row_rejects, key=lambda reject: int(reject["source_row"]))
        + identity_rejects
    )
    rejected_frame = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    if strict and not rejected_frame.empty:
        raise LeadsFileError(f"{path}: --strict: {_summary(rejected_frame)}")
    if leads.empty:
        detail = f": {_summary(rejected_frame)}" if not rejected_frame.empty else ""
        raise LeadsFileError(f"{path}: no usable leads{detail}")
    mapping = {ours: " | ".join(theirs) for ours, theirs in sources.items()}
    if full_name:
        mapping["lead_first_name"] = mapping["lead_last_name"] = f"{full_name} (split)"
    for name in kept:
        mapping[f"kept: {name}"] = name
    return LeadFile(
        leads,
        rejected_frame,
        table.encoding,
        table.delimiter,
        mapping,
        table.describe(),
        header_line,
        source.name if source else "",
    )


def _locate_header(
    table: RawTable, path: Path, chosen: Mapping[str, str] | None
) -> tuple[int, list[str], tuple[dict[str, list[str]], str | None, ExportSource | None]]:
    """The first of the top rows that holds our required columns, its names and how they
    map; the first row's error when none does."""
    first_error: MissingColumnError | None = None
    for index, (_line, fields) in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        header = [clean_cell(name) for name in fields]
        try:
            return index, header, map_columns(header, path, chosen)
        except MissingColumnError as error:
            first_error = first_error or error
    if first_error is None:
        raise LeadsFileError(f"{path}: {_where(table)} holds no header{_hint(table)}")
    raise first_error


def _body(
    table: RawTable, header_index: int, header: list[str], path: Path
) -> tuple[list[tuple[int, dict[str, str]]], list[dict[str, object]]]:
    """The rows under the header as header -> cell; rows of the wrong width and a report's
    one-cell notes set aside."""
    width = len(header)
    rows: list[tuple[int, dict[str, str]]] = []
    rejected: list[dict[str, object]] = []
    for line, fields in table.rows[header_index + 1 :]:
        if len(fields) > width and not any(v.strip() for v in fields[width:]):
            fields = fields[:width]  # trailing empty fields some exports add
        filled = [value for value in fields if value.strip()]
        shown = (table.delimiter or ",").join(fields)[:200]
        if len(filled) == 1 and width > 2:
            reason = "a report's title, note or total line: one filled cell"
            rejected.append(_reject(path, line, "", shown, reason))
        elif len(fields) != width:
            reason = f"{len(fields)} fields where the header has {width}"
            rejected.append(_reject(path, line, "", shown, reason))
        else:
            values = dict(zip(header, (clean_cell(value) for value in fields), strict=True))
            rows.append((line, values))
    return rows, rejected


def _not_a_lead(values: Mapping[str, str], row: Mapping[str, str]) -> str:
    """Why a row is a report's footer or names nobody; '' for a lead."""
    first_cell = next((value for value in values.values() if value), "")
    names = row.get("lead_first_name") or row.get("lead_last_name")
    if _FOOTER.match(first_cell) and not (names and row.get("lead_job_title")):
        return f"a report's total or footer line ({first_cell[:40]!r})"
    if not names and not row.get("lead_job_title"):
        return "no person: the name and the title are empty"
    return ""


def _shown(values: Mapping[str, str]) -> str:
    return ",".join(values.values())[:200]


def _where(table: RawTable) -> str:
    return table.encoding.removeprefix("Excel ") if table.sheets else "the file"


def _hint(table: RawTable) -> str:
    if not table.sheets:
        return ""
    return f" (sheets: {', '.join(map(repr, table.sheets))}; choose one with --sheet)"


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

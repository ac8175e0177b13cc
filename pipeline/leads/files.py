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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.leads.body import HeaderMapping, body_rows, lead_columns, split_rows
from pipeline.leads.bulk_csv import ColumnBody, read_body_in_columns
from pipeline.leads.columns import MissingColumnError, kept_headers, map_columns
from pipeline.leads.companies import normalize_domain
from pipeline.leads.records import LeadsFileError, by_distinct, frame_of, identities
from pipeline.leads.sources import ExportSource
from pipeline.leads.tables import RawTable, read_table, whole_table
from pipeline.leads.text import clean_cell

REJECTED_COLUMNS = ("source_file", "source_row", "column", "value", "reason")
_ROW_PREVIEW = 10
# How far down a report's title, filters and blank rows may push the header.
HEADER_SEARCH_ROWS = 30


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
    table = read_table(path, sheet, head=HEADER_SEARCH_ROWS + 1)
    if len(table.rows) == 1 and not table.rejected:
        raise LeadsFileError(f"{path}: {_where(table)} holds a header but no leads{_hint(table)}")
    header_index, header, (sources, full_name, source) = _locate_header(table, path, columns)
    header_line = table.rows[header_index][0]
    mapping = HeaderMapping(header, sources, full_name, source, kept_headers(header, keep, path))
    table, cells, lines, others, filled = _body(table, header_index, path)
    cells, lines, row_rejects = body_rows(cells, lines, others, table.delimiter, filled)
    if cells.empty and not row_rejects:
        raise LeadsFileError(f"{path}: {_where(table)} holds a header but no leads{_hint(table)}")
    columns, lead_rejects = lead_columns(cells, lines, mapping, path.name)
    # The file's raw cells are the most this function holds, and identities no longer need
    # them: let go before the lead table is built.
    del cells
    leads, identity_rejects = _with_identities(columns)
    rejected = (
        [_reject(path, row.line, "", row.value, row.reason) for row in table.rejected]
        + [
            _reject(path, *rejection)
            for rejection in sorted(row_rejects + lead_rejects, key=lambda row: row[0])
        ]
        + identity_rejects
    )
    rejected_frame = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    if strict and not rejected_frame.empty:
        raise LeadsFileError(f"{path}: --strict: {_summary(rejected_frame)}")
    if leads.empty:
        detail = f": {_summary(rejected_frame)}" if not rejected_frame.empty else ""
        raise LeadsFileError(f"{path}: no usable leads{detail}")
    described = {ours: " | ".join(theirs) for ours, theirs in sources.items()}
    if full_name:
        described["lead_first_name"] = described["lead_last_name"] = f"{full_name} (split)"
    for name in mapping.kept:
        described[f"kept: {name}"] = name
    return LeadFile(
        leads,
        rejected_frame,
        table.encoding,
        table.delimiter,
        described,
        table.describe(),
        header_line,
        source.name if source else "",
    )


def _body(
    table: RawTable, header_index: int, path: Path
) -> tuple[RawTable, pd.DataFrame, np.ndarray, list[tuple[int, list[str]]], np.ndarray | None]:
    """The rows under the header: of a plain CSV read in columns by DuckDB, else by the row
    reader (the table then holds every row)."""
    columns = columnar_body(table, header_index)
    if columns is not None:
        # The decoded file is no longer needed once its rows are columns.
        return (
            replace(table, text=None),
            columns.cells,
            columns.lines,
            columns.refused,
            columns.filled,
        )
    table = whole_table(table, path)
    return (table, *row_body(table, header_index), None)


def columnar_body(table: RawTable, header_index: int) -> ColumnBody | None:
    """The rows under the header as DuckDB reads them, or None when only the row reader
    reads this file right (an Excel sheet, a cell holding a line break, ...)."""
    if table.text is None:
        return None
    line, fields = table.rows[header_index]
    return read_body_in_columns(table.text, table.delimiter, line, fields)


def row_body(
    table: RawTable, header_index: int
) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, list[str]]]]:
    """The rows under the header as the row reader read them (`table` holds every row)."""
    return split_rows(table.rows[header_index + 1 :], len(table.rows[header_index][1]))


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


def _where(table: RawTable) -> str:
    return table.encoding.removeprefix("Excel ") if table.sheets else "the file"


def _hint(table: RawTable) -> str:
    if not table.sheets:
        return ""
    return f" (sheets: {', '.join(map(repr, table.sheets))}; choose one with --sheet)"


def _with_identities(
    columns: dict[str, np.ndarray],
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """The leads with `account_website` (as written; `account_domain` the bare domain),
    `company_key` and `lead_id`; rows without a company, and the same person again, are set
    aside."""
    website = columns["account_domain"]
    columns = {**columns, "account_domain": by_distinct(website, normalize_domain)}
    keys, ids = identities(columns)
    named = keys != ""
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[named] = pd.Series(ids[named]).duplicated().to_numpy()
    kept = named & ~repeated
    # The line each repeated person was first read on, for the rejection's reason.
    firsts = kept & pd.Series(ids).isin(set(ids[repeated])).to_numpy()
    first_line = dict(zip(ids[firsts], columns["source_row"][firsts], strict=True))
    rejected = [
        _reject(
            columns["source_file"][at],
            columns["source_row"][at],
            "account_name",
            columns["account_name"][at],
            "no company: account_name is empty and account_domain holds no domain",
        )
        if not named[at]
        else _reject(
            columns["source_file"][at],
            columns["source_row"][at],
            "",
            columns["lead_job_title"][at],
            f"duplicate of row {first_line[ids[at]]}: same person, title and company",
        )
        for at in np.flatnonzero(~kept)
    ]
    ordered = {name: values[kept] for name, values in columns.items()}
    before_source = list(ordered).index("source_system")
    items = list(ordered.items())
    items.insert(before_source, ("account_website", website[kept]))
    items += [("company_key", keys[kept]), ("lead_id", ids[kept])]
    return frame_of(dict(items)), rejected


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

"""The rows under a leads file's header as leads, column by column: blank rows skipped, a
report's notes and rows of the wrong width set aside, cells cleaned once per distinct value,
each of our columns taken from the file's, and rows that name nobody set aside.

Both readers end here: DuckDB's columns for a plain CSV, Python's rows for everything else
(`split_rows` turns them into the same columns), so a file's leads do not depend on which
reader read it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.leads.columns import MAPPED_COLUMNS, wanted_value
from pipeline.leads.records import by_distinct
from pipeline.leads.sources import ExportSource
from pipeline.leads.text import clean_cell

# First cells of the lines CRM reports write below the data: totals, the confidentiality
# notice, who generated it when.
_FOOTER = re.compile(
    r"^(?:(?:grand\s+)?totals?\b|sub-?totals?\b|count\b|record\s+count|generated\s+(?:by|on|at)\b"
    r"|confidential|copyright|\(c\)|©|filtered\s+by\b|report\s+(?:generated|run)\b"
    r"|exported\s+(?:by|on|at)\b|powered\s+by\b)",
    re.IGNORECASE,
)
_SHOWN_CHARS = 200
_NOTE = "a report's title, note or total line: one filled cell"

# A rejected row as the reader reports it: (line, column, value, reason).
Rejection = tuple[int, str, str, str]


@dataclass(frozen=True)
class HeaderMapping:
    """How the header maps to ours (`pipeline.leads.columns.map_columns`) and the columns a
    user chose to keep."""

    header: list[str]
    sources: dict[str, list[str]]
    full_name: str | None
    source: ExportSource | None
    kept: list[str]


def split_rows(
    rows: Sequence[tuple[int, list[str]]], width: int
) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, list[str]]]]:
    """Rows of the header's width as text columns `c0`, `c1`, ... with their lines, and the
    other rows as they are."""
    fitting = [(line, fields) for line, fields in rows if len(fields) == width]
    others = [(line, fields) for line, fields in rows if len(fields) != width]
    columns = [f"c{index}" for index in range(width)]
    cells = pd.DataFrame([fields for _, fields in fitting], columns=columns, dtype=object)
    lines = np.array([line for line, _ in fitting], dtype=np.int64)
    return cells, lines, others


def body_rows(
    cells: pd.DataFrame,
    lines: np.ndarray,
    others: list[tuple[int, list[str]]],
    delimiter: str,
    filled: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[Rejection]]:
    """The data rows (raw cells, positional columns, in line order) and the rows set aside:
    blank rows dropped, trailing empty fields cut, one-cell notes and rows of the wrong width
    rejected. `filled`: how many of each row's cells hold more than white space, where the
    reader counted them."""
    width = cells.shape[1]
    rejected: list[Rejection] = []
    rescued: list[tuple[int, list[str]]] = []
    for line, fields in others:
        if not any(value.strip() for value in fields):
            continue  # a blank line that DuckDB read as one field
        if len(fields) > width and not any(value.strip() for value in fields[width:]):
            fields = fields[:width]  # trailing empty fields some exports add
        shown = (delimiter or ",").join(fields)[:_SHOWN_CHARS]
        if sum(1 for value in fields if value.strip()) == 1 and width > 2:
            rejected.append((line, "", shown, _NOTE))
        elif len(fields) != width:
            rejected.append((line, "", shown, f"{len(fields)} fields where the header has {width}"))
        else:
            rescued.append((line, fields))
    if filled is None:
        filled = np.zeros(len(cells), dtype=np.int64)
        for column in cells:
            filled += (cells[column].str.strip() != "").to_numpy(dtype=np.int64)
    note = (filled == 1) & (width > 2)
    for position in np.flatnonzero(note):
        shown = (delimiter or ",").join(cells.iloc[position])[:_SHOWN_CHARS]
        rejected.append((int(lines[position]), "", shown, _NOTE))
    keep = filled > (1 if width > 2 else 0)
    cells, lines = cells[keep], lines[keep]
    if rescued:
        extra = pd.DataFrame([fields for _, fields in rescued], columns=cells.columns, dtype=object)
        cells = pd.concat([cells, extra], ignore_index=True)
        lines = np.concatenate([lines, np.array([line for line, _ in rescued], dtype=np.int64)])
        order = np.argsort(lines, kind="stable")
        cells, lines = cells.iloc[order], lines[order]
    return cells.reset_index(drop=True), lines, rejected


# The columns of a file's leads, as `lead_columns` gives them.
LEAD_FILE_COLUMNS = ("source_file", "source_row", *MAPPED_COLUMNS, "source_system", "kept_columns")


def lead_columns(
    cells: pd.DataFrame, lines: np.ndarray, mapping: HeaderMapping, source_file: str
) -> tuple[dict[str, np.ndarray], list[Rejection]]:
    """`LEAD_FILE_COLUMNS` of the rows that are leads, and the rows that are a report's
    footer or name nobody."""
    named = _by_name(cells, mapping.header)
    cleaned: dict[str, np.ndarray] = {}

    def clean(name: str) -> np.ndarray:
        if name not in cleaned:
            cleaned[name] = by_distinct(named[name], clean_cell)
        return cleaned[name]

    rows = len(cells)
    columns = {
        "source_file": np.full(rows, source_file, dtype=object),
        "source_row": lines,
        **{
            ours: _picked(ours, [clean(name) for name in theirs])
            for ours, theirs in mapping.sources.items()
        },
    }
    if mapping.full_name:
        parts = pd.Series(clean(mapping.full_name)).str.partition(" ")
        columns["lead_first_name"] = parts[0].to_numpy(dtype=object)
        columns["lead_last_name"] = parts[2].str.strip().to_numpy(dtype=object)
    # A lead base written by the inbox says which tool each row came from.
    system = mapping.source.system if mapping.source else ""
    own = clean("source_system") if "source_system" in named else np.full(rows, "", dtype=object)
    columns["source_system"] = np.where(own != "", own, system).astype(object)
    if mapping.kept:
        columns["kept_columns"] = _kept_json([clean(name) for name in mapping.kept], mapping.kept)
    for column in LEAD_FILE_COLUMNS:
        if column not in columns:
            columns[column] = np.full(rows, "", dtype=object)  # as in a full export's blanks
    reasons = _not_a_lead(columns, named)
    rejected = [
        (int(lines[at]), "", ",".join(_row(named, at))[:_SHOWN_CHARS], reasons[at])
        for at in np.flatnonzero(reasons != "")
    ]
    leads = reasons == ""
    return {column: columns[column][leads] for column in LEAD_FILE_COLUMNS}, rejected


def _by_name(cells: pd.DataFrame, header: list[str]) -> dict[str, pd.Series]:
    """Each header name's column; a name written twice reads its last column, as a row read
    into a mapping of names does."""
    last = {name: position for position, name in enumerate(header)}
    return {name: cells.iloc[:, last[name]] for name in dict.fromkeys(header)}


def _picked(ours: str, columns: list[np.ndarray]) -> np.ndarray:
    """Of several columns, each row's first value that is one (a domain, an email address),
    else its first filled one."""
    if len(columns) == 1:
        return columns[0]
    wanted = [
        by_distinct(pd.Series(column), lambda value: wanted_value(ours, value))
        for column in columns
    ]
    result = np.full(len(columns[0]), "", dtype=object)
    # Last to first, so the first column that qualifies is the one left standing.
    for column in reversed(columns):
        result = np.where(column != "", column, result)
    for column, good in zip(reversed(columns), reversed(wanted), strict=True):
        result = np.where((column != "") & good.astype(bool), column, result)
    return result


def _kept_json(columns: list[np.ndarray], names: list[str]) -> np.ndarray:
    rows = zip(*columns, strict=True)
    return np.array([json.dumps(dict(zip(names, row, strict=True))) for row in rows], dtype=object)


def _not_a_lead(columns: Mapping[str, np.ndarray], named: Mapping[str, pd.Series]) -> np.ndarray:
    """Why each row is a report's footer or names nobody; '' for a lead."""
    names = (columns["lead_first_name"] != "") | (columns["lead_last_name"] != "")
    titled = columns["lead_job_title"] != ""
    reasons = np.full(len(names), "", dtype=object)
    reasons[~(names | titled)] = "no person: the name and the title are empty"
    # Only a row missing a name or a title can be a footer: its first filled cell says.
    for position in np.flatnonzero(~(names & titled)):
        first_cell = next((value for value in _row(named, position) if value), "")
        if _FOOTER.match(first_cell):
            reasons[position] = f"a report's total or footer line ({first_cell[:40]!r})"
    return reasons


def _row(named: Mapping[str, pd.Series], position: int) -> list[str]:
    """One row's cleaned cells, in the header's order."""
    return [clean_cell(column.iat[position]) for column in named.values()]

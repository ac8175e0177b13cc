"""The rows under a CSV header read in columns by DuckDB's CSV reader, with each row's line.

Python's row-by-row reader costs seconds per 100,000 rows; DuckDB reads a million in about
one. The row reader stays the reference: a file it would read differently (a cell holding a
line break, a carriage return alone ending a line, a NUL byte) is declined here (`None`), and
every line DuckDB refuses is read again by Python's `csv` module and judged as the row
reader judges it, so both readers give the same rows, lines and rejections.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

_NEWLINE, _RETURN = 10, 13


@dataclass(frozen=True)
class ColumnBody:
    """The rows DuckDB read at the header's width as one text column per header position
    (`c0`, `c1`, ...; empty cells ''), each row's line, and the lines it refused as
    (line, fields) read by Python's `csv`."""

    cells: pd.DataFrame
    lines: np.ndarray
    refused: list[tuple[int, list[str]]]
    # How many of each row's cells hold more than white space.
    filled: np.ndarray


def read_body_in_columns(
    text: str, delimiter: str, header_line: int, header: list[str]
) -> ColumnBody | None:
    """The rows after the header (`header`'s fields as read, on line `header_line`), or None
    where only the row reader reads the file right."""
    if "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    data = text.encode("utf-8")
    starts, ends = _physical_lines(data)
    if header_line > len(starts) or _fields(data, starts, ends, header_line - 1, delimiter) != (
        header
    ):
        return None  # the header spans lines
    width = len(header)
    body_start = int(starts[header_line]) if header_line < len(starts) else len(data)
    # The body's non-empty lines, by index into `starts` (a line number less one).
    candidates = np.flatnonzero(ends[header_line:] > starts[header_line:]) + header_line
    with tempfile.TemporaryDirectory(prefix="persona-ranker-csv-") as folder:
        body_path = Path(folder) / "body.csv"
        body_path.write_bytes(data[body_start:])
        try:
            cells, refused = _duckdb_read(body_path, delimiter, width)
        except duckdb.Error:
            return None
    refused = refused.assign(line_byte_position=refused["line_byte_position"] + body_start)
    refused_lines = _lines_of(refused, data, starts, ends, candidates)
    if refused_lines is None or len(cells) + len(refused_lines) != len(candidates):
        return None  # a cell spanning lines: DuckDB's rows and the lines do not pair up
    refused_rows = [
        (int(line) + 1, _fields(data, starts, ends, line, delimiter)) for line in refused_lines
    ]
    kept_lines = np.setdiff1d(candidates, refused_lines, assume_unique=True) + 1
    filled = cells.pop("filled").to_numpy(dtype=np.int64)
    return ColumnBody(cells, kept_lines, refused_rows, filled)


def _physical_lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Where each line starts and ends (before its CR LF or LF), by byte offset."""
    raw = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(raw == _NEWLINE)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(data)]))
    if starts[-1] == len(data):  # the file ends with a line break
        starts, ends = starts[:-1], ends[:-1]
    crlf = (ends > starts) & (raw[np.maximum(ends - 1, 0)] == _RETURN)
    return starts, ends - crlf


def _fields(
    data: bytes, starts: np.ndarray, ends: np.ndarray, index: int, delimiter: str
) -> list[str]:
    """One physical line's fields as Python's `csv` reads them."""
    text = data[starts[index] : ends[index]].decode("utf-8")
    return next(csv.reader([text], delimiter=delimiter), [])


def _duckdb_read(path: Path, delimiter: str, width: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the header's width, and where each refused line starts."""
    names = [f"c{index}" for index in range(width)]
    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
    filled = " + ".join(
        f"coalesce(regexp_matches({name}, $not_space), false)::int" for name in names
    )
    # Empty cells as '' by DuckDB: pandas' fillna on a million rows' objects took 0.4 s.
    texts = ", ".join(f"coalesce({name}, '') as {name}" for name in names)
    # Each column comes as a pandas Categorical (an ENUM of its distinct values): one Python
    # string per distinct value, not one per cell, and the cleaning that follows runs once
    # per distinct value without hashing a million strings to find them.
    coded = ", ".join(f"{name}::{name}_values as {name}" for name in names)
    with duckdb.connect() as connection:
        connection.execute(
            f"create temp table body as select {texts}, {filled} as filled "
            "from read_csv($path, delim = $delimiter, "
            "quote = '\"', escape = '\"', header = false, auto_detect = false, "
            f"columns = {{{columns}}}, strict_mode = true, null_padding = false, "
            "store_rejects = true)",
            {"path": str(path), "delimiter": delimiter, "not_space": _not_space()},
        )
        for name in names:
            connection.execute(
                f"create type {name}_values as enum (select distinct {name} from body)"
            )
        cells = connection.execute(f"select {coded}, filled from body").df()
        refused = connection.execute(
            "select distinct line_byte_position, csv_line from reject_errors order by 1"
        ).df()
    return cells, refused


@cache
def _not_space() -> str:
    """A character Python's str.strip() keeps, as an RE2 class: a cell without one is blank.
    Made on first use, not at import: it walks every code point."""
    spaces = (point for point in range(0x110000) if chr(point).isspace())
    return "[^" + "".join(f"\\x{{{point:x}}}" for point in spaces) + "]"


def _lines_of(
    refused: pd.DataFrame, data: bytes, starts: np.ndarray, ends: np.ndarray, candidates: np.ndarray
) -> np.ndarray | None:
    """The line of each refused row. DuckDB reports about where it began reading the row
    (at times the blank line or the line break before it) and the row's text: the line is
    the one starting there or the next, whichever holds that text."""
    found = []
    candidate_starts = starts[candidates]
    for position, text in zip(refused["line_byte_position"], refused["csv_line"], strict=True):
        at = int(np.searchsorted(candidate_starts, position, side="right")) - 1
        wanted = text.strip("\r\n").encode("utf-8")
        line = next(
            (
                candidates[k]
                for k in (at, at + 1)
                if 0 <= k < len(candidates)
                and data[starts[candidates[k]] : ends[candidates[k]]] == wanted
            ),
            None,
        )
        if line is None:
            return None
        found.append(line)
    lines = np.unique(np.array(found, dtype=np.int64))
    return lines if len(lines) == len(found) else None

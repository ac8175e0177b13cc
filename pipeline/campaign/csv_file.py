"""Campaign rows to a CSV file: the bytes pandas' `to_csv(index=False)` writes, written by
DuckDB where the rows are text and whole numbers (a million-lead client's campaign file took
pandas 2-3 s; DuckDB writes it in about 1 s).

Pandas is the reference: empty text and missing cells both write as nothing, fields holding
the delimiter, a quote or a line break are quoted with quotes doubled, the header likewise.
DuckDB writes an empty string as `""`, so text columns go to it with '' as NULL. Rows of
other kinds (floats, booleans, dates, mixed objects) are written by pandas itself.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from pandas.api.types import infer_dtype


def write_csv(rows: pd.DataFrame, path: Path) -> None:
    """Plain CSV whatever the file's name says (no compression inferred from `.gz`)."""
    if not _duckdb_writes_alike(rows):
        rows.to_csv(path, index=False, encoding="utf-8", compression=None)
        return
    # One thread: the scan of Python strings holds the GIL anyway, and more threads only
    # buffer more rows (300 MB more at a million-lead campaign, for no time gained).
    with duckdb.connect(config={"threads": 1}) as connection:
        connection.register("campaign_rows", rows)
        described = connection.execute("describe select * from campaign_rows").fetchall()
        kinds = {name: kind for name, kind, *_ in described}
        columns = ", ".join(
            f"nullif({_quoted(name)}, '') as {_quoted(name)}"
            if kinds[name] == "VARCHAR"
            else _quoted(name)
            for name in rows.columns
        )
        try:
            connection.execute(
                f"copy (select {columns} from campaign_rows) to ? "
                "(format csv, header, delimiter ',', compression 'none')",
                [str(path)],
            )
        except duckdb.IOException as error:
            # A full disk, a folder gone: what the file system said, as pandas would raise it.
            raise OSError(str(error)) from error


def _duckdb_writes_alike(rows: pd.DataFrame) -> bool:
    """Text and whole numbers (either may be missing) under distinct text names, in two
    columns or more, with no carriage return: what both write alike. (Pandas quotes an empty
    field alone on its line, and leaves a carriage return inside a field unquoted; DuckDB
    does neither.)"""
    names = list(rows.columns)
    if len(names) < 2 or len(set(names)) != len(names):
        return False
    if not all(isinstance(name, str) and "\r" not in name for name in names):
        return False
    for name in names:
        column = rows[name]
        if column.dtype in _WHOLE_NUMBERS:
            continue
        if column.dtype != object or infer_dtype(column, skipna=True) not in _TEXT:
            return False
        text = joined_text(column)
        if text is None or "\r" in text:
            return False
    return True


def joined_text(column: pd.Series) -> str | None:
    """The column's filled cells joined by line breaks, None when one is not text: one string
    to search in C instead of a Python call per cell (str.contains took a million-lead
    campaign's three files 1.4 s)."""
    values = column.tolist()
    try:
        return "\n".join(values)
    except TypeError:  # a missing cell, or one that is not text
        pass
    cells = column.to_numpy(dtype=object)
    try:
        return "\n".join(cells[~pd.isna(cells)].tolist())
    except TypeError:
        return None


_TEXT = frozenset({"string", "empty"})
# Numpy's and pandas' nullable integers: a missing one is an empty field in both writers.
_WHOLE_NUMBERS = ("int64", "Int64")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

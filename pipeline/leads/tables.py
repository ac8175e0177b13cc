"""A lead export as a header and numbered rows, whatever it came as: CSV in any common
encoding and separator, an Excel workbook, either of them gzipped or alone in a zip archive.

A file that cannot be a table (empty, binary, HTML or JSON, no separator, a sheet that does
not exist) is a `LeadsFileError` naming it. A row that cannot be read (a corrupt byte) is set
aside with its line and the reason; the others go on. Which row is the header is the reader's
to find (`pipeline.leads.files`): CRM reports put a title and filters above it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import pandas as pd

from pipeline.leads.records import LeadsFileError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# What a leads file may be called: the inbox picks these up.
LEAD_FILE_SUFFIXES = (".csv", ".tsv", ".txt", *EXCEL_SUFFIXES, ".gz", ".zip")
_SAMPLE_CHARS = 64_000
# A text file may hold the odd corrupt NUL byte; in a binary file they are everywhere.
_MAX_NUL_SHARE = 0.01
_ZIP_MAGIC = b"PK\x03\x04"
# How many lines the delimiter is judged on: a report's title lines come before the header.
_SNIFF_LINES = 30


@dataclass(frozen=True)
class RejectedRow:
    line: int
    value: str
    reason: str


@dataclass(frozen=True)
class RawTable:
    """Every non-blank row with the line (or sheet row) it starts on, header included, the
    rows set aside, and how the file was read ("utf-8, comma-separated", "Excel sheet
    'Leads'")."""

    rows: list[tuple[int, list[str]]]
    rejected: list[RejectedRow] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    container: str = ""
    # A workbook's sheets, for the message when the chosen one holds no leads.
    sheets: tuple[str, ...] = ()
    # The decoded text when only the top rows were read (`head`): the rest is read from it.
    text: str | None = None

    def describe(self) -> str:
        inside = f"{self.container}: " if self.container else ""
        if not self.delimiter:
            return f"{inside}{self.encoding}"
        return f"{inside}encoding {self.encoding}, {DELIMITER_NAMES[self.delimiter]}-separated"


def read_table(
    path: Path, sheet: str | None = None, single_column: bool = False, head: int | None = None
) -> RawTable:
    """`single_column`: a text file without a separator is one column (a plain list), not
    an error. `head`: of a text file, only the first rows (the rest with `whole_table`)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise LeadsFileError(f"{path}: file not found") from error
    name = path.name.lower()
    container = ""
    if name.endswith(".gz"):
        raw, name, container = _gunzip(raw, path), name.removesuffix(".gz"), "gzip"
    elif name.endswith(".zip"):
        raw, name = _only_member(raw, path)
        container = f"zip member {name}"
        name = name.lower()
    if name.endswith(EXCEL_SUFFIXES):
        return replace(_excel_table(raw, path, sheet), container=container)
    if sheet is not None:
        raise LeadsFileError(f"{path}: --sheet names a sheet, but this is not an Excel file")
    text, encoding = decode(raw, path)
    delimiter = sniff_delimiter(text, path, single_column)
    rows, rejected = _csv_rows(text, delimiter, path, head)
    return RawTable(rows, rejected, encoding, delimiter, container, text=text if head else None)


def whole_table(table: RawTable, path: Path) -> RawTable:
    """Every row of a table `read_table` read only the top of."""
    if table.text is None:
        return table
    rows, rejected = _csv_rows(table.text, table.delimiter, path)
    return replace(table, rows=rows, rejected=rejected, text=None)


def decode(raw: bytes, path: Path) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (with or without BOM), UTF-16 with
    a BOM, else Windows-1252 (a superset of Latin-1 for text), never silently."""
    if not raw.strip():
        raise LeadsFileError(f"{path}: the file is empty")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    sample = raw[:_SAMPLE_CHARS]
    if sample.startswith(_ZIP_MAGIC) or sample.count(0) > len(sample) * _MAX_NUL_SHARE:
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


def sniff_delimiter(text: str, path: Path, single_column: bool = False) -> str:
    """The delimiter that splits one of the first lines (the header, under any title lines)
    into the most fields, quotes respected."""
    first_line = text.lstrip()[:1]
    if first_line in ("<", "{", "["):
        raise LeadsFileError(f"{path}: looks like HTML or JSON, not a CSV")
    # The first lines only: splitting a whole large file would cost more than the sniff.
    top = text[:_SAMPLE_CHARS].splitlines()[:_SNIFF_LINES]
    first = [line for line in top if line.strip()]
    counts = {
        d: max((len(next(csv.reader([line], delimiter=d), [])) for line in first), default=0)
        for d in DELIMITERS
    }
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    if counts[best] < 2 and single_column:
        return ","
    if counts[best] < 2:
        raise LeadsFileError(
            f"{path}: not a CSV: the first line has no comma, semicolon, tab or pipe "
            "separating columns"
        )
    return best


def _csv_rows(
    text: str, delimiter: str, path: Path, head: int | None = None
) -> tuple[list[tuple[int, list[str]]], list[RejectedRow]]:
    """Every non-blank row (or the first `head`) with the line it starts on; rows holding a
    NUL byte (a corrupt row) set aside."""
    if head is not None and len(text) > _SAMPLE_CHARS:
        top = _top_rows(text[:_SAMPLE_CHARS], delimiter, path, head)
        if top is not None:
            return top
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    rejected: list[RejectedRow] = []
    line = 1
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not any(value.strip() for value in fields):
                continue  # blank line
            if any("\x00" in value for value in fields):
                shown = delimiter.join(fields)[:200].replace("\x00", "\\0")
                rejected.append(RejectedRow(start, shown, "a NUL byte: a corrupt row"))
            else:
                rows.append((start, fields))
            if head is not None and len(rows) + len(rejected) >= head:
                break
    except csv.Error as error:
        raise LeadsFileError(
            f"{path}: line {reader.line_num}: not a readable CSV ({error})"
        ) from error
    return rows, rejected


def _top_rows(
    sample: str, delimiter: str, path: Path, head: int
) -> tuple[list[tuple[int, list[str]]], list[RejectedRow]] | None:
    """The first `head` rows when the sample (a large file's start) holds more than that: the
    sample may cut its last row short, never one before it."""
    try:
        rows, rejected = _csv_rows(sample, delimiter, path)
    except LeadsFileError:
        return None
    lines = sorted([line for line, _ in rows] + [row.line for row in rejected])
    if len(lines) <= head:
        return None
    last = lines[head - 1]
    return [row for row in rows if row[0] <= last], [row for row in rejected if row.line <= last]


def _excel_table(raw: bytes, path: Path, sheet: str | None) -> RawTable:
    """The first sheet (or the named one), every non-blank row with its number in the
    sheet."""
    try:
        sheets = pd.read_excel(
            io.BytesIO(raw), sheet_name=None, header=None, dtype=str, engine="openpyxl"
        )
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as error:
        raise LeadsFileError(f"{path}: not a readable Excel workbook ({error})") from error
    if not sheets:
        raise LeadsFileError(f"{path}: the workbook has no sheets")
    chosen = sheet if sheet is not None else next(iter(sheets))
    if chosen not in sheets:
        raise LeadsFileError(
            f"{path}: no sheet named {chosen!r} (sheets: {', '.join(map(repr, sheets))})"
        )
    cells = sheets[chosen].fillna("").astype(str)
    rows = [
        (number, [value.strip() for value in row])
        for number, row in enumerate(cells.itertuples(index=False, name=None), start=1)
    ]
    rows = [(number, values) for number, values in rows if any(values)]
    if not rows:
        raise LeadsFileError(f"{path}: sheet {chosen!r} is empty (choose another with --sheet)")
    return RawTable(rows, encoding=f"Excel sheet {chosen!r}", sheets=tuple(map(str, sheets)))


def _gunzip(raw: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise LeadsFileError(f"{path}: not a readable gzip file ({error})") from error


def _only_member(raw: bytes, path: Path) -> tuple[bytes, str]:
    """The one leads file inside a zip archive (folders and macOS metadata ignored)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as error:
        raise LeadsFileError(f"{path}: not a readable zip archive ({error})") from error
    with archive:
        members = [
            info.filename
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not PurePosixPath(info.filename).name.startswith(".")
        ]
        if len(members) != 1:
            listed = ", ".join(members) or "nothing"
            raise LeadsFileError(f"{path}: expected one leads file in the archive, found {listed}")
        return archive.read(members[0]), members[0]

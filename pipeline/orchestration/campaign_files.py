"""The files a client's sales team opens: the campaign CSV in its sending tool's format, what
changed since the last campaign, and the HTML report, each replaced atomically."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from pipeline.campaign.changes import CHANGE_COLUMN, CampaignChanges
from pipeline.campaign.formats import PHONE_HEADERS, in_export_format

NEW_FILE = "campaign_new.csv"
DROPPED_FILE = "campaign_dropped.csv"


@dataclass(frozen=True)
class CampaignExporter:
    """Writes the campaign file the sales team loads into its outreach tool, and the HTML
    report it reads."""

    path: Path
    report_file: Path
    top_n: int = 3
    export_format: str = "generic"

    def write_csv(self, rows: pd.DataFrame) -> Path:
        """The campaign rows (campaign table columns) in the export format."""
        return self._write(self.path, in_export_format(rows, self.export_format))

    def write_changes(self, changes: CampaignChanges) -> tuple[Path, Path]:
        """`campaign_new.csv` and `campaign_dropped.csv` beside the campaign file, in its
        format with the reason last; headers only when nothing changed."""
        new = self._write(self.path.with_name(NEW_FILE), self._with_reasons(changes.new))
        dropped = self._write(
            self.path.with_name(DROPPED_FILE), self._with_reasons(changes.dropped)
        )
        return new, dropped

    def _with_reasons(self, rows: pd.DataFrame) -> pd.DataFrame:
        return in_export_format(rows, self.export_format).assign(
            **{CHANGE_COLUMN: rows[CHANGE_COLUMN].tolist()}
        )

    def _write(self, path: Path, rows: pd.DataFrame) -> Path:
        phones = (PHONE_HEADERS[self.export_format],)
        with _replaced_atomically(path) as stream:
            neutralise_formulas(rows, phones).to_csv(stream, index=False)
        return path

    def write_report(self, page: str) -> Path:
        with _replaced_atomically(self.report_file) as stream:
            stream.write(page)
        return self.report_file


@contextmanager
def _replaced_atomically(target: Path) -> Iterator[TextIO]:
    """Written beside the target and renamed into place: readers never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        # mkstemp makes the file private; the campaign and the report are for the team.
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# An international phone number ('+44 20 7946 0958') starts with '+' but holds no function
# or reference a spreadsheet could run; the sending tools need it as written.
_PHONE = re.compile(r"^\+[0-9][0-9 ().-]*$")


def neutralise_formulas(rows: pd.DataFrame, phone_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe, which the
    spreadsheet hides: a human reads the same text, nothing is executed (OWASP guidance).
    In `phone_columns`, an international number stays as written."""
    safe = rows.copy()
    for column in safe.columns:
        if safe[column].dtype != object:
            continue
        cells = safe[column]
        text = cells.map(lambda value: value if isinstance(value, str) else "")
        formula = text.str.startswith(_FORMULA_STARTS)
        if column in phone_columns:
            formula &= ~text.str.match(_PHONE)
        if formula.any():
            safe[column] = cells.where(~formula, "'" + text)
    return safe

"""The files a client's sales team opens: the campaign CSV and the HTML report, each replaced
atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd


@dataclass(frozen=True)
class CampaignExporter:
    """Writes the campaign file the sales team loads into its outreach tool, and the HTML
    report it reads."""

    path: Path
    report_file: Path
    top_n: int = 3

    def write_csv(self, rows: pd.DataFrame) -> Path:
        with _replaced_atomically(self.path) as stream:
            neutralise_formulas(rows).to_csv(stream, index=False)
        return self.path

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


def neutralise_formulas(rows: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe, which the
    spreadsheet hides: a human reads the same text, nothing is executed (OWASP guidance)."""
    safe = rows.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(
                lambda value: (
                    f"'{value}"
                    if isinstance(value, str) and value.startswith(_FORMULA_STARTS)
                    else value
                )
            )
    return safe

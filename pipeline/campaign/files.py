"""The files a client's sales team opens: the campaign CSV in its sending tool's format, what
changed since the last campaign, and the HTML report, replaced together."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.campaign.changes import CHANGE_COLUMN, CampaignChanges
from pipeline.campaign.csv_file import joined_text, write_csv
from pipeline.campaign.formats import PHONE_HEADERS, in_export_format
from pipeline.leads.records import spread

NEW_FILE = "campaign_new.csv"
DROPPED_FILE = "campaign_dropped.csv"


class ExportFailed(Exception):
    """The files could not be written (a full disk, a folder without write access); the
    previous ones are all still there, as they were."""

    def __init__(self, folder: Path, error: OSError) -> None:
        super().__init__(
            f"cannot write the campaign files in {folder}: {error.strerror or error} (the "
            "previous campaign files and report are kept as they were)"
        )
        self.folder = folder


@dataclass(frozen=True)
class CampaignFiles:
    campaign: Path
    new: Path
    dropped: Path
    report: Path


@dataclass(frozen=True)
class CampaignExporter:
    """Writes the campaign file the sales team loads into its outreach tool, what changed
    since the last one, and the HTML report it reads."""

    path: Path
    report_file: Path
    top_n: int = 3
    export_format: str = "generic"

    def write_csv(self, rows: pd.DataFrame) -> Path:
        """The campaign rows (campaign table columns) in the export format."""
        _replace_together({self.path: self._csv(in_export_format(rows, self.export_format))})
        return self.path

    def write_all(self, rows: pd.DataFrame, changes: CampaignChanges, page: str) -> CampaignFiles:
        """The campaign file, `campaign_new.csv` and `campaign_dropped.csv` beside it (its
        format with the reason last; headers only when nothing changed) and the report: all
        of them replaced, or, when one cannot be written, none."""
        files = CampaignFiles(
            self.path,
            self.path.with_name(NEW_FILE),
            self.path.with_name(DROPPED_FILE),
            self.report_file,
        )
        _replace_together(
            {
                files.campaign: self._csv(in_export_format(rows, self.export_format)),
                files.new: self._csv(self._with_reasons(changes.new)),
                files.dropped: self._csv(self._with_reasons(changes.dropped)),
                files.report: lambda path: path.write_text(page, encoding="utf-8", newline=""),
            }
        )
        return files

    def _with_reasons(self, rows: pd.DataFrame) -> pd.DataFrame:
        return in_export_format(rows, self.export_format).assign(
            **{CHANGE_COLUMN: rows[CHANGE_COLUMN].tolist()}
        )

    def _csv(self, rows: pd.DataFrame) -> Callable[[Path], object]:
        safe = neutralise_formulas(rows, (PHONE_HEADERS[self.export_format],))
        return lambda path: write_csv(safe, path)


def _replace_together(writers: dict[Path, Callable[[Path], object]]) -> None:
    """Each file written beside its target, and only when all are written, renamed into
    place: readers never see half a file, and a write that fails (the disk full half-way)
    leaves every previous file as it was."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in writers.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            os.close(handle)
            staged.append((Path(temporary), target))
            write(Path(temporary))
            # mkstemp makes the file private; the campaign and the report are for the team.
            os.chmod(temporary, 0o644)
    except BaseException as error:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ExportFailed(next(iter(writers)).parent, error) from error
        raise
    # Renames within a folder need no room: once every file is written, these do not fail.
    for temporary, target in staged:
        os.replace(temporary, target)


# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_BYTES = np.frombuffer("".join(_FORMULA_STARTS).encode("ascii"), dtype=np.uint8)
# An international phone number ('+44 20 7946 0958') starts with '+' but holds no function
# or reference a spreadsheet could run; the sending tools need it as written.
_PHONE = re.compile(r"^\+[0-9][0-9 ().-]*$")


def neutralise_formulas(rows: pd.DataFrame, phone_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe, which the
    spreadsheet hides: a human reads the same text, nothing is executed (OWASP guidance).
    In `phone_columns`, an international number stays as written."""
    safe = rows.copy(deep=False)
    for column in safe.columns:
        if safe[column].dtype != object or not _may_start_a_formula(safe[column]):
            continue
        # Once per distinct cell: a campaign repeats companies, titles and industries.
        codes, cells = pd.factorize(safe[column], use_na_sentinel=False)
        phone = column in phone_columns
        formulas = [_runs_as_formula(cell, phone) for cell in cells]
        if any(formulas):
            quoted = [
                f"'{cell}" if formula else cell
                for cell, formula in zip(cells, formulas, strict=True)
            ]
            safe[column] = spread(quoted, codes)
    return safe


def _may_start_a_formula(column: pd.Series) -> bool:
    """Whether a cell may start like a formula, read off the column's cells joined by line
    breaks (a cell holding a line break may seem to): most columns hold none, and are not
    looked at cell by cell."""
    text = joined_text(column)
    if text is None:
        return True
    # Formula characters are ASCII: in UTF-8 no other character's bytes include them.
    raw = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(raw == ord("\n")) + 1))
    return bool(np.isin(raw[starts[starts < len(raw)]], _FORMULA_BYTES).any())


def _runs_as_formula(cell: object, phone: bool) -> bool:
    return (
        isinstance(cell, str)
        and cell.startswith(_FORMULA_STARTS)
        and not (phone and _PHONE.match(cell))
    )

"""New lead files dropped in an inbox folder, merged into the lead base.

A file is an export of some companies: for each company it names, its rows replace that
company's rows in the lead base; other companies keep theirs. Processed files are archived
(never deleted); a file that cannot be used goes to `rejected/` with a reason beside it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipeline.campaign.formats import kept_columns
from pipeline.leads.records import CONTACT_COLUMNS, LEAD_COLUMNS
from pipeline.leads.tables import LEAD_FILE_SUFFIXES

ARCHIVE_DIR = "archive"
REJECTED_DIR = "rejected"


@dataclass(frozen=True)
class InboxFile:
    path: Path
    # Name and content: the same file dropped again counts once; an edited one counts again.
    fingerprint: str


@dataclass(frozen=True)
class Merge:
    lead_base: pd.DataFrame
    changed: tuple[str, ...]  # companies whose leads differ from the lead base's, sorted
    new: tuple[str, ...]  # changed companies the lead base did not hold


def inbox_files(inbox: Path, settle_s: float = 0.0) -> list[InboxFile]:
    """Leads files (CSV, Excel, gzip, zip) directly in the inbox (not in archive/ or
    rejected/), oldest first; a file changed in the last `settle_s` seconds is left for a
    later look: it may still be being written."""
    if not inbox.is_dir():
        return []
    settled_before = time.time() - settle_s
    files = sorted(
        (
            path
            for path in inbox.iterdir()
            if path.is_file()
            and path.name.lower().endswith(LEAD_FILE_SUFFIXES)
            and path.stat().st_mtime <= settled_before
        ),
        key=lambda path: (path.stat().st_mtime, path.name),
    )
    return [InboxFile(path, _fingerprint(path)) for path in files]


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def merge_into_lead_base(base: pd.DataFrame | None, incoming: pd.DataFrame) -> Merge:
    """The incoming companies' rows replace theirs in the base; `changed` lists the companies
    whose leads are not exactly what the base held."""
    companies = set(incoming["company_key"])
    if base is None or base.empty:
        kept = incoming.iloc[0:0]
        before: dict[str, list[tuple[str, ...]]] = {}
    else:
        kept = base[~base["company_key"].isin(companies)]
        before = _leads_by_company(base[base["company_key"].isin(companies)])
    after = _leads_by_company(incoming)
    changed = tuple(sorted(c for c in companies if before.get(c) != after[c]))
    new = tuple(c for c in changed if c not in before)
    merged = pd.concat([kept, incoming], ignore_index=True)
    return Merge(merged, changed, new)


def _leads_by_company(frame: pd.DataFrame) -> dict[str, list[tuple[str, ...]]]:
    columns = ["company_key", *LEAD_COLUMNS, *CONTACT_COLUMNS, "kept_columns"]
    rows = frame[columns].astype(str).itertuples(index=False, name=None)
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return {company: sorted(leads) for company, leads in grouped.items()}


def lead_base_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The leads as a leads file holds them: the website as written, the contacts, the tool
    each came from and the kept columns under their own headers, all read back as they were."""
    ours = frame[[*LEAD_COLUMNS, *CONTACT_COLUMNS, "source_system"]].assign(
        account_domain=frame["account_website"]
    )
    kept = kept_columns(frame)
    return pd.concat([ours, kept.drop(columns=ours.columns, errors="ignore")], axis=1)


def write_lead_base(frame: pd.DataFrame, path: Path) -> None:
    """The lead base as a leads CSV, replaced in one rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            lead_base_rows(frame).to_csv(stream, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def archive(file: InboxFile, inbox: Path, rejected_rows: pd.DataFrame | None = None) -> Path:
    """Moves the file to `archive/`; its rows that did not become leads, if any, are written
    beside it as `<name>.rejected.csv` with line and reason."""
    moved = _move(file.path, inbox / ARCHIVE_DIR)
    if rejected_rows is not None and not rejected_rows.empty:
        rejected_rows.to_csv(moved.with_name(moved.name + ".rejected.csv"), index=False)
    return moved


def reject(file: InboxFile, inbox: Path, reason: str) -> Path:
    """Moves the file to `rejected/` and writes `<name>.reason.txt` beside it."""
    moved = _move(file.path, inbox / REJECTED_DIR)
    moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return moved


def _move(path: Path, folder: Path) -> Path:
    """Into `folder`, the name prefixed with the time: a later file of the same name never
    overwrites an earlier one."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}-{path.name}"
    path.replace(target)
    return target

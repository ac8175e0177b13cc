"""Expert rankings in the expert's own export format, turned into leads plus a label."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from pipeline.leads.records import LEAD_COLUMNS, read_text_csv, with_identity
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.ranked_table import build_ranked_leads

# The expert's export: `Rank` is 1..N for leads worth contacting (ties share a number),
# `-` or empty for "do not contact". `LI` (the profile URL) is not used for ranking.
LABEL_COLUMNS: tuple[str, ...] = ("Full Name", "Title", "Company", "Employee Range", "Rank")
DO_NOT_CONTACT = frozenset({"", "-"})


class LabelsFileError(ValueError):
    """The labels file cannot be used; the message names the file, row and column."""


def read_expert_labels(path: str | Path) -> pd.DataFrame:
    """The labelled leads in the leads-file columns, with `company_key`, `lead_id` and
    `expert_rank` (Int64, NA = do not contact).

    The same person listed twice counts once, with the better of the two ranks.
    """
    path = Path(path)
    frame = read_text_csv(path, LabelsFileError)
    missing = [column for column in LABEL_COLUMNS if column not in frame.columns]
    if missing:
        raise LabelsFileError(
            f"{path}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(frame.columns) or 'none'})"
        )
    if frame.empty:
        raise LabelsFileError(f"{path}: the file holds a header but no labelled leads")
    rows = range(2, len(frame) + 2)
    names = [_split_full_name(name) for name in frame["Full Name"]]
    leads = pd.DataFrame(
        {
            "source_file": path.name,
            "source_row": rows,
            "account_name": frame["Company"].str.strip(),
            "lead_first_name": [first for first, _ in names],
            "lead_last_name": [last for _, last in names],
            "lead_job_title": frame["Title"],
            "account_domain": "",
            "account_employee_range": frame["Employee Range"].str.strip(),
            "account_industry": "",
        }
    )
    for row, company in zip(rows, leads["account_name"], strict=True):
        if not company:
            raise LabelsFileError(f"{path}: row {row}: column 'Company' is empty")
    leads["expert_rank"] = pd.array(
        [_parse_rank(value, path, row) for value, row in zip(frame["Rank"], rows, strict=True)],
        dtype="Int64",
    )
    labelled = with_identity(leads[["source_file", "source_row", *LEAD_COLUMNS, "expert_rank"]])
    best_first = labelled.sort_values("expert_rank", na_position="last", kind="stable")
    return best_first.drop_duplicates("lead_id").sort_values("source_row").reset_index(drop=True)


def labels_as_leads_file(labels: pd.DataFrame, path: Path) -> Path:
    """Writes the labelled leads as a leads CSV (our format), without their labels."""
    labels[list(LEAD_COLUMNS)].to_csv(path, index=False)
    return path


def _split_full_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first, last.strip()


def _parse_rank(value: str, path: Path, row: int) -> int | None:
    text = value.strip()
    if text in DO_NOT_CONTACT:
        return None
    if not text.isdigit() or int(text) < 1:
        raise LabelsFileError(
            f"{path}: row {row}: column 'Rank' is '{value}', expected a whole number from 1 "
            "or '-' for do not contact"
        )
    return int(text)


def rank_labelled_leads(
    labels: pd.DataFrame,
    persona: Persona,
    evaluate: Callable[[pd.DataFrame, Persona], pd.DataFrame],
) -> pd.DataFrame:
    """The labelled leads enriched, evaluated by `evaluate` and ranked, in memory."""
    enriched = enrich_leads(labels.drop(columns="expert_rank"), persona)
    return build_ranked_leads(enriched, evaluate(enriched, persona))

"""The title reader against a corpus of titles with the level, functions and status a sales
expert reads in each (`tests/data/titles.csv`): how many it reads alike, and which not."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.persona.spec import Persona
from pipeline.persona.titles import title_level, title_status
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import title_profiles

# Every title is read as the title of someone at this (made-up) company.
COMPANY = ("Northwind Traders", "northwind.io", "51-200")

Reading = tuple[str, str, str]


@dataclass(frozen=True)
class CorpusTitle:
    kind: str
    title: str
    expected: Reading
    read: Reading

    @property
    def agrees(self) -> bool:
        return self.expected == self.read


def read_corpus(path: Path, persona: Persona) -> list[CorpusTitle]:
    """Every corpus row with the reader's (level, functions, status) beside the expected."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    read = read_titles_as_leads([row["title"] for row in rows], persona)
    return [
        CorpusTitle(row["kind"], row["title"], (row["level"], row["functions"], row["status"]), got)
        for row, got in zip(rows, read, strict=True)
    ]


def read_titles_as_leads(titles: list[str], persona: Persona) -> list[Reading]:
    """(level, functions joined by '+', status) per title, read as the pipeline reads a
    lead's title: enrichment, then the semantic reader where the vocabulary read no function."""
    name, domain, employees = COMPANY
    leads = pd.DataFrame(
        {
            "lead_id": [f"lead-{index}" for index in range(len(titles))],
            "company_key": domain,
            "account_name": name,
            "account_domain": domain,
            "account_employee_range": employees,
            "account_industry": "",
            "lead_job_title": titles,
        }
    )
    codes, _, profiles = title_profiles(enrich_leads(leads, persona), persona, by_meaning=True)
    return [
        (
            title_level(profiles[code].seniority, profiles[code].tags),
            "+".join(sorted(profiles[code].departments)),
            title_status(profiles[code].tags, persona),
        )
        for code in codes
    ]

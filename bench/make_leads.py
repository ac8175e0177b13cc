"""Synthetic but realistic lead files for scale benchmarks.

    .venv/bin/python bench/make_leads.py N COMPANIES [--seed S] [--out FILE]

Company sizes are drawn across every band (LinkedIn-style buckets, some in other spellings,
some missing); titles come from a vocabulary built from the bundled leads and the persona
file (every department and seniority, translations, taglines, junk); names repeat, a few
percent of rows are exact duplicates and some fields are empty, as in real exports. The same
seed writes the same file.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

from pipeline.leads.files import read_lead_file
from pipeline.leads.records import LEAD_COLUMNS
from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.reader import load_persona

# Bucket, share of companies.
EMPLOYEE_RANGES = (
    ("2-10", 0.14),
    ("11-50", 0.22),
    ("51-200", 0.2),
    ("201-500", 0.12),
    ("501-1000", 0.08),
    ("1001-5000", 0.1),
    ("5001-10000", 0.04),
    ("10001+", 0.05),
    ("1,001-5,000", 0.01),
    ("10k+", 0.01),
    ("51 - 200", 0.01),
    ("", 0.02),
)
INDUSTRIES = (
    "Software Development",
    "IT Services and IT Consulting",
    "Industrial Machinery Manufacturing",
    "Financial Services",
    "Hospitals and Health Care",
    "Retail",
    "Staffing and Recruiting",
    "Marketing Services",
    "",
    "",
)
SENIORITY_WORDS = (
    "",
    "",
    "Senior",
    "Head of",
    "VP of",
    "Director of",
    "Chief",
    "Manager,",
    "Lead",
    "Junior",
)
TAGLINES = (
    " | Helping B2B teams grow",
    " @ Stealth",
    " - Hiring!",
    " | Open to work",
    ". Passionate about people.",
    " 🚀",
)
JUNK = ("undefined", "N/A", "-", "null", "", "Student", "Retired", "ex-Google")
FIRST = (
    "Ana",
    "Bo",
    "Carla",
    "Dmitri",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jon",
    "Kemal",
    "Lena",
    "Marta",
    "Noah",
    "Olga",
    "Pablo",
    "Qi",
    "Rosa",
    "Sven",
    "Tariq",
    "Иван",
    "太郎",
    "Zoë",
    "José",
    "Ngozi",
)
LAST = (
    "Ruiz",
    "Li",
    "Novak",
    "Petrov",
    "Smith",
    "Haddad",
    "Kim",
    "Sato",
    "García",
    "Berg",
    "Yilmaz",
    "Schmidt",
    "Rossi",
    "Brown",
    "Ivanova",
    "Santos",
    "Wang",
    "Lopez",
    "Nilsen",
    "Aziz",
    "Петров",
    "山田",
    "Müller",
    "Dubois",
    "Okafor",
)
SUFFIXES = ("Inc.", "GmbH", "S.L.", "Ltd", "")
TLDS = ("com", "io", "de", "es")
DUPLICATE_RATE = 0.02
EMPTY_FIELD_RATE = 0.03


def title_vocabulary() -> list[str]:
    """Real titles from the bundled files, and titles composed from the persona's phrases."""
    persona = load_persona(DATA_DIR / "persona.yaml")
    titles = set(read_lead_file(DATA_DIR / "leads.csv").leads["lead_job_title"])
    with (DATA_DIR / "eval_dev.csv").open(encoding="utf-8-sig", newline="") as stream:
        titles.update(row.get("Title", "") for row in csv.DictReader(stream))
    extra = ["finance", "engineering", "hr", "customer success", "operations"]
    departments = [*sorted(persona.department_relevance), *extra]
    for word in SENIORITY_WORDS:
        for department in departments:
            titles.add(f"{word} {department.replace('_', ' ').title()}".strip())
    titles.update(persona.rewrites)
    return sorted(title for title in titles if title)


def make_leads(count: int, companies: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    vocabulary = title_vocabulary()
    ranges = [r for r, _ in EMPLOYEE_RANGES]
    weights = [w for _, w in EMPLOYEE_RANGES]
    firms = [
        {
            "account_name": f"Company {number:05d} {rng.choice(SUFFIXES)}".strip(),
            # A few exports lack the domain: the company is then keyed by its name.
            "account_domain": f"company{number:05d}.{rng.choice(TLDS)}"
            if rng.random() > 0.05
            else "",
            "account_employee_range": rng.choices(ranges, weights)[0],
            "account_industry": rng.choice(INDUSTRIES),
        }
        for number in range(companies)
    ]
    rows: list[dict[str, str]] = []
    while len(rows) < count:
        if rows and rng.random() < DUPLICATE_RATE:
            rows.append(dict(rng.choice(rows)))
            continue
        title = rng.choice(vocabulary)
        roll = rng.random()
        if roll < 0.05:
            title = rng.choice(JUNK)
        elif roll < 0.12:
            title += rng.choice(TAGLINES)
        # Every company gets a lead first, then companies are drawn at random.
        firm = len(rows) if len(rows) < companies else rng.randrange(companies)
        lead = {
            **firms[firm],
            "lead_first_name": rng.choice(FIRST),
            "lead_last_name": rng.choice(LAST),
            "lead_job_title": title,
        }
        for field in ("account_industry", "account_employee_range", "lead_last_name"):
            if rng.random() < EMPTY_FIELD_RATE:
                lead[field] = ""
        rows.append(lead)
    return rows


def write_leads(rows: list[dict[str, str]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(LEAD_COLUMNS))
        writer.writeheader()
        writer.writerows({column: row[column] for column in LEAD_COLUMNS} for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="leads")
    parser.add_argument("companies", type=int, help="companies")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="default bench/out/leads_<N>.csv")
    args = parser.parse_args()
    out = args.out or Path(__file__).parent / "out" / f"leads_{args.count}.csv"
    write_leads(make_leads(args.count, args.companies, args.seed), out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

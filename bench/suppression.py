"""What a do-not-contact list costs: 10,000 entries against 100,000 leads.

    .venv/bin/python bench/suppression.py [--leads 100000] [--companies 10000]
                                          [--entries 10000] [--repeat 3] [--runs 2] [--json]

The leads come from `bench/make_leads.py` with an email address and a LinkedIn URL each; the
list holds emails, LinkedIn URLs, domains (some as subdomains or www.) and company names, a
quarter to a half of each kind matching a lead. Printed: the seconds to read the list, to
match it against every lead (median of --repeat); then `persona-ranker run` (rules) on the
same file without and with the list, each in a fresh warehouse, --runs times each in turn,
and the difference of their medians (0 runs: none).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
from make_leads import make_leads  # this folder: scripts, not a package

from pipeline.campaign.suppression import read_suppression_file, suppressed_reasons
from pipeline.leads.records import LEAD_COLUMNS
from pipeline.orchestration.settings import PROJECT_ROOT

CONTACT_HEADER = (*LEAD_COLUMNS, "email", "linkedin_url")
Result = TypeVar("Result")


def leads_with_contacts(count: int, companies: int, seed: int) -> list[dict[str, str]]:
    rows = make_leads(count, companies, seed)
    for number, row in enumerate(rows):
        person = f"{row['lead_first_name']}.{row['lead_last_name'] or 'x'}{number}".lower()
        row["email"] = f"{person}@{row['account_domain'] or 'example.com'}"
        row["linkedin_url"] = f"https://www.linkedin.com/in/{person.replace('.', '-')}"
    return rows


def suppression_entries(rows: list[dict[str, str]], entries: int, seed: int) -> list[list[str]]:
    """value, reason rows: half emails, a fifth LinkedIn URLs, a fifth domains, a tenth
    company names; about half of each names a lead of the file."""
    rng = random.Random(seed)
    domains = sorted({row["account_domain"] for row in rows if row["account_domain"]})
    names = sorted({row["account_name"] for row in rows})
    out: list[list[str]] = []
    for number in range(entries):
        hit = rng.random() < 0.5
        lead = rng.choice(rows)
        kind = number % 10
        if kind < 5:
            value = lead["email"].upper() if hit else f"nobody{number}@elsewhere.example"
            out.append([value, "opted out"])
        elif kind < 7:
            value = lead["linkedin_url"] + "/" if hit else f"linkedin.com/in/nobody-{number}"
            out.append([value, "opted out"])
        elif kind < 9:
            domain = rng.choice(domains)
            value = f"www.{domain}" if hit else f"customer{number}.example"
            out.append([value, "existing customer"])
        else:
            value = f"{rng.choice(names)} Inc." if hit else f"Competitor {number} Ltd"
            out.append([value, "competitor"])
    return out


def write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def median_seconds(work: Callable[[], Result], repeat: int) -> tuple[float, Result]:
    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_seconds(workdir: Path, leads: Path, suppress: Path | None, number: int) -> float:
    run = workdir / f"{'with' if suppress else 'without'}-{number}"
    command = [
        str(PROJECT_ROOT / ".venv" / "bin" / "persona-ranker"),
        "run",
        "--leads",
        str(leads),
        "--warehouse",
        str(run / "warehouse.duckdb"),
        "--export",
        str(run / "campaign.csv"),
        "--evaluator",
        "rules",
        *(["--suppress", str(suppress)] if suppress else []),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=workdir)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=2, help="full runs of each kind (0: none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="suppression-bench-") as folder:
        workdir = Path(folder)
        rows = leads_with_contacts(args.leads, args.companies, args.seed)
        leads_file, list_file = workdir / "leads.csv", workdir / "dnc.csv"
        write_csv(leads_file, CONTACT_HEADER, [[row[c] for c in CONTACT_HEADER] for row in rows])
        write_csv(
            list_file, ["value", "reason"], suppression_entries(rows, args.entries, args.seed)
        )
        leads = pd.DataFrame(rows)
        read_s, entries = median_seconds(lambda: read_suppression_file(list_file), args.repeat)
        match_s, reasons = median_seconds(lambda: suppressed_reasons(leads, entries), args.repeat)
        figures: dict[str, object] = {
            "leads": args.leads,
            "entries": len(entries),
            "suppressed_leads": int((reasons != "").sum()),
            "read_s": round(read_s, 3),
            "match_s": round(match_s, 3),
            "added_s": round(read_s + match_s, 3),
        }
        if args.runs:
            without, with_list = [], []
            for number in range(args.runs):
                without.append(run_seconds(workdir, leads_file, None, number))
                with_list.append(run_seconds(workdir, leads_file, list_file, number))
            figures |= {
                "run_without_s": round(statistics.median(without), 2),
                "run_with_s": round(statistics.median(with_list), 2),
                "run_difference_s": round(
                    statistics.median(with_list) - statistics.median(without), 2
                ),
            }
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{figures['entries']:,} entries against {figures['leads']:,} leads")
    print(f"  suppressed leads:        {figures['suppressed_leads']:,}")
    print(f"  read the list:           {figures['read_s']:.3f} s")
    print(f"  match every lead:        {figures['match_s']:.3f} s")
    print(f"  added by the list:       {figures['added_s']:.3f} s (median of {args.repeat})")
    if args.runs:
        print(
            f"  run without the list:    {figures['run_without_s']:.2f} s (median of {args.runs})"
        )
        print(f"  run with the list:       {figures['run_with_s']:.2f} s (median of {args.runs})")
        print(f"  difference:              {figures['run_difference_s']:+.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The invariants `soak.py` checks after every night, read from the warehouse, the export and
inbox folders and the model server's log of what it answered."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from pipeline.groq_server.server import MockGroq
from pipeline.orchestration.clients import load_clients
from pipeline.orchestration.inbox import ARCHIVE_DIR, REJECTED_DIR
from pipeline.orchestration.settings import Settings

TABLES = ("raw_leads", "lead_evaluations", "ranked_leads", "campaign_export")
# Leads in one call: a call cut by a kill is answered but never recorded.
LEADS_PER_CALL = 4


@dataclass
class Violations:
    count: int = 0
    details: list[str] = field(default_factory=list)

    def extend(self, night: int, found: list[str]) -> None:
        self.count += len(found)
        self.details += [f"night {night + 1}: {problem}" for problem in found]


def rows(url: str, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def count(url: str, sql: str, parameters: Sequence[object] = ()) -> int:
    return int(rows(url, sql, parameters)[0][0])


def client_fingerprints(url: str, schema: str) -> dict[tuple[str, str], str]:
    """Each client's rows of each table, as one digest (none before the table exists)."""
    found: dict[tuple[str, str], str] = {}
    for table in TABLES:
        if not rows(
            url, "select 1 from pg_tables where schemaname = %s and tablename = %s", (schema, table)
        ):
            continue
        for client, digest in rows(
            url,
            f"select client, md5(string_agg(t::text, '|' order by t::text)) "
            f"from {schema}.{table} t group by client",
        ):
            found[(table, client)] = digest
    return found


def check_night(
    url: str,
    schema: str,
    settings: Settings,
    clients: Sequence[str],
    ran: Sequence[str],
    before: dict[tuple[str, str], str],
    groq: MockGroq,
    calls_cut: int,
    inbox: Path,
    dropped: Counter[str],
) -> tuple[list[str], int]:
    """The night's violations, and the leads left pending (waiting for the model)."""
    problems: list[str] = []
    pending = 0
    directory = load_clients(settings)
    after = client_fingerprints(url, schema)
    for client in clients:
        if not rows(
            url,
            "select 1 from pg_tables where schemaname = %s and tablename = 'ranked_leads'",
            (schema,),
        ):
            break
        problems += _ranking(url, schema, client, directory[client].settings.top_n)
        problems += _campaign_file(url, schema, client, directory[client].settings.export_path)
        problems += _inbox(inbox / client, dropped[client], client)
        pending += rows(
            url,
            f"select count(*) from {schema}.raw_leads r left join {schema}.lead_evaluations e "
            "using (client, lead_id) where r.client = %s and e.lead_id is null",
            (client,),
        )[0][0]
        if client not in ran:
            changed = [t for t in TABLES if before.get((t, client)) != after.get((t, client))]
            if changed:
                problems.append(f"{client} did not run, yet its {', '.join(changed)} changed")
    problems += _paid_twice(groq, calls_cut)
    return problems, pending


def _ranking(url: str, schema: str, client: str, top_n: int) -> list[str]:
    problems = []
    unmatched = count(
        url,
        f"select count(*) from (select lead_id from {schema}.ranked_leads where client = %s) r "
        f"full join (select lead_id from {schema}.lead_evaluations where client = %s) e "
        "using (lead_id) where r.lead_id is null or e.lead_id is null",
        (client, client),
    )
    if unmatched:
        problems.append(f"{client}: {unmatched} leads without exactly one evaluation")
    doubled = count(
        url,
        f"select count(*) from (select lead_id from {schema}.lead_evaluations where client = %s "
        "group by lead_id having count(*) > 1) d",
        (client,),
    )
    if doubled:
        problems.append(f"{client}: {doubled} leads with more than one evaluation")
    gaps = count(
        url,
        f"select count(*) from (select company_key from {schema}.ranked_leads where client = %s "
        "and company_rank is not null group by company_key "
        "having max(company_rank) <> count(*) or count(distinct company_rank) <> count(*)) g",
        (client,),
    )
    if gaps:
        problems.append(f"{client}: {gaps} companies whose ranks are not 1..n")
    top = set(
        rows(
            url,
            f"select company_key, company_rank, lead_first_name, lead_last_name "
            f"from {schema}.ranked_leads where client = %s and company_rank <= %s "
            "and suppressed_reason = ''",
            (client, top_n),
        )
    )
    campaign = set(
        rows(
            url,
            f"select company_key, company_rank, lead_first_name, lead_last_name "
            f"from {schema}.campaign_export where client = %s",
            (client,),
        )
    )
    if top != campaign:
        problems.append(
            f"{client}: the campaign is not the ranking's top {top_n} "
            f"({len(campaign - top)} extra, {len(top - campaign)} missing)"
        )
    return problems


def _campaign_file(url: str, schema: str, client: str, path: Path) -> list[str]:
    stored = rows(
        url, f"select count(*) from {schema}.campaign_export where client = %s", (client,)
    )[0][0]
    if not path.exists():
        return [f"{client}: no campaign file at {path}"] if stored else []
    with path.open(encoding="utf-8", newline="") as stream:
        written = sum(1 for _ in csv.reader(stream)) - 1
    if written != stored:
        return [f"{client}: the campaign file holds {written} rows, the table {stored}"]
    return []


def _inbox(inbox: Path, dropped: int, client: str) -> list[str]:
    """Every file dropped so far is archived or rejected with its reason; none waits."""
    waiting = [p.name for p in inbox.glob("*") if p.is_file() and not p.name.startswith(".")]
    archived = [p for p in (inbox / ARCHIVE_DIR).glob("*") if not p.name.endswith(".rejected.csv")]
    rejected = [p for p in (inbox / REJECTED_DIR).glob("*") if not p.name.endswith(".reason.txt")]
    problems = []
    if waiting:
        problems.append(f"{client}: {len(waiting)} inbox files never taken: {waiting[:3]}")
    if len(archived) + len(rejected) != dropped:
        problems.append(
            f"{client}: {dropped} files dropped, {len(archived)} archived and {len(rejected)} "
            "rejected"
        )
    problems += [
        f"{client}: {path.name} rejected without a reason"
        for path in rejected
        if not path.with_name(path.name + ".reason.txt").exists()
    ]
    return problems


def _paid_twice(groq: MockGroq, calls_cut: int) -> list[str]:
    """Lead texts the model answered in more than one call, beyond the calls cut: one in
    flight when its worker or the database was killed is answered but never recorded, and
    its leads are asked again."""
    seen: Counter[str] = Counter()
    for request in groq.served():
        if request.status == 200:
            seen.update(set(request.contents))
    # Counted over every night so far: a lead paid one night and again the next is twice.
    twice = sum(1 for count in seen.values() if count > 1)
    if twice > LEADS_PER_CALL * calls_cut:
        return [f"{twice} leads' answers paid twice ({calls_cut} calls may have been cut)"]
    return []

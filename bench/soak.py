"""Many nights of the deployed system, with faults, measured: `dagster dev` (webserver,
daemon with its run queue, run monitoring and run retries) on a PostgreSQL server of its own
holding the warehouse and the Dagster instance, the local Groq-compatible server as the model,
and five clients whose exports arrive in their inboxes.

    .venv/bin/python bench/soak.py [--nights 30] [--seed 1] [--json]

Each night some clients get new exports in their inbox; the inbox sensor's tick merges them
and its run requests are launched through the instance, as the daemon does. One or more
faults, drawn with the seed, hit the night:

- `worker_killed`: the process of a run in its model step SIGKILLed;
- `postgres_killed`: the server SIGKILLed while a transaction writes to a warehouse table (a
  COPY, a delete; after the night's runs if none was seen), started again a second later;
- `disk_full`: the export filesystem (a small tmpfs; a plain folder, and the fault skipped,
  without root) full when the night starts, room made once a run has failed on it;
- `groq_down`: every model call refused for the whole night;
- `inbox_burst`: eight files for every client at once, copies and one unreadable file among
  them.

Once every run and its retries have ended, the invariants are checked for every client:
every lead of its ranking has exactly one evaluation and every evaluation one lead; ranks are
contiguous per company; the campaign table is the ranking's top N, and the campaign file holds
as many rows; no inbox file is left unaccounted for (each archived or rejected with its
reason); no lead text was answered by the model in two calls (but the call in flight when a
worker was killed); a client none of whose runs ran that night kept every row. A night with
Groq down leaves its new leads pending: they are counted, not a violation; the next night
ranks them.

Printed: nights, faults by kind, runs, runs retried, the most leads pending after a night,
violations (0 when all holds; one still there the next night counts again); with --json one
object with `nights`, `faults`, `retried` and `violations`, and the rest. Each night also
prints a line on stderr: its faults, runs and retries, their wait in the queue and run time,
the slowest steps.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunRecord,
    RunsFilter,
    build_sensor_context,
)
from dagster_dev import dagster_dev, launch_ranking, new_home, wait_for_storage
from own_postgres import OwnPostgres
from soak_checks import Violations, check_night, client_fingerprints

from pipeline.definitions import build_definitions
from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.leads.records import LEAD_COLUMNS
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.settings import DATA_DIR, Settings
from pipeline.persona.reader import load_persona

KINDS = ("worker_killed", "postgres_killed", "disk_full", "groq_down", "inbox_burst")
CLIENTS = ("north", "south", "east", "west", "central")
SCHEMA = "persona_ranker"
NIGHT_TAG = "soak/night"
MODEL_STEP = "lead_evaluations.evaluate_shard"
MODEL_STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
}
TITLES = (
    "VP of Sales",
    "Head of Sales",
    "Sales Manager",
    "Chief Revenue Officer",
    "Account Executive",
    "HR Director",
    "Welder",
    "Chief Financial Officer",
    "Growth Lead, helping founders sell",
    "Responsable commercial",
    "Sales Enablement Specialist",
)
RANGES = ("11-50", "51-200", "201-500", "1001-5000")
# The account's tier: the runs' limiter and the model server hold the same budget. The soak
# plays faults, not a small account's minute (the free tier's 8,000 tokens admit about eight
# of its calls a minute, shared by every run).
TIER = "developer"


def export(client: str, night: int, number: int, rng: random.Random) -> list[list[str]]:
    """One CRM export: two companies of the client's, each of five people, some of whom may
    share a title (one answer for both: asking each would be an answer paid twice)."""
    rows = []
    for company in range(2):
        firm = f"{client.title()} {night}-{number}-{company}"
        size = rng.choice(RANGES)
        for person, title in enumerate(rng.choices(TITLES, k=5)):
            rows.append(
                [
                    firm,
                    f"Ann{person}",
                    f"Lee{night}x{number}x{company}",
                    title,
                    f"{client}-{night}-{number}-{company}.example",
                    size,
                    "Software",
                ]
            )
    return rows


def drop(inbox: Path, name: str, rows: list[list[str]]) -> None:
    """Written aside and renamed in, as a sync client does: the sensor never sees half."""
    inbox.mkdir(parents=True, exist_ok=True)
    temporary = inbox / f".{name}.part"
    with temporary.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(LEAD_COLUMNS)
        writer.writerows(rows)
    temporary.rename(inbox / name)


class Night:
    """One night: the files dropped, the runs launched, the faults played."""

    def __init__(self, soak: Soak, number: int, faults: list[str]) -> None:
        self.soak, self.number, self.faults = soak, number, faults
        self.dropped: Counter[str] = Counter()
        # Processes or databases killed while a model call may have been in flight.
        self.calls_cut = 0
        # Set once the night's runs and retries have ended: a strike waits no longer.
        self.ended = threading.Event()

    def play(self) -> tuple[list[str], dict[tuple[str, str], str]]:
        soak = self.soak
        rng = soak.rng
        burst = "inbox_burst" in self.faults
        chosen = list(CLIENTS) if burst else rng.sample(CLIENTS, rng.randint(1, 3))
        for client in chosen:
            inbox = soak.inbox / client
            first = export(client, self.number, 0, rng)
            drop(inbox, f"night{self.number}.csv", first)
            self.dropped[client] += 1
            if burst:
                for number in range(1, 6):
                    drop(
                        inbox,
                        f"night{self.number}-{number}.csv",
                        export(client, self.number, number, rng),
                    )
                drop(inbox, f"night{self.number} (1).csv", first)  # a second download
                self.dropped[client] += 6
                if client == chosen[-1]:
                    (inbox / f"night{self.number}-broken.csv").write_bytes(b"\x00PK\x03\x04" * 50)
                    self.dropped[client] += 1
        before = client_fingerprints(soak.server.url, SCHEMA)
        if "groq_down" in self.faults:
            soak.groq.set_outage("503")
        if "disk_full" in self.faults and soak.small_disk:
            soak.fill_disk()
        requests = soak.tick()
        runs = [
            launch_ranking(
                soak.port,
                {
                    **request.tags,
                    "dagster/partition": request.partition_key,
                    NIGHT_TAG: str(self.number),
                },
                request.run_config,
            )
            for request in requests
        ]
        ran = {request.partition_key for request in requests}
        # Each fault on its own: a database restart does not wait for a worker to die.
        strikes = [
            threading.Thread(target=strike, args=(runs,), daemon=True)
            for kind, strike in (
                ("worker_killed", self._kill_worker),
                ("postgres_killed", self._kill_postgres),
                ("disk_full", self._free_disk_after_a_failure),
            )
            if kind in self.faults and runs
        ]
        for strike in strikes:
            strike.start()
        self._wait_for_the_night()
        self.ended.set()
        for strike in strikes:
            strike.join(timeout=120)
        if any(strike.is_alive() for strike in strikes):
            raise RuntimeError(f"night {self.number}: a fault did not finish in 120 s")
        soak.groq.set_outage("")
        soak.free_disk()
        return sorted(ran), before

    def _until(self, condition: Callable[[], bool], poll_s: float) -> bool:
        """Waits for `condition` while the night's runs go on: False once they have ended
        without it (a fault that found nothing to strike mid-way strikes after them)."""
        while not self.ended.is_set():
            if condition():
                return True
            time.sleep(poll_s)
        return False

    def _kill_worker(self, runs: list[str]) -> None:
        """SIGKILL to the process of the first of the night's runs seen in its model step."""
        in_model_step: list[int] = []

        def found() -> bool:
            in_model_step.extend(filter(None, (self._model_step_pid(run) for run in runs)))
            return bool(in_model_step)

        if not self._until(found, 0.1):
            return  # every lead came from the cache: nothing to kill in the model step
        with contextlib.suppress(ProcessLookupError):  # the step ended just now
            os.kill(in_model_step[0], signal.SIGKILL)
            self.calls_cut += 1

    def _model_step_pid(self, run_id: str) -> int | None:
        """The pid of the run's process while its model step runs (started, not ended)."""
        started = None
        for record in self.soak.instance.all_logs(run_id, of_type=MODEL_STEP_EVENTS):
            if not (record.step_key or "").startswith(MODEL_STEP) or not record.dagster_event:
                continue
            if record.dagster_event.event_type == DagsterEventType.STEP_START:
                started = record.dagster_event.pid
            else:
                return None
        return started

    def _kill_postgres(self, runs: list[str]) -> None:
        # Not `with connection`: that opens a transaction even in autocommit, and a
        # transaction sees one snapshot of pg_stat_activity.
        with contextlib.closing(psycopg2.connect(self.soak.server.url)) as watching:
            watching.autocommit = True
            self._until(lambda: _writing(watching), 0.02)
        # A model call answered while the database is gone is never recorded: at most one.
        self.calls_cut += 1
        self.soak.server.kill()
        time.sleep(1)
        self.soak.server.start()
        wait_for_storage(self.soak.port)

    def _free_disk_after_a_failure(self, runs: list[str]) -> None:
        """Room is made once a run has failed on the full disk, as an operator's alert
        would: the retry writes the files."""
        if self.soak.small_disk:
            self._until(self._failed_runs, 0.5)
            self.soak.free_disk()

    def _failed_runs(self) -> bool:
        return bool(
            self.soak.instance.get_run_records(
                RunsFilter(tags={NIGHT_TAG: str(self.number)}, statuses=[DagsterRunStatus.FAILURE])
            )
        )

    def timings(self) -> str:
        """Where the night's time went: runs, their mean wait in the queue and run time."""
        records = self.soak.instance.get_run_records(RunsFilter(tags={NIGHT_TAG: str(self.number)}))
        waits = [r.start_time - r.create_timestamp.timestamp() for r in records if r.start_time]
        spans = _run_spans(records)
        retried = sum(1 for r in records if "dagster/retry_number" in r.dagster_run.tags)
        steps: dict[str, list[float]] = {}
        for record in records:
            for step in self.soak.instance.get_run_step_stats(record.dagster_run.run_id):
                if step.start_time and step.end_time:
                    steps.setdefault(step.step_key, []).append(step.end_time - step.start_time)
        slowest = sorted(steps.items(), key=lambda item: -_mean(item[1]))[:3]
        return (
            f"{len(records)} runs ({retried} retries), queued {_mean(waits):.1f} s, "
            f"ran {_mean(spans):.1f} s on average; slowest steps "
            + ", ".join(f"{key} {_mean(times):.1f} s" for key, times in slowest)
        )

    def _wait_for_the_night(self, timeout_s: float = 600) -> None:
        """Until every run of the night, retries included, has ended and no retry is due."""
        deadline = time.monotonic() + timeout_s
        settled_since = None
        while time.monotonic() < deadline:
            try:
                runs = self.soak.instance.get_runs(RunsFilter(tags={NIGHT_TAG: str(self.number)}))
            except Exception:  # the instance's server restarting
                time.sleep(1)
                continue
            pending = [run for run in runs if not run.is_finished] + [
                run
                for run in runs
                if run.status == DagsterRunStatus.FAILURE
                and run.tags.get("dagster/will_retry") != "false"
                and "dagster/auto_retry_run_id" not in run.tags
            ]
            if pending:
                settled_since = None
            elif settled_since is None:
                settled_since = time.monotonic()
            elif time.monotonic() - settled_since > 1:
                return
            time.sleep(0.5)
        raise TimeoutError(f"night {self.number} did not settle in {timeout_s:.0f} s")


class Soak:
    def __init__(self, scratch: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.scratch = scratch
        self.inbox = scratch / "inbox"
        self.exports = scratch / "exports"
        self.exports.mkdir()
        self.small_disk = _mount_small_disk(self.exports)
        self.filler = self.exports / "filler.bin"

    def fill_disk(self) -> None:
        stats = os.statvfs(self.exports)
        with self.filler.open("wb") as stream:
            stream.write(b"\0" * max(stats.f_bavail * stats.f_frsize - 4096, 0))

    def free_disk(self) -> None:
        self.filler.unlink(missing_ok=True)

    def tick(self) -> list:
        """The inbox sensor's tick, as the daemon runs it (every 30 s there): its requests."""
        result = self.sensor(build_sensor_context(instance=self.instance, cursor=self.cursor))
        self.cursor = getattr(result, "cursor", None) or self.cursor
        return list(getattr(result, "run_requests", None) or [])

    def environment(self) -> dict[str, str]:
        clients = {
            name: {
                "persona": str(DATA_DIR / "persona.yaml"),
                "leads": str(self.scratch / "bases" / f"{name}.csv"),
            }
            for name in CLIENTS
        }
        path = self.scratch / "clients.yaml"
        path.write_text(json.dumps({"clients": clients}), encoding="utf-8")
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.server.port),
            "DAGSTER_PG_DB": "postgres",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "GROQ_API_KEY": "gsk_soak",
            "GROQ_BASE_URL": self.groq.base_url,
            "PERSONA_RANKER_CLIENTS": str(path),
            "PERSONA_RANKER_DATABASE_URL": self.server.url,
            "PERSONA_RANKER_DATABASE_SCHEMA": SCHEMA,
            "PERSONA_RANKER_EVALUATOR": "groq",
            "PERSONA_RANKER_GROQ_BATCH_SIZE": "4",
            "PERSONA_RANKER_GROQ_CONCURRENCY": "1",
            "PERSONA_RANKER_GROQ_TIER": TIER,
            # A night with Groq down costs each run four attempts of three calls: 0.2 s
            # doubling instead of 1 s doubling (the shipped default) keeps it seconds long.
            "PERSONA_RANKER_GROQ_BACKOFF_SECONDS": "0.2",
            "PERSONA_RANKER_EXPORT": str(self.exports / "campaign.csv"),
            "PERSONA_RANKER_INBOX": str(self.inbox),
            "PERSONA_RANKER_INBOX_SETTLE_SECONDS": "0",
            "PERSONA_RANKER_WORK_DIR": str(self.scratch / "work"),
        }

    def run(self, nights: int) -> dict[str, object]:
        persona = load_persona(DATA_DIR / "persona.yaml")
        limits = load_groq_config(DATA_DIR / "groq.yaml").limits(TIER)
        faults: Counter[str] = Counter()
        violations = Violations()
        dropped: Counter[str] = Counter()
        most_pending = 0
        calls_cut = 0
        started = time.monotonic()
        with (
            OwnPostgres() as self.server,
            MockGroq(persona, MockSettings(limits, latency_s=0.05, disagreement=0.0)) as self.groq,
        ):
            env = self.environment()
            os.environ.update(env)  # this process ticks the sensor and reads the instance
            settings = Settings.from_env(env)
            self.sensor = build_definitions(settings).resolve_sensor_def("lead_inbox")
            self.cursor: str | None = None
            home = new_home(self.scratch / "dagster_home", postgres_storage=True, quick=True)
            with (
                dagster_dev(home, env, log=self.scratch / "dagster_dev.log") as self.port,
                DagsterInstance.from_config(str(home)) as self.instance,
            ):
                for number in range(nights):
                    drawn = self.rng.sample(KINDS, self.rng.choice((1, 2, 2, 3)))
                    if "disk_full" in drawn and not self.small_disk:
                        drawn.remove("disk_full")
                    night = Night(self, number, drawn)
                    ran, before = night.play()
                    faults.update(drawn)
                    calls_cut += night.calls_cut
                    dropped.update(night.dropped)
                    found, pending = check_night(
                        self.server.url,
                        SCHEMA,
                        settings,
                        CLIENTS,
                        ran,
                        before,
                        self.groq,
                        calls_cut,
                        self.inbox,
                        dropped,
                    )
                    violations.extend(number, found)
                    most_pending = max(most_pending, pending)
                    print(
                        f"{time.monotonic() - started:.0f} s: night {number + 1}/{nights}: "
                        f"{', '.join(drawn)}; ran {', '.join(ran) or 'nobody'}; "
                        f"{night.timings()}; {len(found)} violations"
                        + "".join(f"\n  - {p}" for p in found),
                        file=sys.stderr,
                        flush=True,
                    )
                records = self.instance.get_run_records()
        runs = [record.dagster_run for record in records]
        return {
            "nights": nights,
            "faults": dict(sorted(faults.items())),
            "faults_total": sum(faults.values()),
            "runs": len(runs),
            "retried": sum(1 for run in runs if "dagster/retry_number" in run.tags),
            "most_pending_leads": most_pending,
            "violations": violations.count,
            "violation_details": violations.details[:20],
            "wall_s": round(time.monotonic() - started, 1),
            "run_s_mean": round(_mean(_run_spans(records)), 1),
            "disk_full_played": self.small_disk,
        }


def _writing(connection: Any) -> bool:
    """A transaction writing to the warehouse's tables is open (a COPY, a delete or an insert,
    running or awaiting its commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity "
            "where state in ('active', 'idle in transaction') and query ~* %s",
            (rf'^\s*(copy|delete from|insert into|update)\s+"?{SCHEMA}"?\.',),
        )
        return cursor.fetchone()[0] > 0


def _run_spans(records: list[RunRecord]) -> list[float]:
    """Seconds each finished run ran, from its start (its wait in the queue left out)."""
    return [r.end_time - r.start_time for r in records if r.start_time and r.end_time]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _mount_small_disk(folder: Path) -> bool:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the sensor's line per file taken
    # Stopped with SIGTERM (a CI timeout, `kill`): the servers are stopped and the small
    # filesystem unmounted on the way out, as after the last night.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="persona-ranker-soak-") as scratch:
        soak = Soak(Path(scratch), args.seed)
        try:
            figures = soak.run(args.nights)
        finally:
            if soak.small_disk:
                subprocess.run(["umount", str(soak.exports)], check=False)
    if args.json:
        print(
            json.dumps(
                {k: figures[k] for k in ("nights", "faults", "retried", "violations")} | figures
            )
        )
    else:
        print(
            "| nights | faults | "
            + " | ".join(KINDS)
            + " | runs | retried | most leads pending | violations | wall s |"
        )
        print("|---:" * (len(KINDS) + 7) + "|")
        kinds = " | ".join(str(figures["faults"].get(kind, 0)) for kind in KINDS)
        print(
            f"| {figures['nights']} | {figures['faults_total']} | {kinds} | {figures['runs']} | "
            f"{figures['retried']} | {figures['most_pending_leads']} | {figures['violations']} | "
            f"{figures['wall_s']} |"
        )
        for detail in figures["violation_details"]:
            print(f"- {detail}")
    return 0 if figures["violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

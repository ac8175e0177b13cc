"""The other commands: eval, batches, grant-reader and revoke-reader, dev, workers, mock-groq."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from dagster import DagsterInstance

from pipeline.cli.arguments import settings_from
from pipeline.cli.ranking import rank_client
from pipeline.definitions import build_definitions
from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.llm.ratelimit import RateLimits
from pipeline.orchestration.clients import (
    DEFAULT_CLIENT,
    Client,
    ClientsFileError,
    choose_clients,
    load_clients,
)
from pipeline.orchestration.executors import CELERY_EXTRA
from pipeline.orchestration.instance import (
    ensure_dagster_home,
)
from pipeline.orchestration.resources import GroqEvaluator, resolved_batches
from pipeline.orchestration.settings import (
    ENV_DATABASE_URL,
    ENV_READER_PASSWORD,
    PROJECT_ROOT,
    Settings,
)
from pipeline.persona.reader import load_persona
from pipeline.quality.calibration import leave_one_company_out
from pipeline.quality.labels import labels_as_leads_file, read_expert_labels
from pipeline.quality.metrics import judge, score_ranking
from pipeline.quality.report import format_quality
from pipeline.storage.postgres_warehouse import redact
from pipeline.storage.reader_access import ReaderAccessError, grant_reader, revoke_reader
from pipeline.storage.stores import Warehouse


def list_batches(settings: Settings, names: Sequence[str], cancel: str | None) -> int:
    """The open batches (of the chosen clients, or all), refreshed from Groq; or one
    cancelled. Filing finished ones stays the sensor's and `--wait`'s job."""
    clients = load_clients(settings)
    chosen = {client.name for client in choose_clients(clients, list(names), every=not names)}
    evaluator = build_definitions(settings, clients).resources["evaluator"]
    if not isinstance(evaluator, GroqEvaluator):
        raise ValueError("batches are Groq's: set GROQ_API_KEY to follow them")
    with resolved_batches(evaluator, DEFAULT_CLIENT) as batches:
        rows = [row for row in batches.ledger.open_batches() if row.client in chosen]
        if cancel:
            row = next((row for row in rows if row.batch_id == cancel), None)
            if row is None:
                raise ValueError(f"no open batch {cancel} for {', '.join(sorted(chosen))}")
            batches.cancel(row)
            print(f"batch {cancel}: {row.status}; its answers so far are filed when it ends")
            return 0
        for row in rows:
            batches.refresh(row)
    if not rows:
        print("No open batches.")
        return 0
    print("| batch | client | status | calls done | leads | submitted |")
    print("|---|---|---|---:|---:|---|")
    for row in rows:
        done = row.completed_lines + row.failed_lines
        print(
            f"| {row.batch_id or row.input_file_id} | {row.client} | {row.status} | "
            f"{done}/{row.lines} | {row.leads} | {row.submitted_at:%Y-%m-%d %H:%M} UTC |"
        )
    return 0


def evaluate(
    settings: Settings,
    names: Sequence[str],
    labels_path: Path | None,
    k: int,
    loco: bool,
    as_json: bool,
) -> int:
    """Ranks a client's labelled leads through the same job, in a temporary warehouse and
    instance, so the user's tables, campaign file and run history are untouched."""
    chosen = choose_clients(load_clients(settings), list(names), every=False)
    if len(chosen) > 1:
        raise ClientsFileError("eval scores one client: choose one --client")
    client = chosen[0]
    own = replace(client.settings, labels_path=labels_path or client.settings.labels_path)
    if own.labels_path is None:
        raise ClientsFileError(
            f"client {client.name} has no expert labels: give --labels or `labels:` in "
            "the clients file"
        )
    persona = load_persona(own.persona_path)
    labels = read_expert_labels(own.labels_path)
    with tempfile.TemporaryDirectory(prefix="persona-ranker-eval-") as scratch:
        workspace = Path(scratch)
        isolated = replace(
            own,
            leads_path=labels_as_leads_file(labels, workspace / "labelled_leads.csv"),
            warehouse_path=workspace / "warehouse.duckdb",
            database_url=None,
            database_schema=None,
            export_path=workspace / "campaign.csv",
            executor="in_process",
        )
        only = {client.name: Client(client.name, isolated)}
        with DagsterInstance.ephemeral() as instance:
            outcome = rank_client(isolated, only, instance, client.name, "eval")
            if outcome is None:
                return 1
            ranked = Warehouse(isolated.warehouse_location, isolated.warehouse_schema).client_rows(
                "ranked_leads", client.name
            )
    judged = judge(ranked, labels)
    report = score_ranking(judged, k)
    held_out = leave_one_company_out(judged, k, persona.relevance_threshold) if loco else None
    if as_json:
        document: dict[str, object] = {
            "client": client.name,
            "labels": str(own.labels_path),
            "evaluator": ", ".join(sorted(ranked["evaluator"].unique())),
            **report.headline(),
            "report": report.as_dict(),
        }
        if held_out is not None:
            document["leave_one_company_out"] = asdict(held_out)
        print(json.dumps(document, indent=2))
    else:
        print(format_quality(report, held_out))
    return 0


def reader_access(args: argparse.Namespace) -> int:
    """grant-reader / revoke-reader on the PostgreSQL warehouse."""
    settings = settings_from(args)
    if not settings.database_url:
        raise ReaderAccessError(
            "a DuckDB warehouse has no roles: it is a single-team store, where --client "
            "separates data but not access; use a PostgreSQL warehouse "
            f"(--warehouse postgresql://... or {ENV_DATABASE_URL}) to give analysts access"
        )
    warehouse = Warehouse(settings.database_url, settings.warehouse_schema)
    if args.client:
        choose_clients(load_clients(settings), [args.client], every=False)
    with warehouse.transaction() as cursor:
        if args.command == "grant-reader":
            grant_reader(
                cursor,
                warehouse.schema,
                args.client,
                args.role,
                os.environ.get(ENV_READER_PASSWORD),
            )
            print(f"Role {args.role} reads client {args.client}'s rows in {warehouse.label()}")
            return 0
        removed = revoke_reader(cursor, warehouse.schema, args.role, args.client)
    scope = f"client {args.client}" if args.client else "every client"
    print(f"Role {args.role}: {removed} grant(s) removed ({scope}) in {warehouse.label()}")
    return 0


def dev() -> int:
    """Dagster's UI on workspace.yaml, recording runs in the same instance as `run`."""
    ensure_dagster_home()
    dagster = str(Path(sys.executable).with_name("dagster"))
    os.chdir(PROJECT_ROOT)
    os.execv(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml")])
    return 0


def workers(concurrency: int, name: str | None) -> int:
    """Celery workers for the project's steps, in the foreground until interrupted."""
    if concurrency < 1:
        raise ValueError(f"--concurrency must be at least 1, got {concurrency}")
    if importlib.util.find_spec("dagster_celery") is None:
        raise ValueError(f"workers need dagster-celery: {CELERY_EXTRA}")
    celery = str(Path(sys.executable).with_name("celery"))
    broker = Settings.from_env().celery_broker
    print(f"Celery workers ({concurrency}) on {redact(broker)}", flush=True)
    os.execv(
        celery,
        [
            celery,
            "-A",
            "pipeline.orchestration.celery_worker",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            # A worker takes a step when it has room, so a long step never holds others back.
            "--prefetch-multiplier=1",
            "-Q",
            "dagster",
            "-n",
            name or f"persona-ranker-{os.getpid()}@%h",
        ],
    )
    return 0


def mock_groq(args: argparse.Namespace) -> int:
    """The local Groq-compatible server in the foreground, until interrupted."""
    persona = load_persona(args.persona or Settings.from_env().persona_path)
    limits = RateLimits(args.rpm, args.tpm, args.rpd, args.tpd)
    faults = [fault for fault in args.faults.split(",") if fault]
    server = MockGroq(
        persona,
        MockSettings(
            limits,
            minute_s=args.minute_seconds,
            disagreement=args.disagreement,
            latency_s=args.latency,
            latency_per_output_token_s=args.latency_per_token,
            batch_delay_s=args.batch_delay,
            batch_expire_s=args.batch_expire,
        ),
        port=args.port,
    )
    server.queue_faults(faults)
    print(
        f"Groq-compatible server on {server.base_url} ({limits.requests_per_minute} req/min, "
        f"{limits.tokens_per_minute} tokens/min, {limits.requests_per_day} req/day, "
        f"{limits.tokens_per_day} tokens/day; minute = {args.minute_seconds:g} s).\n"
        f"Use it with: GROQ_API_KEY=any GROQ_BASE_URL={server.base_url} "
        "persona-ranker run --evaluator groq",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0

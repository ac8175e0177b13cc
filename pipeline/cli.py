"""`persona-ranker`: rank a leads file through the project's Dagster definitions."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import groq
import psycopg2
from dagster import DagsterInstance, Definitions

from assets.evaluation import GROQ_POOL
from pipeline.campaign.formats import EXPORT_FORMATS
from pipeline.definitions import build_definitions
from pipeline.groq_server.server import FAULTS, MockGroq, MockSettings
from pipeline.leads.records import LeadsFileError, companies_named
from pipeline.llm.batches import BatchSubmitFailed, GroqBatches
from pipeline.llm.config import load_groq_config
from pipeline.llm.progress import PROGRESS_EVENTS, ProgressSnapshot, duration
from pipeline.llm.ratelimit import RateLimits
from pipeline.orchestration.clients import (
    DEFAULT_CLIENT,
    Client,
    ClientsFileError,
    choose_clients,
    load_clients,
)
from pipeline.orchestration.executors import CELERY_EXTRA, EXECUTOR_CHOICES
from pipeline.orchestration.instance import (
    ensure_dagster_home,
    ensure_pool,
    project_instance,
    release_abandoned_runs,
)
from pipeline.orchestration.launch import RunOutcome, launch
from pipeline.orchestration.resources import GroqEvaluator, client_config, resolved_batches
from pipeline.orchestration.run_history import record_run
from pipeline.orchestration.settings import (
    ENV_DATABASE_URL,
    ENV_READER_PASSWORD,
    EVALUATOR_CHOICES,
    PROJECT_ROOT,
    Settings,
    parse_column_map,
    parse_header_list,
)
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import PersonaError
from pipeline.quality.calibration import leave_one_company_out
from pipeline.quality.labels import LabelsFileError, labels_as_leads_file, read_expert_labels
from pipeline.quality.metrics import judge, score_ranking
from pipeline.quality.report import format_quality
from pipeline.storage.postgres_warehouse import redact
from pipeline.storage.reader_access import ReaderAccessError, grant_reader, revoke_reader
from pipeline.storage.stores import Warehouse, WarehouseUnreachable, is_postgres_url
from pipeline.summary import (
    SUMMARY_CAMPAIGN_COLUMNS,
    SUMMARY_RANKED_COLUMNS,
    format_summary,
    format_usage,
)
from pipeline.terminal_progress import ProgressBar

_MOST_BATCH_ROUNDS = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="persona-ranker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="rank a leads file and write the campaign CSV")
    _client_arguments(run)
    run.add_argument(
        "--all-clients", action="store_true", help="run every client of the clients file"
    )
    run.add_argument(
        "--leads",
        type=Path,
        help="leads file: CSV, Excel (.xlsx), or either gzipped (.gz) or zipped (default "
        "data/leads.csv)",
    )
    run.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
    run.add_argument(
        "--columns",
        action="append",
        metavar="OURS=HEADER",
        help="read one of our columns from this header, where names are ambiguous "
        '(repeatable, or comma-separated: "lead_job_title=Job Title")',
    )
    run.add_argument("--persona", type=Path, help="persona YAML (default data/persona.yaml)")
    run.add_argument(
        "--warehouse",
        help="DuckDB file, or a postgresql://user@host:port/db URL (default data/warehouse.duckdb)",
    )
    run.add_argument("--export", type=Path, help="campaign CSV (default data/exports/campaign.csv)")
    run.add_argument(
        "--report", type=Path, help="HTML report (default report.html beside the campaign file)"
    )
    run.add_argument("--top-n", type=int, help="leads per company in the campaign (default 3)")
    run.add_argument(
        "--export-format",
        choices=EXPORT_FORMATS,
        help="the campaign file's layout: ours (generic, the default) or a sending tool's import",
    )
    run.add_argument(
        "--suppress",
        type=Path,
        help="do-not-contact list: emails, LinkedIn URLs, domains, company names (CSV or Excel)",
    )
    run.add_argument(
        "--keep-columns",
        action="append",
        metavar="HEADER",
        help="carry this column of the leads file to the campaign file (repeatable, or "
        'comma-separated: "Lead Source,Owner")',
    )
    run.add_argument("--evaluator", choices=EVALUATOR_CHOICES, help="default auto")
    run.add_argument(
        "--executor",
        choices=EXECUTOR_CHOICES,
        help="where the steps run: this process (in_process, the default), a process per step "
        "(multiprocess), or `persona-ranker workers` anywhere (celery)",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="fail on any bad row instead of setting it aside in rejected_leads",
    )
    run.add_argument(
        "--company",
        action="append",
        default=[],
        metavar="NAME",
        help="re-evaluate only this company of the client (repeatable); the others keep "
        "their evaluations and the client's ranking is rebuilt over all",
    )
    run.add_argument(
        "--batch",
        action="store_true",
        help="send the leads that need the model to Groq's Batch API (half price, answered "
        "within its window); without --wait the command exits once the batch is submitted",
    )
    run.add_argument(
        "--wait",
        action="store_true",
        help="with --batch: follow the batch until it ends, then file its answers and rank",
    )
    evaluate = commands.add_parser(
        "eval", help="score the ranking against an expert's labels (a temporary warehouse)"
    )
    _client_arguments(evaluate)
    evaluate.add_argument("--labels", type=Path, help="expert labels (default data/eval_dev.csv)")
    evaluate.add_argument("--persona", type=Path, help="persona YAML (default data/persona.yaml)")
    evaluate.add_argument("--evaluator", choices=EVALUATOR_CHOICES, help="default auto")
    evaluate.add_argument("--k", type=int, default=3, help="depth of NDCG and precision (3)")
    evaluate.add_argument(
        "--loco",
        action="store_true",
        help="also tune the threshold leave-one-company-out: in-sample beside held-out",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    listing = commands.add_parser(
        "batches", help="list the Groq batches not yet filed, as Groq has them now; cancel one"
    )
    _client_arguments(listing)
    listing.add_argument("--warehouse", help="DuckDB file or postgresql:// URL (default: env)")
    listing.add_argument("--cancel", metavar="BATCH_ID", help="ask Groq to cancel this batch")
    commands.add_parser("dev", help="open the Dagster UI on the same definitions")
    workers = commands.add_parser(
        "workers",
        help="serve the celery executor's steps on this machine (PERSONA_RANKER_CELERY_BROKER)",
    )
    workers.add_argument(
        "--concurrency", type=int, default=1, help="steps this machine runs at once (1)"
    )
    workers.add_argument(
        "--name", help="the worker's name in the runs' events (default: persona-ranker-PID@host)"
    )
    for name, verb in (("grant-reader", "let"), ("revoke-reader", "stop")):
        access = commands.add_parser(
            name, help=f"{verb} a PostgreSQL role read one client's rows (row-level security)"
        )
        access.add_argument(
            "--client",
            required=name == "grant-reader",
            help="the client whose rows the role reads" + ("" if verb == "let" else " (all)"),
        )
        access.add_argument("--role", required=True, help="the PostgreSQL role (made if absent)")
        access.add_argument("--warehouse", help="postgresql://user@host:port/db (default: env)")
        access.add_argument("--clients", type=Path, help="clients file (default data/clients.yaml)")
    mock = commands.add_parser(
        "mock-groq", help="serve a local Groq-compatible API (try the Groq path without a key)"
    )
    free = load_groq_config(Settings().groq_config_path).limits("free")
    mock.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (8765)")
    mock.add_argument("--persona", type=Path, help="persona the answers come from")
    mock.add_argument("--rpm", type=int, default=free.requests_per_minute, help="requests/min")
    mock.add_argument("--tpm", type=int, default=free.tokens_per_minute, help="tokens/min")
    mock.add_argument("--rpd", type=int, default=free.requests_per_day, help="requests/day")
    mock.add_argument("--tpd", type=int, default=free.tokens_per_day, help="tokens/day")
    mock.add_argument(
        "--minute-seconds", type=float, default=60.0, help="length of its minute (time scale)"
    )
    mock.add_argument(
        "--disagreement", type=float, default=0.1, help="share of leads moved off the rules"
    )
    mock.add_argument(
        "--faults", default="", help=f"comma list injected first: {', '.join(FAULTS)}"
    )
    mock.add_argument(
        "--latency", type=float, default=0.0, help="seconds each answered call takes (0)"
    )
    mock.add_argument(
        "--latency-per-token",
        type=float,
        default=0.0,
        help="and seconds per output token, reasoning included (0)",
    )
    mock.add_argument(
        "--batch-delay", type=float, default=0.0, help="seconds a batch takes to process (0)"
    )
    mock.add_argument(
        "--batch-expire",
        type=float,
        help="seconds after which an unfinished batch expires (never)",
    )
    return parser


def _client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clients", type=Path, help="clients file (default data/clients.yaml, when present)"
    )
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="run this client of the clients file (repeatable)",
    )


# Per-client settings: with a clients file they are the file's, not a flag's.
_PER_CLIENT_FLAGS = (
    "leads",
    "persona",
    "export",
    "report",
    "sheet",
    "columns",
    "export_format",
    "suppress",
    "keep_columns",
)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {
        field: value.expanduser().resolve()
        for field, value in (
            ("leads_path", getattr(args, "leads", None)),
            ("persona_path", getattr(args, "persona", None)),
            ("export_path", getattr(args, "export", None)),
            ("report_path", getattr(args, "report", None)),
            ("suppress_path", getattr(args, "suppress", None)),
        )
        if value is not None
    }
    warehouse = getattr(args, "warehouse", None)
    if warehouse and is_postgres_url(warehouse):
        # Through the environment, so a password in it reaches the resources as an EnvVar.
        os.environ[ENV_DATABASE_URL] = warehouse
        overrides["database_url"] = warehouse
    elif warehouse:
        overrides["warehouse_path"] = Path(warehouse).expanduser().resolve()
        overrides["database_url"] = None
    if getattr(args, "top_n", None) is not None:
        overrides["top_n"] = args.top_n
    if getattr(args, "labels", None) is not None:
        overrides["labels_path"] = args.labels.expanduser().resolve()
    if getattr(args, "evaluator", None) is not None:
        overrides["evaluator"] = args.evaluator
    if getattr(args, "executor", None) is not None:
        overrides["executor"] = args.executor
    if getattr(args, "strict", False):
        overrides["strict_input"] = True
    if getattr(args, "sheet", None):
        overrides["input_sheet"] = args.sheet
    if getattr(args, "columns", None):
        overrides["input_columns"] = tuple(
            pair for text in args.columns for pair in parse_column_map(text)
        )
    if getattr(args, "export_format", None):
        overrides["export_format"] = args.export_format
    if getattr(args, "keep_columns", None):
        overrides["keep_columns"] = tuple(
            name for text in args.keep_columns for name in parse_header_list(text)
        )
    if getattr(args, "clients", None):
        overrides["clients_path"] = args.clients.expanduser().resolve()
    settings = replace(Settings.from_env(), **overrides)
    given = [flag for flag in _PER_CLIENT_FLAGS if getattr(args, flag, None)]
    if settings.clients_path is not None and given:
        raise ClientsFileError(
            f"--{given[0]} sets the single client's {given[0]}; with a clients file "
            f"({settings.clients_path}) set it per client there"
        )
    return settings


@dataclass(frozen=True)
class BatchRequest:
    """`--batch` (and `--wait`): the model's leads go to Groq's Batch API."""

    definitions: Definitions
    wait: bool


def run(
    settings: Settings,
    names: Sequence[str] = (),
    every: bool = False,
    companies: Sequence[str] = (),
    batch: bool = False,
    wait: bool = False,
) -> int:
    """Runs each chosen client in turn; a client whose files are bad fails alone."""
    if wait and not batch:
        raise ValueError("--wait follows a batch: give --batch too")
    clients = load_clients(settings)
    chosen = choose_clients(clients, list(names), every)
    if companies and len(chosen) > 1:
        raise ClientsFileError("--company names companies of one client: choose one --client")
    definitions = build_definitions(settings, clients)
    if batch and not isinstance(definitions.resources["evaluator"], GroqEvaluator):
        raise ValueError(
            "--batch sends the model's leads to Groq's Batch API: it needs GROQ_API_KEY and "
            "the groq (or auto) evaluator"
        )
    batching = BatchRequest(definitions, wait) if batch else None
    codes = {
        client.name: _run_client(settings, clients, client, companies, batching)
        for client in chosen
    }
    failed = [name for name, code in codes.items() if code]
    if failed and len(chosen) > 1:
        print(
            f"error: {len(failed)} of {len(chosen)} clients failed: {', '.join(failed)}",
            file=sys.stderr,
        )
    # 2: a client's input is bad; 1: a run failed.
    return max(codes.values())


def _run_client(
    settings: Settings,
    clients: Mapping[str, Client],
    client: Client,
    companies: Sequence[str],
    batching: BatchRequest | None = None,
) -> int:
    own = client.settings
    try:
        scope = _checked_inputs(own, companies)
    except (LeadsFileError, PersonaError, ValueError, OSError) as error:
        print(f"error: client {client.name}: {error}", file=sys.stderr)
        return 2
    # A stopped database fails here, before a run is recorded: the previous tables stay.
    warehouse = Warehouse(settings.warehouse_location, settings.warehouse_schema)
    warehouse.check()
    batch = batching is not None
    result = _rank(settings, clients, project_instance(), client.name, "cli", scope, batch)
    if batching is not None:
        result = _finish_batches(settings, clients, batching, client.name, scope, result)
    if result is None:
        return 1
    if not result.materializations("lead_evaluations"):
        # Submitted, not waited for: the previous ranking stands until the batch is in.
        return 0
    print()
    if len(clients) > 1:
        print(f"Client {client.name}")
    usage = _model_usage(result)
    if usage:
        print(format_usage(usage))
    print(
        format_summary(
            warehouse.client_rows("ranked_leads", client.name, SUMMARY_RANKED_COLUMNS),
            warehouse.client_rows("campaign_export", client.name, SUMMARY_CAMPAIGN_COLUMNS),
            own.export_path,
            warehouse.label(),
            own.report_file,
            _changes_line(result),
            own.report_max_companies,
        )
    )
    return 0


def _checked_inputs(own: Settings, companies: Sequence[str]) -> list[str]:
    """Every input read before anything is recorded, so a bad file stops here; the company
    keys `companies` names. The leads read here are let go before the run reads them again:
    a large file would otherwise be held twice."""
    load_persona(own.persona_path)
    config = client_config(own)
    leads = config.read_leads().leads
    config.read_suppression()
    return companies_named(leads, list(companies)) if companies else []


def _rank(
    settings: Settings,
    clients: Mapping[str, Client],
    instance: DagsterInstance,
    client: str,
    trigger: str,
    companies: Sequence[str] = (),
    batch: bool = False,
) -> RunOutcome | None:
    """One run of the rank_leads job for one client (only `companies` judged again, when
    given; the model's leads in a batch, with `batch`); None (errors printed) on failure."""
    for run_id in release_abandoned_runs(instance):
        print(f"Released run {run_id}: its process died mid-run", file=sys.stderr)
    ensure_pool(instance, GROQ_POOL)
    outcome = launch(
        settings, clients, client, trigger, instance, companies, batch, lines=sys.stderr
    )
    try:
        record_run(
            instance,
            outcome.run_id,
            Warehouse(settings.warehouse_location, settings.warehouse_schema),
        )
    except Exception as error:  # the run's outcome matters more than its stats
        print(f"warning: run_stats not recorded: {' '.join(str(error).split())}", file=sys.stderr)
    if outcome.success:
        return outcome
    for step, message in outcome.failures():
        print(f"error: client {client}: {step} failed: {message}", file=sys.stderr)
    print(f"error: client {client}: run {outcome.run_id} failed", file=sys.stderr)
    return None


def _finish_batches(
    settings: Settings,
    clients: Mapping[str, Client],
    batching: BatchRequest,
    client: str,
    companies: Sequence[str],
    result: RunOutcome | None,
) -> RunOutcome | None:
    """After a batch-mode run that left leads waiting: without --wait, says so; with it,
    follows the client's batches until they end, files their answers and runs again (which
    answers from the cache, or submits what the batches left, as configured)."""
    evaluator = batching.definitions.resources["evaluator"]
    # Each rerun either ranks or submits only what earlier batches failed, which stops after
    # the configured attempts; the bound is a guard.
    for _ in range(_MOST_BATCH_ROUNDS):
        if result is None or result.materializations("lead_evaluations"):
            return result
        print(_awaiting(result), flush=True)
        if not batching.wait:
            print(
                f"Client {client}: the ranking is written when the batch is in: start the "
                "groq_batches sensor (`persona-ranker dev`), or run again with --batch --wait."
            )
            return result
        with resolved_batches(evaluator, client) as batches:
            follow_batches(batches, client, settings.groq_batch_poll_s)
        result = _rank(settings, clients, project_instance(), client, "cli", companies, True)
    return result


def follow_batches(batches: GroqBatches, client: str, poll_s: float) -> None:
    """Polls the client's open batches until none is left, filing each as it ends: a line
    each poll (and a bar on a terminal)."""
    started = time.monotonic()
    while True:
        still_open, ingested = batches.collect(client)
        for row in ingested:
            print(
                f"batch {row.batch_id} {row.status}: {row.answered_leads} leads answered, "
                f"{row.failed_leads} without an answer, ${row.usd:.4f}",
                flush=True,
            )
        if not still_open:
            return
        done = sum(row.completed_lines + row.failed_lines for row in still_open)
        total = sum(row.lines for row in still_open)
        statuses = ", ".join(sorted({row.status for row in still_open}))
        waited = duration(time.monotonic() - started)
        line = (
            f"{len(still_open)} batch(es) {statuses}: {done}/{total} calls done ({waited} waited)"
        )
        print(line, flush=True)
        PROGRESS_EVENTS.info(
            line,
            extra={
                "snapshot": ProgressSnapshot(
                    started, "batch calls", done, total, f"{statuses}, {waited} waited"
                )
            },
        )
        time.sleep(poll_s)


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


def _awaiting(result: RunOutcome) -> str:
    for observation in result.observations():
        if observation.description:
            return observation.description
    return "leads wait for a batch"


def _changes_line(result: RunOutcome) -> str:
    """What the campaign gained and lost since the last one, from campaign_export's metadata."""
    for materialization in result.materializations("campaign_export"):
        found = {key: value.value for key, value in materialization.metadata.items()}
        return (
            f"Since the last campaign ({found['last_campaign']}): {found['new_since_last']} new "
            f"({found['new_file']}), {found['dropped_since_last']} dropped "
            f"({found['dropped_file']})"
        )
    return ""


def _model_usage(result: RunOutcome) -> dict[str, object]:
    """The Groq figures of the run's lead_evaluations (every shard carries the same)."""
    for materialization in result.materializations("lead_evaluations"):
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        return metadata if "calls" in metadata else {}
    return {}


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
            outcome = _rank(isolated, only, instance, client.name, "eval")
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
    settings = _settings(args)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "dev":
        return dev()
    try:
        if args.command == "workers":
            return workers(args.concurrency, args.name)
        if args.command == "eval":
            labels = args.labels.expanduser().resolve() if args.labels else None
            return evaluate(_settings(args), args.client, labels, args.k, args.loco, args.json)
        if args.command == "mock-groq":
            return mock_groq(args)
        if args.command in ("grant-reader", "revoke-reader"):
            return reader_access(args)
        if args.command == "batches":
            return list_batches(_settings(args), args.client, args.cancel)
        # A bar for the model calls on a terminal; plain run log lines elsewhere.
        with ProgressBar() if sys.stderr.isatty() else nullcontext():
            return run(
                _settings(args), args.client, args.all_clients, args.company, args.batch, args.wait
            )
    except (
        LeadsFileError,
        LabelsFileError,
        PersonaError,
        ValueError,
        OSError,
        WarehouseUnreachable,
        psycopg2.Error,
        BatchSubmitFailed,
        groq.APIError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

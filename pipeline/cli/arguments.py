"""The command line's arguments, and the settings they make."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from pipeline.campaign.formats import EXPORT_FORMATS
from pipeline.groq_server.server import FAULTS
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.clients import (
    ClientsFileError,
)
from pipeline.orchestration.executors import EXECUTOR_CHOICES
from pipeline.orchestration.settings import (
    ENV_DATABASE_URL,
    EVALUATOR_CHOICES,
    Settings,
    parse_column_map,
    parse_header_list,
)
from pipeline.storage.stores import is_postgres_url


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="persona-ranker",
        description="Rank a leads file through the project's Dagster definitions.",
    )
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


def settings_from(args: argparse.Namespace) -> Settings:
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

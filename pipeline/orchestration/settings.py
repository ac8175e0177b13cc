"""Where inputs and outputs live: defaults under the project, overridable by environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.campaign.formats import check_export_format
from pipeline.orchestration.executors import (
    DEFAULT_BROKER,
    ENV_CELERY_BROKER,
    EXECUTOR_CHOICES,
)
from pipeline.report.html import DEFAULT_MAX_COMPANIES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"

ENV_CLIENTS = "PERSONA_RANKER_CLIENTS"
ENV_LEADS = "PERSONA_RANKER_LEADS"
ENV_SHEET = "PERSONA_RANKER_SHEET"
ENV_COLUMNS = "PERSONA_RANKER_COLUMNS"
ENV_PERSONA = "PERSONA_RANKER_PERSONA"
ENV_WAREHOUSE = "PERSONA_RANKER_WAREHOUSE"
# A PostgreSQL URL: every table goes there instead of the DuckDB file.
ENV_DATABASE_URL = "PERSONA_RANKER_DATABASE_URL"
ENV_DATABASE_SCHEMA = "PERSONA_RANKER_DATABASE_SCHEMA"
ENV_INBOX = "PERSONA_RANKER_INBOX"
ENV_INBOX_SETTLE = "PERSONA_RANKER_INBOX_SETTLE_SECONDS"
ENV_SCHEDULE_CRON = "PERSONA_RANKER_SCHEDULE_CRON"
ENV_SCHEDULE_TIMEZONE = "PERSONA_RANKER_SCHEDULE_TIMEZONE"
ENV_EXPORT = "PERSONA_RANKER_EXPORT"
ENV_REPORT = "PERSONA_RANKER_REPORT"
ENV_EXPORT_FORMAT = "PERSONA_RANKER_EXPORT_FORMAT"
# A do-not-contact list: emails, LinkedIn URLs, domains and company names.
ENV_SUPPRESS = "PERSONA_RANKER_SUPPRESS"
# Other columns of the leads file carried to the campaign file (comma-separated headers).
ENV_KEEP_COLUMNS = "PERSONA_RANKER_KEEP_COLUMNS"
ENV_TOP_N = "PERSONA_RANKER_TOP_N"
ENV_REPORT_MAX_COMPANIES = "PERSONA_RANKER_REPORT_MAX_COMPANIES"
ENV_EVALUATOR = "PERSONA_RANKER_EVALUATOR"
ENV_LABELS = "PERSONA_RANKER_LABELS"
ENV_GROQ_MODEL = "PERSONA_RANKER_GROQ_MODEL"
ENV_GROQ_TIER = "PERSONA_RANKER_GROQ_TIER"
ENV_GROQ_BATCH_SIZE = "PERSONA_RANKER_GROQ_BATCH_SIZE"
ENV_GROQ_CONFIG = "PERSONA_RANKER_GROQ_CONFIG"
ENV_GROQ_CONCURRENCY = "PERSONA_RANKER_GROQ_CONCURRENCY"
# The nightly schedule sends the model's leads to Groq's Batch API ("1", "true", "yes").
ENV_GROQ_BATCH = "PERSONA_RANKER_GROQ_BATCH"
ENV_GROQ_BATCH_FAILED = "PERSONA_RANKER_GROQ_BATCH_FAILED"
ENV_GROQ_BATCH_POLL = "PERSONA_RANKER_GROQ_BATCH_POLL_SECONDS"
# The first wait before a call that failed (5xx, 498, a timeout) is sent again; it doubles.
ENV_GROQ_BACKOFF = "PERSONA_RANKER_GROQ_BACKOFF_SECONDS"
# Where a run's steps execute (in_process, multiprocess, celery) and the Celery broker.
ENV_EXECUTOR = "PERSONA_RANKER_EXECUTOR"
# Where steps in different processes leave each other their shards (a folder or fsspec URL
# every worker reaches), and the most leads one evaluation step judges.
ENV_WORK_DIR = "PERSONA_RANKER_WORK_DIR"
ENV_LEADS_PER_SHARD = "PERSONA_RANKER_LEADS_PER_SHARD"
# The password `grant-reader` gives a role it creates (none when unset).
ENV_READER_PASSWORD = "PERSONA_RANKER_READER_PASSWORD"
# Read by the groq SDK as well: the key, and the server root (GROQ_BASE_URL).
GROQ_KEY_VARIABLE = "GROQ_API_KEY"

EVALUATOR_CHOICES = ("auto", "rules", "groq")
BATCH_FAILED_CHOICES = ("batch", "sync", "rules")
_TRUE = ("1", "true", "yes", "on")
# DuckDB confuses a schema with the database when both share a name ('warehouse.duckdb'
# opens as catalog 'warehouse'), so its tables live in a schema of another name.
DUCKDB_SCHEMA = "persona_ranker"
# Where analysts look first: `select ... from ranked_leads` works without a search_path.
POSTGRES_SCHEMA = "public"
DEFAULT_MODEL = "openai/gpt-oss-120b"
# Read when present: an agency's clients (pipeline.orchestration.clients).
DEFAULT_CLIENTS_FILE = DATA_DIR / "clients.yaml"


@dataclass(frozen=True)
class Settings:
    leads_path: Path = DATA_DIR / "leads.csv"
    persona_path: Path = DATA_DIR / "persona.yaml"
    warehouse_path: Path = DATA_DIR / "warehouse.duckdb"
    # postgresql://user@host:port/db; when set, it replaces the DuckDB file.
    database_url: str | None = None
    # Schema of the tables: persona_ranker in DuckDB, public in PostgreSQL by default.
    database_schema: str | None = None
    export_path: Path = DATA_DIR / "exports" / "campaign.csv"
    # The HTML report of each run; beside the campaign file (report.html) when unset.
    report_path: Path | None = None
    # Expert rankings the quality check and `persona-ranker eval` score against (none: the
    # quality check reports quality unmeasured).
    labels_path: Path | None = DATA_DIR / "eval_dev.csv"
    # The agency's clients file; none: one client, `default`, from these settings.
    clients_path: Path | None = None
    # Prices per model and rate limits per tier of the Groq account.
    groq_config_path: Path = DATA_DIR / "groq.yaml"
    # New lead files dropped here are merged into the lead base by the inbox sensor.
    inbox_path: Path = DATA_DIR / "inbox"
    # A file changed this recently may still be arriving (a download, a copy): it waits.
    inbox_settle_s: int = 10
    # The nightly re-ranking: cron expression and the timezone it is read in.
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "UTC"
    top_n: int = 3
    # Above this many companies the report lists only ranked leads (the rest stay in the
    # warehouse): a page of every lead of 100,000 companies is too big for a browser.
    report_max_companies: int = DEFAULT_MAX_COMPANIES
    evaluator: str = "auto"
    # Fail on any bad row of the leads file instead of setting it aside in rejected_leads.
    strict_input: bool = False
    # The Excel sheet of the leads file (the first when unset).
    input_sheet: str | None = None
    # Our column -> the leads file's header, where header names are ambiguous.
    input_columns: tuple[tuple[str, str], ...] = ()
    # Other headers of the leads file carried through to the campaign file.
    keep_columns: tuple[str, ...] = ()
    # The campaign file's layout: ours (generic) or a sending tool's import format.
    export_format: str = "generic"
    # People not to contact; none: nobody is suppressed.
    suppress_path: Path | None = None
    groq_model: str = DEFAULT_MODEL
    groq_tier: str = "free"
    groq_batch_size: int = 40
    # Calls in flight at once; none: the tier's default in the Groq config file.
    groq_concurrency: int | None = None
    # The nightly schedule in batch mode (half price, answers within the window).
    groq_batch: bool = False
    # Leads a batch left unanswered: a new batch (then the rules), a call now, or the rules.
    groq_batch_failed: str = "batch"
    # How often `run --batch --wait` asks Groq how its batches are doing.
    groq_batch_poll_s: float = 30.0
    groq_backoff_s: float = 1.0
    # Where a run's steps execute: this process, a process per step, or Celery workers.
    executor: str = "in_process"
    celery_broker: str = DEFAULT_BROKER
    work_dir: str = str(DATA_DIR / "work")
    leads_per_shard: int = 50_000

    def __post_init__(self) -> None:
        if self.top_n < 1:
            raise ValueError(f"top N must be at least 1, got {self.top_n}")
        if self.inbox_settle_s < 0:
            raise ValueError(
                f"inbox settle seconds must not be negative, got {self.inbox_settle_s}"
            )
        if self.leads_per_shard < 1:
            raise ValueError(f"leads per shard must be at least 1, got {self.leads_per_shard}")
        if self.report_max_companies < 1:
            raise ValueError(
                f"the report's company limit must be at least 1, got {self.report_max_companies}"
            )
        if self.groq_concurrency is not None and self.groq_concurrency < 1:
            raise ValueError(f"Groq concurrency must be at least 1, got {self.groq_concurrency}")
        if self.groq_batch_size < 1:
            raise ValueError(f"Groq batch size must be at least 1, got {self.groq_batch_size}")
        if self.groq_batch_failed not in BATCH_FAILED_CHOICES:
            raise ValueError(
                f"unknown answer to failed batch lines '{self.groq_batch_failed}' (choose from "
                f"{', '.join(BATCH_FAILED_CHOICES)})"
            )
        if self.groq_batch_poll_s <= 0:
            raise ValueError(f"batch poll interval must be positive, got {self.groq_batch_poll_s}")
        if self.groq_backoff_s < 0:
            raise ValueError(f"Groq back-off must not be negative, got {self.groq_backoff_s}")
        check_export_format(self.export_format)
        if self.executor not in EXECUTOR_CHOICES:
            raise ValueError(
                f"unknown executor '{self.executor}' (choose from {', '.join(EXECUTOR_CHOICES)})"
            )
        if self.evaluator not in EVALUATOR_CHOICES:
            raise ValueError(
                f"unknown evaluator '{self.evaluator}' (choose from {', '.join(EVALUATOR_CHOICES)})"
            )

    @property
    def report_file(self) -> Path:
        return self.report_path or report_beside(self.export_path)

    @property
    def warehouse_location(self) -> str:
        return self.database_url or str(self.warehouse_path)

    @property
    def warehouse_schema(self) -> str:
        if self.database_schema:
            return self.database_schema
        return POSTGRES_SCHEMA if self.database_url else DUCKDB_SCHEMA

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        settings = cls()
        overrides: dict[str, object] = {}
        if DEFAULT_CLIENTS_FILE.is_file():
            overrides["clients_path"] = DEFAULT_CLIENTS_FILE
        for variable, field in (
            (ENV_LEADS, "leads_path"),
            (ENV_PERSONA, "persona_path"),
            (ENV_WAREHOUSE, "warehouse_path"),
            (ENV_EXPORT, "export_path"),
            (ENV_REPORT, "report_path"),
            (ENV_LABELS, "labels_path"),
            (ENV_GROQ_CONFIG, "groq_config_path"),
            (ENV_INBOX, "inbox_path"),
            (ENV_CLIENTS, "clients_path"),
            (ENV_SUPPRESS, "suppress_path"),
        ):
            if environ.get(variable):
                overrides[field] = Path(environ[variable]).expanduser().resolve()
        whole, seconds = (int, "a whole number"), (float, "a number of seconds")
        numbers: tuple[tuple[str, str, tuple[type, str]], ...] = (
            (ENV_TOP_N, "top_n", whole),
            (ENV_REPORT_MAX_COMPANIES, "report_max_companies", whole),
            (ENV_GROQ_BATCH_SIZE, "groq_batch_size", whole),
            (ENV_GROQ_CONCURRENCY, "groq_concurrency", whole),
            (ENV_LEADS_PER_SHARD, "leads_per_shard", whole),
            (ENV_INBOX_SETTLE, "inbox_settle_s", whole),
            (ENV_GROQ_BATCH_POLL, "groq_batch_poll_s", seconds),
            (ENV_GROQ_BACKOFF, "groq_backoff_s", seconds),
        )
        for variable, field, (kind, described) in numbers:
            if environ.get(variable):
                try:
                    overrides[field] = kind(environ[variable])
                except ValueError as error:
                    raise ValueError(f"{variable} must be {described}") from error
        for variable, field in (
            (ENV_GROQ_MODEL, "groq_model"),
            (ENV_GROQ_TIER, "groq_tier"),
            (ENV_DATABASE_URL, "database_url"),
            (ENV_DATABASE_SCHEMA, "database_schema"),
            (ENV_SCHEDULE_CRON, "schedule_cron"),
            (ENV_SCHEDULE_TIMEZONE, "schedule_timezone"),
            (ENV_SHEET, "input_sheet"),
            (ENV_EXPORT_FORMAT, "export_format"),
            (ENV_EXECUTOR, "executor"),
            (ENV_CELERY_BROKER, "celery_broker"),
            (ENV_WORK_DIR, "work_dir"),
        ):
            if environ.get(variable):
                overrides[field] = environ[variable]
        if environ.get(ENV_GROQ_BATCH):
            overrides["groq_batch"] = environ[ENV_GROQ_BATCH].strip().lower() in _TRUE
        if environ.get(ENV_GROQ_BATCH_FAILED):
            overrides["groq_batch_failed"] = environ[ENV_GROQ_BATCH_FAILED]
        if environ.get(ENV_EVALUATOR):
            overrides["evaluator"] = environ[ENV_EVALUATOR]
        if environ.get(ENV_COLUMNS):
            overrides["input_columns"] = parse_column_map(environ[ENV_COLUMNS])
        if environ.get(ENV_KEEP_COLUMNS):
            overrides["keep_columns"] = parse_header_list(environ[ENV_KEEP_COLUMNS])
        return replace(settings, **overrides)


def report_beside(export_path: Path) -> Path:
    """Where the HTML report goes unless told otherwise: beside the campaign file."""
    return export_path.with_name("report.html")


def parse_header_list(text: str) -> tuple[str, ...]:
    """'Lead Source, Owner' as ('Lead Source', 'Owner')."""
    return tuple(filter(None, (piece.strip() for piece in text.split(","))))


def parse_column_map(text: str) -> tuple[tuple[str, str], ...]:
    """'lead_job_title=Job Title, account_name=Company' as (ours, theirs) pairs."""
    pairs = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        ours, equals, theirs = part.partition("=")
        if not equals or not ours.strip() or not theirs.strip():
            raise ValueError(f"column map {part!r}: expected OURS=THEIR HEADER")
        pairs.append((ours.strip(), theirs.strip()))
    return tuple(pairs)

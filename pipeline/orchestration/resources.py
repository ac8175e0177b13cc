"""Dagster resources: the edges between the core and the outside world."""

from __future__ import annotations

import hashlib
import os
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import groq
import pandas as pd
from dagster import Config, ConfigurableResource, EnvVar, InitResourceContext, get_dagster_logger
from pydantic import Field, PrivateAttr

from pipeline.campaign.files import CampaignExporter
from pipeline.campaign.suppression import SUPPRESSION_COLUMNS, read_suppression_file
from pipeline.leads.files import LeadFile, read_lead_file
from pipeline.llm.batch.ledger import BatchLedger
from pipeline.llm.batch.submission import GroqBatches
from pipeline.llm.client import GroqChat
from pipeline.llm.config import GroqConfig, load_groq_config
from pipeline.llm.evaluator import (
    EVALUATOR_MODEL,
    EVALUATOR_RULES,
    BatchMode,
    HybridEvaluator,
)
from pipeline.llm.ratelimit import RateLimiter, RateLimits, shared_limiter
from pipeline.llm.shared_budget import PostgresLedger
from pipeline.llm.store import LlmStore
from pipeline.orchestration.clients import Client
from pipeline.orchestration.settings import (
    DEFAULT_MODEL,
    ENV_DATABASE_URL,
    GROQ_KEY_VARIABLE,
    Settings,
)
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import Persona
from pipeline.ranking.evaluation import evaluate_with_rules
from pipeline.report.html import DEFAULT_MAX_COMPANIES
from pipeline.storage.stores import Warehouse, is_postgres_url

_LOG = get_dagster_logger("persona_ranker")


class ClientConfig(Config):
    """One client's inputs and outputs (the clients file, or the settings for `default`)."""

    persona: str = Field(description="Path of the client's persona YAML file.")
    leads: str = Field(description="Path of the client's leads file (its lead base).")
    strict: bool = Field(
        default=False, description="Fail the run on any bad row instead of setting it aside."
    )
    sheet: str | None = Field(
        default=None, description="The Excel sheet to read (the first when unset)."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Our column -> the file's header, where header names are ambiguous.",
    )
    export: str = Field(description="Where the client's campaign CSV is written.")
    report: str = Field(description="Where the client's HTML report is written.")
    top_n: int = Field(default=3, ge=1, description="Leads per company in the campaign.")
    report_max_companies: int = Field(
        default=DEFAULT_MAX_COMPANIES,
        ge=1,
        description="Above this many companies the report lists ranked leads only.",
    )
    evaluator: str = Field(default="auto", description="rules, groq, or auto (groq with a key).")
    labels: str = Field(default="", description="Expert labels for the quality check (none).")
    keep: list[str] = Field(
        default_factory=list, description="Other leads-file headers carried to the campaign."
    )
    export_format: str = Field(
        default="generic", description="The campaign file's layout: generic or a tool's."
    )
    suppress: str = Field(default="", description="The do-not-contact list (none).")

    def read_leads(self) -> LeadFile:
        return read_lead_file(self.leads, self.strict, self.sheet, self.columns, self.keep)

    def read_suppression(self) -> pd.DataFrame:
        """The do-not-contact entries; none without a list."""
        if not self.suppress:
            return pd.DataFrame(columns=list(SUPPRESSION_COLUMNS))
        return read_suppression_file(self.suppress)

    def load_persona(self) -> Persona:
        return load_persona(self.persona)

    def exporter(self) -> CampaignExporter:
        return CampaignExporter(
            Path(self.export), Path(self.report), self.top_n, self.export_format
        )


def client_config(settings: Settings) -> ClientConfig:
    return ClientConfig(
        persona=str(settings.persona_path),
        leads=str(settings.leads_path),
        strict=settings.strict_input,
        sheet=settings.input_sheet,
        columns=dict(settings.input_columns),
        export=str(settings.export_path),
        report=str(settings.report_file),
        top_n=settings.top_n,
        report_max_companies=settings.report_max_companies,
        evaluator=settings.evaluator,
        labels=str(settings.labels_path or ""),
        keep=list(settings.keep_columns),
        export_format=settings.export_format,
        suppress=str(settings.suppress_path or ""),
    )


class ClientDirectory(ConfigurableResource):
    """Every client's persona, leads and campaign files, by client name: a run's partition
    key names its client."""

    clients: dict[str, ClientConfig] = Field(description="Client name -> its configuration.")

    def get(self, name: str) -> ClientConfig:
        if name not in self.clients:
            raise ValueError(f"unknown client {name!r} (known: {', '.join(self.clients)})")
        return self.clients[name]


def client_directory(clients: Mapping[str, Client]) -> ClientDirectory:
    return ClientDirectory(
        clients={name: client_config(client.settings) for name, client in clients.items()}
    )


@dataclass(frozen=True)
class Evaluated:
    """An evaluator's rows (columns of `EVALUATION_COLUMNS`) and what it cost, for the UI."""

    evaluations: pd.DataFrame
    usage: dict[str, float | int | str] = field(default_factory=dict)


class LeadEvaluator(ConfigurableResource):
    """The one interface every evaluator implements: leads in, one evaluation row per lead out.

    `leads` are enriched leads (lead_id, company_key, lead_job_title, size_band, title_* ...).
    """

    selected_because: str = Field(
        default="chosen explicitly", description="Why this evaluator runs, for the run log."
    )

    @property
    @abstractmethod
    def evaluator_name(self) -> str: ...

    @abstractmethod
    def evaluate(
        self, leads: pd.DataFrame, persona: Persona, run_id: str, client: str, batch: bool = False
    ) -> Evaluated:
        """`batch`: the leads that need a model go to a batch (AwaitingBatch is raised)."""


class RulesEvaluator(LeadEvaluator):
    """Offline and deterministic: the persona file's rules, no network, no API key."""

    @property
    def evaluator_name(self) -> str:
        return EVALUATOR_RULES

    def evaluate(
        self, leads: pd.DataFrame, persona: Persona, run_id: str, client: str, batch: bool = False
    ) -> Evaluated:
        # No model, nothing to batch: the rules answer at once.
        return Evaluated(
            evaluate_with_rules(leads, persona, self.evaluator_name, datetime.now(UTC))
        )


class GroqEvaluator(LeadEvaluator):
    """The rules for the clear cases, a Groq model for the rest: batched, rate limited, cached.

    The API key is read from the environment (`EnvVar`), so it never shows in the UI or in run
    config. `base_url` empty means the SDK's default: `GROQ_BASE_URL`, else Groq's API.
    """

    api_key: str = Field(description="Groq API key (EnvVar GROQ_API_KEY).")
    base_url: str | None = Field(default=None, description="Server root (SDK adds /openai/v1).")
    model: str = Field(default=DEFAULT_MODEL, description="Groq model id.")
    tier: str = Field(default="free", description="Rate-limit tier in the Groq config file.")
    config_path: str = Field(description="YAML file with prices per model and limits per tier.")
    warehouse: str = Field(
        description="DuckDB file or PostgreSQL URL (an EnvVar) holding llm_cache and llm_calls."
    )
    warehouse_schema: str = Field(description="Schema of llm_cache and llm_calls.")
    batch_size: int = Field(default=40, ge=1, description="Most leads in one call.")
    concurrency: int | None = Field(
        default=None, ge=1, description="Calls in flight at once (the tier's default)."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="SDK timeout per request.")
    max_attempts: int = Field(default=4, ge=1, description="Attempts per call (429/498/5xx).")
    max_wait_s: float = Field(
        default=120.0, description="A 429 asking to wait longer is a daily cap: stop."
    )
    backoff_s: float = Field(default=1.0, ge=0, description="First back-off after 498/5xx.")
    unavailable_after_failed_calls: int = Field(
        default=3,
        ge=1,
        description="Calls in a row failing every attempt that mean Groq is down: the run "
        "stops and their leads stay pending (fewer: the rules judge them, flagged).",
    )
    minute_s: float = Field(default=60.0, gt=0, description="Seconds per rate-limit minute.")
    reasoning_effort: str = Field(default="low", description="gpt-oss reasoning effort.")
    batch_failed: str = Field(
        default="batch",
        description="Leads a batch left unanswered: batch (a new batch, then the rules), "
        "sync (a call now) or rules (the rules, flagged).",
    )

    _client: groq.Groq | None = PrivateAttr(default=None)

    @property
    def evaluator_name(self) -> str:
        return EVALUATOR_MODEL

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._client = self._new_client()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _new_client(self) -> groq.Groq:
        # Retries are ours (`GroqChat`): they wait in the shared limiter and know Groq's 498.
        return groq.Groq(
            api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def chat(self, config: GroqConfig) -> GroqChat:
        config.price(self.model)
        return GroqChat(
            client=self._client or self._new_client(),
            model=self.model,
            limiter=self._limiter(config.limits(self.tier)),
            config=config,
            reasoning_effort=self.reasoning_effort,
            max_attempts=self.max_attempts,
            max_wait_s=self.max_wait_s,
            backoff_s=self.backoff_s,
        )

    def _limiter(self, limits: RateLimits) -> RateLimiter:
        """With the warehouse on PostgreSQL, the budget lives there too, shared by every
        process and machine that spends this key; with DuckDB, by this process's runs."""
        account = self._account()
        if not is_postgres_url(self.warehouse):
            return shared_limiter(account, limits, self.minute_s)
        url, schema = self.warehouse, self.warehouse_schema
        return shared_limiter(
            account,
            limits,
            self.minute_s,
            ledger=lambda: PostgresLedger(url, schema, account),
            ledger_id=hashlib.sha256(f"{url}|{schema}".encode()).hexdigest(),
        )

    def _account(self) -> str:
        """Groq's limits are per organisation and model: one limiter per key (by its hash,
        never the key itself), server and model."""
        key = hashlib.sha256(self.api_key.encode("utf-8")).hexdigest()[:12]
        return f"{key}|{self.base_url or os.environ.get('GROQ_BASE_URL', '')}|{self.model}"

    def batches(self, config: GroqConfig, client: str) -> GroqBatches:
        """Groq's Batch API for this key and model, logging in the warehouse."""
        config.price(self.model)
        store = LlmStore(Warehouse(self.warehouse, self.warehouse_schema), client)
        return GroqBatches(
            client=self._client or self._new_client(),
            model=self.model,
            config=config,
            ledger=BatchLedger(store),
            reasoning_effort=self.reasoning_effort,
            log=_LOG.info,
        )

    def evaluate(
        self, leads: pd.DataFrame, persona: Persona, run_id: str, client: str, batch: bool = False
    ) -> Evaluated:
        config = load_groq_config(self.config_path)
        hybrid = HybridEvaluator(
            persona=persona,
            chat=self.chat(config),
            store=LlmStore(Warehouse(self.warehouse, self.warehouse_schema), client),
            run_id=run_id,
            batch_size=self.batch_size,
            log=_LOG.info,
            concurrency=self.concurrency or config.calls_in_flight(self.tier),
            unavailable_after_failed_calls=self.unavailable_after_failed_calls,
            batch=(
                BatchMode(self.batches(config, client), client, self.batch_failed)
                if batch
                else None
            ),
        )
        evaluations, stats = hybrid.evaluate(leads, datetime.now(UTC))
        return Evaluated(evaluations, stats.as_metadata(len(leads)))


@contextmanager
def resolved_batches(evaluator: GroqEvaluator, client: str) -> Iterator[GroqBatches]:
    """The Batch API of a Groq evaluator as the definitions configure it (its EnvVars read),
    outside a run: for `run --batch --wait`."""
    with evaluator.process_config_and_initialize_cm() as resolved:
        yield resolved.batches(load_groq_config(resolved.config_path), client)


def warehouse_config(settings: Settings, environ: Mapping[str, str] = os.environ) -> str:
    """The warehouse location as resource config: a PostgreSQL URL with a password is passed
    as `EnvVar`, so the UI and the run config show the variable's name, never the secret."""
    url = settings.database_url
    if not url:
        return str(settings.warehouse_path)
    if urlsplit(url).password is None:
        return url
    if environ.get(ENV_DATABASE_URL) != url:
        raise ValueError(
            f"a database password must come from {ENV_DATABASE_URL} or PGPASSWORD, "
            "not from a flag or a file"
        )
    return EnvVar(ENV_DATABASE_URL)  # type: ignore[return-value]


def select_evaluator(settings: Settings, environ: Mapping[str, str] = os.environ) -> LeadEvaluator:
    """`auto` picks the best evaluator this installation can run with the given environment."""
    has_key = bool(environ.get(GROQ_KEY_VARIABLE))
    if settings.evaluator == "rules" or (settings.evaluator == "auto" and not has_key):
        reason = (
            "--evaluator rules"
            if settings.evaluator == "rules"
            else f"auto: {GROQ_KEY_VARIABLE} is unset"
        )
        return RulesEvaluator(selected_because=reason)
    if not has_key:
        raise ValueError(f"--evaluator groq needs {GROQ_KEY_VARIABLE} in the environment")
    return GroqEvaluator(
        selected_because=f"{settings.evaluator}: {GROQ_KEY_VARIABLE} is set",
        api_key=EnvVar(GROQ_KEY_VARIABLE),
        base_url=environ.get("GROQ_BASE_URL") or None,
        model=settings.groq_model,
        tier=settings.groq_tier,
        config_path=str(settings.groq_config_path),
        warehouse=warehouse_config(settings),
        warehouse_schema=settings.warehouse_schema,
        batch_size=settings.groq_batch_size,
        concurrency=settings.groq_concurrency,
        backoff_s=settings.groq_backoff_s,
        batch_failed=settings.groq_batch_failed,
    )


def shared_evaluator_choice(clients: Mapping[str, Client]) -> str:
    """The evaluator the definitions configure: the clients' common choice, else `auto` (a
    client's own choice is applied per run by `evaluator_for`)."""
    choices = {client.settings.evaluator for client in clients.values()}
    return choices.pop() if len(choices) == 1 else "auto"


def evaluator_for(choice: str, configured: LeadEvaluator) -> LeadEvaluator:
    """The evaluator of a client that chose `choice` (rules, groq, auto), given the one the
    definitions configured for every client."""
    if choice == "rules" and configured.evaluator_name != EVALUATOR_RULES:
        return RulesEvaluator(selected_because="the client's evaluator: rules")
    if choice == "groq" and configured.evaluator_name != EVALUATOR_MODEL:
        raise ValueError(f"the client's evaluator is groq, but {GROQ_KEY_VARIABLE} is unset")
    return configured


class WarehouseReader(ConfigurableResource):
    """Reads back what earlier runs stored (a scoped evaluation keeps the other companies'
    rows, a lead keeps when it was first seen), and keeps the campaign history."""

    location: str = Field(description="DuckDB file or PostgreSQL URL (an EnvVar: no secret).")
    schema_: str = Field(alias="schema", description="Schema of the tables.")

    def client_rows(self, table: str, client: str, columns: Sequence[str]) -> pd.DataFrame:
        return self.warehouse().client_rows(table, client, columns)

    def warehouse(self) -> Warehouse:
        return Warehouse(self.location, self.schema_)


def warehouse_reader(settings: Settings) -> WarehouseReader:
    return WarehouseReader(location=warehouse_config(settings), schema=settings.warehouse_schema)


class ExpertLabels(ConfigurableResource):
    """How the quality check scores a client's expert labels, and the floors below which it
    warns (the labels file is the client's, `ClientConfig.labels`). The default floors are
    a regression guard: what the default persona's rules reach on the bundled labels
    (docs/quality.md), rounded down."""

    k: int = Field(default=3, ge=1, description="Depth of NDCG@k and precision@k.")
    min_ndcg_at_k: float = Field(default=0.75, description="Warn below this NDCG@k.")
    min_precision_at_k: float = Field(default=0.85, description="Warn below this precision@k.")
    min_f1: float = Field(default=0.75, description="Warn below this relevance F1.")
    min_hit_at_1: float = Field(default=1.0, description="Warn below this hit@1.")
    score_model: bool = Field(
        default=False,
        description="Score the run's model evaluator too (costs calls until cached); "
        "by default the check scores the rules.",
    )

    def floors(self) -> dict[str, float]:
        return {
            f"ndcg@{self.k}": self.min_ndcg_at_k,
            f"precision@{self.k}": self.min_precision_at_k,
            "f1": self.min_f1,
            "hit@1": self.min_hit_at_1,
        }

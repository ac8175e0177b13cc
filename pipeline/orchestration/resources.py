"""Dagster resources: the edges between the core and the outside world."""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import groq
import pandas as pd
from dagster import ConfigurableResource, EnvVar, InitResourceContext, get_dagster_logger
from pydantic import Field, PrivateAttr

from pipeline.leads.files import LeadFile, read_lead_file
from pipeline.llm.client import GroqChat
from pipeline.llm.config import load_groq_config
from pipeline.llm.evaluator import EVALUATOR_MODEL, EVALUATOR_RULES, HybridEvaluator
from pipeline.llm.ratelimit import RateLimiter, RateLimits, shared_limiter
from pipeline.llm.shared_budget import PostgresLedger
from pipeline.llm.store import LlmStore
from pipeline.orchestration.settings import (
    DEFAULT_MODEL,
    ENV_DATABASE_URL,
    GROQ_KEY_VARIABLE,
    Settings,
    report_beside,
)
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import Persona
from pipeline.ranking.evaluation import evaluate_with_rules
from pipeline.storage.stores import Warehouse, is_postgres_url

_LOG = get_dagster_logger("persona_ranker")


class LeadSource(ConfigurableResource):
    """The leads file that defines the lead base (each run replaces the base with this file):
    CSV, Excel, or either of them gzipped or zipped."""

    path: str = Field(description="Path of the leads file.")
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

    def read(self) -> LeadFile:
        return read_lead_file(self.path, self.strict, self.sheet, self.columns)


def lead_source(settings: Settings) -> LeadSource:
    return LeadSource(
        path=str(settings.leads_path),
        strict=settings.strict_input,
        sheet=settings.input_sheet,
        columns=dict(settings.input_columns),
    )


class PersonaSource(ConfigurableResource):
    """The persona YAML file every rule is read from."""

    path: str = Field(description="Path of the persona YAML file.")

    def load(self) -> Persona:
        return load_persona(self.path)


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
    def evaluate(self, leads: pd.DataFrame, persona: Persona, run_id: str) -> Evaluated: ...


class RulesEvaluator(LeadEvaluator):
    """Offline and deterministic: the persona file's rules, no network, no API key."""

    @property
    def evaluator_name(self) -> str:
        return EVALUATOR_RULES

    def evaluate(self, leads: pd.DataFrame, persona: Persona, run_id: str) -> Evaluated:
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
    timeout_s: float = Field(default=60.0, gt=0, description="SDK timeout per request.")
    max_attempts: int = Field(default=4, ge=1, description="Attempts per call (429/498/5xx).")
    max_wait_s: float = Field(
        default=120.0, description="A 429 asking to wait longer is a daily cap: stop."
    )
    backoff_s: float = Field(default=1.0, ge=0, description="First back-off after 498/5xx.")
    minute_s: float = Field(default=60.0, gt=0, description="Seconds per rate-limit minute.")
    reasoning_effort: str = Field(default="low", description="gpt-oss reasoning effort.")

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

    def chat(self) -> GroqChat:
        config = load_groq_config(self.config_path)
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

    def evaluate(self, leads: pd.DataFrame, persona: Persona, run_id: str) -> Evaluated:
        hybrid = HybridEvaluator(
            persona=persona,
            chat=self.chat(),
            store=LlmStore(Warehouse(self.warehouse, self.warehouse_schema)),
            run_id=run_id,
            batch_size=self.batch_size,
            log=_LOG.info,
        )
        evaluations, stats = hybrid.evaluate(leads, datetime.now(UTC))
        return Evaluated(evaluations, stats.as_metadata(len(leads)))


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
    )


class CampaignExporter(ConfigurableResource):
    """Writes the campaign file the sales team loads into its outreach tool, and the HTML
    report it reads."""

    path: str = Field(description="Where the campaign CSV is written.")
    report_path: str = Field(
        default="", description="Where the HTML report is written (report.html beside the CSV)."
    )
    top_n: int = Field(default=3, ge=1, description="Leads per company in the campaign.")

    @property
    def report_file(self) -> Path:
        return Path(self.report_path) if self.report_path else report_beside(Path(self.path))

    def write_csv(self, rows: pd.DataFrame) -> Path:
        target = Path(self.path)
        with _replaced_atomically(target) as stream:
            neutralise_formulas(rows).to_csv(stream, index=False)
        return target

    def write_report(self, page: str) -> Path:
        target = self.report_file
        with _replaced_atomically(target) as stream:
            stream.write(page)
        return target


@contextmanager
def _replaced_atomically(target: Path) -> Iterator[TextIO]:
    """Written beside the target and renamed into place: readers never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        # mkstemp makes the file private; the campaign and the report are for the team.
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(rows: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe, which the
    spreadsheet hides: a human reads the same text, nothing is executed (OWASP guidance)."""
    safe = rows.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(
                lambda value: (
                    f"'{value}"
                    if isinstance(value, str) and value.startswith(_FORMULA_STARTS)
                    else value
                )
            )
    return safe


class ExpertLabels(ConfigurableResource):
    """An expert's rankings and the quality floors below which the quality check warns."""

    path: str = Field(description="Expert labels CSV (Full Name, Title, Company, ..., Rank).")
    k: int = Field(default=3, ge=1, description="Depth of NDCG@k and precision@k.")
    min_ndcg_at_k: float = Field(default=0.90, description="Warn below this NDCG@k.")
    min_precision_at_k: float = Field(default=0.95, description="Warn below this precision@k.")
    min_f1: float = Field(default=0.70, description="Warn below this relevance F1.")
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

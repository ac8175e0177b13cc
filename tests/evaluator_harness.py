"""The hybrid evaluator wired as the Groq resource wires it, for tests that call it directly:
the real `groq` SDK over HTTP to a local Groq-compatible server, and a real warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import groq
import pandas as pd

from pipeline.groq_server.server import MockGroq
from pipeline.llm.client import GroqChat
from pipeline.llm.config import GroqConfig
from pipeline.llm.evaluator import HybridEvaluator
from pipeline.llm.outcome import ModelStats
from pipeline.llm.ratelimit import RateLimiter, RateLimits
from pipeline.llm.store import LlmStore
from pipeline.orchestration.settings import DUCKDB_SCHEMA
from pipeline.persona.spec import Persona
from pipeline.storage.stores import Warehouse

MODEL = "openai/gpt-oss-120b"
BATCH = 40


class Harness:
    """An evaluator wired to one server and one warehouse, as the Groq resource wires it."""

    def __init__(
        self, server: MockGroq, warehouse: Path | str, persona: Persona, config: GroqConfig
    ) -> None:
        """`warehouse`: a DuckDB file, or a PostgreSQL URL."""
        self.server = server
        self.store = LlmStore(Warehouse(str(warehouse), DUCKDB_SCHEMA), "default")
        self.persona = persona
        self.config = config

    def evaluate(
        self,
        leads: pd.DataFrame,
        model: str = MODEL,
        limits: RateLimits | None = None,
        minute_s: float = 60.0,
        timeout_s: float = 10.0,
        batch_size: int = BATCH,
        persona: Persona | None = None,
        concurrency: int = 1,
        log: Callable[[str], None] = lambda _: None,
    ) -> tuple[pd.DataFrame, ModelStats]:
        client = groq.Groq(
            api_key="test-key", base_url=self.server.base_url, timeout=timeout_s, max_retries=0
        )
        chat = GroqChat(
            client=client,
            model=model,
            limiter=RateLimiter(limits or self.server.settings.limits, minute_s),
            config=self.config,
            max_wait_s=30,
            backoff_s=0.01,
        )
        evaluator = HybridEvaluator(
            persona or self.persona,
            chat,
            self.store,
            "run-1",
            batch_size,
            log=log,
            concurrency=concurrency,
        )
        with client:
            return evaluator.evaluate(leads, datetime.now(UTC))

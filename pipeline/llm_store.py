"""The LLM's memory in the warehouse: answers cached per lead, and every call with its cost.

Both are written as each call returns, in one transaction per call, so a run that dies
half-way keeps what it paid for: the next run reuses those answers and the call log shows
the money spent either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from pipeline.groq_client import CallRecord
from pipeline.warehouse import transaction

CACHE_TABLE = "llm_cache"
CALLS_TABLE = "llm_calls"


@dataclass(frozen=True)
class CachedScore:
    cache_key: str
    lead_id: str
    company_key: str
    relevance_score: int
    reasoning: str
    model: str


def _ddl(schema: str) -> list[str]:
    return [
        f'create schema if not exists "{schema}"',
        f"""create table if not exists "{schema}"."{CACHE_TABLE}" (
            cache_key varchar primary key,
            lead_id varchar not null,
            company_key varchar not null,
            model varchar not null,
            prompt_version varchar not null,
            persona_fingerprint varchar not null,
            relevance_score integer not null,
            reasoning varchar not null,
            call_id varchar not null,
            cached_at timestamp with time zone not null
        )""",
        f"""create table if not exists "{schema}"."{CALLS_TABLE}" (
            call_id varchar primary key,
            run_id varchar not null,
            started_at timestamp with time zone not null,
            model varchar not null,
            companies varchar not null,
            leads integer not null,
            status varchar not null,
            http_status integer,
            attempts integer not null,
            retries integer not null,
            prompt_tokens integer not null,
            completion_tokens integer not null,
            cached_tokens integer not null,
            reasoning_tokens integer not null,
            latency_s double not null,
            usd double not null,
            error varchar not null
        )""",
    ]


class LlmStore:
    """`llm_cache` and `llm_calls` in the DuckDB warehouse, beside the asset tables."""

    def __init__(self, database: str, schema: str) -> None:
        self.database = database
        self.schema = schema

    def cached(self, keys: list[str]) -> dict[str, CachedScore]:
        if not keys:
            return {}
        wanted = pd.DataFrame({"cache_key": keys})
        with self._transaction() as connection:
            connection.register("wanted", wanted)
            rows = connection.execute(
                f"select c.cache_key, c.lead_id, c.company_key, c.relevance_score, c.reasoning, "
                f'c.model from "{self.schema}"."{CACHE_TABLE}" c join wanted using (cache_key)'
            ).fetchall()
        return {row[0]: CachedScore(*row) for row in rows}

    def record_call(
        self,
        run_id: str,
        record: CallRecord,
        answers: list[CachedScore],
        prompt_version: str,
        persona_fingerprint: str,
    ) -> None:
        """The call and the answers it paid for, together or not at all."""
        now = datetime.now(UTC)
        with self._transaction() as connection:
            connection.execute(
                f'insert into "{self.schema}"."{CALLS_TABLE}" values '
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.call_id,
                    run_id,
                    record.started_at,
                    record.model,
                    record.companies,
                    record.leads,
                    record.status,
                    record.http_status,
                    record.attempts,
                    record.retries,
                    record.usage.prompt_tokens,
                    record.usage.completion_tokens,
                    record.usage.cached_tokens,
                    record.usage.reasoning_tokens,
                    record.latency_s,
                    record.usd,
                    record.error,
                ],
            )
            if answers:
                connection.executemany(
                    f'insert or replace into "{self.schema}"."{CACHE_TABLE}" values '
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [
                            answer.cache_key,
                            answer.lead_id,
                            answer.company_key,
                            answer.model,
                            prompt_version,
                            persona_fingerprint,
                            answer.relevance_score,
                            answer.reasoning,
                            record.call_id,
                            now,
                        ]
                        for answer in answers
                    ],
                )

    def calls(self, run_id: str | None = None) -> pd.DataFrame:
        """The call log, of one run or of all."""
        where, parameters = ("where run_id = ?", [run_id]) if run_id else ("", [])
        with self._transaction() as connection:
            return connection.execute(
                f'select * from "{self.schema}"."{CALLS_TABLE}" {where} order by started_at',
                parameters,
            ).df()

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with transaction(self.database) as connection:
            for statement in _ddl(self.schema):
                connection.execute(statement)
            yield connection

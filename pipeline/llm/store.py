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
from typing import Any

import pandas as pd

from pipeline.llm.client import CallRecord
from pipeline.storage.stores import Warehouse, WarehouseSession, create_tables
from pipeline.storage.views import view_statements

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


_CACHE_COLUMNS = (
    "cache_key varchar primary key",
    "lead_id varchar not null",
    "company_key varchar not null",
    "model varchar not null",
    "prompt_version varchar not null",
    "persona_fingerprint varchar not null",
    "relevance_score integer not null",
    "reasoning varchar not null",
    "call_id varchar not null",
    "cached_at timestamp with time zone not null",
)
_CALLS_COLUMNS = (
    "call_id varchar primary key",
    # Whose run paid: the agency bills each client its own calls.
    "client varchar not null",
    "run_id varchar not null",
    "started_at timestamp with time zone not null",
    "model varchar not null",
    "companies varchar not null",
    "leads integer not null",
    "status varchar not null",
    "http_status integer",
    "attempts integer not null",
    "retries integer not null",
    "prompt_tokens integer not null",
    "completion_tokens integer not null",
    "cached_tokens integer not null",
    "reasoning_tokens integer not null",
    "latency_s double precision not null",
    "usd double precision not null",
    "error varchar not null",
)
_CALL_COLUMN_NAMES = tuple(column.split()[0] for column in _CALLS_COLUMNS)
# Calls logged before clients existed were the one client's, `default`.
_CLIENT_COLUMN_FOR_OLDER_LOGS = "client varchar default 'default'"
# Cache lookups go in chunks: one statement's parameters stay well under PostgreSQL's 65,535.
_LOOKUP_CHUNK = 1000


class LlmStore:
    """`llm_cache` and `llm_calls` in the warehouse (DuckDB or PostgreSQL), beside the asset
    tables. The SQL is the subset both engines share."""

    def __init__(self, warehouse: Warehouse, client: str) -> None:
        self.warehouse = warehouse
        # The client whose calls this store logs; the cache is shared by every client (an
        # answer depends on the persona and the lead, not on who asked).
        self.client = client
        self._cache = f'"{warehouse.schema}"."{CACHE_TABLE}"'
        self._calls = f'"{warehouse.schema}"."{CALLS_TABLE}"'
        self._ready = False
        self._session: WarehouseSession | None = None

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keeps one connection open for the calls of an evaluation (each call is still its
        own transaction)."""
        with self.warehouse.session() as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None

    def cached(self, keys: list[str]) -> dict[str, CachedScore]:
        found: dict[str, CachedScore] = {}
        with self._transaction() as cursor:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                cursor.execute(
                    "select cache_key, lead_id, company_key, relevance_score, reasoning, model "
                    f"from {self._cache} where cache_key in ({self._marks(len(chunk))})",
                    chunk,
                )
                found.update({row[0]: CachedScore(*row) for row in cursor.fetchall()})
        return found

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
        with self._transaction() as cursor:
            cursor.execute(
                f"insert into {self._calls} ({', '.join(_CALL_COLUMN_NAMES)}) "
                f"values ({self._marks(len(_CALL_COLUMN_NAMES))})",
                [
                    record.call_id,
                    self.client,
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
                # Two leads with the same title at one company share a key and an answer. One
                # statement for all of them: DuckDB runs executemany row by row (90 ms a call).
                rows = [
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
                    for answer in {answer.cache_key: answer for answer in answers}.values()
                ]
                row_marks = f"({self._marks(len(_CACHE_COLUMNS))})"
                cursor.execute(
                    f"insert into {self._cache} values {', '.join([row_marks] * len(rows))} "
                    "on conflict (cache_key) do nothing",
                    [value for row in rows for value in row],
                )

    def calls(self, run_id: str | None = None) -> pd.DataFrame:
        """The call log, of one run or of all."""
        where, parameters = (
            (f"where run_id = {self.warehouse.placeholder}", [run_id]) if run_id else ("", [])
        )
        with self._transaction() as cursor:
            cursor.execute(f"select * from {self._calls} {where} order by started_at", parameters)
            names = [column[0] for column in cursor.description]
            return pd.DataFrame.from_records(cursor.fetchall(), columns=names)

    def _marks(self, count: int) -> str:
        return ", ".join([self.warehouse.placeholder] * count)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        opened = self._session.transaction() if self._session else self.warehouse.transaction()
        with opened as cursor:
            if not self._ready:
                self._create_tables(cursor)
            yield cursor
        self._ready = True

    def _create_tables(self, cursor: Any) -> None:
        create_tables(
            cursor,
            self.warehouse.schema,
            {CACHE_TABLE: _CACHE_COLUMNS, CALLS_TABLE: _CALLS_COLUMNS},
        )
        cursor.execute(
            f"alter table {self._calls} add column if not exists {_CLIENT_COLUMN_FOR_OLDER_LOGS}"
        )
        for statement in view_statements(
            self.warehouse.schema, CALLS_TABLE, self.warehouse.is_postgres
        ):
            cursor.execute(statement)

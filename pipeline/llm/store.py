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
BATCHES_TABLE = "llm_batches"
BATCH_LEADS_TABLE = "llm_batch_leads"


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
# Columns added since the first call logs: calls logged before clients existed were the one
# client's, `default`; a batch line's call names its batch, a synchronous call none.
_COLUMNS_ADDED_TO_CALLS = ("client varchar default 'default'", "batch_key varchar default ''")
# One row per submission to Groq's Batch API (a submission larger than Groq's limits is
# several batches). `status` is Groq's (validating ... completed, expired, cancelled, failed),
# or ours before Groq has it (submitting) or when it never got it (not_submitted). A batch is
# open until its answers are ingested.
BATCH_COLUMNS = (
    "batch_key varchar primary key",
    "client varchar not null",
    "run_id varchar not null",
    "batch_id varchar",
    "input_file_id varchar",
    "model varchar not null",
    "prompt_version varchar not null",
    "persona_fingerprint varchar not null",
    "lines integer not null",
    "leads integer not null",
    "submitted_at timestamp with time zone not null",
    "status varchar not null",
    "completed_lines integer not null",
    "failed_lines integer not null",
    "output_file_id varchar",
    "error_file_id varchar",
    "prompt_tokens integer not null",
    "completion_tokens integer not null",
    "usd double precision not null",
    "answered_leads integer not null",
    "failed_leads integer not null",
    "ingested_at timestamp with time zone",
    "error varchar not null",
)
# Which lead each line's short id stands for, and what became of it (pending, answered,
# failed): the answers come back in another process, hours later.
BATCH_LEAD_COLUMNS = (
    "batch_key varchar not null",
    "custom_id varchar not null",
    "number integer not null",
    "lead_id varchar not null",
    "company_key varchar not null",
    "cache_key varchar not null",
    "status varchar not null",
    "error varchar not null",
    "primary key (batch_key, custom_id, number)",
)
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
        with self.transaction() as cursor:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                cursor.execute(
                    "select cache_key, lead_id, company_key, relevance_score, reasoning, model "
                    f"from {self._cache} where cache_key in ({self.marks(len(chunk))})",
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
        with (
            self.warehouse.writing(f"{CALLS_TABLE} and {CACHE_TABLE}"),
            self.transaction() as cursor,
        ):
            self.insert_call(cursor, self.client, run_id, record)
            self.insert_answers(
                cursor, record.call_id, answers, prompt_version, persona_fingerprint
            )

    def insert_call(
        self, cursor: Any, client: str, run_id: str, record: CallRecord, batch_key: str = ""
    ) -> None:
        """One row of the call log, inside the caller's transaction; a call logged already
        (a batch ingested twice) is left as it is."""
        names = (*_CALL_COLUMN_NAMES, "batch_key")
        cursor.execute(
            f"insert into {self._calls} ({', '.join(names)}) "
            f"values ({self.marks(len(names))}) on conflict (call_id) do nothing",
            [
                record.call_id,
                client,
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
                batch_key,
            ],
        )

    def insert_answers(
        self,
        cursor: Any,
        call_id: str,
        answers: list[CachedScore],
        prompt_version: str,
        persona_fingerprint: str,
    ) -> None:
        """Answers into the cache, inside the caller's transaction."""
        if not answers:
            return
        now = datetime.now(UTC)
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
                call_id,
                now,
            ]
            for answer in {answer.cache_key: answer for answer in answers}.values()
        ]
        row_marks = f"({self.marks(len(_CACHE_COLUMNS))})"
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
        with self.transaction() as cursor:
            cursor.execute(f"select * from {self._calls} {where} order by started_at", parameters)
            names = [column[0] for column in cursor.description]
            return pd.DataFrame.from_records(cursor.fetchall(), columns=names)

    def marks(self, count: int) -> str:
        return ", ".join([self.warehouse.placeholder] * count)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in one transaction (on the session's connection, when one is open), the
        tables made first when missing."""
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
            {
                CACHE_TABLE: _CACHE_COLUMNS,
                CALLS_TABLE: _CALLS_COLUMNS,
                BATCHES_TABLE: BATCH_COLUMNS,
                BATCH_LEADS_TABLE: BATCH_LEAD_COLUMNS,
            },
        )
        for column in _COLUMNS_ADDED_TO_CALLS:
            cursor.execute(f"alter table {self._calls} add column if not exists {column}")
        for statement in view_statements(
            self.warehouse.schema, CALLS_TABLE, self.warehouse.is_postgres
        ):
            cursor.execute(statement)

"""The batches in the warehouse: `llm_batches` (one row per batch submitted to Groq) and
`llm_batch_leads` (which lead each line's short id stands for, and what became of it).

A batch's answers come back hours later, in another process (the sensor, or a `--wait`):
everything needed to file them is stored when the batch is submitted. Ingesting a batch is one
transaction: its calls at batch prices, its answers into the cache, its leads' outcomes and
its totals, so a batch is paid and cached once or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from pipeline.llm.batch.lines import BatchLead, BatchLine
from pipeline.llm.client import CallRecord
from pipeline.llm.store import (
    BATCH_LEAD_COLUMNS,
    BATCH_LEADS_TABLE,
    BATCHES_TABLE,
    CachedScore,
    LlmStore,
)

SUBMITTING = "submitting"
NOT_SUBMITTED = "not_submitted"
LEAD_PENDING = "pending"
LEAD_ANSWERED = "answered"
LEAD_FAILED = "failed"


@dataclass
class BatchRow:
    """One row of `llm_batches` (the columns, in order)."""

    batch_key: str
    client: str
    run_id: str
    batch_id: str | None
    input_file_id: str | None
    model: str
    prompt_version: str
    persona_fingerprint: str
    lines: int
    leads: int
    submitted_at: datetime
    status: str = SUBMITTING
    completed_lines: int = 0
    failed_lines: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    answered_leads: int = 0
    failed_leads: int = 0
    ingested_at: datetime | None = None
    error: str = ""


BATCH_FIELDS = tuple(f.name for f in fields(BatchRow))
_LEAD_FIELDS = tuple(
    column.split()[0] for column in BATCH_LEAD_COLUMNS if not column.startswith("primary key")
)
# Rows per statement when many are written at once.
_CHUNK = 1000


@dataclass
class Ingested:
    """What a finished batch brought: the calls (one per line) with the answers each paid
    for, and every lead's outcome by (custom_id, number)."""

    calls: list[tuple[CallRecord, list[CachedScore]]] = field(default_factory=list)
    outcomes: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(status == LEAD_ANSWERED for status, _ in self.outcomes.values())

    @property
    def failed(self) -> int:
        return sum(status == LEAD_FAILED for status, _ in self.outcomes.values())


class BatchLedger:
    def __init__(self, store: LlmStore) -> None:
        self.store = store
        schema = store.warehouse.schema
        self._batches = f'"{schema}"."{BATCHES_TABLE}"'
        self._leads = f'"{schema}"."{BATCH_LEADS_TABLE}"'
        self._mark = store.warehouse.placeholder

    def record_submission(self, row: BatchRow, lines: list[BatchLine]) -> None:
        """The batch and its leads, before Groq is asked to run it: if this process dies
        after asking, the row names the uploaded file and the batch can be found again."""
        leads = [lead for line in lines for lead in line.leads]
        with self.store.transaction() as cursor:
            cursor.execute(
                f"insert into {self._batches} ({', '.join(BATCH_FIELDS)}) "
                f"values ({self.store.marks(len(BATCH_FIELDS))})",
                [getattr(row, name) for name in BATCH_FIELDS],
            )
            row_marks = f"({self.store.marks(len(_LEAD_FIELDS))})"
            for start in range(0, len(leads), _CHUNK):
                chunk = leads[start : start + _CHUNK]
                cursor.execute(
                    f"insert into {self._leads} ({', '.join(_LEAD_FIELDS)}) "
                    f"values {', '.join([row_marks] * len(chunk))}",
                    [value for lead in chunk for value in _lead_values(row.batch_key, lead)],
                )

    def update(self, row: BatchRow) -> None:
        """The row as Groq reported it last (status, counts, files)."""
        with self.store.transaction() as cursor:
            self._update(cursor, row)

    def open_batches(self, client: str | None = None) -> list[BatchRow]:
        """Batches whose answers are not ingested yet (all clients', or one's), oldest first."""
        where = f"ingested_at is null and status <> {self._mark}"
        parameters: list[object] = [NOT_SUBMITTED]
        if client is not None:
            where += f" and client = {self._mark}"
            parameters.append(client)
        return self._rows(where, parameters)

    def waiting(self, client: str) -> set[str]:
        """Cache keys of the client's leads that wait in an open batch."""
        with self.store.transaction() as cursor:
            cursor.execute(
                f"select distinct l.cache_key from {self._leads} l join {self._batches} b "
                "on b.batch_key = l.batch_key "
                f"where b.client = {self._mark} and b.ingested_at is null "
                f"and b.status <> {self._mark}",
                [client, NOT_SUBMITTED],
            )
            return {row[0] for row in cursor.fetchall()}

    def failures(self, client: str, since: datetime) -> dict[str, tuple[int, str]]:
        """Cache key -> (batches that gave no answer for it, the last reason), over the
        client's batches submitted since `since`."""
        with self.store.transaction() as cursor:
            cursor.execute(
                "select l.cache_key, count(distinct l.batch_key), max(l.error) "
                f"from {self._leads} l join {self._batches} b on b.batch_key = l.batch_key "
                f"where b.client = {self._mark} and b.submitted_at >= {self._mark} "
                f"and l.status = {self._mark} group by l.cache_key",
                [client, since, LEAD_FAILED],
            )
            return {key: (int(count), str(error)) for key, count, error in cursor.fetchall()}

    def leads_of(self, batch_key: str) -> list[BatchLead]:
        with self.store.transaction() as cursor:
            cursor.execute(
                "select custom_id, number, lead_id, company_key, cache_key "
                f"from {self._leads} where batch_key = {self._mark} order by custom_id, number",
                [batch_key],
            )
            return [BatchLead(*row) for row in cursor.fetchall()]

    def ingest(self, row: BatchRow, ingested: Ingested) -> None:
        """The batch's calls, answers, lead outcomes and totals, in one transaction."""
        with self.store.transaction() as cursor:
            for record, answers in ingested.calls:
                self.store.insert_call(cursor, row.client, row.run_id, record, row.batch_key)
                self.store.insert_answers(
                    cursor,
                    record.call_id,
                    answers,
                    row.prompt_version,
                    row.persona_fingerprint,
                )
            outcomes = [
                [custom_id, number, status, error]
                for (custom_id, number), (status, error) in ingested.outcomes.items()
            ]
            for start in range(0, len(outcomes), _CHUNK):
                chunk = outcomes[start : start + _CHUNK]
                values = ", ".join([f"({self.store.marks(4)})"] * len(chunk))
                cursor.execute(
                    f"update {self._leads} set status = v.status, error = v.error "
                    f"from (values {values}) as v(custom_id, number, status, error) "
                    f"where batch_key = {self._mark} and {self._leads}.custom_id = v.custom_id "
                    f"and {self._leads}.number = v.number",
                    [*(value for outcome in chunk for value in outcome), row.batch_key],
                )
            self._update(cursor, row)

    def _update(self, cursor: Any, row: BatchRow) -> None:
        names = [name for name in BATCH_FIELDS if name != "batch_key"]
        cursor.execute(
            f"update {self._batches} set "
            + ", ".join(f"{name} = {self._mark}" for name in names)
            + f" where batch_key = {self._mark}",
            [*(getattr(row, name) for name in names), row.batch_key],
        )

    def _rows(self, where: str, parameters: list[object]) -> list[BatchRow]:
        with self.store.transaction() as cursor:
            cursor.execute(
                f"select {', '.join(BATCH_FIELDS)} from {self._batches} where {where} "
                "order by submitted_at",
                parameters,
            )
            return [BatchRow(*row) for row in cursor.fetchall()]


def _lead_values(batch_key: str, lead: BatchLead) -> list[object]:
    return [
        batch_key,
        lead.custom_id,
        lead.number,
        lead.lead_id,
        lead.company_key,
        lead.cache_key,
        LEAD_PENDING,
        "",
    ]

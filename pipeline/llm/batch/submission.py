"""Groq's Batch API through the official SDK: submit the leads that need the model as batches,
follow them, and file their answers when they end.

A batch is half the synchronous price, outside the per-minute limits, and done within its
completion window (24 h to 7 d): for runs nobody waits for. Its answers are matched by
`custom_id`, whatever order they come back in; a line that failed, was never reached (the
batch expired or was cancelled) or answered badly leaves its leads unanswered, never
irrelevant: the next ranking run sends them again, calls for them, or judges them by the rules,
as configured (`pipeline.llm.routing.plan_batch`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import groq
from groq.types.chat import ChatCompletion

from pipeline.llm.answers import check_answer
from pipeline.llm.batch.ledger import (
    LEAD_ANSWERED,
    LEAD_FAILED,
    NOT_SUBMITTED,
    SUBMITTING,
    BatchLedger,
    BatchRow,
    Ingested,
)
from pipeline.llm.batch.lines import BATCH_URL, BatchLead, batch_lines, read_results, split_files
from pipeline.llm.client import STATUS_OK, CallRecord, completion_body, usage_of
from pipeline.llm.config import GroqConfig
from pipeline.llm.prompts import PROMPT_VERSION, LeadForModel
from pipeline.llm.store import CachedScore

# Groq's statuses after which a batch changes no more.
ENDED = frozenset({"completed", "expired", "cancelled", "failed"})
# A batch recorded as submitting whose batch Groq does not list after this long was never
# created (the process died between the upload and the create): its leads are free again.
_SUBMITTING_GRACE = timedelta(minutes=10)


class BatchSubmitFailed(Exception):
    """Groq refused a batch or its upload; its leads are not waiting on anything."""


@dataclass
class GroqBatches:
    """Submits, follows and ingests batches of one model, logging in the warehouse."""

    client: groq.Groq
    model: str
    config: GroqConfig
    ledger: BatchLedger
    reasoning_effort: str = "low"
    log: Callable[[str], None] = print

    def submit(
        self,
        run_id: str,
        client: str,
        persona_fingerprint: str,
        system_prompt: str,
        calls: list[list[LeadForModel]],
        cache_keys: dict[str, str],
    ) -> list[BatchRow]:
        """One batch per input file (split at Groq's lines and bytes limits)."""
        terms = self.config.batch
        lines = batch_lines(
            uuid.uuid4().hex[:16], calls, cache_keys, system_prompt, self._request_body
        )
        submitted = []
        for file_lines in split_files(lines, terms.max_lines, terms.max_bytes):
            key = uuid.uuid4().hex
            content = "".join(line.text for line in file_lines).encode("utf-8")
            try:
                uploaded = self.client.files.create(
                    file=(f"persona-ranker-{key}.jsonl", content, "application/jsonl"),
                    purpose="batch",
                )
            except groq.APIError as error:
                raise BatchSubmitFailed(
                    f"Groq refused the batch file: {_describe(error)}"
                ) from None
            row = BatchRow(
                batch_key=key,
                client=client,
                run_id=run_id,
                batch_id=None,
                input_file_id=uploaded.id,
                model=self.model,
                prompt_version=PROMPT_VERSION,
                persona_fingerprint=persona_fingerprint,
                lines=len(file_lines),
                leads=sum(len(line.leads) for line in file_lines),
                submitted_at=datetime.now(UTC),
            )
            self.ledger.record_submission(row, file_lines)
            try:
                created = self.client.batches.create(
                    input_file_id=str(uploaded.id),
                    endpoint=BATCH_URL,
                    completion_window=terms.completion_window,
                    metadata={"client": client, "batch_key": key},
                )
            except groq.APIError as error:
                row.status, row.error = NOT_SUBMITTED, _describe(error)
                self.ledger.update(row)
                raise BatchSubmitFailed(f"Groq refused the batch: {row.error}") from None
            _apply(row, created)
            self.ledger.update(row)
            self.log(
                f"batch {row.batch_id} submitted: {row.lines} calls, {row.leads} leads, "
                f"{len(content):,} bytes, window {terms.completion_window}"
            )
            submitted.append(row)
        return submitted

    def collect(
        self, client: str | None = None, most: int | None = None
    ) -> tuple[list[BatchRow], list[BatchRow]]:
        """Asks Groq about every open batch (of one client, or all), and ingests those that
        ended, at most `most` of them (a sensor tick has a minute): (still open, ingested)."""
        still_open, ingested = [], []
        for row in self.ledger.open_batches(client):
            self.refresh(row)
            if row.status == NOT_SUBMITTED:
                continue
            if row.status in ENDED and (most is None or len(ingested) < most):
                self.ingest(row)
                ingested.append(row)
            else:
                still_open.append(row)
        return still_open, ingested

    def cancel(self, row: BatchRow) -> BatchRow:
        """Asks Groq to stop the batch; what it answered by then is filed when it ends."""
        if row.batch_id is None:
            raise ValueError(f"batch {row.batch_key} has no Groq id yet: nothing to cancel")
        _apply(row, self.client.batches.cancel(row.batch_id))
        self.ledger.update(row)
        return row

    def refresh(self, row: BatchRow) -> BatchRow:
        """The batch as Groq has it now, recorded."""
        if row.status == SUBMITTING:
            found = next(
                (
                    b
                    for b in self.client.batches.list().data
                    if b.input_file_id == row.input_file_id
                ),
                None,
            )
            if found is not None:
                _apply(row, found)
            elif datetime.now(UTC) - row.submitted_at > _SUBMITTING_GRACE:
                row.status, row.error = NOT_SUBMITTED, "Groq has no batch for the uploaded file"
        else:
            _apply(row, self.client.batches.retrieve(str(row.batch_id)))
        self.ledger.update(row)
        return row

    def ingest(self, row: BatchRow) -> Ingested:
        """The answers of an ended batch into the cache and the call log, at batch prices;
        its leads' outcomes; its totals. One transaction."""
        results = read_results(self._content(row.output_file_id), self._content(row.error_file_id))
        by_line: dict[str, list[BatchLead]] = {}
        for lead in self.ledger.leads_of(row.batch_key):
            by_line.setdefault(lead.custom_id, []).append(lead)
        ingested = Ingested()
        for custom_id, leads in by_line.items():
            result = results.get(custom_id)
            if result is None:
                # Never reached: nothing was answered and nothing is billed.
                reason = f"batch {row.status}" + (f": {row.error}" if row.error else "")
                ingested.outcomes.update(_outcomes(leads, LEAD_FAILED, reason[:200]))
                continue
            record = CallRecord(
                model=row.model,
                leads=len(leads),
                companies=",".join(sorted({lead.company_key for lead in leads})),
                call_id=custom_id,
                started_at=row.submitted_at,
                attempts=1,
                http_status=result.status_code,
            )
            if result.completion is None:
                record.error = result.error
                ingested.calls.append((record, []))
                ingested.outcomes.update(_outcomes(leads, LEAD_FAILED, result.error))
                continue
            ingested.calls.append(
                (record, self._answers(row, record, result.completion, leads, ingested))
            )
        row.prompt_tokens = sum(record.usage.prompt_tokens for record, _ in ingested.calls)
        row.completion_tokens = sum(record.usage.completion_tokens for record, _ in ingested.calls)
        row.usd = sum(record.usd for record, _ in ingested.calls)
        row.answered_leads, row.failed_leads = ingested.answered, ingested.failed
        row.ingested_at = datetime.now(UTC)
        self.ledger.ingest(row, ingested)
        self.log(
            f"batch {row.batch_id} ({row.status}) ingested: {row.answered_leads} leads answered, "
            f"{row.failed_leads} without an answer, ${row.usd:.4f} at batch prices"
        )
        return ingested

    def _answers(
        self,
        row: BatchRow,
        record: CallRecord,
        body: dict[str, Any],
        leads: list[BatchLead],
        ingested: Ingested,
    ) -> list[CachedScore]:
        """A line's answer checked as a synchronous one is; the leads it did not answer well
        are failed."""
        completion = ChatCompletion.model_validate(body)
        record.usage = usage_of(completion.usage)
        record.usd = self.config.batch_cost_usd(row.model, record.usage)
        record.status = STATUS_OK
        content = completion.choices[0].message.content if completion.choices else None
        by_number = {lead.number: lead for lead in leads}
        checked = check_answer(content, set(by_number))
        paid = [
            CachedScore(
                cache_key=by_number[number].cache_key,
                lead_id=by_number[number].lead_id,
                company_key=by_number[number].company_key,
                relevance_score=score.score,
                reasoning=score.reason,
                model=row.model,
            )
            for number, score in checked.scores.items()
        ]
        ingested.outcomes.update(
            _outcomes([by_number[n] for n in checked.scores], LEAD_ANSWERED, "")
        )
        problem = "; ".join(checked.problems[:3]) or "no valid answer"
        ingested.outcomes.update(
            _outcomes(
                [by_number[n] for n in sorted(checked.missing)],
                LEAD_FAILED,
                f"model gave no valid answer: {problem}"[:200],
            )
        )
        return paid

    def _content(self, file_id: str | None) -> str:
        return self.client.files.content(file_id).text() if file_id else ""

    def _request_body(self, messages: list[dict[str, str]], budget: int) -> dict[str, object]:
        return completion_body(self.model, messages, budget, self.reasoning_effort)


def _outcomes(
    leads: list[BatchLead], status: str, error: str
) -> dict[tuple[str, int], tuple[str, str]]:
    return {(lead.custom_id, lead.number): (status, error) for lead in leads}


def _apply(row: BatchRow, batch: Any) -> None:
    """Groq's view of the batch onto our row."""
    row.batch_id = batch.id
    row.status = batch.status
    counts = batch.request_counts
    if counts is not None:
        row.completed_lines, row.failed_lines = counts.completed, counts.failed
    row.output_file_id = batch.output_file_id
    row.error_file_id = batch.error_file_id
    errors = batch.errors.data if batch.errors and batch.errors.data else []
    if errors:
        row.error = "; ".join(
            f"line {error.line}: {error.message}" if error.line else str(error.message)
            for error in errors[:3]
        )[:200]


def _describe(error: groq.APIError) -> str:
    status = getattr(error, "status_code", None)
    return (f"HTTP {status}: " if status else "") + " ".join(error.message.split())[:200]

"""Groq Batch API files, framework-free: the JSONL requests we upload and the results we read.

A line is one call's request, `{"custom_id", "method": "POST", "url": "/v1/chat/completions",
"body"}`, with the same body a synchronous call sends. Its results come back in any order,
in an output file (answered lines) and an error file (failed ones), matched by `custom_id`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.llm.prompts import LeadForModel, batch_completion_budget, batch_message

BATCH_URL = "/v1/chat/completions"


@dataclass(frozen=True)
class BatchLead:
    """One lead of a batch line: the short id it has in the line's message, and where its
    answer goes (the cache key)."""

    custom_id: str
    number: int
    lead_id: str
    company_key: str
    cache_key: str


@dataclass(frozen=True)
class BatchLine:
    custom_id: str
    leads: tuple[BatchLead, ...]
    # The JSONL line, newline included.
    text: str

    @property
    def companies(self) -> str:
        return ",".join(sorted({lead.company_key for lead in self.leads}))


@dataclass(frozen=True)
class LineResult:
    """What came back for one line: the chat completion when it was answered (status 200),
    else the error's description."""

    custom_id: str
    status_code: int | None
    completion: dict[str, Any] | None
    error: str


def batch_lines(
    prefix: str,
    calls: list[list[LeadForModel]],
    cache_keys: dict[str, str],
    system_prompt: str,
    body_for: Callable[[list[dict[str, str]], int], dict[str, object]],
) -> list[BatchLine]:
    """One line per call of leads; `body_for(messages, completion_budget)` makes the request
    body, so a line asks exactly what a synchronous call would."""
    lines = []
    for position, leads in enumerate(calls, start=1):
        custom_id = f"{prefix}-{position}"
        message, ids = batch_message(leads)
        by_id = {lead.lead_id: lead for lead in leads}
        body = body_for(
            [{"role": "system", "content": system_prompt}, {"role": "user", "content": message}],
            batch_completion_budget(len(leads)),
        )
        request = {"custom_id": custom_id, "method": "POST", "url": BATCH_URL, "body": body}
        lines.append(
            BatchLine(
                custom_id,
                tuple(
                    BatchLead(
                        custom_id,
                        number,
                        lead_id,
                        by_id[lead_id].company_key,
                        cache_keys[lead_id],
                    )
                    for number, lead_id in ids.items()
                ),
                json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n",
            )
        )
    return lines


def split_files(lines: list[BatchLine], max_lines: int, max_bytes: int) -> list[list[BatchLine]]:
    """Input files within Groq's limits: at most `max_lines` lines and `max_bytes` bytes each."""
    files: list[list[BatchLine]] = []
    current: list[BatchLine] = []
    size = 0
    for line in lines:
        length = len(line.text.encode("utf-8"))
        if length > max_bytes:
            raise ValueError(f"batch line {line.custom_id} alone is {length} bytes: over the limit")
        if current and (len(current) >= max_lines or size + length > max_bytes):
            files.append(current)
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        files.append(current)
    return files


def read_results(output: str, errors: str) -> dict[str, LineResult]:
    """The results of a batch's output and error files, by custom_id. A line that is not
    JSON or names no custom_id is skipped: its leads count as unanswered."""
    results: dict[str, LineResult] = {}
    for text in _lines(output, errors):
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            continue
        custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(custom_id, str):
            continue
        results[custom_id] = _result(custom_id, entry)
    return results


def _lines(*files: str) -> Iterable[str]:
    for content in files:
        yield from (line for line in content.splitlines() if line.strip())


def _result(custom_id: str, entry: dict[str, Any]) -> LineResult:
    response = entry.get("response") if isinstance(entry.get("response"), dict) else None
    error = entry.get("error")
    status = response.get("status_code") if response else None
    body = response.get("body") if response else None
    if status == 200 and isinstance(body, dict) and not error:
        return LineResult(custom_id, status, body, "")
    return LineResult(custom_id, status, None, _describe(status, body, error))


def _describe(status: object, body: object, error: object) -> str:
    if isinstance(error, dict):
        return f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip(": ")[:200]
    detail = body.get("error") if isinstance(body, dict) else None
    message = detail.get("message", "") if isinstance(detail, dict) else ""
    return (f"HTTP {status}" + (f": {message}" if message else ""))[:200]

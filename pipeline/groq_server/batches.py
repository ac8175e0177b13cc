"""The local server's Files and Batch API, as the `groq` SDK calls them.

`POST /openai/v1/files` (multipart, purpose `batch`), `GET /openai/v1/files[/{id}[/content]]`,
`DELETE /openai/v1/files/{id}`; `POST /openai/v1/batches`, `GET /openai/v1/batches[/{id}]`,
`POST /openai/v1/batches/{id}/cancel`. A batch is validated when it is created (a bad line
fails it whole, as Groq does), then takes `delay_s` to process; its lines are answered by the
same model as the chat endpoint, outside the per-minute limits, without the cached-prefix
count (batch pricing does not stack with it). Past `expire_s` a batch that is not done
expires: the lines it had reached are answered, the others go to the error file with
`batch_expired`. Line faults queued with `queue_line_faults` make a line fail (`line_error`,
a 500 in the error file) or answer badly (the chat endpoint's content faults).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import Any

BATCH_ENDPOINT = "/v1/chat/completions"
LINE_ERROR = "line_error"
# Statuses after which a batch changes no more.
ENDED = frozenset({"completed", "expired", "cancelled", "failed"})
_WINDOW_UNITS = {"h": 3600, "d": 86400}

# A line's request body -> (HTTP status, response body), as the chat endpoint would answer.
LineAnswer = Callable[[dict[str, Any], str], tuple[int, dict[str, Any]]]
Reply = tuple[int, dict[str, Any] | bytes]


@dataclass
class BatchTiming:
    # Seconds a batch takes to process, and after how many it expires unfinished (none:
    # never).
    delay_s: float = 0.0
    expire_s: float | None = None


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int = field(default_factory=lambda: int(time.time()))

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


@dataclass
class _Batch:
    id: str
    input_file_id: str
    completion_window: str
    lines: list[dict[str, Any]]
    metadata: dict[str, str] | None
    started: float
    created_at: int = field(default_factory=lambda: int(time.time()))
    status: str = "in_progress"
    errors: list[dict[str, Any]] = field(default_factory=list)
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    ended_at: dict[str, int] = field(default_factory=dict)
    cancel_requested: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": BATCH_ENDPOINT,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "created_at": self.created_at,
            "in_progress_at": self.created_at,
            "expires_at": self.created_at + _window_seconds(self.completion_window),
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "request_counts": {
                "total": len(self.lines),
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
            **self.ended_at,
        }


class BatchService:
    """Files and batches in memory; `answer_line` answers one request of a batch."""

    def __init__(self, answer_line: LineAnswer, timing: BatchTiming) -> None:
        self.answer_line = answer_line
        self.timing = timing
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}
        self._batches: dict[str, _Batch] = {}
        self._line_faults: deque[str] = deque()
        self.lines_answered = 0

    def queue_line_faults(self, faults: list[str]) -> None:
        with self._lock:
            self._line_faults.extend(faults)

    # Files.

    def upload(self, content_type: str, body: bytes) -> Reply:
        fields = _multipart(content_type, body)
        if "file" not in fields:
            return _error(HTTPStatus.BAD_REQUEST, "'file' is required")
        filename, content = fields["file"]
        purpose = fields.get("purpose", ("", b""))[1].decode()
        if purpose != "batch":
            return _error(HTTPStatus.BAD_REQUEST, "purpose must be 'batch'")
        file = self._store(filename or "upload.jsonl", "batch", content)
        return 200, file.info()

    def files(self) -> Reply:
        with self._lock:
            return 200, {"object": "list", "data": [f.info() for f in self._files.values()]}

    def file(self, file_id: str, content: bool = False) -> Reply:
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            return _error(HTTPStatus.NOT_FOUND, f"file {file_id} not found")
        return (200, found.content) if content else (200, found.info())

    def delete_file(self, file_id: str) -> Reply:
        with self._lock:
            found = self._files.pop(file_id, None)
        if found is None:
            return _error(HTTPStatus.NOT_FOUND, f"file {file_id} not found")
        return 200, {"id": file_id, "object": "file", "deleted": True}

    # Batches.

    def create(self, body: dict[str, Any]) -> Reply:
        if body.get("endpoint") != BATCH_ENDPOINT:
            return _error(HTTPStatus.BAD_REQUEST, f"endpoint must be {BATCH_ENDPOINT}")
        window = str(body.get("completion_window", ""))
        if not 86400 <= _window_seconds(window) <= 7 * 86400:
            return _error(HTTPStatus.BAD_REQUEST, "completion_window must be from 24h to 7d")
        with self._lock:
            file = self._files.get(str(body.get("input_file_id")))
        if file is None or file.purpose != "batch":
            return _error(HTTPStatus.BAD_REQUEST, "input_file_id is not an uploaded batch file")
        lines, errors = _read_lines(file.content)
        batch = _Batch(
            id=f"batch_{uuid.uuid4().hex[:26]}",
            input_file_id=file.id,
            completion_window=window,
            lines=lines,
            metadata=body.get("metadata"),
            started=time.monotonic(),
        )
        if errors:
            batch.status, batch.errors = "failed", errors
            batch.ended_at["failed_at"] = int(time.time())
        with self._lock:
            self._batches[batch.id] = batch
        return 200, batch.as_json()

    def retrieve(self, batch_id: str) -> Reply:
        batch = self._advanced(batch_id)
        if batch is None:
            return _error(HTTPStatus.NOT_FOUND, f"batch {batch_id} not found")
        return 200, batch.as_json()

    def batches(self) -> Reply:
        with self._lock:
            ids = list(self._batches)
        return 200, {"object": "list", "data": [self._advanced(i).as_json() for i in ids]}  # type: ignore[union-attr]

    def cancel(self, batch_id: str) -> Reply:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is not None and batch.status not in ENDED:
                batch.cancel_requested = True
                batch.status = "cancelling"
                batch.ended_at["cancelling_at"] = int(time.time())
        if batch is None:
            return _error(HTTPStatus.NOT_FOUND, f"batch {batch_id} not found")
        return 200, batch.as_json()

    def _advanced(self, batch_id: str) -> _Batch | None:
        """The batch as it stands now: lines are answered when it ends (Groq writes the
        output file at the end); until then its counts grow with time."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None or batch.status in ENDED:
                return batch
            elapsed = time.monotonic() - batch.started
            delay, expire = self.timing.delay_s, self.timing.expire_s
            share = 1.0 if delay <= 0 else min(elapsed / delay, 1.0)
            reached = int(len(batch.lines) * share)
            if batch.cancel_requested:
                self._finish(batch, reached, "cancelled", "batch_cancelled")
            elif share >= 1.0:
                self._finish(batch, len(batch.lines), "completed", "")
            elif expire is not None and elapsed >= expire:
                done_by_expiry = int(len(batch.lines) * expire / delay)
                self._finish(batch, done_by_expiry, "expired", "batch_expired")
            else:
                batch.completed = reached
            return batch

    def _finish(self, batch: _Batch, reached: int, status: str, code: str) -> None:
        output, errors = [], []
        for number, line in enumerate(batch.lines):
            if number >= reached:
                message = f"the request was not run before the batch was {status}"
                errors.append(_line_result(line, None, {"code": code, "message": message}))
                continue
            fault = self._line_faults.popleft() if self._line_faults else ""
            http_status, body = (
                (500, {"error": {"message": "injected line failure", "type": "server_error"}})
                if fault == LINE_ERROR
                else self.answer_line(line["body"], fault)
            )
            self.lines_answered += http_status == 200
            result = _line_result(line, {"status_code": http_status, "body": body}, None)
            (output if http_status == 200 else errors).append(result)
        batch.completed, batch.failed = len(output), len(errors)
        if output:
            batch.output_file_id = self._add_file("output.jsonl", "batch_output", _jsonl(output)).id
        if errors:
            batch.error_file_id = self._add_file("errors.jsonl", "batch_output", _jsonl(errors)).id
        batch.status = status
        batch.ended_at[f"{status}_at"] = int(time.time())

    def _store(self, filename: str, purpose: str, content: bytes) -> _File:
        with self._lock:
            return self._add_file(filename, purpose, content)

    def _add_file(self, filename: str, purpose: str, content: bytes) -> _File:
        """A new file; the caller holds the lock."""
        file = _File(f"file_{uuid.uuid4().hex[:26]}", filename, purpose, content)
        self._files[file.id] = file
        return file


def _jsonl(results: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(result) + "\n" for result in results).encode()


def _line_result(
    line: dict[str, Any], response: dict[str, Any] | None, error: dict[str, str] | None
) -> dict[str, Any]:
    if response is not None:
        response = {**response, "request_id": f"req_{uuid.uuid4().hex[:26]}"}
    return {
        "id": f"batch_req_{uuid.uuid4().hex[:26]}",
        "custom_id": line["custom_id"],
        "response": response,
        "error": error,
    }


def _read_lines(content: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests of an input file, and Groq's validation errors (line numbers from 1)."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, text in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            errors.append(_line_error(number, "invalid_json", "line is not JSON"))
            continue
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str) or not custom_id:
            errors.append(_line_error(number, "missing_custom_id", "custom_id is required"))
        elif custom_id in seen:
            errors.append(_line_error(number, "duplicate_custom_id", f"{custom_id} repeats"))
        elif line.get("method") != "POST" or line.get("url") != BATCH_ENDPOINT:
            errors.append(
                _line_error(number, "invalid_url", f"method must be POST, url {BATCH_ENDPOINT}")
            )
        elif not isinstance(line.get("body"), dict):
            errors.append(_line_error(number, "invalid_body", "body must be an object"))
        else:
            seen.add(custom_id)
            lines.append(line)
    if not lines and not errors:
        errors.append(_line_error(0, "empty_file", "the input file has no requests"))
    return lines, errors


def _line_error(line: int, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "line": line, "message": message, "param": None}


def _window_seconds(window: str) -> int:
    unit = _WINDOW_UNITS.get(window[-1:], 0)
    try:
        return int(window[:-1]) * unit
    except ValueError:
        return 0


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """The form fields of a multipart/form-data body: name -> (filename, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = (part.get_filename() or "", payload)
    return fields


def _error(status: int, message: str) -> Reply:
    return int(status), {
        "error": {"message": message, "type": "invalid_request_error", "code": "invalid"}
    }

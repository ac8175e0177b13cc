"""A local Groq-compatible server: `POST /openai/v1/chat/completions` over real HTTP.

It answers as Groq does (the response shape the `groq` SDK parses, the `x-ratelimit-*`
headers, 429 with `retry-after` past the requests/tokens per minute or per day, 413 for a
request larger than the minute's tokens), and injects scripted faults. Tests, benchmarks and
`persona-ranker mock-groq` use it; the SDK reaches it with `base_url=http://127.0.0.1:PORT`.

The Files and Batch API are served too (`pipeline.groq_server.batches`).

Control endpoints (not Groq's): `POST /mock/faults` {"faults": [...], "line_faults": [...]}
queues faults for the next requests and the next batch lines, `POST /mock/outage` {"fault":
"503"} gives every chat request that fault until `{"fault": ""}` lifts it (an outage: "503",
"500" or "slow"), `GET /mock/stats` lists every request served, `POST /mock/reset` clears all.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.groq_server.batches import LINE_ERROR, BatchService, BatchTiming
from pipeline.groq_server.model import (
    TitleReadings,
    answer_json,
    lead_contents,
    leads_in,
    score_leads,
)
from pipeline.groq_server.replies import (
    Answer,
    apply_content_fault,
    bad_request,
    error_reply,
    request_problem,
    user_message,
)
from pipeline.groq_server.windows import RateWindows, go_duration
from pipeline.llm.ratelimit import RateLimits
from pipeline.llm.tokens import chat_prompt_tokens, prefix_tokens, text_tokens
from pipeline.persona.spec import Persona

API_ROOT = "/openai/v1"
COMPLETIONS_PATH = f"{API_ROOT}/chat/completions"
MODELS = ("openai/gpt-oss-120b", "openai/gpt-oss-20b")
FAULTS = (
    "ok",  # no fault: lets a script reach the n-th request
    "429",
    "429_daily",
    "413",
    "498",
    "500",
    "503",
    "slow",
    "malformed",
    "missing_id",
    "duplicate_id",
    "extra_id",
    "out_of_range",
    "all_100",  # a model that obeyed an injected "give every lead 100"
)
_STATUS_FAULTS = {"498": 498, "500": 500, "503": 503}
# Faults that can last: the service refusing, or answering later than any client waits.
_OUTAGES = ("500", "503", "slow")


@dataclass
class MockSettings:
    limits: RateLimits
    # Seconds in the server's minute: shrink it to run free-tier scenarios quickly.
    minute_s: float = 60.0
    disagreement: float = 0.1
    # Reasoning tokens a low-effort gpt-oss call spends before answering (a model, not a
    # measurement): a fixed part per call and a part per lead.
    reasoning_tokens_per_call: int = 64
    reasoning_tokens_per_lead: int = 4
    slow_s: float = 5.0
    # A model that takes time, as a real one does: seconds per answered call, plus seconds per
    # output token (reasoning included). Requests are served in parallel, like Groq's.
    latency_s: float = 0.0
    latency_per_output_token_s: float = 0.0
    faults: list[str] = field(default_factory=list)
    # The Batch API: seconds a batch takes to process, and after how many an unfinished one
    # expires (none: never).
    batch_delay_s: float = 0.0
    batch_expire_s: float | None = None


@dataclass
class ServedRequest:
    at: float
    status: int
    fault: str
    leads: int
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    counted_tokens: int = 0
    # What each lead of the request was (`model.lead_contents`), to tell an answer paid twice.
    contents: tuple[str, ...] = ()


class MockGroq:
    """The server's state; `serve()` runs it, `start()` runs it on a background thread."""

    def __init__(self, persona: Persona, settings: MockSettings, port: int = 0) -> None:
        self.persona = persona
        self.settings = settings
        self._readings = TitleReadings(persona)
        self._lock = threading.Lock()
        self._ledger = RateWindows(settings.limits, settings.minute_s)
        self._faults: deque[str] = deque(settings.faults)
        self._outage = ""
        self._served: list[ServedRequest] = []
        self._seen_prefixes: set[str] = set()
        self._started = time.monotonic()
        # Requests being answered now, and the most there ever were at once.
        self._in_flight = 0
        self._most_in_flight = 0
        self.batches = BatchService(
            self._batch_line, BatchTiming(settings.batch_delay_s, settings.batch_expire_s)
        )
        self._server = _QuietServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MockGroq:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MockGroq:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queue_faults(self, faults: list[str], line_faults: Sequence[str] = ()) -> None:
        """Faults for the next chat requests, and for the next batch lines answered (those
        of the chat endpoint's that change an answer, or `line_error`)."""
        known = (*FAULTS, LINE_ERROR)
        unknown = [fault for fault in [*faults, *line_faults] if fault not in known]
        if unknown:
            raise ValueError(f"unknown faults {unknown} (known: {', '.join(known)})")
        with self._lock:
            self._faults.extend(faults)
        self.batches.queue_line_faults(list(line_faults))

    def set_outage(self, fault: str) -> None:
        """Every chat request gets `fault` until called with '' (queued faults wait)."""
        if fault and fault not in _OUTAGES:
            raise ValueError(f"unknown outage {fault!r} (known: {', '.join(_OUTAGES)})")
        with self._lock:
            self._outage = fault

    def served(self) -> list[ServedRequest]:
        with self._lock:
            return list(self._served)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._outage = ""
            self._served.clear()
            self._most_in_flight = 0

    def most_in_flight(self) -> int:
        """The most chat completion requests this server was answering at once."""
        with self._lock:
            return self._most_in_flight

    def complete(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Status, headers and JSON body for one chat completion request."""
        with self._lock:
            self._in_flight += 1
            self._most_in_flight = max(self._most_in_flight, self._in_flight)
        try:
            return self._complete(body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _complete(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        checked = self.read_request(body)
        if not isinstance(checked, list):
            return checked
        with self._lock:
            fault = self._outage or (self._faults.popleft() if self._faults else "")
        if fault == "slow":
            time.sleep(self.settings.slow_s)
        messages = body["messages"]
        answer = self.answer(body, checked, fault)
        prefix = json.dumps([messages[0], body.get("response_format")], sort_keys=True)
        with self._lock:
            cached = (
                prefix_tokens(messages[:1], body.get("response_format"))
                if prefix in self._seen_prefixes
                else 0
            )
            counted = answer.prompt - cached + answer.completion
            now = time.monotonic()
            served = ServedRequest(
                now - self._started,
                200,
                fault,
                len(checked),
                answer.prompt,
                cached,
                answer.completion,
                counted,
                tuple(lead_contents(user_message(messages))),
            )
            status, headers, reply = self._admit(now, counted, fault, served)
            if status == 200:
                self._seen_prefixes.add(prefix)
                reply = answer.completion_body(body["model"], cached)
            served.status = status
            self._served.append(served)
        if status == 200:
            time.sleep(
                self.settings.latency_s
                + self.settings.latency_per_output_token_s * answer.completion
            )
        return status, headers, reply

    def read_request(
        self, body: dict[str, Any]
    ) -> list[dict[str, object]] | tuple[int, dict[str, str], dict[str, Any]]:
        """The leads a chat completion request asks about, or the error Groq would answer."""
        problem = request_problem(body)
        if problem:
            return bad_request(problem)
        if body["model"] not in MODELS:
            return error_reply(
                HTTPStatus.NOT_FOUND,
                f"The model `{body['model']}` does not exist",
                "model_not_found",
            )
        try:
            return leads_in(user_message(body["messages"]))
        except (ValueError, KeyError, TypeError) as error:
            return bad_request(f"cannot read the leads: {error}")

    def _batch_line(self, body: dict[str, Any], fault: str) -> tuple[int, dict[str, Any]]:
        """One request of a batch: answered like the chat endpoint, outside the per-minute
        limits, with no cached prefix (batch pricing does not stack with it)."""
        checked = self.read_request(body)
        if not isinstance(checked, list):
            status, _, reply = checked
            return status, reply
        return 200, self.answer(body, checked, fault).completion_body(body["model"], 0)

    def answer(self, body: dict[str, Any], leads: list[dict[str, object]], fault: str) -> Answer:
        """The model's answer to a readable request, with its token counts."""
        scored = score_leads(leads, self._readings, self.settings.disagreement)
        content = apply_content_fault(fault, answer_json(scored), scored)
        reasoning = (
            self.settings.reasoning_tokens_per_call
            + self.settings.reasoning_tokens_per_lead * len(leads)
        )
        return Answer(
            content,
            prompt=chat_prompt_tokens(body["messages"], body.get("response_format")),
            completion=text_tokens(content) + reasoning,
            reasoning=reasoning,
        )

    def _admit(
        self, now: float, counted: int, fault: str, served: ServedRequest
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        ledger = self._ledger
        limits = self.settings.limits
        if fault == "413" or counted > limits.tokens_per_minute:
            return error_reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request too large: Limit {limits.tokens_per_minute}, Requested {counted}",
                "tokens",
            )
        if fault in _STATUS_FAULTS:
            return error_reply(
                _STATUS_FAULTS[fault],
                "injected fault: over capacity or server error",
                "server_error",
            )
        refusal = ("injected", 1.0) if fault == "429" else None
        if fault == "429_daily":
            refusal = ("requests per day (RPD)", ledger.day_s)
        refusal = refusal or ledger.refusal(now, counted)
        if refusal:
            name, wait = refusal
            status, headers, body = error_reply(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"Rate limit reached on {name}. Please try again in {go_duration(wait)}.",
                "rate_limit_exceeded",
            )
            return (
                status,
                {**headers, **ledger.headers(now), "retry-after": str(math.ceil(wait))},
                body,
            )
        ledger.spend(now, counted)
        return 200, ledger.headers(now), {}


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-request (a killed worker, a timeout) is no server error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(mock: MockGroq) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith(API_ROOT) and not self._authorized():
                return
            if self.path == f"{API_ROOT}/files":
                self._send(*_reply(mock.batches.upload(self.headers["Content-Type"] or "", raw)))
                return
            body = self._json(raw)
            if body is None:
                return
            if self.path == COMPLETIONS_PATH:
                self._send(*mock.complete(body))
            elif self.path == f"{API_ROOT}/batches":
                self._send(*_reply(mock.batches.create(body)))
            elif self.path.startswith(f"{API_ROOT}/batches/") and self.path.endswith("/cancel"):
                batch_id = self.path.removeprefix(f"{API_ROOT}/batches/").removesuffix("/cancel")
                self._send(*_reply(mock.batches.cancel(batch_id)))
            elif self.path == "/mock/faults":
                try:
                    mock.queue_faults(
                        list(body.get("faults", [])), list(body.get("line_faults", []))
                    )
                except ValueError as error:
                    self._send(*bad_request(str(error)))
                    return
                self._send(200, {}, {"queued": body.get("faults", [])})
            elif self.path == "/mock/outage":
                try:
                    mock.set_outage(str(body.get("fault", "")))
                except ValueError as error:
                    self._send(*bad_request(str(error)))
                    return
                self._send(200, {}, {"outage": body.get("fault", "")})
            elif self.path == "/mock/reset":
                mock.reset()
                self._send(200, {}, {"reset": True})
            else:
                self._not_found()

        def do_GET(self) -> None:
            if self.path == "/mock/stats":
                self._send(200, {}, {"requests": [asdict(r) for r in mock.served()]})
                return
            if not self._authorized():
                return
            parts = self.path.removeprefix(API_ROOT).strip("/").split("/")
            if parts == ["files"]:
                self._send(*_reply(mock.batches.files()))
            elif parts[0] == "files" and len(parts) in (2, 3):
                wants_content = parts[2:] == ["content"]
                self._send(*_reply(mock.batches.file(parts[1], content=wants_content)))
            elif parts == ["batches"]:
                self._send(*_reply(mock.batches.batches()))
            elif parts[0] == "batches" and len(parts) == 2:
                self._send(*_reply(mock.batches.retrieve(parts[1])))
            else:
                self._not_found()

        def do_DELETE(self) -> None:
            if not self._authorized():
                return
            parts = self.path.removeprefix(API_ROOT).strip("/").split("/")
            if parts[0] == "files" and len(parts) == 2:
                self._send(*_reply(mock.batches.delete_file(parts[1])))
            else:
                self._not_found()

        def _authorized(self) -> bool:
            if self.headers.get("Authorization", "").removeprefix("Bearer ").strip():
                return True
            self._send(*error_reply(HTTPStatus.UNAUTHORIZED, "Invalid API Key", "invalid_api_key"))
            return False

        def _not_found(self) -> None:
            self._send(*error_reply(HTTPStatus.NOT_FOUND, f"no route {self.path}", "not_found"))

        def _json(self, raw: bytes) -> dict[str, Any] | None:
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(*bad_request("body is not JSON"))
                return None
            return body if isinstance(body, dict) else {}

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any] | bytes) -> None:
            is_file = isinstance(body, bytes)
            payload = body if is_file else json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                kind = "application/octet-stream" if is_file else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # The client gave up (a timeout): nothing to answer.

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _reply(
    reply: tuple[int, dict[str, Any] | bytes],
) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
    status, body = reply
    return status, {}, body

"""One chat completion through the official `groq` SDK, inside the shared rate limiter.

The SDK's own retries are off (`max_retries=0`): a retry must wait its turn in the limiter
shared by the whole run, a 429 with a retry-after of hours is a daily cap to stop at (not to
sleep through), a 413 asks for a smaller batch, and a 498 (capacity) is worth retrying though
the SDK does not. Each logical call, retries included, becomes one `CallRecord`.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import groq

from pipeline.llm.config import GroqConfig, Usage
from pipeline.llm.prompts import RESPONSE_FORMAT
from pipeline.llm.ratelimit import BudgetExhausted, RateLimiter, parse_go_duration
from pipeline.llm.tokens import chat_prompt_tokens

# Groq's status for "over capacity, try again shortly".
CAPACITY_EXCEEDED = 498
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_TOO_LARGE = "too_large"
STATUS_DAILY_CAP = "daily_cap"
_BACKOFF_CAP_S = 30.0


class CallsStopped(Exception):
    """No call can succeed for now: calls stop and the leads not yet judged wait."""


class DailyCapReached(CallsStopped):
    """The account's daily budget is spent."""

    def __init__(self, wait_s: float, reason: str) -> None:
        hours, rest = divmod(int(wait_s), 3600)
        super().__init__(f"Groq {reason}; it resets in {hours}h{rest // 60:02d}m")
        self.wait_s = wait_s


class RequestTooLarge(Exception):
    """413: the request alone exceeds the per-minute token limit; send fewer leads."""


class CallFailed(Exception):
    """The call kept failing after every retry, or failed in a way retries cannot fix."""


class ModelUnavailable(CallsStopped):
    """Call after call failed every retry: the service is down, not one request at fault."""

    def __init__(self, failed_calls: int, last_error: str) -> None:
        super().__init__(
            f"Groq is unavailable: {failed_calls} calls in a row failed every retry (last: "
            f"{last_error}); no more calls are sent this run"
        )


class AccessDenied(Exception):
    """401/403/404: the key, the account or the model is wrong; no later call can succeed."""


@dataclass
class CallRecord:
    """One logical call for the `llm_calls` table: what was sent, what it cost, how it went."""

    model: str
    leads: int
    companies: str
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = STATUS_FAILED
    http_status: int | None = None
    attempts: int = 0
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    # Seconds the call waited in the rate limiter before its attempts were sent.
    waited_s: float = 0.0
    # The prompt tokens the limiter counted before sending (the server's are in `usage`).
    estimated_prompt_tokens: int = 0
    usd: float = 0.0
    error: str = ""

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


@dataclass(frozen=True)
class Completion:
    content: str | None
    record: CallRecord


def estimate_tokens(messages: list[dict[str, str]], completion_budget: int) -> int:
    """Tokens a call may count against the limits, before the server has said: its prompt,
    counted exactly, and all the completion it may spend."""
    return chat_prompt_tokens(messages, RESPONSE_FORMAT) + completion_budget


def completion_body(
    model: str, messages: list[dict[str, str]], completion_budget: int, reasoning_effort: str
) -> dict[str, object]:
    """One chat completion request: the same body whether it is sent now or in a batch."""
    return {
        "model": model,
        "messages": messages,
        "response_format": RESPONSE_FORMAT,
        "reasoning_effort": reasoning_effort,
        "max_completion_tokens": completion_budget,
        "temperature": 0,
    }


@dataclass
class GroqChat:
    """Chat completions with structured output, rate limited and retried as Groq needs."""

    client: groq.Groq
    model: str
    limiter: RateLimiter
    config: GroqConfig
    reasoning_effort: str = "low"
    max_attempts: int = 4
    # A 429 asking to wait longer than this is a daily cap: stop rather than wait.
    max_wait_s: float = 120.0
    backoff_s: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def complete(
        self, messages: list[dict[str, str]], completion_budget: int, record: CallRecord
    ) -> Completion:
        """The model's answer text; raises DailyCapReached, RequestTooLarge, AccessDenied or
        CallFailed. `record` is filled in whatever happens."""
        estimate = estimate_tokens(messages, completion_budget)
        record.estimated_prompt_tokens = estimate - completion_budget
        started = time.monotonic()
        try:
            return self._attempts(messages, completion_budget, estimate, record)
        finally:
            record.latency_s = round(time.monotonic() - started, 4)
            record.usd = self.config.cost_usd(self.model, record.usage)

    def _attempts(
        self,
        messages: list[dict[str, str]],
        completion_budget: int,
        estimate: int,
        record: CallRecord,
    ) -> Completion:
        while True:
            record.attempts += 1
            queued = time.monotonic()
            try:
                spend = self.limiter.acquire(estimate, self.max_wait_s)
                record.waited_s += time.monotonic() - queued
            except BudgetExhausted as exhausted:
                record.status = STATUS_DAILY_CAP
                record.error = str(exhausted)
                raise DailyCapReached(exhausted.wait_s, exhausted.reason) from None
            try:
                raw = self.client.chat.completions.with_raw_response.create(
                    **completion_body(  # type: ignore[arg-type]
                        self.model, messages, completion_budget, self.reasoning_effort
                    )
                )
            except groq.APIStatusError as error:
                self.limiter.settle(spend, 0)
                record.http_status = error.status_code
                record.error = _describe(error)
                self._after_status_error(error, record)
                continue
            except (groq.APITimeoutError, groq.APIConnectionError) as error:
                # The server may have counted the tokens: keep the estimate in the window.
                record.error = type(error).__name__
                self._back_off(record)
                continue
            completion = raw.parse()
            usage = usage_of(completion.usage)
            self.limiter.settle(spend, usage.counted_tokens)
            self.limiter.observe(raw.headers)
            record.usage = record.usage + usage
            record.http_status = raw.status_code
            record.status = STATUS_OK
            record.error = ""
            return Completion(completion.choices[0].message.content, record)

    def _after_status_error(self, error: groq.APIStatusError, record: CallRecord) -> None:
        status = error.status_code
        headers = error.response.headers
        if status == 429:
            self.limiter.observe(headers)
            wait = _retry_after(headers)
            if wait > self.max_wait_s:
                record.status = STATUS_DAILY_CAP
                raise DailyCapReached(wait, "daily limit reached (429)") from None
            self.limiter.pause(wait, "429 rate limited")
            self._give_up_after_last(record)
            return
        if status == 413:
            record.status = STATUS_TOO_LARGE
            raise RequestTooLarge(record.error) from None
        if status in (401, 403, 404):
            raise AccessDenied(f"Groq refused the call ({record.error})") from None
        if status == CAPACITY_EXCEEDED or status >= 500:
            self._back_off(record)
            return
        raise CallFailed(record.error) from None

    def _back_off(self, record: CallRecord) -> None:
        self._give_up_after_last(record)
        delay = min(self.backoff_s * 2 ** (record.attempts - 1), _BACKOFF_CAP_S)
        # Jitter, so that clients failing together do not retry together.
        self.sleep(delay * random.uniform(0.5, 1.0))

    def _give_up_after_last(self, record: CallRecord) -> None:
        if record.attempts >= self.max_attempts:
            raise CallFailed(f"{record.error} (after {record.attempts} attempts)") from None


def usage_of(usage: object) -> Usage:
    if usage is None:
        return Usage()
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cached_tokens=int(getattr(prompt_details, "cached_tokens", 0) or 0),
        reasoning_tokens=int(getattr(completion_details, "reasoning_tokens", 0) or 0),
    )


def _retry_after(headers: Mapping[str, str]) -> float:
    for name in ("retry-after", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        value = headers.get(name)
        if value:
            try:
                return parse_go_duration(value)
            except ValueError:
                continue
    return 1.0


def _describe(error: groq.APIStatusError) -> str:
    """Status and the server's own message; never the request (it carries no key, but the
    headers of the request would)."""
    message = ""
    body = error.body
    if isinstance(body, dict):
        detail = body.get("error", body)
        message = str(detail.get("message", "")) if isinstance(detail, dict) else str(detail)
    return f"HTTP {error.status_code}" + (f": {message[:200]}" if message else "")

"""A rate limiter for an API budgeted per minute: requests and tokens over a sliding window.

A sliding window is stricter than a token bucket (a bucket admits a full burst plus a minute
of refill inside one window), so staying under it keeps every minute within the limits
whichever of the two the server enforces.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration as Groq sends it ('7.66s', '2m59.56s', '520ms'); a bare
    number is seconds, as in `retry-after`."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _GO_DURATION.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


@dataclass(frozen=True)
class RateLimits:
    """An account tier's budget for one model."""

    requests_per_minute: int
    tokens_per_minute: int
    requests_per_day: int
    tokens_per_day: int


class BudgetExhausted(Exception):
    """The next call would have to wait longer than the caller accepts (a daily cap)."""

    def __init__(self, wait_s: float, reason: str) -> None:
        super().__init__(f"{reason}: the budget resets in {wait_s:.0f} s")
        self.wait_s = wait_s
        self.reason = reason


@dataclass
class Spend:
    expires_at: float
    tokens: int


class RateLimiter:
    """Admits a call once the last minute's requests and tokens leave room for it.

    Thread-safe: one limiter is shared by every call of a run. `minute_s` shrinks the minute
    for benchmarks against a time-scaled server.
    """

    def __init__(
        self,
        limits: RateLimits,
        minute_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.minute_s = minute_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: list[Spend] = []  # each is a request and its tokens
        self._corrections: list[Spend] = []  # tokens the server counted that we did not
        self._blocked_until = 0.0
        self._blocked_reason = ""

    def acquire(self, tokens: int, max_wait_s: float = float("inf")) -> Spend:
        """Blocks until a call of `tokens` fits; returns its spend so that `settle` can
        correct the estimate. Raises `BudgetExhausted` rather than wait past `max_wait_s` for
        a block (a window never needs more than a minute). A call larger than the minute's
        budget is let through alone: the server answers 413 and the caller splits it."""
        tokens = min(tokens, self.limits.tokens_per_minute)
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                blocked = self._blocked_until - now
                if blocked > max_wait_s:
                    raise BudgetExhausted(blocked, self._blocked_reason)
                wait = max(blocked, self._window_wait(now, tokens))
                if wait <= 0:
                    spend = Spend(now + self.minute_s, tokens)
                    self._calls.append(spend)
                    return spend
            self._sleep(wait)

    def settle(self, spend: Spend, actual_tokens: int) -> None:
        """Replaces a call's estimate with what the server counted, and starts its minute when
        the answer arrived: the server logged the call at some moment between sending and
        answering, so counting from the answer never frees the budget before the server does."""
        with self._lock:
            spend.tokens = actual_tokens
            spend.expires_at = self._clock() + self.minute_s

    def observe(self, headers: Mapping[str, str]) -> None:
        """Aligns with the server's own count from Groq's `x-ratelimit-*` headers: tokens left
        this minute (and when they reset), requests left today (and when they reset)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            remaining = _int_header(headers, "x-ratelimit-remaining-tokens")
            if remaining is not None:
                ours = self.limits.tokens_per_minute - self._tokens_spent()
                if remaining < ours:
                    # Spent by another client of the same key: counted until the server's reset.
                    reset = _duration_header(headers, "x-ratelimit-reset-tokens")
                    expires = now + min(reset or self.minute_s, self.minute_s)
                    self._corrections.append(Spend(expires, ours - remaining))
            requests_left = _int_header(headers, "x-ratelimit-remaining-requests")
            requests_reset = _duration_header(headers, "x-ratelimit-reset-requests")
            if requests_left == 0 and requests_reset:
                self._block(now + requests_reset, "daily request cap reached")

    def pause(self, seconds: float, reason: str) -> None:
        """No call before `seconds` from now (a 429's `retry-after`)."""
        with self._lock:
            self._block(self._clock() + seconds, reason)

    def _block(self, until: float, reason: str) -> None:
        if until > self._blocked_until:
            self._blocked_until = until
            self._blocked_reason = reason

    def _expire(self, now: float) -> None:
        self._calls = [spend for spend in self._calls if spend.expires_at > now]
        self._corrections = [spend for spend in self._corrections if spend.expires_at > now]

    def _tokens_spent(self) -> int:
        return sum(spend.tokens for spend in (*self._calls, *self._corrections))

    def _window_wait(self, now: float, tokens: int) -> float:
        waits = [0.0]
        over = len(self._calls) - self.limits.requests_per_minute
        if over >= 0:
            expiries = sorted(spend.expires_at for spend in self._calls)
            waits.append(expiries[over] - now)
        excess = self._tokens_spent() + tokens - self.limits.tokens_per_minute
        if excess > 0:
            freed = 0
            for spend in sorted((*self._calls, *self._corrections), key=lambda s: s.expires_at):
                freed += spend.tokens
                if freed >= excess:
                    waits.append(spend.expires_at - now)
                    break
        return max(waits)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _duration_header(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    try:
        return parse_go_duration(value) if value is not None else None
    except ValueError:
        return None


_SHARED: dict[tuple[str, RateLimits, float], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(account: str, limits: RateLimits, minute_s: float = 60.0) -> RateLimiter:
    """One limiter per account, model and limits in this process: every partition and every
    step of a run draws on the same budget."""
    with _SHARED_LOCK:
        return _SHARED.setdefault((account, limits, minute_s), RateLimiter(limits, minute_s))

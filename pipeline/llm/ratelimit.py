"""A rate limiter for an API budgeted per minute: requests and tokens over a sliding window.

A sliding window is stricter than a token bucket (a bucket admits a full burst plus a minute
of refill inside one window), so staying under it keeps every minute within the limits
whichever of the two the server enforces.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

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
    # The row that holds it, when a shared ledger keeps the budget.
    row_id: int | None = None


class Book(Protocol):
    """One account's last minute, read and changed under the ledger's lock."""

    now: float
    calls: list[Spend]  # each is a request and its tokens
    corrections: list[Spend]  # tokens the server counted that we did not
    blocked_until: float
    blocked_reason: str

    def add_call(self, expires_at: float, tokens: int) -> Spend: ...

    def add_correction(self, expires_at: float, tokens: int) -> None: ...

    def settle(self, spend: Spend, expires_at: float, tokens: int) -> None: ...

    def block(self, until: float, reason: str) -> None: ...


class Ledger(Protocol):
    """Where the budget lives: `open()` yields the account's book under a lock, with expired
    spends gone and `now` read from the ledger's clock."""

    def open(self) -> AbstractContextManager[Book]: ...


class MemoryBook:
    """The budget of one process."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.now = 0.0
        self.calls: list[Spend] = []
        self.corrections: list[Spend] = []
        self.blocked_until = 0.0
        self.blocked_reason = ""

    @contextmanager
    def open(self) -> Iterator[MemoryBook]:
        with self._lock:
            self.now = self._clock()
            self.calls = [spend for spend in self.calls if spend.expires_at > self.now]
            self.corrections = [s for s in self.corrections if s.expires_at > self.now]
            yield self

    def add_call(self, expires_at: float, tokens: int) -> Spend:
        spend = Spend(expires_at, tokens)
        self.calls.append(spend)
        return spend

    def add_correction(self, expires_at: float, tokens: int) -> None:
        self.corrections.append(Spend(expires_at, tokens))

    def settle(self, spend: Spend, expires_at: float, tokens: int) -> None:
        spend.expires_at = expires_at
        spend.tokens = tokens

    def block(self, until: float, reason: str) -> None:
        if until > self.blocked_until:
            self.blocked_until = until
            self.blocked_reason = reason


class RateLimiter:
    """Admits a call once the last minute's requests and tokens leave room for it.

    Thread-safe. The budget lives in a ledger: this process's memory by default, or a store
    that several processes share (`pipeline.llm.shared_budget`). `minute_s` shrinks the minute
    for benchmarks against a time-scaled server.
    """

    def __init__(
        self,
        limits: RateLimits,
        minute_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ledger: Ledger | None = None,
    ) -> None:
        self.limits = limits
        self.minute_s = minute_s
        self._sleep = sleep
        self._ledger = ledger or MemoryBook(clock)

    def acquire(self, tokens: int, max_wait_s: float = float("inf")) -> Spend:
        """Blocks until a call of `tokens` fits; returns its spend so that `settle` can
        correct the estimate. Raises `BudgetExhausted` rather than wait past `max_wait_s` for
        a block (a window never needs more than a minute). A call larger than the minute's
        budget is let through alone: the server answers 413 and the caller splits it."""
        tokens = min(tokens, self.limits.tokens_per_minute)
        while True:
            with self._ledger.open() as book:
                blocked = book.blocked_until - book.now
                if blocked > max_wait_s:
                    raise BudgetExhausted(blocked, book.blocked_reason)
                wait = max(blocked, window_wait(book, self.limits, tokens))
                if wait <= 0:
                    return book.add_call(book.now + self.minute_s, tokens)
            self._sleep(wait)

    def settle(self, spend: Spend, actual_tokens: int) -> None:
        """Replaces a call's estimate with what the server counted, and starts its minute when
        the answer arrived: the server logged the call at some moment between sending and
        answering, so counting from the answer never frees the budget before the server does."""
        with self._ledger.open() as book:
            book.settle(spend, book.now + self.minute_s, actual_tokens)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Aligns with the server's own count from Groq's `x-ratelimit-*` headers: tokens left
        this minute (and when they reset), requests left today (and when they reset)."""
        with self._ledger.open() as book:
            remaining = _int_header(headers, "x-ratelimit-remaining-tokens")
            if remaining is not None:
                ours = self.limits.tokens_per_minute - tokens_spent(book)
                if remaining < ours:
                    # Spent by another client of the same key: counted until the server's reset.
                    reset = _duration_header(headers, "x-ratelimit-reset-tokens")
                    expires = book.now + min(reset or self.minute_s, self.minute_s)
                    book.add_correction(expires, ours - remaining)
            requests_left = _int_header(headers, "x-ratelimit-remaining-requests")
            requests_reset = _duration_header(headers, "x-ratelimit-reset-requests")
            if requests_left == 0 and requests_reset:
                book.block(book.now + requests_reset, "daily request cap reached")

    def pause(self, seconds: float, reason: str) -> None:
        """No call before `seconds` from now (a 429's `retry-after`)."""
        with self._ledger.open() as book:
            book.block(book.now + seconds, reason)


def tokens_spent(book: Book) -> int:
    return sum(spend.tokens for spend in (*book.calls, *book.corrections))


def window_wait(book: Book, limits: RateLimits, tokens: int) -> float:
    """Seconds until one more request of `tokens` fits in the book's minute."""
    now = book.now
    waits = [0.0]
    over = len(book.calls) - limits.requests_per_minute
    if over >= 0:
        expiries = sorted(spend.expires_at for spend in book.calls)
        waits.append(expiries[over] - now)
    excess = tokens_spent(book) + tokens - limits.tokens_per_minute
    if excess > 0:
        freed = 0
        for spend in sorted((*book.calls, *book.corrections), key=lambda s: s.expires_at):
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


_SHARED: dict[tuple[str, RateLimits, float, str], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(
    account: str,
    limits: RateLimits,
    minute_s: float = 60.0,
    ledger: Callable[[], Ledger] | None = None,
    ledger_id: str = "memory",
) -> RateLimiter:
    """One limiter per account, model, limits and ledger in this process: every client and
    every step of a run draws on the same budget. `ledger` makes the budget live outside the
    process (identified by `ledger_id`), shared with every other process using it."""
    key = (account, limits, minute_s, ledger_id)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = RateLimiter(limits, minute_s, ledger=ledger() if ledger else None)
        return _SHARED[key]

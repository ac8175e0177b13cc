"""How far a model evaluation is, in one line a call: for the run log and the terminal."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.llm.ratelimit import RateLimits

# Every progress line is also an event on this logger, with the figures as `record.snapshot`,
# for whoever draws them (the CLI's bar on a terminal). Nobody listens by default.
PROGRESS_EVENTS = logging.getLogger("persona_ranker.progress")
PROGRESS_EVENTS.propagate = False
PROGRESS_EVENTS.setLevel(logging.INFO)


@dataclass(frozen=True)
class ProgressSnapshot:
    """What a bar shows: `done` of `total` (calls, or a batch's lines) and a detail;
    `started` tells one evaluation or wait from the next."""

    started: float
    label: str
    done: int
    total: int
    detail: str


@dataclass
class CallProgress:
    """Counts what the finished calls did and projects the rest on the rate limits."""

    planned_calls: int
    leads_to_judge: int
    limits: RateLimits
    minute_s: float
    clock: Callable[[], float] = time.monotonic
    calls: int = 0
    leads_judged: int = 0
    tokens: int = 0
    usd: float = 0.0
    retries: int = 0
    waited_s: float = 0.0
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def add(self, tokens: int, usd: float, retries: int, waited_s: float, judged: int) -> str:
        """Counts one finished call; the progress line."""
        self.calls += 1
        self.tokens += tokens
        self.usd += usd
        self.retries += retries
        self.waited_s += waited_s
        self.leads_judged += judged
        return self.line()

    def snapshot(self) -> ProgressSnapshot:
        return ProgressSnapshot(
            self.started,
            "model calls",
            self.calls,
            self.planned_calls,
            f"{self.leads_judged}/{self.leads_to_judge} leads judged, ${self.usd:.4f}",
        )

    def eta_from_budget_s(self) -> float:
        """Seconds the rest needs at the limits: the tokens of the leads left, at this run's
        tokens a lead, and the calls left, each against its per-minute limit."""
        left = max(self.leads_to_judge - self.leads_judged, 0)
        if not left or not self.leads_judged:
            return 0.0
        tokens_left = left * self.tokens / self.leads_judged
        calls_left = max(self.planned_calls - self.calls, 0)
        minutes = max(
            tokens_left / self.limits.tokens_per_minute,
            calls_left / self.limits.requests_per_minute,
        )
        return minutes * self.minute_s

    def line(self) -> str:
        elapsed = self.clock() - self.started
        left = max(self.leads_to_judge - self.leads_judged, 0)
        pace = elapsed / self.leads_judged * left if self.leads_judged else 0.0
        return (
            f"model calls {self.calls}/{self.planned_calls}: {self.leads_judged}/"
            f"{self.leads_to_judge} leads judged, {self.tokens:,} tokens, ${self.usd:.4f}, "
            f"{self.retries} retries, {self.waited_s:.1f} s waited in the limiter; "
            f"ETA {duration(self.eta_from_budget_s())} at the limits, {duration(pace)} at "
            f"this pace ({duration(elapsed)} so far)"
        )


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"

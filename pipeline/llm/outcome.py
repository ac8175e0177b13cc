"""What one evaluation did (`ModelStats`, for the run's metadata) and the two ways it stops
before writing: leads waiting for a batch, or leads left pending by a cap or an outage."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.llm.batch.ledger import BatchRow
from pipeline.llm.client import CallRecord
from pipeline.llm.config import Usage
from pipeline.llm.prompts import LeadForModel


class AwaitingBatch(Exception):
    """Leads wait for a batch: nothing is written, the previous evaluations stay."""

    def __init__(
        self, submitted: list[BatchRow], sent: int, waiting: int, stats: ModelStats
    ) -> None:
        ids = ", ".join(str(row.batch_id) for row in submitted)
        parts = [f"{sent} leads submitted in {len(submitted)} batch(es) ({ids})"] if sent else []
        if waiting:
            parts.append(f"{waiting} leads wait in batches submitted before")
        super().__init__(
            "; ".join(parts) + ". The evaluations are written when the answers are in "
            "(the groq_batches sensor, or `persona-ranker run --batch --wait`)."
        )
        self.submitted = submitted
        self.sent = sent
        self.waiting = waiting
        self.stats = stats


class EvaluationIncomplete(Exception):
    """The run stopped before every lead was judged; `pending` lists the leads left."""

    def __init__(self, cause: str, pending: list[LeadForModel], stats: ModelStats) -> None:
        companies = sorted({lead.company_key for lead in pending})
        super().__init__(
            f"{cause}. {len(pending)} leads at {len(companies)} companies are pending (not "
            "judged, not marked irrelevant). The answers already paid for are cached: run "
            "again later and only the pending leads are sent."
        )
        self.pending = pending
        self.companies = companies
        self.stats = stats


@dataclass
class ModelStats:
    """What the model path did in one evaluation, for the run's metadata."""

    model: str
    sent_to_model: int = 0
    cache_hits: int = 0
    # Leads that took the answer of a colleague with the same cache key, asked in this run.
    shared_answers: int = 0
    answered: int = 0
    fallbacks: int = 0
    calls: int = 0
    retries: int = 0
    usage: Usage = field(default_factory=Usage)
    usd: float = 0.0
    waited_s: float = 0.0
    concurrency: int = 1
    # The limiter's prompt count, beside the server's (`usage.prompt_tokens`).
    estimated_prompt_tokens: int = 0
    problems: list[str] = field(default_factory=list)

    def as_metadata(self, leads: int) -> dict[str, float | int | str]:
        total = self.usage.prompt_tokens + self.usage.completion_tokens
        return {
            "model": self.model,
            "sent_to_model": self.sent_to_model,
            "cache_hits": self.cache_hits,
            "shared_answers": self.shared_answers,
            "answered_by_model": self.answered,
            "rules_fallbacks": self.fallbacks,
            "calls": self.calls,
            "retries": self.retries,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "cached_tokens": self.usage.cached_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "tokens_per_lead": round(total / leads, 1) if leads else 0.0,
            "usd": round(self.usd, 6),
            "limiter_wait_s": round(self.waited_s, 2),
            "concurrency": self.concurrency,
        }

    def add_call(self, record: CallRecord) -> None:
        self.calls += 1
        self.retries += record.retries
        self.usage = self.usage + record.usage
        self.usd += record.usd
        self.waited_s += record.waited_s
        self.estimated_prompt_tokens += record.estimated_prompt_tokens

"""Groq account facts from configuration: prices per model and rate limits per tier."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.llm.ratelimit import RateLimits

_LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "requests_per_day", "tokens_per_day")


class GroqConfigError(ValueError):
    """The Groq configuration file is missing, malformed or lacks the chosen model or tier."""


@dataclass(frozen=True)
class ModelPrice:
    input_per_million: float
    output_per_million: float


@dataclass(frozen=True)
class Usage:
    """Tokens of one call as the API reports them (reasoning tokens are part of completion)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    @property
    def counted_tokens(self) -> int:
        """What counts against the per-minute limits: cached prefix tokens do not."""
        return self.prompt_tokens - self.cached_tokens + self.completion_tokens


@dataclass(frozen=True)
class BatchTerms:
    """Groq's Batch API: the share of the synchronous price it bills (the cached-input
    discount does not apply on top), the most lines and bytes one input file may hold, and
    the window within which a batch completes."""

    price_factor: float = 0.5
    max_lines: int = 50_000
    max_bytes: int = 200_000_000
    completion_window: str = "24h"


@dataclass(frozen=True)
class GroqConfig:
    prices: dict[str, ModelPrice]
    cached_input_factor: float
    tiers: dict[str, RateLimits]
    # Calls in flight at once, per tier (1 when the tier does not say).
    concurrency: dict[str, int] = field(default_factory=dict)
    batch: BatchTerms = field(default_factory=BatchTerms)

    def price(self, model: str) -> ModelPrice:
        if model not in self.prices:
            raise GroqConfigError(
                f"no price for model '{model}' (priced: {', '.join(sorted(self.prices))})"
            )
        return self.prices[model]

    def limits(self, tier: str) -> RateLimits:
        if tier not in self.tiers:
            raise GroqConfigError(f"unknown tier '{tier}' (known: {', '.join(sorted(self.tiers))})")
        return self.tiers[tier]

    def calls_in_flight(self, tier: str) -> int:
        self.limits(tier)
        return self.concurrency.get(tier, 1)

    def batch_cost_usd(self, model: str, usage: Usage) -> float:
        """A batch line's price: every prompt token at the batch share of the input price,
        cached or not."""
        price = self.price(model)
        dollars = (
            usage.prompt_tokens * price.input_per_million
            + usage.completion_tokens * price.output_per_million
        )
        return dollars * self.batch.price_factor / 1_000_000

    def cost_usd(self, model: str, usage: Usage) -> float:
        price = self.price(model)
        uncached = usage.prompt_tokens - usage.cached_tokens
        dollars = (
            uncached * price.input_per_million
            + usage.cached_tokens * price.input_per_million * self.cached_input_factor
            + usage.completion_tokens * price.output_per_million
        )
        return dollars / 1_000_000


def load_groq_config(path: str | Path) -> GroqConfig:
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise GroqConfigError(f"{source}: cannot read: {error}") from error
    if not isinstance(document, dict):
        raise GroqConfigError(f"{source}: expected a mapping at the top level")
    try:
        prices = {
            str(model): ModelPrice(float(entry["input"]), float(entry["output"]))
            for model, entry in _mapping(document, "prices_per_million_tokens").items()
        }
        tiers = {
            str(name): RateLimits(*(int(entry[field]) for field in _LIMIT_FIELDS))
            for name, entry in _mapping(document, "tiers").items()
        }
        concurrency = {
            str(name): int(entry["concurrency"])
            for name, entry in _mapping(document, "tiers").items()
            if "concurrency" in entry
        }
        factor = float(document.get("cached_input_factor", 1.0))
        batch = _batch_terms(document.get("batch") or {})
    except (KeyError, TypeError, ValueError) as error:
        raise GroqConfigError(f"{source}: missing or invalid value: {error}") from error
    if any(calls < 1 for calls in concurrency.values()):
        raise GroqConfigError(f"{source}: a tier's concurrency must be at least 1")
    if not 0 < batch.price_factor <= 1 or batch.max_lines < 1 or batch.max_bytes < 1:
        raise GroqConfigError(
            f"{source}: batch: price_factor must be in (0, 1], max_lines and max_bytes positive"
        )
    return GroqConfig(prices, factor, tiers, concurrency, batch)


def _batch_terms(entry: dict[str, Any]) -> BatchTerms:
    defaults = BatchTerms()
    return BatchTerms(
        price_factor=float(entry.get("price_factor", defaults.price_factor)),
        max_lines=int(entry.get("max_lines", defaults.max_lines)),
        max_bytes=int(entry.get("max_bytes", defaults.max_bytes)),
        completion_window=str(entry.get("completion_window", defaults.completion_window)),
    )


def _mapping(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict) or not value:
        raise GroqConfigError(f"'{key}' must be a non-empty mapping")
    return value

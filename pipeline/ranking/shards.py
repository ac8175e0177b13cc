"""A client's companies split into shards of about the same number of leads, each judged by a
step of its own, so one client's evaluation spreads over workers. A company is never split:
its leads are ranked against each other, and every answer about it is judged in one step."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# Figures of a shard's model use that do not add up: kept from the first, or worked out again.
_SAME_IN_EVERY_SHARD = ("model",)
_HIGHEST = ("concurrency",)
_PER_LEAD = "tokens_per_lead"


def shard_count(leads: int, leads_per_shard: int) -> int:
    """How many shards `leads` make at most `leads_per_shard` each (one at least)."""
    return max(1, math.ceil(leads / leads_per_shard))


def company_shards(leads: pd.DataFrame, count: int) -> list[pd.DataFrame]:
    """The leads in `count` shards (fewer when there are fewer companies), each holding
    whole companies, in company-key order, of about the same number of leads."""
    if leads.empty or count <= 1:
        return [leads]
    sizes = leads.groupby("company_key", sort=True).size()
    # A company goes to the shard its middle lead falls in, counted in company-key order.
    middles = np.cumsum(sizes.to_numpy()) - sizes.to_numpy() / 2
    shard_of_company = pd.Series(
        (middles * count // len(leads)).astype(np.int64), index=sizes.index
    )
    shard = leads["company_key"].map(shard_of_company)
    return [leads[shard == number] for number in sorted(shard.unique())]


def merged_usage(
    usages: Sequence[Mapping[str, float | int | str]], leads: int
) -> dict[str, float | int | str]:
    """The model-use figures of the shards as one evaluation's (none when no shard used it)."""
    found = [usage for usage in usages if usage]
    if not found:
        return {}
    merged: dict[str, float | int | str] = {}
    for key, first in found[0].items():
        values = [usage[key] for usage in found]
        if key in _SAME_IN_EVERY_SHARD:
            merged[key] = first
        elif key in _HIGHEST:
            merged[key] = max(values)  # type: ignore[type-var]
        elif isinstance(first, float):
            merged[key] = round(sum(float(value) for value in values), 6)
        else:
            merged[key] = sum(int(value) for value in values)
    tokens = int(merged.get("prompt_tokens", 0)) + int(merged.get("completion_tokens", 0))
    if _PER_LEAD in merged:
        merged[_PER_LEAD] = round(tokens / leads, 1) if leads else 0.0
    return merged

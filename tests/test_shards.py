"""Company shards: stable, balanced, and the runs they make."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from pipeline.leads.records import companies_named
from pipeline.leads.shards import SHARD_COUNT, SHARD_KEYS, shard_of, shards_of
from pipeline.orchestration.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    full_range_tags,
    range_tags,
)


def test_a_company_always_lands_in_the_same_shard() -> None:
    # Fixed values: a shard that moved between versions would strand a company's old rows.
    assert shard_of("acme.com") == "07"
    assert shard_of("umbrella.com") == "11"
    assert shard_of("Globex, Inc.") == "04"


def test_shards_are_balanced_over_many_companies() -> None:
    counts = Counter(shard_of(f"company-{number}.example") for number in range(10_000))
    assert set(counts) == set(SHARD_KEYS)
    mean = 10_000 / SHARD_COUNT
    assert all(0.8 * mean < count < 1.2 * mean for count in counts.values()), counts


def test_a_run_covers_the_range_of_the_changed_shards() -> None:
    assert shards_of(["umbrella.com", "acme.com", "acme.com"]) == ["07", "11"]
    assert range_tags(["11", "07"]) == {RANGE_START_TAG: "07", RANGE_END_TAG: "11"}
    assert full_range_tags() == {RANGE_START_TAG: "00", RANGE_END_TAG: f"{SHARD_COUNT - 1:02d}"}
    with pytest.raises(ValueError, match="no shard to run"):
        range_tags([])


def test_companies_are_named_by_key_domain_or_account_name() -> None:
    leads = pd.DataFrame(
        {
            "company_key": ["acme.com", "Globex, Inc.", "acme.com"],
            "account_name": ["Acme", "Globex, Inc.", "ACME Corp"],
        }
    )
    assert companies_named(leads, ["ACME.com", "  globex,  inc. "]) == ["Globex, Inc.", "acme.com"]
    assert companies_named(leads, ["acme corp"]) == ["acme.com"]
    with pytest.raises(ValueError, match="no company named 'Initech'"):
        companies_named(leads, ["Initech", "Acme"])

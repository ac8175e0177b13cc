"""The evaluations' partitions: one per company shard (see `pipeline.leads.shards` for why)."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import StaticPartitionsDefinition

from pipeline.leads.shards import SHARD_KEYS

company_shards = StaticPartitionsDefinition(list(SHARD_KEYS))

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(shards: Sequence[str]) -> dict[str, str]:
    """Run tags for one run over these shards: Dagster runs a contiguous range, so the run
    covers every shard from the first to the last of them."""
    if not shards:
        raise ValueError("no shard to run: the lead base is empty")
    ordered = sorted(shards)
    return {RANGE_START_TAG: ordered[0], RANGE_END_TAG: ordered[-1]}


def full_range_tags() -> dict[str, str]:
    """Run tags covering every shard, hence every company, in a single run."""
    return range_tags(SHARD_KEYS)

"""Company partitions: every company in the lead base is one partition of the evaluations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dagster import DagsterInstance, DynamicPartitionsDefinition

COMPANY_PARTITIONS_NAME = "companies"
company_partitions = DynamicPartitionsDefinition(name=COMPANY_PARTITIONS_NAME)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class PartitionSync:
    added: tuple[str, ...]
    removed: tuple[str, ...]


def sync_company_partitions(instance: DagsterInstance, keys: Sequence[str]) -> PartitionSync:
    """Makes the registered companies exactly `keys`: new ones added, departed ones removed."""
    registered = instance.get_dynamic_partitions(COMPANY_PARTITIONS_NAME)
    wanted = set(keys)
    known = set(registered)
    added = tuple(key for key in dict.fromkeys(keys) if key not in known)
    removed = tuple(key for key in registered if key not in wanted)
    if added:
        instance.add_dynamic_partitions(COMPANY_PARTITIONS_NAME, list(added))
    for key in removed:
        instance.delete_dynamic_partition(COMPANY_PARTITIONS_NAME, key)
    return PartitionSync(added=added, removed=removed)


def full_range_tags(instance: DagsterInstance) -> dict[str, str]:
    """Run tags covering every registered company, first to last, for a single run."""
    keys = instance.get_dynamic_partitions(COMPANY_PARTITIONS_NAME)
    if not keys:
        raise ValueError("no companies are registered: the lead base is empty")
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}

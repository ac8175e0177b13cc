"""The assets' partitions: one per client. A run materializes one client's partition of every
asset, so running one client never writes a row of another.

Why not client x company shard: a run would record every shard's partition of every asset as
its own events (about 15 ms each here, docs/performance.md), and Dagster runs one partitions
definition per job, so the client-wide steps (ingest, ranking, the campaign file) would have
to be sharded too. A run can still re-evaluate only some companies of its client
(`EvaluationScope`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dagster import StaticPartitionsDefinition

PARTITION_TAG = "dagster/partition"


def client_partitions(names: Iterable[str]) -> StaticPartitionsDefinition:
    return StaticPartitionsDefinition(list(names))


def client_of_run(tags: Mapping[str, str]) -> str | None:
    """The client a run covered, from its tags (None for a run outside the client graph)."""
    return tags.get(PARTITION_TAG)

"""Tables written under an older partitioning: how both warehouses recognise and replace them."""

from __future__ import annotations

from collections.abc import Iterable

from dagster._core.storage.db_io_manager import TableSlice


def written_under_older_partitioning(table_slice: TableSlice, columns: Iterable[str]) -> bool:
    """True when the table lacks a column the asset is now partitioned by: its rows were
    partitioned another way (by company shard, or not at all, before clients), so no
    partition of the new layout can address them."""
    present = set(columns)
    return any(
        dimension.partition_expr not in present
        for dimension in table_slice.partition_dimensions or ()
    )


def older_partitioning_message(table_slice: TableSlice) -> str:
    return (
        f"{table_slice.schema}.{table_slice.table} was written by an older version without "
        "clients: it is made again, holding this run's client; every other client's rows "
        "come back with its next run (model answers come from the cache)"
    )

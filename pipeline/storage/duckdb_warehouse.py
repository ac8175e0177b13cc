"""The DuckDB warehouse IO manager: Dagster's DuckDB/pandas IO manager, made atomic per write."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dagster import InputContext, OutputContext
from dagster._core.definitions.metadata import TableMetadataSet
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler

from pipeline.storage.layout_migration import (
    older_partitioning_message,
    written_under_older_partitioning,
)
from pipeline.storage.same_process import SameProcessDbIOManager
from pipeline.storage.transactions import committing
from pipeline.storage.views import view_statements

_LOCK_RETRIES = 12
# DuckDB's buffers while a step writes its table: by default DuckDB keeps up to 80 % of RAM,
# and writing a million-row table held 460 MB more in the step's process; with this limit it
# spills instead, as fast (3.9 s against 4.3 s for 1M rows x 39 columns), 30 MB more.
_WRITE_MEMORY_LIMIT = "256MB"
# A table's rows have no order (readers say ORDER BY, as on PostgreSQL); keeping the frame's
# order made DuckDB scan it on one thread: 4.3 s against 1.8 s for 1M rows x 38 columns.
_WRITE_CONFIG = {"memory_limit": _WRITE_MEMORY_LIMIT, "preserve_insertion_order": False}


class _AtomicDuckDbClient(DuckDbClient):
    """Replaces a table or partition slice in one transaction.

    Dagster's client deletes the old slice and inserts the new rows as separate statements; a
    crash between them would leave a company with no rows. Here readers see the old rows or
    the new ones.
    """

    @staticmethod
    def delete_table_slice(
        context: OutputContext, table_slice: TableSlice, connection: Any
    ) -> None:
        # A failed statement aborts DuckDB's transaction, so test for the table instead of
        # catching the missing-table error as the parent class does.
        columns = table_columns(connection, table_slice)
        if not columns:
            return
        if written_under_older_partitioning(table_slice, columns):
            # Dropped, not emptied: its columns were made for the older layout.
            context.log.warning(older_partitioning_message(table_slice))
            connection.execute(f'drop table "{table_slice.schema}"."{table_slice.table}"')
            return
        DuckDbClient.delete_table_slice(context, table_slice, connection)

    @staticmethod
    @contextmanager
    def connect(context: OutputContext | InputContext, table_slice: TableSlice) -> Iterator[Any]:
        config = {"custom_user_agent": "dagster", **context.resource_config["connection_config"]}
        if isinstance(context, OutputContext):
            config = {**_WRITE_CONFIG, **config}
        with transaction(context.resource_config["database"], config) as connection:
            yield connection


def table_columns(connection: Any, table_slice: TableSlice) -> list[str]:
    """The slice's table's column names; none when it does not exist."""
    return [
        row[0]
        for row in connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchall()
    ]


@contextmanager
def transaction(
    database: str, config: dict[str, Any] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file inside one transaction: committed when the block
    ends, rolled back if it raises."""
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    with committing(_connect_when_unlocked(database, config or {})) as connection:
        connection.begin()
        yield connection


def open_connection(database: str) -> duckdb.DuckDBPyConnection:
    """A connection kept open for many transactions (`Warehouse.session`)."""
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return _connect_when_unlocked(database, {})


def _connect_when_unlocked(database: str, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write a file at a time; steps of the multiprocess executor
    wait their turn instead of failing."""
    delay = 0.1
    for _attempt in range(_LOCK_RETRIES):
        try:
            return duckdb.connect(database, read_only=False, config=config)
        except duckdb.IOException:
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    return duckdb.connect(database, read_only=False, config=config)


class _SchemaEvolvingPandasTypeHandler(DuckDBPandasTypeHandler):
    """Writes by column name, adding to an existing table the columns a new version of the
    project brings, so a warehouse made by an older version keeps working (its old rows get
    NULL in the new columns)."""

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection: Any
    ) -> None:
        table = f'"{table_slice.schema}"."{table_slice.table}"'
        existing = set(table_columns(connection, table_slice))
        if obj.empty:
            # Dagster's handler skips an empty frame; the table should still exist for readers
            # (an empty rejected_leads means no bad rows, not a missing table). Text columns
            # of no rows would be typed NULL, which no later row could be inserted into.
            if not existing:
                typed = obj.astype({c: "string" for c in obj.columns if obj[c].dtype == object})
                connection.register("typed_rows", typed)
                connection.execute(f"create table {table} as select * from typed_rows limit 0")
                connection.unregister("typed_rows")
            context.add_output_metadata(dict(_row_counts(context, 0)))
            create_views(connection, table_slice)
            return
        if not existing:
            super().handle_output(context, table_slice, obj, connection)
            create_views(connection, table_slice)
            return
        # `obj` is read by DuckDB's replacement scan of this frame's local variables.
        for name, kind, *_ in connection.execute("describe select * from obj").fetchall():
            if name not in existing:
                connection.execute(f'alter table {table} add column "{name}" {kind}')
        connection.execute(f"insert into {table} by name select * from obj")
        context.add_output_metadata(dict(_row_counts(context, len(obj))))
        create_views(connection, table_slice)


def _row_counts(context: OutputContext, rows: int) -> TableMetadataSet:
    if context.has_partition_key:
        return TableMetadataSet(partition_row_count=rows, storage_kind="duckdb")
    return TableMetadataSet(row_count=rows, storage_kind="duckdb")


def create_views(connection: Any, table_slice: TableSlice) -> None:
    """The analysts' views over a table, in the transaction that wrote it."""
    for statement in view_statements(table_slice.schema, table_slice.table, postgres=False):
        connection.execute(statement)


class AtomicDuckDBPandasIOManager(DuckDBPandasIOManager):
    """DuckDBPandasIOManager whose partition replacements are all-or-nothing and whose tables
    gain the columns new versions add."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [_SchemaEvolvingPandasTypeHandler()]

    def create_io_manager(self, context: Any) -> DbIOManager:
        return SameProcessDbIOManager(
            db_client=_AtomicDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="AtomicDuckDBPandasIOManager",
        )

"""The PostgreSQL warehouse: Dagster's `DbIOManager` with a psycopg2 client.

Writes go through `COPY` (not row-by-row inserts) into tables with real types, a primary key on
`lead_id` where a table holds one row per lead, and indexes on the columns analysts filter by.
Replacing a partition (delete the slice, copy the new rows) is one transaction: a reader sees
the old rows or the new ones, and a failed write leaves the old rows in place. Values travel as
parameters or through COPY; identifiers are quoted by psycopg2.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg2
from dagster import ConfigurableIOManagerFactory, InputContext, OutputContext, TimeWindow
from dagster._core.definitions.metadata import TableMetadataSet
from dagster._core.storage.db_io_manager import (
    DbClient,
    DbIOManager,
    DbTypeHandler,
    TablePartitionDimension,
    TableSlice,
)
from psycopg2 import sql
from pydantic import Field

from pipeline.storage.layout_migration import (
    older_partitioning_message,
    written_under_older_partitioning,
)
from pipeline.storage.reader_access import row_security_applies, secure_new_relations
from pipeline.storage.same_process import SameProcessDbIOManager
from pipeline.storage.transactions import committing
from pipeline.storage.views import view_statements

# Tables with one row per lead of a client: (`client`, `lead_id`) is their primary key (the
# same person may be a lead of two clients).
PRIMARY_KEYED_TABLES = frozenset(
    {"enriched_leads", "lead_evaluations", "ranked_leads", "campaign_export"}
)
PRIMARY_KEY = ("client", "lead_id")
INDEXED_COLUMNS = ("client", "company_key", "company_rank")
_NULL = r"\N"
_CONNECT_TIMEOUT_S = 10
# psycopg2 type codes (PostgreSQL OIDs) read back into the dtypes DuckDB gives.
_INTEGER_OIDS = frozenset({20, 21, 23})
_BOOLEAN_OID = 16
_TIMESTAMP_OIDS = frozenset({1114, 1184})


class PostgresUrlError(ValueError):
    """The database URL is not a PostgreSQL URL psycopg2 can use."""


def psycopg2_dsn(url: str) -> str:
    """A libpq URL from what users write: `postgresql://`, `postgres://`, or SQLAlchemy's
    `postgresql+psycopg2://` (psycopg2 itself takes no driver suffix)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise PostgresUrlError(
            f"not a PostgreSQL URL: {redact(url)} (expected postgresql://user@host:port/db)"
        )
    return urlunsplit(("postgresql", *parts[1:]))


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, *parts[2:]))


def connect(url: str) -> Any:
    """A psycopg2 connection; the password, if any, comes from the URL or from PGPASSWORD /
    ~/.pgpass."""
    return psycopg2.connect(psycopg2_dsn(url), connect_timeout=_CONNECT_TIMEOUT_S)


@contextmanager
def pg_transaction(url: str) -> Iterator[Any]:
    """A cursor inside one transaction: committed when the block ends, rolled back if it
    raises."""
    with committing(connect(url)) as connection, connection.cursor() as cursor:
        yield cursor


def ensure_schema(cursor: Any, schema: str) -> None:
    """Creates the schema when missing. Looked up first: `create schema if not exists` needs
    the right to create schemas in the database even when the schema exists, which the owner
    of a schema made for it by an administrator need not have."""
    cursor.execute("select 1 from pg_namespace where nspname = %s", [schema])
    if cursor.fetchone() is None:
        # Two runs' first writes meet here: one creates it, the other waits and finds it.
        lock_for(cursor, f"schema {schema}")
        cursor.execute("select 1 from pg_namespace where nspname = %s", [schema])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))


def lock_for(cursor: Any, name: str) -> None:
    """A lock on `name` until the transaction ends, shared by every process of the database."""
    cursor.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"persona_ranker {name}"])


def table_columns(cursor: Any, schema: str, table: str) -> list[str]:
    """The table's column names; none when it does not exist."""
    cursor.execute(
        "select column_name from information_schema.columns "
        "where table_schema = %s and table_name = %s",
        [schema, table],
    )
    return [row[0] for row in cursor.fetchall()]


def table_exists(cursor: Any, schema: str, table: str) -> bool:
    cursor.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        [schema, table],
    )
    return cursor.fetchone() is not None


def _identifier(table_slice: TableSlice) -> sql.Composed:
    return sql.SQL("{}.{}").format(
        sql.Identifier(table_slice.schema), sql.Identifier(table_slice.table)
    )


def _partition_filter(
    dimensions: Sequence[TablePartitionDimension] | None,
) -> tuple[sql.Composable, list[Any]]:
    """`where` clause and parameters selecting a slice's partitions."""
    if not dimensions:
        return sql.SQL(""), []
    clauses: list[sql.Composable] = []
    parameters: list[Any] = []
    for dimension in dimensions:
        column = sql.Identifier(dimension.partition_expr)
        if isinstance(dimension.partitions, TimeWindow):
            clauses.append(sql.SQL("{} >= %s and {} < %s").format(column, column))
            parameters += [dimension.partitions.start, dimension.partitions.end]
        else:
            clauses.append(sql.SQL("{} = any(%s)").format(column))
            parameters.append(list(dimension.partitions))
    return sql.SQL(" where ") + sql.SQL(" and ").join(clauses), parameters


class WarehouseConnectionLost(Exception):
    """The server went away in the middle of a read or a write (restarted, killed, the
    network cut): the transaction never committed, so the previous rows stay."""

    def __init__(self, url: str, tables: str, writing: bool, error: Exception):
        reason = " ".join(str(error).split()) or type(error).__name__
        what = "writing" if writing else "reading"
        super().__init__(
            f"lost the warehouse {redact(url)} while {what} {tables}: {reason}. "
            + (
                "Nothing of this write was committed: the previous rows stay, and a retry "
                "from this step writes them again."
                if writing
                else "Nothing was written."
            )
        )


@contextmanager
def naming_a_lost_connection(url: str, tables: str, writing: bool) -> Iterator[None]:
    """A connection lost inside the block becomes WarehouseConnectionLost, naming the server
    and the tables; an error the server itself answered (a lock timeout, a cancel) stays as
    it is: its own message says what happened."""
    try:
        yield
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
        if error.pgcode is not None:
            raise
        raise WarehouseConnectionLost(url, tables, writing, error) from None


class PostgresClient(DbClient):
    """Connects per write or read; DbIOManager runs delete and insert inside one `connect`."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextmanager
    def connect(
        self, context: OutputContext | InputContext, table_slice: TableSlice
    ) -> Iterator[Any]:  # type: ignore[override]
        tables = f"{table_slice.schema}.{table_slice.table}"
        writing = isinstance(context, OutputContext)
        with (
            naming_a_lost_connection(self.url, tables, writing),
            pg_transaction(self.url) as cursor,
        ):
            yield cursor

    @staticmethod
    def ensure_schema_exists(
        context: OutputContext, table_slice: TableSlice, connection: Any
    ) -> None:
        ensure_schema(connection, table_slice.schema)

    @staticmethod
    def delete_table_slice(
        context: OutputContext, table_slice: TableSlice, connection: Any
    ) -> None:
        columns = table_columns(connection, table_slice.schema, table_slice.table)
        if not columns:
            return
        if written_under_older_partitioning(table_slice, columns):
            # Dropped, not emptied: its key and indexes were made for the older layout. Its
            # views go with it and are made again after the write.
            context.log.warning(older_partitioning_message(table_slice))
            connection.execute(sql.SQL("drop table {} cascade").format(_identifier(table_slice)))
            return
        where, parameters = _partition_filter(table_slice.partition_dimensions)
        connection.execute(
            sql.SQL("delete from {}").format(_identifier(table_slice)) + where, parameters
        )

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        """For the UI's metadata only: reads run `select_slice` with parameters."""
        columns = ", ".join(table_slice.columns) if table_slice.columns else "*"
        query = f'select {columns} from "{table_slice.schema}"."{table_slice.table}"'
        if table_slice.partition_dimensions:
            query += " where " + " and ".join(
                f"{d.partition_expr} in (...{len(d.partitions)} partitions)"
                if not isinstance(d.partitions, TimeWindow)
                else f"{d.partition_expr} in [{d.partitions.start}, {d.partitions.end})"
                for d in table_slice.partition_dimensions
            )
        return query


def _postgres_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamp with time zone"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    return "text"


def _copy_value(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return _NULL
    if isinstance(value, float) and math.isnan(value):
        return _NULL
    if isinstance(value, bool | np.bool_):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    # PostgreSQL text cannot hold NUL; COPY's text format escapes the rest.
    return (
        str(value)
        .replace("\x00", "")
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def copy_text(frame: pd.DataFrame) -> io.StringIO:
    """The frame in COPY's text format (tab-separated, `\\N` for NULL, backslash escapes)."""
    encoded = [frame[column].astype(object).map(_copy_value) for column in frame.columns]
    lines = ["\t".join(values) for values in zip(*encoded, strict=True)]
    return io.StringIO("\n".join(lines) + ("\n" if lines else ""))


def copy_rows(cursor: Any, table_slice: TableSlice, frame: pd.DataFrame) -> None:
    """The rows into the table by COPY. PostgreSQL refuses COPY into a table whose row-level
    security applies to the writer (readers were granted, `reader_access`): the rows are then
    copied into a temporary table and inserted from it, which the policies check."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    if not row_security_applies(cursor, table_slice.schema, table_slice.table):
        cursor.copy_expert(
            sql.SQL("copy {} ({}) from stdin").format(_identifier(table_slice), columns),
            copy_text(frame),
        )
        return
    staging = sql.Identifier(f"staging_{table_slice.table}")
    cursor.execute(
        sql.SQL("create temporary table {} (like {}) on commit drop").format(
            staging, _identifier(table_slice)
        )
    )
    cursor.copy_expert(
        sql.SQL("copy {} ({}) from stdin").format(staging, columns), copy_text(frame)
    )
    cursor.execute(
        sql.SQL("insert into {} ({}) select {} from {}").format(
            _identifier(table_slice), columns, columns, staging
        )
    )
    cursor.execute(sql.SQL("drop table {}").format(staging))


class PostgresPandasTypeHandler(DbTypeHandler[pd.DataFrame]):
    """pandas DataFrames in and out of PostgreSQL."""

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pd.DataFrame]

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection: Any
    ) -> None:
        # Clients' runs writing one table at once take turns: its creation, new columns and
        # views are statements two transactions cannot run side by side.
        lock_for(connection, f"table {table_slice.schema}.{table_slice.table}")
        if not table_exists(connection, table_slice.schema, table_slice.table):
            self._create_table(connection, table_slice, obj)
        else:
            self._add_new_columns(connection, table_slice, obj)
        if not obj.empty:
            copy_rows(connection, table_slice, obj)
        counts = (
            TableMetadataSet(partition_row_count=len(obj), storage_kind="postgres")
            if context.has_partition_key
            else TableMetadataSet(row_count=len(obj), storage_kind="postgres")
        )
        context.add_output_metadata(dict(counts))
        for statement in view_statements(table_slice.schema, table_slice.table, postgres=True):
            connection.execute(statement)
        secure_new_relations(connection, table_slice.schema)

    def load_input(
        self, context: InputContext, table_slice: TableSlice, connection: Any
    ) -> pd.DataFrame:
        if not table_exists(connection, table_slice.schema, table_slice.table):
            return pd.DataFrame()
        columns = (
            sql.SQL(", ").join(sql.Identifier(c) for c in table_slice.columns)
            if table_slice.columns
            else sql.SQL("*")
        )
        where, parameters = _partition_filter(table_slice.partition_dimensions)
        connection.execute(
            sql.SQL("select {} from {}").format(columns, _identifier(table_slice)) + where,
            parameters,
        )
        return frame_from_cursor(connection)

    @staticmethod
    def _create_table(connection: Any, table_slice: TableSlice, frame: pd.DataFrame) -> None:
        definitions = [
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_postgres_type(dtype)))
            for name, dtype in frame.dtypes.items()
        ]
        if table_slice.table in PRIMARY_KEYED_TABLES and set(PRIMARY_KEY) <= set(frame.columns):
            definitions.append(
                sql.SQL("primary key ({})").format(
                    sql.SQL(", ").join(map(sql.Identifier, PRIMARY_KEY))
                )
            )
        connection.execute(
            sql.SQL("create table {} ({})").format(
                _identifier(table_slice), sql.SQL(", ").join(definitions)
            )
        )
        for column in INDEXED_COLUMNS:
            if column in frame.columns:
                connection.execute(
                    sql.SQL("create index {} on {} ({})").format(
                        sql.Identifier(f"{table_slice.table}_{column}_idx"),
                        _identifier(table_slice),
                        sql.Identifier(column),
                    )
                )

    @staticmethod
    def _add_new_columns(connection: Any, table_slice: TableSlice, frame: pd.DataFrame) -> None:
        """Columns a newer version of the project adds; old rows hold NULL in them."""
        existing = set(table_columns(connection, table_slice.schema, table_slice.table))
        for name, dtype in frame.dtypes.items():
            if name not in existing:
                connection.execute(
                    sql.SQL("alter table {} add column {} {}").format(
                        _identifier(table_slice),
                        sql.Identifier(name),
                        sql.SQL(_postgres_type(dtype)),
                    )
                )


def frame_from_cursor(cursor: Any) -> pd.DataFrame:
    """The cursor's rows as a DataFrame with the dtypes DuckDB would give: int64 (Int64 when
    NULLs occur), bool, UTC timestamps, text as object."""
    rows = cursor.fetchall()
    names = [column.name for column in cursor.description]
    frame = pd.DataFrame.from_records(rows, columns=names)
    for column in cursor.description:
        values = frame[column.name]
        if column.type_code in _INTEGER_OIDS:
            frame[column.name] = values.astype("Int64" if values.isna().any() else "int64")
        elif column.type_code == _BOOLEAN_OID:
            frame[column.name] = values.astype("boolean" if values.isna().any() else "bool")
        elif column.type_code in _TIMESTAMP_OIDS:
            frame[column.name] = pd.to_datetime(values, utc=True)
    return frame


class PostgresPandasIOManager(ConfigurableIOManagerFactory):
    """Stores asset DataFrames in PostgreSQL tables of one schema; partitioned assets by
    `partition_expr` (a column name)."""

    url: str = Field(description="postgresql://user@host:port/db (an EnvVar: no secret shown).")
    schema_: str = Field(default="public", alias="schema", description="Schema of the tables.")

    def create_io_manager(self, context: Any) -> DbIOManager:
        return SameProcessDbIOManager(
            db_client=PostgresClient(self.url),
            database=urlsplit(self.url).path.lstrip("/") or "postgres",
            schema=self.schema_,
            type_handlers=[PostgresPandasTypeHandler()],
            default_load_type=pd.DataFrame,
            io_manager_name="PostgresPandasIOManager",
        )

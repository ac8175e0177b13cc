"""Where the tables live: a DuckDB file (the embedded default) or a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg2

from pipeline.storage.duckdb_warehouse import open_connection as open_duckdb
from pipeline.storage.duckdb_warehouse import transaction as duckdb_transaction
from pipeline.storage.postgres_warehouse import (
    connect,
    ensure_schema,
    frame_from_cursor,
    naming_a_lost_connection,
    pg_transaction,
    psycopg2_dsn,
    redact,
)
from pipeline.storage.reader_access import secure_new_relations
from pipeline.storage.views import quoted

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg2://")
# The advisory lock id under which the project creates its PostgreSQL tables.
_CREATE_TABLES_LOCK = 0x7065_7273_6F6E_61  # "persona"


def is_postgres_url(location: str) -> bool:
    return location.startswith(POSTGRES_SCHEMES)


class WarehouseUnreachable(Exception):
    """The warehouse cannot be opened: a stopped server, a wrong URL, a locked file."""


@dataclass(frozen=True)
class Warehouse:
    """One warehouse: `location` is a DuckDB file path or a PostgreSQL URL."""

    location: str
    schema: str

    def __post_init__(self) -> None:
        if self.is_postgres:
            psycopg2_dsn(self.location)  # fails early on a malformed URL

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.location)

    @property
    def placeholder(self) -> str:
        """The parameter marker of the driver: psycopg2 `%s`, DuckDB `?`."""
        return "%s" if self.is_postgres else "?"

    def transaction(self) -> AbstractContextManager[Any]:
        """A cursor-like object (execute, executemany, fetchall, description) in one
        transaction."""
        if self.is_postgres:
            return pg_transaction(self.location)
        return duckdb_transaction(self.location)

    def writing(self, tables: str) -> AbstractContextManager[None]:
        """Around a write to `tables`: a PostgreSQL server lost in the middle is named
        (WarehouseConnectionLost), not left as the driver's bare error."""
        if self.is_postgres:
            return naming_a_lost_connection(self.location, f"{self.schema}.{tables}", True)
        return nullcontext()

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """One connection for many short transactions: opening a DuckDB file costs about
        0.1 s, too much once per model call."""
        connection = connect(self.location) if self.is_postgres else open_duckdb(self.location)
        try:
            yield WarehouseSession(connection, self.is_postgres)
        finally:
            connection.close()

    def check(self) -> None:
        """Opens and closes a connection; raises WarehouseUnreachable with the reason (the
        URL shown without its password)."""
        try:
            with self.transaction() as cursor:
                cursor.execute("select 1")
        except Exception as error:  # any driver's failure to connect
            reason = " ".join(str(error).split())
            raise WarehouseUnreachable(
                f"cannot open the warehouse {self.label()}: {reason}"
            ) from None

    def client_rows(
        self, table: str, client: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One client's rows of a table written by the assets (`columns`, or all); empty when
        the table or its client column does not exist yet."""
        with self.transaction() as cursor:
            cursor.execute(
                "select column_name from information_schema.columns "
                f"where table_schema = {self.placeholder} and table_name = {self.placeholder}",
                [self.schema, table],
            )
            present = [row[0] for row in cursor.fetchall()]
            columns = present if columns is None else columns
            if "client" not in present or not set(columns) <= set(present):
                return pd.DataFrame(columns=list(columns))
            cursor.execute(
                f"select {', '.join(map(quoted, columns))} "
                f"from {quoted(self.schema)}.{quoted(table)} where client = {self.placeholder}",
                [client],
            )
            return frame_from_cursor(cursor) if self.is_postgres else cursor.df()

    def label(self) -> str:
        """For messages: the file, or the URL without its password, and the schema."""
        where = redact(self.location) if self.is_postgres else self.location
        return f"{where} (schema {self.schema})"


@dataclass(frozen=True)
class WarehouseSession:
    """An open connection; each `transaction()` commits when its block ends, rolls back if it
    raises."""

    connection: Any
    is_postgres: bool

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        if self.is_postgres:
            cursor = self.connection.cursor()
        else:
            self.connection.begin()
            cursor = self.connection
        try:
            yield cursor
            self.connection.commit()
        except BaseException:
            self.connection.rollback()
            raise
        finally:
            if self.is_postgres:
                cursor.close()


def create_tables(cursor: Any, schema: str, tables: dict[str, tuple[str, ...]]) -> None:
    """The schema and tables (name -> column definitions) when missing; SQL both engines
    accept."""
    if isinstance(cursor, psycopg2.extensions.cursor):
        # PostgreSQL's "if not exists" is not safe against a concurrent create: two processes
        # starting on a new schema would both try. They take turns for the transaction.
        cursor.execute("select pg_advisory_xact_lock(%s)", [_CREATE_TABLES_LOCK])
        ensure_schema(cursor, schema)
    else:
        cursor.execute(f'create schema if not exists "{schema}"')
    for table, columns in tables.items():
        cursor.execute(f'create table if not exists "{schema}"."{table}" ({", ".join(columns)})')
    if isinstance(cursor, psycopg2.extensions.cursor):
        secure_new_relations(cursor, schema)

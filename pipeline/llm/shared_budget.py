"""The Groq rate budget held in PostgreSQL, so that every process spending one API key's
budget (runs on other machines, two runs at once) waits in the same window.

Each call and each correction is a row with its tokens and the moment it leaves the window.
A transaction-scoped advisory lock per account serialises the read-decide-write of an
admission across processes, and the window is measured on the database's clock, so the
processes' own clocks need not agree.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.llm.ratelimit import Spend
from pipeline.storage.postgres_warehouse import connect, pg_transaction
from pipeline.storage.stores import create_tables

SPENDS_TABLE = "groq_budget_spends"
BLOCKS_TABLE = "groq_budget_blocks"
_TABLES = {
    SPENDS_TABLE: (
        "id bigserial primary key",
        "account text not null",
        # 1 for a call, 0 for tokens the server counted that no call of ours did.
        "requests integer not null",
        "tokens bigint not null",
        "expires_at double precision not null",
    ),
    BLOCKS_TABLE: (
        "account text primary key",
        "until double precision not null",
        "reason text not null",
    ),
}


class PostgresLedger:
    """One account's budget (the account names a key by its hash, never the key) in a schema
    of a PostgreSQL database."""

    def __init__(self, url: str, schema: str, account: str) -> None:
        self.url = url
        self.schema = schema
        self.account = account
        # pg_advisory_xact_lock takes a bigint: the account's hash, stable across processes.
        self._lock_id = int.from_bytes(
            hashlib.blake2b(account.encode("utf-8"), digest_size=8).digest(), "big", signed=True
        )
        self.spends_table = f'"{schema}"."{SPENDS_TABLE}"'
        self.blocks_table = f'"{schema}"."{BLOCKS_TABLE}"'
        with pg_transaction(url) as cursor:
            create_tables(cursor, schema, _TABLES)
        self._connection_lock = threading.Lock()
        self._connection: Any = None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = connect(self.url)
        connection = self._connection
        try:
            with connection.cursor() as cursor:
                yield cursor
            connection.commit()
        except BaseException:
            if connection.closed:
                self._connection = None  # the next admission reconnects
            else:
                connection.rollback()
            raise

    @contextmanager
    def open(self) -> Iterator[PostgresBook]:
        # One connection per ledger, kept open: with a new one per transaction an admission
        # and its settlement cost 10 ms; on an open one, about 1 ms.
        with self._connection_lock, self._transaction() as cursor:
            cursor.execute("select pg_advisory_xact_lock(%s)", [self._lock_id])
            cursor.execute("select extract(epoch from clock_timestamp())::double precision")
            now = cursor.fetchone()[0]
            cursor.execute(
                f"delete from {self.spends_table} where account = %s and expires_at <= %s",
                [self.account, now],
            )
            cursor.execute(
                "select id, requests, tokens, expires_at "
                f"from {self.spends_table} where account = %s",
                [self.account],
            )
            rows = cursor.fetchall()
            cursor.execute(
                f"select until, reason from {self.blocks_table} where account = %s", [self.account]
            )
            block = cursor.fetchone()
            yield PostgresBook(
                cursor=cursor,
                ledger=self,
                now=now,
                calls=[Spend(expires, tokens, row_id) for row_id, n, tokens, expires in rows if n],
                corrections=[
                    Spend(expires, tokens, row_id) for row_id, n, tokens, expires in rows if not n
                ],
                blocked_until=block[0] if block else 0.0,
                blocked_reason=block[1] if block else "",
            )


class PostgresBook:
    """The account's window as read under the lock; changes are written in the same
    transaction, so they are visible to other processes when the lock is released."""

    def __init__(
        self,
        cursor: Any,
        ledger: PostgresLedger,
        now: float,
        calls: list[Spend],
        corrections: list[Spend],
        blocked_until: float,
        blocked_reason: str,
    ) -> None:
        self._cursor = cursor
        self._ledger = ledger
        self.now = now
        self.calls = calls
        self.corrections = corrections
        self.blocked_until = blocked_until
        self.blocked_reason = blocked_reason

    def add_call(self, expires_at: float, tokens: int) -> Spend:
        spend = Spend(expires_at, tokens, self._insert(1, tokens, expires_at))
        self.calls.append(spend)
        return spend

    def add_correction(self, expires_at: float, tokens: int) -> None:
        self.corrections.append(Spend(expires_at, tokens, self._insert(0, tokens, expires_at)))

    def settle(self, spend: Spend, expires_at: float, tokens: int) -> None:
        spend.expires_at = expires_at
        spend.tokens = tokens
        self._cursor.execute(
            f"update {self._ledger.spends_table} set tokens = %s, expires_at = %s where id = %s",
            [tokens, expires_at, spend.row_id],
        )

    def block(self, until: float, reason: str) -> None:
        if until <= self.blocked_until:
            return
        self.blocked_until, self.blocked_reason = until, reason
        self._cursor.execute(
            f"insert into {self._ledger.blocks_table} (account, until, reason) values (%s, %s, %s) "
            "on conflict (account) do update set until = excluded.until, "
            "reason = excluded.reason",
            [self._ledger.account, until, reason],
        )

    def _insert(self, requests: int, tokens: int, expires_at: float) -> int:
        self._cursor.execute(
            f"insert into {self._ledger.spends_table} (account, requests, tokens, expires_at) "
            "values (%s, %s, %s, %s) returning id",
            [self._ledger.account, requests, tokens, expires_at],
        )
        return self._cursor.fetchone()[0]

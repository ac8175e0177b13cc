"""One transaction per block, whatever the driver (DuckDB, psycopg2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def committing(connection: Any) -> Iterator[Any]:
    """Commits when the block ends, rolls back if it raises, closes the connection either way."""
    try:
        yield connection
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()

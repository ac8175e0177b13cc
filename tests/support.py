"""Shared by test modules and conftest (importable: pytest's pythonpath includes tests/)."""

from __future__ import annotations

import os

# The machine's PostgreSQL (CI starts it); each test gets a schema of its own in it.
POSTGRES_URL = os.environ.get(
    "PERSONA_RANKER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

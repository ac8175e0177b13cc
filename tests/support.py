"""Shared by test modules and conftest (importable: pytest's pythonpath includes tests/)."""

from __future__ import annotations

import os

from dagster import DagsterInstance, ExecuteInProcessResult

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.orchestration.partitions import full_range_tags
from pipeline.orchestration.settings import Settings

# The machine's PostgreSQL (CI starts it); each test gets a schema of its own in it.
POSTGRES_URL = os.environ.get(
    "PERSONA_RANKER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def run_rank_leads(
    settings: Settings, instance: DagsterInstance, raise_on_error: bool = True
) -> ExecuteInProcessResult:
    """What the CLI runs: the rank_leads job over every shard, in one run."""
    job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
    return job.execute_in_process(
        instance=instance, tags=full_range_tags(), raise_on_error=raise_on_error
    )

"""Shared by test modules and conftest (importable: pytest's pythonpath includes tests/)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from dagster import DagsterInstance, ExecuteInProcessResult, RunRequest

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.leads.files import read_lead_file
from pipeline.orchestration.clients import DEFAULT_CLIENT, Client
from pipeline.orchestration.settings import DATA_DIR, Settings

# The machine's PostgreSQL (CI starts it); each test gets a schema of its own in it.
POSTGRES_URL = os.environ.get(
    "PERSONA_RANKER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def run_rank_leads(
    settings: Settings,
    instance: DagsterInstance,
    raise_on_error: bool = True,
    client: str = DEFAULT_CLIENT,
    clients: Mapping[str, Client] | None = None,
    companies: list[str] | None = None,
) -> ExecuteInProcessResult:
    """What the CLI runs: the rank_leads job for one client, in one run (only `companies`
    judged again, when given)."""
    job = build_definitions(settings, clients).resolve_job_def(RANK_LEADS_JOB)
    scope = {"ops": {"lead_evaluations": {"config": {"companies": companies}}}}
    return job.execute_in_process(
        instance=instance,
        partition_key=client,
        run_config=scope if companies else None,
        raise_on_error=raise_on_error,
    )


def run_request(instance: DagsterInstance, settings: Settings, request: RunRequest) -> bool:
    """What the daemon does with a sensor's or schedule's run request, in this process."""
    job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
    return job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
    ).success


def answers_needed(lead_ids: Iterable[str]) -> int:
    """How many model answers these bundled leads take: colleagues with the same title at the
    same company share one (their cache key is the same)."""
    leads = read_lead_file(DATA_DIR / "leads.csv").leads
    chosen = leads[leads["lead_id"].isin(set(lead_ids))]
    return len(chosen.drop_duplicates(["company_key", "lead_job_title"]))

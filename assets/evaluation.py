"""Evaluation: every lead of the run's client judged against the client's persona."""

from collections.abc import Iterator

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetObservation,
    Config,
    Failure,
    MetadataValue,
    Output,
    asset,
)
from pydantic import Field

from assets.metadata import counts_by
from pipeline.leads.records import for_client
from pipeline.llm.evaluator import AwaitingBatch, EvaluationIncomplete
from pipeline.orchestration.resources import (
    ClientDirectory,
    LeadEvaluator,
    WarehouseReader,
    evaluator_for,
)
from pipeline.ranking.evaluation import EVALUATION_COLUMNS
from pipeline.ranking.scope import companies_to_evaluate, kept_evaluations

# Every step that may call Groq claims a slot of this pool; dagster.yaml gives it one slot,
# so two runs of one instance take turns (whatever their clients: the budget is per API
# key). Runs that must overlap (on several machines) share the key's budget through
# PostgreSQL instead (pipeline/llm/shared_budget.py).
GROQ_POOL = "groq"


# What the evaluators read of enriched_leads: who and where the lead is, the title and what it
# says, the size. A large lead base's contact and source columns would cost more to load than
# the judging itself.
EVALUATED_COLUMNS = (
    "lead_id",
    "company_key",
    "account_name",
    "account_domain",
    "account_employee_range",
    "account_industry",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "size_band",
    "title_role",
    "title_seniority",
    "title_departments",
    "title_tags",
    "title_flags",
    "title_employer",
    "title_roles_held",
    "title_qualifiers",
    "title_status",
    "client",
)


class EvaluationScope(Config):
    companies: list[str] = Field(
        default_factory=list,
        description="Company keys to judge again; the client's other companies keep their "
        "evaluations. Empty: every company.",
    )
    batch: bool = Field(
        default=False,
        description="Send the leads that need the model to Groq's Batch API (half price, "
        "done within the completion window) instead of calling now. While any wait for a "
        "batch, nothing is written and the ranking keeps its previous state; the "
        "groq_batches sensor requests the run that finishes the job.",
    )


@asset(
    group_name="evaluation",
    kinds={"duckdb", "groq"},
    owners=["team:sales-ops"],
    pool=GROQ_POOL,
    metadata={"partition_expr": "client"},
    ins={"enriched_leads": AssetIn(metadata={"columns": list(EVALUATED_COLUMNS)})},
    # A run whose leads wait for a batch writes nothing: the ranking steps after it skip.
    output_required=False,
)
def lead_evaluations(
    context: AssetExecutionContext,
    config: EvaluationScope,
    enriched_leads: pd.DataFrame,
    clients: ClientDirectory,
    evaluator: LeadEvaluator,
    warehouse: WarehouseReader,
) -> Iterator[Output[pd.DataFrame]]:
    """One row per lead of the client: `relevance_score` (0-100), `is_relevant`,
    `reasoning`, `department_fit`, `seniority_fit`, `evaluator` (rules, groq or
    rules_fallback), `decision_basis`, `ladder_rung`, `model`, `fallback_reason`,
    `evaluated_at`. A run replaces exactly its client's rows; with a scope, the companies
    outside it keep their rows (and `evaluated_at`)."""
    client = context.partition_key
    settings = clients.get(client)
    chosen = evaluator_for(settings.evaluator, evaluator)
    if config.companies:
        previous = warehouse.client_rows(
            "lead_evaluations", client, [*EVALUATION_COLUMNS, "client"]
        )
        judged = companies_to_evaluate(enriched_leads, previous, config.companies)
        kept = kept_evaluations(previous, enriched_leads, judged)
    else:
        judged, kept = set(enriched_leads["company_key"]), pd.DataFrame()
    leads = enriched_leads[enriched_leads["company_key"].isin(judged)]
    context.log.info(
        f"Evaluator: {chosen.evaluator_name} ({chosen.selected_because}); client {client}: "
        f"{len(leads)} leads at {len(judged)} companies"
    )
    try:
        evaluated = chosen.evaluate(
            leads, settings.load_persona(), context.run.run_id, client, batch=config.batch
        )
    except AwaitingBatch as awaiting:
        context.log.info(f"Client {client}: {awaiting}")
        context.log_event(
            AssetObservation(
                asset_key=context.asset_key,
                partition=client,
                description=str(awaiting),
                metadata={
                    "batches": MetadataValue.json([row.batch_id for row in awaiting.submitted]),
                    "leads_submitted": awaiting.sent,
                    "leads_waiting": awaiting.waiting,
                    **awaiting.stats.as_metadata(len(leads)),
                },
            )
        )
        return
    except EvaluationIncomplete as stopped:
        # Nothing is written: the previous evaluations stay, the paid answers are cached.
        raise Failure(
            description=str(stopped),
            metadata={
                "pending_leads": len(stopped.pending),
                "pending_companies": MetadataValue.json(stopped.companies),
                **stopped.stats.as_metadata(len(leads)),
            },
            allow_retries=False,
        ) from stopped
    fresh = for_client(evaluated.evaluations, client)
    evaluations = pd.concat([kept, fresh], ignore_index=True) if not kept.empty else fresh
    yield Output(
        evaluations,
        metadata={
            "rows": len(evaluations),
            "companies": len(judged),
            "kept_from_earlier_runs": len(kept),
            "relevant": int(evaluations["is_relevant"].sum()),
            "evaluator_mix": counts_by(evaluations, "evaluator"),
            "decided_by": counts_by(evaluations, "decision_basis"),
            **evaluated.usage,
        },
    )

"""Evaluation: every lead judged against the persona, one partition per company shard."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Failure,
    MetadataValue,
    Output,
    asset,
)

from assets.metadata import counts_by
from pipeline.llm.evaluator import EvaluationIncomplete
from pipeline.orchestration.partitions import company_shards
from pipeline.orchestration.resources import LeadEvaluator, PersonaSource

# Every step that may call Groq claims a slot of this pool; dagster.yaml gives it one slot,
# so two runs of one instance take turns. Runs that must overlap (on several machines) share
# the key's budget through PostgreSQL instead (pipeline/llm/shared_budget.py).
GROQ_POOL = "groq"


@asset(
    group_name="evaluation",
    kinds={"duckdb", "groq"},
    owners=["team:sales-ops"],
    partitions_def=company_shards,
    backfill_policy=BackfillPolicy.single_run(),
    pool=GROQ_POOL,
    metadata={"partition_expr": "company_shard"},
)
def lead_evaluations(
    context: AssetExecutionContext,
    enriched_leads: pd.DataFrame,
    persona: PersonaSource,
    evaluator: LeadEvaluator,
) -> Output[pd.DataFrame]:
    """One row per lead of the run's company shards: `relevance_score` (0-100),
    `is_relevant`, `reasoning`, `department_fit`, `seniority_fit`, `evaluator` (rules, groq or
    rules_fallback), `decision_basis`, `model`, `fallback_reason`, `evaluated_at`. A run over
    a range of shards replaces exactly those shards' rows, so a company that left the lead
    base loses its rows with its shard's next run."""
    shards = set(context.partition_keys)
    leads = enriched_leads[enriched_leads["company_shard"].isin(shards)]
    companies = leads["company_key"].nunique()
    context.log.info(
        f"Evaluator: {evaluator.evaluator_name} ({evaluator.selected_because}); "
        f"{len(leads)} leads at {companies} companies in {len(shards)} shards"
    )
    try:
        evaluated = evaluator.evaluate(leads, persona.load(), context.run.run_id)
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
    evaluations = evaluated.evaluations
    return Output(
        evaluations,
        metadata={
            "rows": len(evaluations),
            "companies": companies,
            "shards": len(shards),
            "relevant": int(evaluations["is_relevant"].sum()),
            "evaluator_mix": counts_by(evaluations, "evaluator"),
            "decided_by": counts_by(evaluations, "decision_basis"),
            **evaluated.usage,
        },
    )

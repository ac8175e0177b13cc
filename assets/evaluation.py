"""Evaluation: every lead judged against the persona, one partition per company."""

import pandas as pd
from dagster import AssetExecutionContext, BackfillPolicy, Output, asset

from assets.metadata import counts_by
from pipeline.partitions import company_partitions
from pipeline.resources import LeadEvaluator, PersonaSource


@asset(
    group_name="evaluation",
    kinds={"duckdb"},
    owners=["team:sales-ops"],
    partitions_def=company_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    metadata={"partition_expr": "company_key"},
)
def lead_evaluations(
    context: AssetExecutionContext,
    enriched_leads: pd.DataFrame,
    persona: PersonaSource,
    evaluator: LeadEvaluator,
) -> Output[pd.DataFrame]:
    """One row per lead of the run's companies: `relevance_score` (0-100), `is_relevant`,
    `reasoning`, `department_fit`, `seniority_fit`, `evaluator`, `evaluated_at`. A run over a
    range of companies replaces exactly those companies' rows."""
    companies = set(context.partition_keys)
    leads = enriched_leads[enriched_leads["company_key"].isin(companies)]
    context.log.info(
        f"Evaluator: {evaluator.evaluator_name} ({evaluator.selected_because}); "
        f"{len(leads)} leads at {len(companies)} companies"
    )
    evaluations = evaluator.evaluate(leads, persona.load())
    return Output(
        evaluations,
        metadata={
            "rows": len(evaluations),
            "companies": len(companies),
            "relevant": int(evaluations["is_relevant"].sum()),
            "evaluator_mix": counts_by(evaluations, "evaluator"),
            "decided_by": counts_by(evaluations, "decision_basis"),
        },
    )

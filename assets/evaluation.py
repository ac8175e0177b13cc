"""Evaluation: every lead of the run's client judged against the client's persona, one step
per shard of its companies, so a large client's leads spread over the executor's workers."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from dagster import (
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    Config,
    DynamicOut,
    DynamicOutput,
    Failure,
    In,
    MetadataValue,
    OpDefinition,
    OpExecutionContext,
    Out,
    Output,
    config_mapping,
    graph_asset,
    op,
)
from dagster._core.storage.tags import RETRY_ON_ASSET_OR_OP_FAILURE_TAG
from pydantic import Field

from assets.metadata import counts_by
from pipeline.leads.records import for_client
from pipeline.llm.outcome import AwaitingBatch, EvaluationIncomplete
from pipeline.orchestration.resources import (
    ClientDirectory,
    LeadEvaluator,
    WarehouseReader,
    evaluator_for,
)
from pipeline.orchestration.work_files import (
    WORK_IO_MANAGER,
    ShardingSettings,
    runs_in_one_process,
    sweep_finished_runs,
)
from pipeline.ranking.evaluation import EVALUATION_COLUMNS
from pipeline.ranking.scope import companies_to_evaluate, kept_evaluations
from pipeline.ranking.shards import company_shards, merged_usage, shard_count

# Every step that may call Groq claims a slot of this pool; dagster.yaml gives it one slot,
# so two runs of one instance take turns (whatever their clients: the budget is per API
# key). Runs that must overlap (on several machines) share the key's budget through
# PostgreSQL instead (pipeline/llm/shared_budget.py).
GROQ_POOL = "groq"
LEAD_EVALUATIONS = AssetKey("lead_evaluations")


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


@dataclass(frozen=True)
class JudgedShard:
    """One shard's evaluations and model use; no evaluations while its leads wait for a
    batch."""

    evaluations: pd.DataFrame | None
    usage: dict[str, float | int | str] = field(default_factory=dict)
    judged_leads: int = 0


@op(
    ins={"enriched_leads": In(metadata={"columns": list(EVALUATED_COLUMNS)})},
    out={
        "shards": DynamicOut(io_manager_key=WORK_IO_MANAGER),
        "kept": Out(io_manager_key=WORK_IO_MANAGER),
    },
)
def plan_evaluation(
    context: OpExecutionContext,
    config: EvaluationScope,
    enriched_leads: pd.DataFrame,
    warehouse: WarehouseReader,
    sharding: ShardingSettings,
) -> Iterator[Output[pd.DataFrame] | DynamicOutput[pd.DataFrame]]:
    """The companies to judge, in shards of whole companies; the evaluations a scoped run
    keeps from earlier runs."""
    client = context.partition_key
    sweep_finished_runs(sharding.work_dir, context.instance)
    if config.companies:
        previous = warehouse.client_rows(
            "lead_evaluations", client, [*EVALUATION_COLUMNS, "client"]
        )
        judged = companies_to_evaluate(enriched_leads, previous, config.companies)
        kept = kept_evaluations(previous, enriched_leads, judged)
    else:
        judged, kept = set(enriched_leads["company_key"]), pd.DataFrame()
    leads = enriched_leads[enriched_leads["company_key"].isin(judged)]
    # One step in one process gains nothing from shards; a batch is one submission.
    alone = runs_in_one_process(context.get_step_execution_context()) or config.batch
    count = 1 if alone else shard_count(len(leads), sharding.leads_per_shard)
    shards = company_shards(leads, count)
    context.log.info(
        f"Client {client}: {len(leads)} leads at {len(judged)} companies to judge, in "
        f"{len(shards)} shard(s)"
    )
    for number, shard in enumerate(shards):
        yield DynamicOutput(shard, mapping_key=f"shard_{number}", output_name="shards")
    yield Output(kept, output_name="kept")


def _evaluate_shard(
    context: OpExecutionContext,
    config: EvaluationScope,
    leads: pd.DataFrame,
    clients: ClientDirectory,
    evaluator: LeadEvaluator,
) -> JudgedShard:
    """One shard's leads judged by the client's evaluator."""
    client = context.partition_key
    settings = clients.get(client)
    chosen = evaluator_for(settings.evaluator, evaluator)
    context.log.info(
        f"Evaluator: {chosen.evaluator_name} ({chosen.selected_because}); client {client}: "
        f"{len(leads)} leads at {leads['company_key'].nunique()} companies"
    )
    try:
        evaluated = chosen.evaluate(
            leads, settings.load_persona(), context.run.run_id, client, batch=config.batch
        )
    except AwaitingBatch as awaiting:
        context.log.info(f"Client {client}: {awaiting}")
        context.log_event(
            AssetObservation(
                asset_key=LEAD_EVALUATIONS,
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
        return JudgedShard(None)
    except EvaluationIncomplete as stopped:
        # Nothing is written: the previous evaluations stay, the paid answers are cached.
        # Retrying the run at once cannot help (the cap resets tomorrow, the service is
        # down): the daemon leaves it, and the next night sends the pending leads.
        context.instance.add_run_tags(
            context.run.run_id, {RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "false"}
        )
        raise Failure(
            description=str(stopped),
            metadata={
                "pending_leads": len(stopped.pending),
                "pending_companies": MetadataValue.json(stopped.companies),
                **stopped.stats.as_metadata(len(leads)),
            },
            allow_retries=False,
        ) from stopped
    return JudgedShard(for_client(evaluated.evaluations, client), evaluated.usage, len(leads))


def _judging_op(pool: str | None) -> OpDefinition:
    return op(name="evaluate_shard", pool=pool, out=Out(io_manager_key=WORK_IO_MANAGER))(
        _evaluate_shard
    )


@config_mapping
def _scope(scope: EvaluationScope) -> dict[str, Any]:
    """The asset's config (`ops: {lead_evaluations: {config: ...}}`) for the steps that read
    it."""
    inner = {"config": {"companies": list(scope.companies), "batch": scope.batch}}
    return {"plan_evaluation": inner, "evaluate_shard": inner}


@op(out=Out(is_required=False))
def collect_evaluations(
    context: OpExecutionContext, shards: list[JudgedShard], kept: pd.DataFrame
) -> Iterator[Output[pd.DataFrame]]:
    """The client's evaluations in one table, written in one transaction; nothing while any
    shard's leads wait for a batch (the ranking steps after it skip)."""
    if any(shard.evaluations is None for shard in shards):
        return
    fresh = pd.concat([shard.evaluations for shard in shards], ignore_index=True)
    evaluations = pd.concat([kept, fresh], ignore_index=True) if not kept.empty else fresh
    judged = sum(shard.judged_leads for shard in shards)
    yield Output(
        evaluations,
        metadata={
            "rows": len(evaluations),
            "companies": int(fresh["company_key"].nunique()),
            "shards": len(shards),
            "kept_from_earlier_runs": len(kept),
            "relevant": int(evaluations["is_relevant"].sum()),
            "evaluator_mix": counts_by(evaluations, "evaluator"),
            "decided_by": counts_by(evaluations, "decision_basis"),
            **merged_usage([shard.usage for shard in shards], judged),
        },
    )


def lead_evaluations_asset(calls_model: bool) -> AssetsDefinition:
    """lead_evaluations; its judging steps claim the `groq` pool when `calls_model` (the
    rules alone spend no API budget, so their shards run side by side)."""
    judge = _judging_op(GROQ_POOL if calls_model else None)

    @graph_asset(
        name="lead_evaluations",
        group_name="evaluation",
        kinds={"duckdb", "groq"},
        owners=["team:sales-ops"],
        metadata={"partition_expr": "client"},
        config=_scope,
    )
    def lead_evaluations(enriched_leads: pd.DataFrame) -> pd.DataFrame:
        """One row per lead of the client: `relevance_score` (0-100), `is_relevant`,
        `reasoning`, `department_fit`, `seniority_fit`, `evaluator` (rules, groq or
        rules_fallback), `decision_basis`, `ladder_rung`, `model`, `fallback_reason`,
        `evaluated_at`. A run replaces exactly its client's rows; with a scope, the companies
        outside it keep their rows (and `evaluated_at`)."""
        shards, kept = plan_evaluation(enriched_leads)
        return collect_evaluations(shards.map(judge).collect(), kept)

    return lead_evaluations

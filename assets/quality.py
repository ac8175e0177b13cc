"""Ranking quality: the client's persona and evaluator scored on its expert's labels."""

from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)

from assets.metadata import markdown_table
from assets.ranking import ranked_leads
from pipeline.orchestration.resources import (
    ClientDirectory,
    ExpertLabels,
    LeadEvaluator,
    RulesEvaluator,
    evaluator_for,
)
from pipeline.quality.labels import rank_labelled_leads, read_expert_labels
from pipeline.quality.metrics import judge, score_ranking


def quality_check(partitions: PartitionsDefinition) -> AssetChecksDefinition:
    """The quality check of a client's partition, against the client's labels."""
    return asset_check(asset=ranked_leads, partitions_def=partitions)(ranking_matches_expert_labels)


def ranking_matches_expert_labels(
    context: AssetCheckExecutionContext,
    expert_labels: ExpertLabels,
    clients: ClientDirectory,
    evaluator: LeadEvaluator,
) -> AssetCheckResult:
    """Ranks the expert's labelled leads with this run's persona and records relevance P/R/F1,
    NDCG@k, precision@k and hit@1. Warns below the configured floors. A model evaluator is
    scored only when `ExpertLabels.score_model` is set: otherwise every run would pay the
    model for the labelled leads too (`persona-ranker eval --evaluator groq` measures it)."""
    client = context.partition_key
    settings = clients.get(client)
    if not settings.labels or not Path(settings.labels).is_file():
        where = f"at {settings.labels}" if settings.labels else f"configured for {client}"
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"problem": f"no labels file {where}: quality unmeasured"},
        )
    labels = read_expert_labels(settings.labels)
    scored = (
        evaluator_for(settings.evaluator, evaluator)
        if expert_labels.score_model
        else RulesEvaluator()
    )
    ranked = rank_labelled_leads(
        labels,
        settings.load_persona(),
        lambda leads, loaded: (
            scored.evaluate(leads, loaded, context.run.run_id, client).evaluations
        ),
    )
    report = score_ranking(judge(ranked, labels), expert_labels.k)
    headline = report.headline()
    below = [
        f"{name} {headline[name] or 0:.3f} < {floor:.3f}"
        for name, floor in expert_labels.floors().items()
        if (headline[name] or 0.0) < floor
    ]
    companies = pd.DataFrame(
        {
            "company": c.account_name,
            "leads": c.leads,
            "expert": c.expert_ranked,
            "ours": c.ranked,
            f"ndcg@{report.k}": f"{c.ndcg_at_k:.3f}",
            f"p@{report.k}": f"{c.hits_at_k}/{c.picks_at_k}",
            "hit@1": "yes" if c.hit_at_1 else "no",
        }
        for c in report.companies
    )
    return AssetCheckResult(
        passed=not below,
        severity=AssetCheckSeverity.WARN,
        metadata={
            **{name: MetadataValue.float(float(value or 0.0)) for name, value in headline.items()},
            "labelled_leads": report.leads,
            "evaluator": scored.evaluator_name,
            "labels": MetadataValue.path(settings.labels),
            "below_floor": MetadataValue.md("\n".join(f"- {b}" for b in below) or "none"),
            "companies": markdown_table(companies),
        },
    )

"""The one number tuned from labels, the relevance threshold, and the guard against over-fitting.

Leave-one-company-out: the threshold is chosen on every company but one and the held-out
company is scored with it, so a threshold that only suits these companies shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.quality.metrics import QualityReport, score_ranking
from pipeline.ranking.ranked_table import rank_leads


@dataclass(frozen=True)
class HeldOutReport:
    configured_threshold: int
    # Tuned on every labelled company, and the metrics with it.
    in_sample_threshold: int
    in_sample: QualityReport
    # Per company, the threshold tuned on the other companies.
    held_out_thresholds: dict[str, int]
    held_out: QualityReport


def rerank_at_threshold(judged: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The judged leads ranked again as if the persona's threshold were `threshold`."""
    relevant = judged.assign(is_relevant=judged["relevance_score"] >= threshold)
    return rank_leads(relevant.drop(columns="company_rank"))


def objective(report: QualityReport) -> float:
    """The mean of the headline metrics, an undefined metric counting as 0."""
    values = [value or 0.0 for value in report.headline().values()]
    return sum(values) / len(values)


def tune_threshold(judged: pd.DataFrame, k: int, configured: int) -> int:
    """The threshold (among the scores present) that maximises `objective`; ties go to the
    one closest to the configured threshold."""
    candidates = sorted(set(judged["relevance_score"].astype(int)) | {configured})
    return max(
        candidates,
        key=lambda t: (
            objective(score_ranking(rerank_at_threshold(judged, t), k)),
            -abs(t - configured),
        ),
    )


def leave_one_company_out(judged: pd.DataFrame, k: int, configured: int) -> HeldOutReport:
    in_sample_threshold = tune_threshold(judged, k, configured)
    held_out_parts = []
    thresholds: dict[str, int] = {}
    for company in sorted(judged["company_key"].unique()):
        others = judged[judged["company_key"] != company]
        thresholds[company] = tune_threshold(others, k, configured)
        own = judged[judged["company_key"] == company]
        held_out_parts.append(rerank_at_threshold(own, thresholds[company]))
    return HeldOutReport(
        configured_threshold=configured,
        in_sample_threshold=in_sample_threshold,
        in_sample=score_ranking(rerank_at_threshold(judged, in_sample_threshold), k),
        held_out_thresholds=thresholds,
        held_out=score_ranking(pd.concat(held_out_parts, ignore_index=True), k),
    )

"""Ranking quality against an expert's labels: relevance P/R/F1, NDCG@k, precision@k, hit@1.

`judged` frames hold one row per lead with our `company_rank` (NA = not ranked) and the
expert's `expert_rank` (NA = do not contact), plus `company_key`, `account_name`,
`lead_job_title`, `relevance_score` and `reasoning` for the misses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import pandas as pd

# A lead our #1 must match: within the expert's first few.
HIT_AT_1_EXPERT_DEPTH = 3


@dataclass(frozen=True)
class CompanyScore:
    company_key: str
    account_name: str
    leads: int
    expert_ranked: int
    ranked: int
    ndcg_at_k: float
    # Of our top k, how many the expert ranked.
    hits_at_k: int
    picks_at_k: int
    hit_at_1: bool


@dataclass(frozen=True)
class Miss:
    company_key: str
    account_name: str
    lead_job_title: str
    our_rank: int | None
    expert_rank: int | None
    relevance_score: int
    reasoning: str


@dataclass(frozen=True)
class QualityReport:
    k: int
    leads: int
    precision: float | None
    recall: float | None
    f1: float | None
    ndcg_at_k: float | None
    precision_at_k: float | None
    hit_at_1: float | None
    companies: list[CompanyScore] = field(default_factory=list)
    # We ranked it, the expert did not (highest score first).
    false_positives: list[Miss] = field(default_factory=list)
    # The expert ranked it, we did not (best expert rank first).
    false_negatives: list[Miss] = field(default_factory=list)

    def headline(self) -> dict[str, float | None]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            f"ndcg@{self.k}": self.ndcg_at_k,
            f"precision@{self.k}": self.precision_at_k,
            "hit@1": self.hit_at_1,
        }

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def judge(ranked: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Our ranked leads with the expert's rank beside each; every label must be ranked by us."""
    judged = ranked.merge(
        labels[["lead_id", "expert_rank"]], on="lead_id", how="inner", validate="one_to_one"
    )
    if len(judged) != len(labels):
        raise ValueError(f"{len(labels) - len(judged)} labelled lead(s) are missing from ranking")
    return judged


def relevance_scores(
    predicted: pd.Series, actual: pd.Series
) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 of "ranked" against "the expert ranked"; None when undefined."""
    predicted = predicted.astype(bool).to_numpy()
    actual = actual.astype(bool).to_numpy()
    true_positives = int((predicted & actual).sum())
    precision = true_positives / int(predicted.sum()) if predicted.any() else None
    recall = true_positives / int(actual.sum()) if actual.any() else None
    if precision is None or recall is None:
        return precision, recall, None
    if precision + recall == 0:
        return precision, recall, 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def gain(expert_rank: object) -> float:
    """1 / expert rank; 0 for a lead the expert would not contact."""
    return 0.0 if pd.isna(expert_rank) else 1.0 / int(expert_rank)


def dcg(gains: list[float]) -> float:
    return sum(value / math.log2(position + 2) for position, value in enumerate(gains))


def ndcg_at_k(our_order_gains: list[float], all_gains: list[float], k: int) -> float:
    """DCG of our top k over the best DCG the expert's labels allow.

    A company the expert would not contact at all scores 1 when we rank nobody there and 0
    when we rank anyone: contacting the wrong person is worse than contacting nobody.
    """
    ideal = dcg(sorted(all_gains, reverse=True)[:k])
    if ideal == 0:
        return 1.0 if not our_order_gains else 0.0
    return dcg(our_order_gains[:k]) / ideal


def score_company(group: pd.DataFrame, k: int) -> CompanyScore:
    ours = group[group["company_rank"].notna()].sort_values("company_rank")
    expert_ranked = group["expert_rank"].notna()
    top = ours.head(k)
    hits = int(top["expert_rank"].notna().sum())
    if ours.empty:
        hit_at_1 = not expert_ranked.any()
    else:
        first = ours["expert_rank"].iloc[0]
        hit_at_1 = bool(pd.notna(first) and first <= HIT_AT_1_EXPERT_DEPTH)
    return CompanyScore(
        company_key=str(group["company_key"].iloc[0]),
        account_name=str(group["account_name"].iloc[0]),
        leads=len(group),
        expert_ranked=int(expert_ranked.sum()),
        ranked=len(ours),
        ndcg_at_k=ndcg_at_k(
            [gain(r) for r in ours["expert_rank"]], [gain(r) for r in group["expert_rank"]], k
        ),
        hits_at_k=hits,
        picks_at_k=len(top),
        hit_at_1=hit_at_1,
    )


def score_ranking(judged: pd.DataFrame, k: int = 3, worst: int = 10) -> QualityReport:
    """Every metric of a judged ranking; companies are weighted equally (macro averages)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    precision, recall, f1 = relevance_scores(
        judged["company_rank"].notna(), judged["expert_rank"].notna()
    )
    companies = [score_company(group, k) for _, group in judged.groupby("company_key", sort=True)]
    picks = sum(company.picks_at_k for company in companies)
    return QualityReport(
        k=k,
        leads=len(judged),
        precision=precision,
        recall=recall,
        f1=f1,
        ndcg_at_k=_mean([company.ndcg_at_k for company in companies]),
        precision_at_k=(sum(c.hits_at_k for c in companies) / picks) if picks else None,
        hit_at_1=_mean([float(company.hit_at_1) for company in companies]),
        companies=companies,
        false_positives=_misses(
            judged[judged["company_rank"].notna() & judged["expert_rank"].isna()],
            by="relevance_score",
            ascending=False,
            worst=worst,
        ),
        false_negatives=_misses(
            judged[judged["company_rank"].isna() & judged["expert_rank"].notna()],
            by="expert_rank",
            ascending=True,
            worst=worst,
        ),
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _misses(rows: pd.DataFrame, by: str, ascending: bool, worst: int) -> list[Miss]:
    ordered = rows.sort_values([by, "company_key", "lead_id"], ascending=[ascending, True, True])
    return [
        Miss(
            company_key=row.company_key,
            account_name=row.account_name,
            lead_job_title=row.lead_job_title,
            our_rank=None if pd.isna(row.company_rank) else int(row.company_rank),
            expert_rank=None if pd.isna(row.expert_rank) else int(row.expert_rank),
            relevance_score=int(row.relevance_score),
            reasoning=row.reasoning,
        )
        for row in ordered.head(worst).itertuples(index=False)
    ]

"""Quality metrics on hand-computed cases."""

import math

import pandas as pd
import pytest

from pipeline.quality.metrics import dcg, ndcg_at_k, relevance_scores, score_ranking


def judged(rows: list[tuple[str, str, int | None, int | None, int]]) -> pd.DataFrame:
    """(lead_id, company, our rank, expert rank, score)."""
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "company_key": [r[1] for r in rows],
            "account_name": [r[1].upper() for r in rows],
            "lead_job_title": [f"title {r[0]}" for r in rows],
            "company_rank": pd.array([r[2] for r in rows], dtype="Int64"),
            "expert_rank": pd.array([r[3] for r in rows], dtype="Int64"),
            "relevance_score": [r[4] for r in rows],
            "reasoning": [f"why {r[0]}" for r in rows],
        }
    )


def test_relevance_precision_recall_f1() -> None:
    predicted = pd.Series([True, True, True, False, False])
    actual = pd.Series([True, False, True, True, False])
    precision, recall, f1 = relevance_scores(predicted, actual)
    assert (precision, recall) == (2 / 3, 2 / 3)
    assert f1 == pytest.approx(2 / 3)


def test_empty_predictions_have_no_precision_and_no_f1() -> None:
    assert relevance_scores(pd.Series([False, False]), pd.Series([True, False])) == (
        None,
        0.0,
        None,
    )


def test_dcg_discounts_by_log2_of_position_plus_one() -> None:
    assert dcg([1.0, 0.5, 1 / 3]) == pytest.approx(1 + 0.5 / math.log2(3) + (1 / 3) / 2)


def test_ndcg_with_tied_expert_ranks() -> None:
    # The expert ranks three leads 1, 1, 2 (a tie on 1); we rank the 2 first.
    ours = [0.5, 1.0, 1.0]
    ideal = 1 + 1 / math.log2(3) + 0.5 / 2
    assert ndcg_at_k(ours, [1.0, 1.0, 0.5, 0.0], 3) == pytest.approx(
        (0.5 + 1 / math.log2(3) + 1 / 2) / ideal
    )


def test_ndcg_when_the_expert_would_contact_nobody() -> None:
    assert ndcg_at_k([], [0.0, 0.0], 3) == 1.0
    assert ndcg_at_k([0.0], [0.0, 0.0], 3) == 0.0


def test_ndcg_when_we_rank_nobody_but_the_expert_does() -> None:
    assert ndcg_at_k([], [1.0, 0.0], 3) == 0.0


def test_score_ranking_by_hand() -> None:
    frame = judged(
        [
            # Company a: expert 1, 2, 3; we rank the expert's 2 first, then a lead the
            # expert would not contact, then the expert's 1; we miss the expert's 3.
            ("a1", "a", 3, 1, 60),
            ("a2", "a", 1, 2, 90),
            ("a3", "a", None, 3, 10),
            ("a4", "a", 2, None, 80),
            # Company b: the expert ranks nobody and so do we.
            ("b1", "b", None, None, 0),
            # Company c: the expert ranks one lead, we rank nobody.
            ("c1", "c", None, 1, 20),
        ]
    )
    report = score_ranking(frame, k=2)
    assert (report.precision, report.recall) == (2 / 3, 2 / 4)
    a = dcg([0.5, 0.0]) / dcg([1.0, 0.5])
    assert report.ndcg_at_k == pytest.approx((a + 1.0 + 0.0) / 3)
    # Our top 2 at a: one of two is expert-ranked; b and c have no picks.
    assert report.precision_at_k == 0.5
    # a: our #1 is the expert's 2 (within the top 3); b: nobody on both sides; c: missed.
    assert report.hit_at_1 == pytest.approx(2 / 3)
    assert [c.hit_at_1 for c in report.companies] == [True, True, False]
    assert [m.lead_job_title for m in report.false_positives] == ["title a4"]
    assert [m.lead_job_title for m in report.false_negatives] == ["title c1", "title a3"]
    assert report.false_positives[0].reasoning == "why a4"


def test_score_ranking_with_no_predictions_at_all() -> None:
    report = score_ranking(judged([("a1", "a", None, 1, 0), ("a2", "a", None, None, 0)]), k=3)
    assert report.precision is None and report.f1 is None and report.precision_at_k is None
    assert report.recall == 0.0
    assert report.ndcg_at_k == 0.0
    assert report.hit_at_1 == 0.0


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        score_ranking(judged([("a1", "a", 1, 1, 90)]), k=0)

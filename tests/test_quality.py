import pandas as pd

from pipeline.ranking.invariants import (
    campaign_problems,
    evaluation_coverage_problems,
    rank_problems,
)


def ranked(rows: list[tuple[str, bool, float | None, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "company_key": [r[0] for r in rows],
            "is_relevant": [r[1] for r in rows],
            "company_rank": pd.array([r[2] for r in rows], dtype="Int64"),
            "relevance_score": [r[3] for r in rows],
        }
    )


def test_a_good_ranking_has_no_problems() -> None:
    good = ranked([("a", True, 1, 90), ("a", True, 2, 50), ("a", False, None, 5)])
    assert rank_problems(good) == []


def test_gaps_irrelevant_ranks_and_bad_scores_are_reported() -> None:
    problems = rank_problems(
        ranked([("a", True, 1, 90), ("a", True, 3, 50), ("b", False, 1, 5), ("c", True, 1, 120)])
    )
    assert "1 irrelevant lead(s) have a rank" in problems
    assert any(problem.startswith("a: ranks [1, 3]") for problem in problems)
    assert "1 score(s) outside 0-100" in problems


def test_campaign_larger_than_top_n_is_reported() -> None:
    campaign = pd.DataFrame({"company_key": ["a", "a", "a", "b"]})
    assert campaign_problems(campaign, top_n=2) == ["a: 3 campaign rows, more than 2"]
    assert campaign_problems(campaign, top_n=3) == []


def test_a_repeated_or_missing_rank_is_reported_per_company() -> None:
    problems = rank_problems(
        ranked(
            [
                ("d", True, 1, 90),
                ("d", True, 1, 80),
                ("e", True, None, 70),
                ("e", True, 1, 60),
                ("f", True, 2, 60),
                ("f", True, 1, 60),
            ]
        )
    )
    assert problems == ["d: ranks [1, 1] are not 1..2", "e: ranks [1] are not 1..2"]


def test_a_lead_ranked_twice_missing_or_unjudged_is_reported() -> None:
    enriched = pd.DataFrame({"lead_id": ["l1", "l2", "l3", "l4"]})
    ranked_rows = pd.DataFrame(
        {
            "lead_id": ["l1", "l2", "l2", "l3"],
            "evaluator": ["rules", "rules", "rules", None],
            "relevance_score": [80, 40, 40, 10],
        }
    )
    assert evaluation_coverage_problems(enriched, ranked_rows) == [
        "1 lead(s) appear more than once, e.g. l2",
        "1 current lead(s) have no evaluation",
        "1 lead(s) lack a score or an evaluator",
    ]
    whole = ranked_rows.drop_duplicates("lead_id").assign(evaluator="rules")
    assert evaluation_coverage_problems(enriched[:3], whole) == []

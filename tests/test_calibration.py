"""Threshold tuning and leave-one-company-out on small judged tables."""

import pandas as pd

from pipeline.quality.calibration import leave_one_company_out, rerank_at_threshold, tune_threshold


def judged(rows: list[tuple[str, str, int, int | None]]) -> pd.DataFrame:
    """(lead_id, company, score, expert rank); ranked at threshold 50."""
    frame = pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "company_key": [r[1] for r in rows],
            "account_name": [r[1] for r in rows],
            "lead_job_title": "title",
            "title_roles_held": 0,
            "title_qualifiers": 0,
            "relevance_score": [r[2] for r in rows],
            "expert_rank": pd.array([r[3] for r in rows], dtype="Int64"),
            "reasoning": "why",
            "seniority_fit": 3,
            "department_fit": 3,
            "lead_last_name": [r[0] for r in rows],
            "lead_first_name": "x",
            "company_rank": pd.NA,
        }
    )
    return rerank_at_threshold(frame, 50)


def test_rerank_at_threshold_ranks_only_scores_at_or_above_it() -> None:
    ranked = rerank_at_threshold(judged([("a", "c", 90, 1), ("b", "c", 60, None)]), 70)
    assert ranked.set_index("lead_id")["company_rank"].isna().to_dict() == {
        "a": False,
        "b": True,
    }


def test_tuning_finds_the_cut_between_wanted_and_unwanted_leads() -> None:
    frame = judged(
        [("a", "c", 90, 1), ("b", "c", 80, 2), ("x", "c", 60, None), ("y", "c", 55, None)]
    )
    assert tune_threshold(frame, k=2, configured=50) == 80


def test_leave_one_company_out_scores_each_company_with_the_others_threshold() -> None:
    # Company c wants the cut at 80, d at 40: each held-out threshold comes from the other.
    frame = judged(
        [
            ("a", "c", 90, 1),
            ("b", "c", 80, 2),
            ("x", "c", 60, None),
            ("p", "d", 45, 1),
            ("q", "d", 40, 2),
            ("r", "d", 10, None),
        ]
    )
    report = leave_one_company_out(frame, k=2, configured=50)
    assert report.held_out_thresholds == {"c": 40, "d": 80}
    assert report.held_out.f1 is not None and report.in_sample.f1 is not None
    assert report.held_out.f1 < report.in_sample.f1

import pandas as pd
import pytest

from pipeline.ranking.ranked_table import (
    CAMPAIGN_COLUMNS,
    MissingEvaluationsError,
    build_ranked_leads,
    campaign_rows,
    rank_leads,
)


def leads(rows: list[tuple[str, str, int, bool]]) -> pd.DataFrame:
    """(lead_id, company_key, score, relevant) with equal fits and names unless tied on purpose."""
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "company_key": [r[1] for r in rows],
            "relevance_score": [r[2] for r in rows],
            "is_relevant": [r[3] for r in rows],
            "seniority_fit": 3,
            "department_fit": 3,
            "lead_last_name": "Doe",
            "lead_first_name": "Jo",
            "title_roles_held": 0,
            "title_qualifiers": 0,
        }
    )


def ranks(frame: pd.DataFrame) -> dict[str, object]:
    return {
        row.lead_id: (None if pd.isna(row.company_rank) else int(row.company_rank))
        for row in frame.itertuples()
    }


def test_ranks_are_contiguous_per_company_and_null_when_irrelevant() -> None:
    ranked = rank_leads(
        leads(
            [
                ("a1", "a.com", 90, True),
                ("a2", "a.com", 10, False),
                ("a3", "a.com", 50, True),
                ("b1", "b.com", 70, True),
                ("b2", "b.com", 95, False),
            ]
        )
    )
    assert ranks(ranked) == {"a1": 1, "a3": 2, "a2": None, "b1": 1, "b2": None}


def test_ties_break_on_seniority_then_department_then_name_then_id() -> None:
    frame = leads(
        [
            ("x", "a.com", 60, True),
            ("y", "a.com", 60, True),
            ("z", "a.com", 60, True),
            ("w", "a.com", 60, True),
        ]
    )
    frame.loc[frame["lead_id"] == "z", "seniority_fit"] = 5
    frame.loc[frame["lead_id"] == "y", "department_fit"] = 5
    frame.loc[frame["lead_id"] == "w", "lead_last_name"] = "Adams"
    assert ranks(rank_leads(frame)) == {"z": 1, "y": 2, "w": 3, "x": 4}


def test_ranking_is_deterministic_whatever_the_input_order() -> None:
    frame = leads([(f"id{i}", "a.com", 50 + i % 3, True) for i in range(12)])
    first = ranks(rank_leads(frame))
    shuffled = ranks(rank_leads(frame.sample(frac=1, random_state=7)))
    assert first == shuffled
    assert sorted(first.values()) == list(range(1, 13))


def test_company_without_relevant_leads_has_no_ranks() -> None:
    ranked = rank_leads(leads([("a1", "a.com", 5, False), ("a2", "a.com", 0, False)]))
    assert ranked["company_rank"].isna().all()


def test_empty_input() -> None:
    ranked = rank_leads(leads([]))
    assert ranked.empty
    assert "company_rank" in ranked.columns


def test_campaign_takes_top_n_per_company() -> None:
    rows = [(f"a{i}", "a.com", 90 - i, True) for i in range(5)] + [("b1", "b.com", 40, True)]
    ranked = rank_leads(leads(rows))
    for column in {*CAMPAIGN_COLUMNS, "suppressed_reason"} - set(ranked.columns):
        ranked[column] = ""
    chosen = campaign_rows(ranked, top_n=3)
    assert chosen.groupby("company_key").size().to_dict() == {"a.com": 3, "b.com": 1}
    assert list(chosen["lead_id"]) == ["a0", "a1", "a2", "b1"]


def test_a_suppressed_lead_keeps_its_rank_and_the_next_takes_its_campaign_place() -> None:
    rows = [(f"a{i}", "a.com", 90 - i, True) for i in range(5)]
    ranked = rank_leads(leads(rows))
    for column in set(CAMPAIGN_COLUMNS) - set(ranked.columns):
        ranked[column] = ""
    ranked["suppressed_reason"] = ["", "opted out (email x@a.com)", "", "", ""]
    chosen = campaign_rows(ranked, top_n=3)
    assert list(chosen["lead_id"]) == ["a0", "a2", "a3"]
    assert list(chosen["company_rank"]) == [1, 3, 4]


def test_campaign_rejects_non_positive_top_n() -> None:
    with pytest.raises(ValueError, match="top_n"):
        campaign_rows(rank_leads(leads([])), top_n=0)


def test_ranked_leads_refuse_leads_without_evaluation() -> None:
    enriched = pd.DataFrame({"lead_id": ["a1", "b1"], "company_key": ["a.com", "b.com"]})
    evaluations = pd.DataFrame(
        {"lead_id": ["a1", "gone"], "company_key": ["a.com", "old.com"], "relevance_score": [9, 9]}
    )
    with pytest.raises(MissingEvaluationsError, match=r"1 lead\(s\) at 1 compan\(ies\).*b\.com"):
        build_ranked_leads(enriched, evaluations)

"""The persona's ladder per company: rung by rung, sizes that limit a rung, the cap, and what
stays never. Companies, people and titles here are made up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.leads.files import read_lead_file
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import evaluate_with_rules
from pipeline.ranking.ranked_table import build_ranked_leads

Evaluate = Callable[[list[tuple[str, str]]], pd.DataFrame]


@pytest.fixture
def rank_company(persona: Persona, write_leads: Callable[..., Path]) -> Callable[..., pd.DataFrame]:
    """Ranks one made-up company of the given size from its titles, indexed by title."""

    def rank(employees: str, titles: list[str], company: str = "Northwind Tools") -> pd.DataFrame:
        domain = company.lower().replace(" ", "") + ".example"
        rows = [
            (company, f"First{number}", f"Last{number}", title, domain, employees, "")
            for number, title in enumerate(titles)
        ]
        enriched = enrich_leads(read_lead_file(write_leads(rows)).leads, persona)
        evaluations = evaluate_with_rules(enriched, persona, "rules", datetime.now(UTC))
        return build_ranked_leads(enriched, evaluations).set_index("lead_job_title")

    return rank


def ranked_titles(ranked: pd.DataFrame) -> list[str]:
    return list(ranked[ranked["company_rank"].notna()].sort_values("company_rank").index)


def test_a_company_is_ranked_rung_by_rung(rank_company: Callable[..., pd.DataFrame]) -> None:
    ranked = rank_company(
        "51-200",
        [
            "Sales Development Representative",
            "Partnerships Manager",
            "Chief Executive Officer",
            "Vice President of Sales",
            "Director of Brand Marketing",
            "Head of Partnerships",
            "Senior Software Engineer",
            "HR Generalist",
        ],
    )
    assert ranked_titles(ranked) == [
        "Vice President of Sales",  # primary target
        "Head of Partnerships",  # commercial leader
        "Chief Executive Officer",  # company leader
        "Partnerships Manager",  # commercial manager
        "Director of Brand Marketing",  # marketing leader, reached at an SMB
        "Sales Development Representative",  # commercial individual contributor
    ]
    assert ranked.loc["Senior Software Engineer", "ladder_rung"] == ""
    assert "Do not contact" in ranked.loc["HR Generalist", "reasoning"]


def test_scores_say_the_rung(rank_company: Callable[..., pd.DataFrame], persona: Persona) -> None:
    ranked = rank_company(
        "51-200",
        ["Vice President of Sales", "Head of Partnerships", "Chief Executive Officer", "AE"],
    )
    for rung in persona.ladder:
        on_it = ranked[(ranked["ladder_rung"] == rung.name) & ranked["company_rank"].notna()]
        assert on_it["relevance_score"].between(rung.low_score, rung.high_score).all()
    assert ranked["is_relevant"].sum() == 4


def test_a_ceo_at_a_larger_company_ranks_below_everyone_better_not_never(
    rank_company: Callable[..., pd.DataFrame],
) -> None:
    ranked = rank_company(
        "501-1000", ["Chief Executive Officer", "Area Sales Manager", "Warehouse Operator"]
    )
    assert ranked_titles(ranked) == ["Area Sales Manager", "Chief Executive Officer"]
    alone = rank_company("1001-5000", ["Chief Executive Officer", "Plant Operator"], "Bigco")
    assert ranked_titles(alone) == ["Chief Executive Officer"]
    assert "best available: company leader" in alone.loc["Chief Executive Officer", "reasoning"]


def test_a_size_limited_rung_is_reached_elsewhere_only_when_nobody_better_works_there(
    rank_company: Callable[..., pd.DataFrame],
) -> None:
    with_sales = rank_company("1001-5000", ["Chief Technology Officer", "VP Sales Development"])
    assert ranked_titles(with_sales) == ["VP Sales Development"]
    reason = with_sales.loc["Chief Technology Officer", "reasoning"]
    assert "not ranked" in reason and "nobody better" in reason
    alone = rank_company("1001-5000", ["Chief Technology Officer", "Machine Operator"], "Deepco")
    assert ranked_titles(alone) == ["Chief Technology Officer"]
    assert (
        "best available: product or technology leader"
        in alone.loc["Chief Technology Officer", "reasoning"]
    )


def test_at_most_the_configured_number_of_leads_is_ranked_per_company(
    rank_company: Callable[..., pd.DataFrame], persona: Persona
) -> None:
    titles = [f"Area Sales Manager, District {number}" for number in range(14)]
    ranked = rank_company("201-500", titles)
    assert ranked["company_rank"].notna().sum() == persona.max_ranked_per_company
    cut = ranked[ranked["company_rank"].isna()]
    assert len(cut) == 14 - persona.max_ranked_per_company
    assert cut["reasoning"].str.contains("best contacts come first").all()
    assert (cut["relevance_score"] < persona.relevance_threshold).all()


def test_a_company_with_nobody_plausible_gets_no_rank(
    rank_company: Callable[..., pd.DataFrame],
) -> None:
    ranked = rank_company("201-500", ["Accountant", "Welding Supervisor", "Payroll Specialist"])
    assert ranked["company_rank"].isna().all()


def test_the_staff_of_a_public_administration_are_never_contacted(
    rank_company: Callable[..., pd.DataFrame],
) -> None:
    ranked = rank_company(
        "1001-5000",
        ["Head of Communications", "President of the Planning Board", "Procurement Officer"],
        company="Springfield City Council",
    )
    assert ranked["company_rank"].isna().all()
    assert ranked["reasoning"].str.contains("Public administration").all()


def test_someone_working_at_another_firm_is_not_contacted_whatever_the_role(
    rank_company: Callable[..., pd.DataFrame],
) -> None:
    ranked = rank_company(
        "51-200",
        [
            "Account Executive at Globex",
            "Sales Manager at Initech Europe",
            "Head of Sales at a fast-growing startup",
            "Business Development Lead at International Widget Makers",
        ],
        company="Initech",
    )
    assert "another firm" in ranked.loc["Account Executive at Globex", "reasoning"]
    assert ranked.loc["Sales Manager at Initech Europe", "company_rank"] > 0
    # A phrase in lower case names no firm.
    assert ranked.loc["Head of Sales at a fast-growing startup", "company_rank"] > 0
    initials = rank_company(
        "51-200", ["Sales Manager at International Widget Makers"], company="IWM"
    )
    assert initials["company_rank"].notna().all()

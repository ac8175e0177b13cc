"""The general rules behind the quality figures: people who do not work at the company,
taglines, business development, go-to-market leaders, and the best-available fallback."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.leads.files import read_lead_file
from pipeline.persona.spec import Persona
from pipeline.persona.titles import parse_title
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import evaluate_with_rules
from pipeline.ranking.rules import BASIS_BEST_AVAILABLE, BASIS_HARD_EXCLUSION, evaluate_title


def judge(title: str, band: str, persona: Persona) -> tuple[int, bool, str]:
    verdict = evaluate_title(parse_title(title, persona), band, persona)
    return verdict.relevance_score, verdict.is_relevant, verdict.basis


def evaluate_file(
    rows: list[tuple[str, ...]], write_leads: Callable[..., Path], persona: Persona
) -> pd.DataFrame:
    enriched = enrich_leads(read_lead_file(write_leads(rows)).leads, persona)
    evaluations = evaluate_with_rules(enriched, persona, "rules", datetime.now(UTC))
    return enriched[["lead_id", "lead_job_title"]].merge(evaluations, on="lead_id")


@pytest.mark.parametrize(
    "title",
    [
        "Angel Investor",
        "Investor, Advisor, Former Airbnb Eng Leader",
        "Ex-VP Sales",
        "Retired Sales Director",
        "Student at State University",
        "Sales Director | Open to work",
        "SWE Intern @ Acme",
    ],
)
def test_people_who_do_not_work_there_are_excluded(persona: Persona, title: str) -> None:
    assert judge(title, "smb", persona)[1:] == (False, BASIS_HARD_EXCLUSION)


def test_a_founder_of_another_firm_is_excluded_but_not_a_founder_of_this_one(
    persona: Persona, write_leads: Callable[..., Path]
) -> None:
    rows = [
        ("Acme", "Ana", "Ruiz", "Founding Partner at Nosara Capital", "acme.io", "11-50", ""),
        ("Acme", "Bo", "Li", "Founder & CEO @ ACME | Building things", "acme.io", "11-50", ""),
        ("Acme", "Cy", "Ng", "Sales Director at Acme Europe", "acme.io", "11-50", ""),
    ]
    result = evaluate_file(rows, write_leads, persona).set_index("lead_job_title")
    other_firm = result.loc["Founding Partner at Nosara Capital"]
    assert other_firm["decision_basis"] == BASIS_HARD_EXCLUSION
    assert "leader of another firm" in other_firm["reasoning"]
    assert result.loc["Founder & CEO @ ACME | Building things"]["is_relevant"]
    assert result.loc["Sales Director at Acme Europe"]["is_relevant"]


def test_business_development_counts_as_sales_development(persona: Persona) -> None:
    assert parse_title("Director, Business Development", persona).departments == {
        "sales_development"
    }
    score, relevant, _ = judge("Business Development Manager", "enterprise", persona)
    assert relevant and score >= 70


def test_a_president_of_a_function_is_not_the_company_president(persona: Persona) -> None:
    profile = parse_title("President, Go To Market", persona)
    assert profile.seniority == "vice_president"
    assert "ceo_president" not in profile.tags
    assert judge("President, Go To Market", "mid_market", persona)[1]
    assert not judge("President", "mid_market", persona)[1]
    assert not judge("Founder & President", "mid_market", persona)[1]


def test_a_leader_heads_a_function_but_a_team_leader_is_a_manager(persona: Persona) -> None:
    assert parse_title("Strategic Business Development Leader", persona).seniority == "director"
    assert parse_title("Sales Team Leader", persona).seniority == "manager"


@pytest.mark.parametrize(
    "title", ["Sales Enablement Manager", "VP of Global Revenue Enablement", "Account Manager"]
)
def test_enablement_and_account_management_own_no_pipeline(persona: Persona, title: str) -> None:
    assert not judge(title, "mid_market", persona)[1]


def test_a_sentence_tagline_does_not_deprioritise_the_role(persona: Persona) -> None:
    title = "VP Sales EMEA for SaaS companies. Business Advisor and Board Member for Start-Ups."
    assert judge(title, "mid_market", persona)[1]


def test_a_chief_of_staff_counts_at_a_startup_only(persona: Persona) -> None:
    assert judge("Chief of Staff", "startup", persona)[1]
    assert not judge("Chief of Staff", "enterprise", persona)[1]


def test_best_available_when_a_company_has_no_primary_target(
    persona: Persona, write_leads: Callable[..., Path]
) -> None:
    rows = [
        ("Toolco", "Ana", "Ruiz", "Senior Director of Growth", "toolco.com", "51-200", ""),
        ("Toolco", "Bo", "Li", "Founder & CEO", "toolco.com", "51-200", ""),
        ("Toolco", "Cy", "Ng", "SDR", "toolco.com", "51-200", ""),
        ("Toolco", "Di", "Oz", "Software Engineer", "toolco.com", "51-200", ""),
        ("Toolco", "Ed", "Po", "Sales Assistant", "toolco.com", "51-200", ""),
        ("Bigco", "Fa", "Qi", "VP of Sales", "bigco.com", "51-200", ""),
        ("Bigco", "Gu", "Ra", "SDR", "bigco.com", "51-200", ""),
    ]
    result = evaluate_file(rows, write_leads, persona).set_index(["company_key", "lead_job_title"])
    lifted = result.loc["toolco.com"]
    assert lifted.loc["Senior Director of Growth", "decision_basis"] == BASIS_BEST_AVAILABLE
    ordered = lifted[lifted["is_relevant"]].sort_values("relevance_score", ascending=False)
    assert list(ordered.index) == ["Senior Director of Growth", "Founder & CEO", "SDR"]
    assert ordered["relevance_score"].between(50, 60).all()
    assert "best available" in ordered.iloc[0]["reasoning"]
    assert not lifted.loc["Software Engineer", "is_relevant"]
    assert not lifted.loc["Sales Assistant", "is_relevant"]
    # A company with a primary target keeps the persona's strict cut.
    assert not result.loc[("bigco.com", "SDR"), "is_relevant"]

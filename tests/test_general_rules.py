"""The general rules behind the quality figures: people who do not work at the company,
taglines, business development, go-to-market leaders, roles and qualifiers."""

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
from pipeline.ranking.rules import BASIS_HARD_EXCLUSION, evaluate_title


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
    assert "working at another firm" in other_firm["reasoning"]
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
    assert judge("President, Go To Market", "mid_market", persona)[2] == "primary_target"
    company_president = evaluate_title(parse_title("President", persona), "mid_market", persona)
    assert company_president.rung == "company leader"


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


@pytest.mark.parametrize("band", ["startup", "enterprise"])
def test_a_chief_of_staff_leads_with_the_company(persona: Persona, band: str) -> None:
    verdict = evaluate_title(parse_title("Chief of Staff", persona), band, persona)
    assert verdict.rung == "company leader"


@pytest.mark.parametrize(
    ("title", "tags_absent"),
    [
        ("Head of Sales - trusted advisor to manufacturers", {"advisor"}),
        ("VP of Sales, ex-Oracle", {"former"}),
        ("Founder & CEO, angel investor", {"investor"}),
        ("Regional Sales Director; board member of a charity", {"advisor"}),
        ("Sales Director (former Olympic rower)", {"former"}),
    ],
)
def test_a_qualifier_after_the_role_adds_no_status(
    persona: Persona, title: str, tags_absent: set[str]
) -> None:
    """A title's role is what the person does: a past, a pitch or a side role after a comma
    or a dash neither changes the role nor excludes it."""
    profile = parse_title(title, persona)
    assert not profile.tags & tags_absent
    assert judge(title, "mid_market", persona)[1]


def test_a_status_in_the_role_itself_still_counts(persona: Persona) -> None:
    assert judge("Former VP of Sales", "smb", persona)[2] == BASIS_HARD_EXCLUSION
    assert judge("Angel Investor, Founder", "smb", persona)[2] == BASIS_HARD_EXCLUSION
    assert "advisor" in parse_title("Sales Advisor to the Board", persona).tags


def test_a_long_pitch_segment_is_dropped_from_the_role(persona: Persona) -> None:
    profile = parse_title(
        "Sales Director, helping every partner and consultant we work with to grow faster",
        persona,
    )
    assert profile.role_text == "sales director"


@pytest.mark.parametrize(
    ("title", "seniority", "departments", "tags"),
    [
        ("Chief Commercial Officer", "c_level", {"sales"}, {"cro"}),
        ("CCO", "c_level", {"sales"}, {"cro"}),
        ("Chief Revenue & Growth Officer", "c_level", {"sales", "gtm_growth"}, {"cro"}),
        ("CBO", "c_level", {"sales_development"}, set()),
        ("CPTO", "c_level", {"product", "engineering"}, set()),
        ("COO", "c_level", {"executive"}, set()),
        ("SVP & GM, Americas", "c_level", {"executive"}, set()),
        ("Head of Sales & Marketing", "director", {"sales", "marketing"}, {"head"}),
        ("Sales Leadership", "director", {"sales"}, set()),
        ("Pre-Sales Engineer", "individual_contributor", {"sales", "engineering"}, set()),
    ],
)
def test_compound_and_abbreviated_roles_are_understood(
    persona: Persona, title: str, seniority: str, departments: set[str], tags: set[str]
) -> None:
    profile = parse_title(title, persona)
    assert profile.seniority == seniority
    assert departments <= profile.departments
    assert tags <= profile.tags


def test_a_sales_leader_who_also_runs_marketing_is_not_deprioritised(persona: Persona) -> None:
    both = evaluate_title(parse_title("Head of Sales & Marketing", persona), "smb", persona)
    assert "deprioritised" not in both.reasoning
    assert both.rung == "primary target"


@pytest.mark.parametrize(
    ("title", "seniority", "departments"),
    [
        ("Direttore Commerciale", "director", {"sales"}),
        ("Amministratore Delegato", "c_level", {"executive"}),
        ("Oprichter & Eigenaar", "founder_owner", {"executive"}),
        ("Consejero Delegado", "c_level", {"executive"}),
        ("Chargé d'affaires", "individual_contributor", {"sales"}),
    ],
)
def test_roles_in_more_languages(
    persona: Persona, title: str, seniority: str, departments: set[str]
) -> None:
    profile = parse_title(title, persona)
    assert (profile.seniority, departments <= profile.departments) == (seniority, True)


def test_a_plain_partner_is_left_to_the_model_but_a_senior_partner_owns_the_firm(
    persona: Persona,
) -> None:
    assert parse_title("Partner", persona).departments == frozenset()
    assert "owner" in parse_title("Senior Partner", persona).tags
    assert "hr" in parse_title("HR Business Partner", persona).departments

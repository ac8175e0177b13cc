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
from pipeline.ranking.rules import (
    BASIS_HARD_EXCLUSION,
    BASIS_PRIMARY_TARGET,
    Verdict,
    evaluate_title,
)


def judge(title: str, band: str, persona: Persona) -> Verdict:
    return evaluate_title(parse_title(title, persona), band, persona)


def evaluate_file(
    rows: list[tuple[str, ...]], write_leads: Callable[..., Path], persona: Persona
) -> pd.DataFrame:
    enriched = enrich_leads(read_lead_file(write_leads(rows)).leads, persona)
    evaluations = evaluate_with_rules(enriched, persona, "rules", datetime.now(UTC))
    return enriched[["lead_id", "lead_job_title", "title_status"]].merge(evaluations, on="lead_id")


@pytest.mark.parametrize(
    "title",
    [
        "Business Angel",
        "Investor, Mentor, Former Engineering Leader",
        "Ex-VP Sales",
        "Retired Sales Director",
        "Sales Director (retired)",
        "Student at State University",
        "Sales Director | Open to work",
        "Head of Sales - between roles",
        "SWE Intern @ Acme",
        "Business Development | MBA student",
    ],
)
def test_people_who_do_not_work_there_are_excluded(persona: Persona, title: str) -> None:
    verdict = judge(title, "smb", persona)
    assert (verdict.is_relevant, verdict.basis) == (False, BASIS_HARD_EXCLUSION)
    assert "Not a current employee" in verdict.reasoning or "Not an employee" in verdict.reasoning


def test_a_leader_of_another_organisation_is_excluded_but_not_a_founder_of_this_one(
    persona: Persona, write_leads: Callable[..., Path]
) -> None:
    rows = [
        ("Acme", "Ana", "Ruiz", "Founding Partner at Granite Ventures", "acme.io", "11-50", ""),
        ("Acme", "Eva", "Lo", "Partner, Redwood Capital", "acme.io", "11-50", ""),
        ("Acme", "Ida", "Ko", "President of the Chess Society", "acme.io", "201-500", ""),
        ("Acme", "Bo", "Li", "Founder & CEO @ ACME | Building things", "acme.io", "11-50", ""),
        ("Acme", "Cy", "Ng", "Sales Director at Acme Europe", "acme.io", "11-50", ""),
        ("Acme", "Di", "Oh", "Co-Founder & CEO, Acme Labs", "acme.io", "11-50", ""),
    ]
    result = evaluate_file(rows, write_leads, persona).set_index("lead_job_title")
    for elsewhere in (
        "Founding Partner at Granite Ventures",
        "Partner, Redwood Capital",
        "President of the Chess Society",
    ):
        assert result.loc[elsewhere, "title_status"] == "other_organisation"
        assert result.loc[elsewhere, "decision_basis"] == BASIS_HARD_EXCLUSION
        assert "working at another firm" in result.loc[elsewhere, "reasoning"]
    for here in (
        "Founder & CEO @ ACME | Building things",
        "Sales Director at Acme Europe",
        "Co-Founder & CEO, Acme Labs",
    ):
        assert result.loc[here, "title_status"] == "current"
        assert result.loc[here, "is_relevant"]


def test_business_development_is_its_own_department_ranked_with_sales_development(
    persona: Persona,
) -> None:
    """Sales practice: business development is the new-business team that opens pipeline, so
    its leaders stand with the sales development leaders; but it keeps its own fit and never
    earns rule of thumb 2's sales development bonus."""
    assert parse_title("Director, New Business Development", persona).departments == {
        "business_development"
    }
    development = judge("Business Development Director", "mid_market", persona)
    sales_development = judge("Sales Development Director", "mid_market", persona)
    assert development.basis == sales_development.basis == BASIS_PRIMARY_TARGET
    assert "+5 sales development" not in development.reasoning
    assert "+5 sales development" in sales_development.reasoning
    assert development.fit < sales_development.fit
    assert development.department_fit == 4 and sales_development.department_fit == 5


def test_partnerships_and_channels_rank_as_commercial_roles_but_no_outbound_targets(
    persona: Persona,
) -> None:
    for title in ("Director of Channel Sales", "Head of Strategic Alliances"):
        verdict = judge(title, "mid_market", persona)
        assert verdict.rung == "commercial leader", verdict.reasoning
    assert judge("Key Account Manager", "mid_market", persona).rung == (
        "commercial individual contributor"
    )


def test_a_president_of_a_function_is_not_the_company_president(persona: Persona) -> None:
    profile = parse_title("President, Growth", persona)
    assert profile.seniority == "vice_president"
    assert "ceo_president" not in profile.tags
    assert judge("President, Growth", "mid_market", persona).basis == BASIS_PRIMARY_TARGET
    company_president = judge("President", "mid_market", persona)
    assert company_president.rung == "company leader"


def test_a_leader_heads_a_function_at_director_level_but_is_no_head(persona: Persona) -> None:
    leader = parse_title("Commercial Excellence Leader", persona)
    assert leader.seniority == "director" and "head" not in leader.tags
    assert parse_title("Sales Team Leader", persona).seniority == "manager"
    # A "Head of Sales" target needs a head; an evangelist is no head of anything.
    assert judge("Sales Evangelist and Thought Leader", "smb", persona).basis != (
        BASIS_PRIMARY_TARGET
    )


@pytest.mark.parametrize(
    "title", ["Sales Enablement Manager", "VP of Revenue Enablement", "Account Manager, Renewals"]
)
def test_enablement_and_account_management_own_no_pipeline(persona: Persona, title: str) -> None:
    verdict = judge(title, "mid_market", persona)
    assert not verdict.is_relevant
    assert "on no rung" in verdict.reasoning


def test_a_sentence_tagline_does_not_deprioritise_the_role(persona: Persona) -> None:
    title = "VP Sales DACH for industrial firms. Business Advisor and Board Member for startups."
    verdict = judge(title, "mid_market", persona)
    assert verdict.is_relevant and "deprioritised" not in verdict.reasoning


def test_a_chief_of_staff_runs_the_executive_office_not_the_company(persona: Persona) -> None:
    """The persona names no such role: a chief of staff is neither a company leader nor a
    commercial one."""
    verdict = judge("Chief of Staff", "startup", persona)
    assert verdict.rung == "" and not verdict.is_relevant


@pytest.mark.parametrize(
    ("title", "tags_absent"),
    [
        ("Head of Sales - trusted advisor to manufacturers", {"advisor"}),
        ("VP of Sales, ex-Initech", {"former"}),
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
    verdict = judge(title, "mid_market", persona)
    assert verdict.is_relevant and "current" in verdict.reasoning


def test_a_status_in_the_role_itself_still_counts(persona: Persona) -> None:
    assert judge("Former VP of Sales", "smb", persona).basis == BASIS_HARD_EXCLUSION
    assert judge("Angel Investor, Founder", "smb", persona).basis == BASIS_HARD_EXCLUSION
    assert "advisor" in parse_title("Sales Advisor to the Board", persona).tags


def test_a_pitch_segment_is_dropped_from_the_role(persona: Persona) -> None:
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
        ("CBO", "c_level", {"business_development"}, set()),
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
    both = judge("Head of Sales & Marketing", "smb", persona)
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
        ("Försäljningschef", "director", {"sales"}),
        ("Dyrektor Sprzedaży", "director", {"sales"}),
    ],
)
def test_roles_in_more_languages(
    persona: Persona, title: str, seniority: str, departments: set[str]
) -> None:
    profile = parse_title(title, persona)
    assert (profile.seniority, departments <= profile.departments) == (seniority, True)


def test_a_plain_partner_is_unread_and_a_partner_of_a_named_firm_works_there(
    persona: Persona,
) -> None:
    assert parse_title("Partner", persona).departments == frozenset()
    assert "owner" not in parse_title("Senior Partner", persona).tags
    assert "owner" in parse_title("Managing Partner", persona).tags
    assert "hr" in parse_title("HR Business Partner", persona).departments


@pytest.mark.parametrize(
    "title", ["Fractional CRO", "Interim Head of Sales", "Head of Sales (Interim)"]
)
def test_a_fractional_or_interim_leader_is_deprioritised_not_excluded(
    persona: Persona, title: str
) -> None:
    verdict = judge(title, "smb", persona)
    assert verdict.is_relevant
    assert "deprioritised as Fractional or interim" in verdict.reasoning
    assert "fractional" in verdict.reasoning

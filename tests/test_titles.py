import pytest

from pipeline.persona.spec import Persona
from pipeline.persona.titles import (
    FLAG_EMPTY,
    FLAG_TAGLINE,
    FLAG_TRANSLATED,
    parse_title,
    split_tagline,
)


@pytest.mark.parametrize(
    ("title", "role", "cut"),
    [
        (
            "Senior Director of Growth @ TOOLBX | Powering e-commerce",
            "Senior Director of Growth",
            True,
        ),
        ("Sales Development | TOOLBX", "Sales Development", True),
        (
            "Founder & CEO @ TOOLBX - Digital experience platform for modern building suppliers",
            "Founder & CEO",
            True,
        ),
        (
            "Sr. Vice President - Global Business Development & Consulting",
            "Sr. Vice President - Global Business Development & Consulting",
            False,
        ),
        (
            "VP Sales - Helping manufacturers sell into hospitals across North America",
            "VP Sales",
            True,
        ),
        ("Head of Sales at Acme", "Head of Sales", True),
        (
            "VP Sales EMEA for SaaS companies. Business Advisor and Board Member for Start-Ups.",
            "VP Sales EMEA for SaaS companies",
            True,
        ),
        ("Sr. Director, Revenue Operations", "Sr. Director, Revenue Operations", False),
        (
            "Entrepreneur. Operator. Angel Investor.",
            "Entrepreneur. Operator. Angel Investor.",
            False,
        ),
        ("  Sales Manager  ", "Sales Manager", False),
    ],
)
def test_split_tagline(title: str, role: str, cut: bool) -> None:
    assert split_tagline(title) == (role, cut)


@pytest.mark.parametrize(
    ("title", "seniority", "departments"),
    [
        ("VP of Sales", "vice_president", {"sales"}),
        ("Vice President of Sales Development", "vice_president", {"sales_development"}),
        ("Head of Revenue Operations", "director", {"revenue_operations"}),
        ("Co-Founder & CTO", "founder_owner", {"executive", "engineering"}),
        ("Chief Revenue Officer (CRO)", "c_level", {"sales"}),
        ("Regional Sales Manager", "manager", {"sales"}),
        ("Strategic Account Manager", "individual_contributor", {"account_management"}),
        (
            "Senior Executive Assistant: Chief Financial Officer",
            "individual_contributor",
            {"finance"},
        ),
        ("Sales Development Representative", "individual_contributor", {"sales_development"}),
        ("Welder", "individual_contributor", {"operations"}),
        ("Human Resources Specialist", "individual_contributor", {"hr"}),
    ],
)
def test_parse_english_titles(
    persona: Persona, title: str, seniority: str, departments: set[str]
) -> None:
    profile = parse_title(title, persona)
    assert profile.seniority == seniority
    assert profile.departments == departments


@pytest.mark.parametrize(
    ("title", "seniority", "departments"),
    [
        ("Director Comercial", "director", {"sales"}),  # Spanish
        ("Gerente de Ventas", "manager", {"sales"}),  # Spanish
        ("Directeur Commercial France", "director", {"sales"}),  # French
        ("Assistante Ressources Humaines", "individual_contributor", {"hr"}),  # French
        ("Vertriebsleiter DACH", "director", {"sales"}),  # German
        ("Geschäftsführer", "c_level", {"executive"}),  # German
        ("Diretor de Vendas", "director", {"sales"}),  # Portuguese
        ("Fundador y CEO", "founder_owner", {"executive"}),  # Spanish
    ],
)
def test_parse_titles_in_other_languages(
    persona: Persona, title: str, seniority: str, departments: set[str]
) -> None:
    profile = parse_title(title, persona)
    assert (profile.seniority, profile.departments) == (seniority, departments)
    assert FLAG_TRANSLATED in profile.flags


def test_vice_president_is_not_a_president(persona: Persona) -> None:
    profile = parse_title("Vice President Marketing", persona)
    assert "ceo_president" not in profile.tags
    assert profile.seniority == "vice_president"


def test_partnerships_is_not_a_partner(persona: Persona) -> None:
    profile = parse_title("Strategic Partnerships", persona)
    assert "owner" not in profile.tags
    assert profile.departments == {"business_development"}


@pytest.mark.parametrize("title", ["", "   ", "undefined", "N/A", "null", "-", "???"])
def test_empty_and_junk_titles(persona: Persona, title: str) -> None:
    assert FLAG_EMPTY in parse_title(title, persona).flags


def test_tagline_flag(persona: Persona) -> None:
    profile = parse_title("Director of Marketing @ Toolbx | Powering B2B growth", persona)
    assert FLAG_TAGLINE in profile.flags
    assert profile.departments == {"marketing"}  # "growth" in the tagline does not count

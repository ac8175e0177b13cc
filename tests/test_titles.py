"""Title parsing: taglines, pitches, junk, other languages and scripts, the head of a title."""

import re
from random import Random

import pytest

from pipeline.leads.text import UNSPACED_SCRIPTS
from pipeline.persona.phrases import phrase_pattern
from pipeline.persona.spec import Persona
from pipeline.persona.titles import (
    FLAG_EMPTY,
    FLAG_TAGLINE,
    FLAG_TRANSLATED,
    FLAG_UNREAD,
    parse_title,
    split_tagline,
    title_level,
    title_status,
)


def read_as(title: str, persona: Persona) -> tuple[str, frozenset[str]]:
    """A title's level and functions."""
    profile = parse_title(title, persona)
    return title_level(profile.seniority, profile.tags), profile.departments


@pytest.mark.parametrize(
    ("title", "role", "cut"),
    [
        (
            "Senior Director of Growth @ NORTHWIND | Powering procurement",
            "Senior Director of Growth",
            True,
        ),
        ("Sales Development | NORTHWIND", "Sales Development", True),
        (
            "Founder & CEO @ Northwind - Ordering software for hardware stores",
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
            "VP Sales DACH for industrial firms. Mentor and Speaker for founders.",
            "VP Sales DACH for industrial firms",
            True,
        ),
        ("Vice Pres. Sales", "Vice Pres. Sales", False),
        ("Sr. Director, Revenue Operations", "Sr. Director, Revenue Operations", False),
        ("Builder. Operator. Angel Investor.", "Builder. Operator. Angel Investor.", False),
        ("  Sales Manager  ", "Sales Manager", False),
    ],
)
def test_split_tagline(persona: Persona, title: str, role: str, cut: bool) -> None:
    assert split_tagline(title, persona) == (role, cut)


@pytest.mark.parametrize(
    ("title", "level", "departments"),
    [
        ("VP of Sales", "vice_president", {"sales"}),
        ("Vice President of Sales Development", "vice_president", {"sales_development"}),
        ("Head of Revenue Operations", "head", {"revenue_operations"}),
        ("Co-Founder & CTO", "founder_owner", {"executive", "engineering"}),
        ("Chief Revenue Officer (CRO)", "c_level", {"sales"}),
        ("Area Sales Manager", "manager", {"sales"}),
        ("Strategic Account Manager", "individual_contributor", {"account_management"}),
        (
            "Executive Assistant to the Chief Financial Officer",
            "individual_contributor",
            {"finance"},
        ),
        ("Sales Development Representative", "individual_contributor", {"sales_development"}),
        ("Welder", "individual_contributor", {"operations"}),
        ("Human Resources Specialist", "individual_contributor", {"hr"}),
    ],
)
def test_parse_english_titles(
    persona: Persona, title: str, level: str, departments: set[str]
) -> None:
    assert read_as(title, persona) == (level, departments)


@pytest.mark.parametrize(
    ("title", "level", "departments"),
    [
        ("Director Comercial", "director", {"sales"}),  # Spanish
        ("Gerente de Ventas", "manager", {"sales"}),  # Spanish
        ("Directeur Commercial France", "director", {"sales"}),  # French
        ("Assistante Ressources Humaines", "individual_contributor", {"hr"}),  # French
        ("Vertriebsleiter DACH", "head", {"sales"}),  # German
        ("Geschäftsführer", "c_level", {"executive"}),  # German
        ("Diretor de Vendas", "director", {"sales"}),  # Portuguese
        ("Fundador y CEO", "founder_owner", {"executive"}),  # Spanish
        ("Директор по продажам", "director", {"sales"}),  # Russian
        ("Главный бухгалтер", "c_level", {"finance"}),  # Russian
        ("営業部長", "head", {"sales"}),  # Japanese
        ("经理 人力资源", "manager", {"hr"}),  # Chinese
        ("مدير المبيعات", "director", {"sales"}),  # Arabic
        ("Διευθυντής Πωλήσεων", "director", {"sales"}),  # Greek
    ],
)
def test_parse_titles_in_other_languages_and_scripts(
    persona: Persona, title: str, level: str, departments: set[str]
) -> None:
    assert read_as(title, persona) == (level, departments)
    assert FLAG_TRANSLATED in parse_title(title, persona).flags


def test_latin_words_beside_chinese_are_read_too(persona: Persona) -> None:
    profile = parse_title("联合创始人兼CEO", persona)
    assert {"founder", "ceo_president"} <= profile.tags


def test_vice_president_is_not_a_president(persona: Persona) -> None:
    profile = parse_title("Vice President Marketing", persona)
    assert "ceo_president" not in profile.tags
    assert profile.seniority == "vice_president"


def test_partnerships_is_not_a_partner(persona: Persona) -> None:
    profile = parse_title("Strategic Partnerships", persona)
    assert "owner" not in profile.tags
    assert profile.departments == {"partnerships"}


@pytest.mark.parametrize("title", ["", "   ", "undefined", "N/A", "null", "-", "???", "1234"])
def test_empty_and_junk_titles(persona: Persona, title: str) -> None:
    assert FLAG_EMPTY in parse_title(title, persona).flags


@pytest.mark.parametrize("title", ["ผู้จัดการฝ่ายขาย", "Entrepreneur", "Vice President"])
def test_a_title_with_no_function_read_is_unread_never_empty(persona: Persona, title: str) -> None:
    flags = parse_title(title, persona).flags
    assert FLAG_UNREAD in flags and FLAG_EMPTY not in flags


def test_tagline_flag(persona: Persona) -> None:
    profile = parse_title("Director of Marketing @ Northwind | Powering B2B growth", persona)
    assert FLAG_TAGLINE in profile.flags
    assert profile.departments == {"marketing"}  # "growth" in the tagline does not count


@pytest.mark.parametrize(
    ("title", "status"),
    [
        ("Sales Director | Open to work", "open_to_work"),
        ("Head of Sales (Interim)", "fractional"),
        ("Business Development | Student at State University", "student"),
        ("Sales Director (retired)", "former"),
        ("Head of Sales | ex-Salesforce", "current"),
        ("Director of Sales, formerly at Initech", "current"),
        ("CRO | Former founder", "current"),
    ],
)
def test_status_words_count_in_any_segment_but_history_is_no_status(
    persona: Persona, title: str, status: str
) -> None:
    profile = parse_title(title, persona)
    assert title_status(profile.tags, persona) == status
    assert profile.employer == ""


@pytest.mark.parametrize(
    ("title", "employer"),
    [
        ("Partner, Redwood Capital", "Redwood Capital"),
        ("President of the Debating Society", "Debating Society"),
        ("Co-Founder & CTO Lumen Labs", "Lumen Labs"),
        ("Founding Partner at Granite Ventures", "Granite Ventures"),
        ("Vice President of Sales, Acme Group", ""),
        ("Head of Sales, Acme Group", ""),
    ],
)
def test_a_leaders_role_names_the_organisation_it_is_held_at(
    persona: Persona, title: str, employer: str
) -> None:
    assert parse_title(title, persona).employer == employer


@pytest.mark.parametrize(
    ("title", "level", "departments"),
    [
        ("V.P. Sales Development", "vice_president", {"sales_development"}),
        ("Sr. Dir, Sales", "director", {"sales"}),
        ("Regional Sales Mgr", "manager", {"sales"}),
        ("Dir. of Business Development", "director", {"business_development"}),
        ("Acct Exec", "individual_contributor", {"sales"}),
    ],
)
def test_abbreviations_and_short_forms_are_read(
    persona: Persona, title: str, level: str, departments: set[str]
) -> None:
    assert read_as(title, persona) == (level, departments)


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Product Owner", "individual_contributor"),
        ("Process Owner", "individual_contributor"),
        ("Budget Owner", "individual_contributor"),
        ("Senior Partner Manager", "manager"),
        ("Principal Engineer", "individual_contributor"),
        ("Principal", "founder_owner"),
        ("Business Owner", "founder_owner"),
    ],
)
def test_owner_words_name_a_firms_owner_only_alone(
    persona: Persona, title: str, level: str
) -> None:
    profile = parse_title(title, persona)
    assert profile.seniority == level
    assert ("owner" in profile.tags) == (level == "founder_owner")


def test_a_deputy_is_no_assistant(persona: Persona) -> None:
    assert parse_title("Assistant Sales Manager", persona).seniority == "manager"
    assistant = parse_title("Assistant to the Sales Manager", persona)
    assert "assistant" in assistant.tags


UNSPACED = re.compile(f"[{UNSPACED_SCRIPTS}]")


def one_alternation(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """The phrase pattern written plainly: every phrase its own alternative, longest first."""
    ordered = sorted(phrases, key=lambda phrase: (-len(phrase), phrase))
    return re.compile(
        "|".join(
            re.escape(phrase) if UNSPACED.search(phrase) else rf"\b{re.escape(phrase)}\b"
            for phrase in ordered
        )
    )


def test_the_phrase_trie_finds_what_one_alternation_of_the_phrases_finds() -> None:
    # Shared prefixes, a phrase inside a longer one, scripts without spaces (alone and
    # mixed with Latin under one first letter), punctuation and a one-letter phrase.
    words = [
        "sales",
        "sale",
        "sales ops",
        "vp",
        "vp sales",
        "v",
        "c-level",
        "co-founder",
        "営業",
        "営業部長",
        "部長",
        "s営業",
        "head of",
        "head",
        "r&d",
        "de",
        "des",
    ]
    random = Random(5)
    phrases = tuple(dict.fromkeys(words))
    trie, plain = phrase_pattern(phrases), one_alternation(phrases)
    assert trie is not None
    pieces = [*words, "x", " ", "-", "of", "営", "業部", "salesforce", "devs", "&"]
    for _ in range(3000):
        text = "".join(random.choice(pieces) + random.choice(["", " "]) for _ in range(6))
        assert [m.span() for m in trie.finditer(text)] == [
            m.span() for m in plain.finditer(text)
        ], text

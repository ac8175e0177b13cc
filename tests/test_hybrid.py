"""Routing between the rules and the model, the answer cache key, and batches per company."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from pipeline.leads.files import read_lead_file
from pipeline.llm.prompts import LeadForModel
from pipeline.llm.routing import answer_cache_key, company_batches, leads_for_model, needs_model
from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import judge_with_rules


@pytest.fixture(scope="module")
def bundled(persona: Persona) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads = enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)
    return leads, judge_with_rules(leads, persona, "rules", datetime.now(UTC))


def test_clear_cases_stay_with_the_rules(bundled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    leads, rules = bundled
    routed = needs_model(leads, rules)
    settled = rules[~routed.to_numpy()]
    assert {"hard_exclusion", "primary_target", "empty_title"} <= set(settled["decision_basis"])
    assert (
        not rules[routed.to_numpy()]["decision_basis"]
        .isin(["hard_exclusion", "primary_target", "empty_title"])
        .any()
    )
    # A known department that does not buy (a welder: operations) is settled too.
    welders = leads["lead_job_title"].str.strip() == "Welder"
    assert welders.any() and not routed[welders].any()


def test_titles_the_rules_do_not_understand_go_to_the_model(
    bundled: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    leads, rules = bundled
    routed = needs_model(leads, rules)
    unread = rules["decision_basis"] == "unread_title"
    assert unread.any() and routed[unread.to_numpy()].all()
    assert (leads.loc[unread.to_numpy(), "title_departments"] == "").all()
    assert 0 < routed.sum() < len(leads) / 2


@pytest.mark.parametrize(
    ("title", "employees"),
    [
        ("Директор по продажам", "11-50"),  # Russian
        ("営業部長", "11-50"),  # Japanese
        ("مدير المبيعات", "11-50"),  # Arabic
        ("ผู้จัดการฝ่ายขาย", "11-50"),  # Thai: no vocabulary, read only by meaning or a model
    ],
)
def test_a_title_in_another_script_is_never_an_empty_title(
    persona: Persona, title: str, employees: str
) -> None:
    frame = pd.DataFrame(
        {
            "lead_id": ["1"],
            "company_key": ["acme.io"],
            "account_name": ["Acme"],
            "account_domain": ["acme.io"],
            "account_employee_range": [employees],
            "account_industry": [""],
            "lead_job_title": [title],
        }
    )
    leads = enrich_leads(frame, persona)
    rules = judge_with_rules(leads, persona, "rules", datetime.now(UTC))
    assert rules.loc[0, "decision_basis"] != "empty_title"
    assert needs_model(leads, rules).all()


def test_leads_the_size_rules_push_down_reach_the_model(
    bundled: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Below the primary targets the ladder orders the leads and the model judges how well
    each fits its rung; leads on no rung in a known department never reach it."""
    leads, rules = bundled
    routed = needs_model(leads, rules)
    lower_rungs = (rules["ladder_rung"] != "") & (rules["decision_basis"] != "primary_target")
    assert lower_rungs.any() and routed[lower_rungs.to_numpy()].all()
    known_off_ladder = (rules["ladder_rung"] == "").to_numpy() & (
        leads["title_departments"] != ""
    ).to_numpy()
    assert known_off_ladder.any() and not routed[known_off_ladder].any()
    assert len(leads_for_model(leads[routed])) == routed.sum()


def make_lead(number: int, company: str) -> LeadForModel:
    return LeadForModel(str(number), company, company, "51-200", "smb", "", f"title {number}")


def test_batches_keep_a_company_together_and_pack_small_ones() -> None:
    leads = (
        [make_lead(n, "big") for n in range(25)]
        + [make_lead(100 + n, "mid") for n in range(6)]
        + [make_lead(200 + n, f"small{n}") for n in range(4)]
    )
    batches = company_batches(leads, 10)
    assert all(len(batch) <= 10 for batch in batches)
    assert sorted(lead.lead_id for batch in batches for lead in batch) == sorted(
        lead.lead_id for lead in leads
    )
    assert len(batches) == 4  # 10 + 10 big, then 6 mid + 4 small, 5 big alone
    for batch in batches:
        for company in {lead.company_key for lead in batch} - {"big"}:
            assert sum(1 for b in batches if company in {lead.company_key for lead in b}) == 1


def test_the_cache_key_follows_what_the_answer_depends_on(persona: Persona) -> None:
    lead = make_lead(1, "acme")
    key = answer_cache_key(lead, persona, "openai/gpt-oss-120b")
    assert key == answer_cache_key(lead, persona, "openai/gpt-oss-120b")
    assert key != answer_cache_key(lead, persona, "openai/gpt-oss-20b")
    assert key != answer_cache_key(
        lead, replace(persona, fingerprint="other"), "openai/gpt-oss-120b"
    )
    assert key != answer_cache_key(replace(lead, title="VP Sales"), persona, "openai/gpt-oss-120b")
    assert key != answer_cache_key(
        replace(lead, size_band="enterprise"), persona, "openai/gpt-oss-120b"
    )
    # The lead's identity is not sent to the model, so the same title elsewhere shares it.
    assert key == answer_cache_key(replace(lead, lead_id="other"), persona, "openai/gpt-oss-120b")

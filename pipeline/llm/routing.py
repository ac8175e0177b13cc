"""Which leads the rules settle and which go to the model, the cache key of a model answer,
and how the model's leads are packed into calls."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import pandas as pd

from pipeline.llm.prompts import PROMPT_VERSION, LeadForModel, clean_field
from pipeline.llm.store import CachedScore
from pipeline.persona.spec import Persona
from pipeline.persona.titles import FLAG_TRANSLATED
from pipeline.ranking.rules import BASIS_CHAMPION, BASIS_FIT, BASIS_UNREAD

# The rules' verdict stands for empty titles, hard exclusions (non-employees among them) and
# primary targets: the persona names those cases outright. A title the vocabulary could not
# read (another script, an unknown wording) is the model's to read.
_JUDGEMENT_CALLS = frozenset({BASIS_FIT, BASIS_CHAMPION})


def needs_model(leads: pd.DataFrame, rules: pd.DataFrame) -> pd.Series:
    """True where the rules are unsure: a lead on a rung below the primary targets (how well
    it fits there, and whether at all), a title on a rung read from another language, or a
    title the vocabulary could not read (the rules judged it without the semantic reader:
    the model reads it instead). A title on no rung in departments the rules know
    (engineering, operations, account management ...) stays with the rules, so the model
    never reaches a function the persona excludes."""
    judgement = rules["decision_basis"].isin(_JUDGEMENT_CALLS).to_numpy()
    on_a_rung = (rules["ladder_rung"] != "").to_numpy()
    unread = (rules["decision_basis"] == BASIS_UNREAD).to_numpy()
    # A title read through the phrase table from another language is a guess the model
    # reads better, target or not; an excluded function stays excluded.
    translated = leads["title_flags"].str.contains(FLAG_TRANSLATED, regex=False).to_numpy()
    return pd.Series(on_a_rung & (judgement | translated) | unread, index=leads.index)


def leads_for_model(leads: pd.DataFrame) -> list[LeadForModel]:
    return [
        LeadForModel(
            lead_id=row.lead_id,
            company_key=row.company_key,
            company=row.account_name,
            employees=row.account_employee_range,
            size_band=row.size_band,
            industry=row.account_industry,
            title=row.lead_job_title,
        )
        for row in leads.itertuples(index=False)
    ]


def answer_cache_key(lead: LeadForModel, persona: Persona, model: str) -> str:
    """Everything the answer depends on: what the model reads of the lead, the persona file,
    the prompt version and the model. The lead's name is not sent, so it is not part of it."""
    content = json.dumps(
        [
            clean_field(lead.title, "title"),
            clean_field(lead.company, "company"),
            clean_field(lead.employees, "employees"),
            lead.size_band,
            clean_field(lead.industry, "industry"),
            persona.fingerprint,
            PROMPT_VERSION,
            model,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def company_batches(leads: list[LeadForModel], batch_size: int) -> list[list[LeadForModel]]:
    """Calls of at most `batch_size` leads, a company's leads together so the model weighs
    colleagues side by side. A company larger than a batch fills whole batches; smaller
    companies share one (first fit, largest first), which keeps the number of calls low."""
    by_company: dict[str, list[LeadForModel]] = {}
    for lead in leads:
        by_company.setdefault(lead.company_key, []).append(lead)
    batches: list[list[LeadForModel]] = []
    remainders: list[list[LeadForModel]] = []
    for company_leads in by_company.values():
        whole = len(company_leads) - len(company_leads) % batch_size
        batches.extend(
            company_leads[start : start + batch_size] for start in range(0, whole, batch_size)
        )
        if whole < len(company_leads):
            remainders.append(company_leads[whole:])
    open_batches: list[list[LeadForModel]] = []
    for part in sorted(remainders, key=len, reverse=True):
        target = next((b for b in open_batches if len(b) + len(part) <= batch_size), None)
        if target is None:
            open_batches.append(list(part))
        else:
            target.extend(part)
    return batches + open_batches


@dataclass
class BatchPlan:
    """Where each uncached lead of a batch-mode run goes: a call now, a new batch, the batch it
    already waits in, or the rules (lead_id -> the reason, for `fallback_reason`)."""

    sync: list[LeadForModel] = field(default_factory=list)
    submit: list[LeadForModel] = field(default_factory=list)
    waiting: list[LeadForModel] = field(default_factory=list)
    fallbacks: dict[str, str] = field(default_factory=dict)


def plan_batch(
    leads: list[LeadForModel],
    cache_keys: dict[str, str],
    waiting: set[str],
    failures: dict[str, tuple[int, str]],
    on_failure: str,
    max_attempts: int,
) -> BatchPlan:
    """A lead in an open batch waits for it; one that earlier batches left unanswered goes
    to a call now (`sync`), to the rules (`rules`), or to a new batch until `max_attempts`
    batches failed it and then to the rules (`batch`); any other lead to a new batch."""
    plan = BatchPlan()
    for lead in leads:
        key = cache_keys[lead.lead_id]
        if key in waiting:
            plan.waiting.append(lead)
        elif key not in failures:
            plan.submit.append(lead)
        elif on_failure == "sync":
            plan.sync.append(lead)
        elif on_failure == "batch" and failures[key][0] < max_attempts:
            plan.submit.append(lead)
        else:
            attempts, error = failures[key]
            plan.fallbacks[lead.lead_id] = (
                f"no batch answer ({attempts} batch{'es' if attempts > 1 else ''}): {error}"
            )[:200]
    return plan


def one_per_answer(
    leads: list[LeadForModel], keys: dict[str, str]
) -> tuple[list[LeadForModel], dict[str, list[LeadForModel]]]:
    """One lead per cache key is asked; the others with the same key (colleagues with the
    same title) take its answer, so no answer is paid twice. Returns the leads to ask and,
    per lead asked, the leads that share its answer."""
    asked: dict[str, LeadForModel] = {}
    sharers: dict[str, list[LeadForModel]] = {}
    for lead in leads:
        first = asked.setdefault(keys[lead.lead_id], lead)
        if first is not lead:
            sharers.setdefault(first.lead_id, []).append(lead)
    return list(asked.values()), sharers


def share_answers(
    sharers: dict[str, list[LeadForModel]],
    answers: dict[str, CachedScore],
    fallbacks: dict[str, str],
) -> None:
    """The answer (or the rules' fallback) of each lead asked, for the leads sharing it."""
    for lead_id, others in sharers.items():
        for lead in others:
            if lead_id in answers:
                answers[lead.lead_id] = dataclasses.replace(
                    answers[lead_id], lead_id=lead.lead_id, company_key=lead.company_key
                )
            elif lead_id in fallbacks:
                fallbacks[lead.lead_id] = fallbacks[lead_id]

"""What the local Groq-compatible server's "model" answers, and how it counts tokens.

The answers come from the persona's rules, reading titles as the offline evaluator does
(the vocabulary, then the semantic reader), so a run against the server yields a real
ranking; a configurable share of leads is moved by a few points, deterministically, so the
model path visibly differs from the rules path.

Tokens are counted with the o200k encoding and gpt-oss's Harmony framing
(`pipeline.llm.tokens`), the count the evaluator's rate limiter makes before sending.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass

from pipeline.persona.semantic import SemanticReader, read_titles
from pipeline.persona.spec import Persona
from pipeline.persona.titles import TitleProfile
from pipeline.ranking.rules import evaluate_title

_REASON_WORDS = 8


@dataclass(frozen=True)
class ScoredLead:
    id: int
    score: int
    reason: str


def leads_in(message: str) -> list[dict[str, object]]:
    """The companies-and-leads JSON in a user message (alone, or amid prose), flattened to
    leads with their company's size."""
    start = message.find('{"companies"')
    if start < 0:
        raise ValueError("no leads JSON in the user message")
    document, _ = json.JSONDecoder().raw_decode(message, start)
    return [
        {**lead, "size": company.get("size", "")}
        for company in document["companies"]
        for lead in company["leads"]
    ]


def lead_contents(message: str) -> list[str]:
    """Each lead of a user message as what the model is paid to judge (its company's fields
    and its title, not the call's id): the same text answered in two calls was paid twice."""
    start = message.find('{"companies"')
    document, _ = json.JSONDecoder().raw_decode(message, start)
    return [
        json.dumps(
            [{k: v for k, v in company.items() if k != "leads"}, lead.get("title")],
            sort_keys=True,
            ensure_ascii=False,
        )
        for company in document["companies"]
        for lead in company["leads"]
    ]


class TitleReadings:
    """Titles read as the offline evaluator reads them, each once per server: reading by
    meaning costs milliseconds a title, and calls repeat titles."""

    def __init__(self, persona: Persona) -> None:
        self.persona = persona
        self._read: dict[str, TitleProfile] = {}
        self._lock = threading.Lock()
        # The model loads now, not in the first call a client is timing.
        if persona.semantic_reader is not None:
            SemanticReader(persona.semantic_reader).read(["warm up"])

    def profiles(self, titles: set[str]) -> dict[str, TitleProfile]:
        with self._lock:
            new = titles - self._read.keys()
            if new:
                self._read.update(read_titles(new, self.persona))
            return {title: self._read[title] for title in titles}


def score_leads(
    leads: list[dict[str, object]], readings: TitleReadings, disagreement: float
) -> list[ScoredLead]:
    """The persona's rules, with `disagreement` of the leads moved 10 points."""
    persona = readings.persona
    scored = []
    profiles = readings.profiles({str(lead.get("title", "")) for lead in leads})
    for lead in leads:
        title = str(lead.get("title", ""))
        verdict = evaluate_title(profiles[title], str(lead["size"]), persona)
        score = verdict.relevance_score
        digest = hashlib.sha256(title.encode("utf-8")).digest()
        if digest[0] / 256 < disagreement:
            score = min(max(score + (10 if digest[1] % 2 else -10), 0), 100)
        reason = " ".join(verdict.reasoning.split(";")[0].split()[:_REASON_WORDS])
        scored.append(ScoredLead(int(lead["id"]), score, reason))  # type: ignore[arg-type]
    return scored


def answer_json(scored: list[ScoredLead]) -> str:
    return json.dumps(
        {"leads": [{"id": s.id, "score": s.score, "reason": s.reason} for s in scored]},
        ensure_ascii=False,
        separators=(",", ":"),
    )

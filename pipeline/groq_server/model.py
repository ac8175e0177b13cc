"""What the local Groq-compatible server's "model" answers, and how it counts tokens.

The answers come from the persona's rules, so a run against the server yields a real
ranking; a configurable share of leads is moved by a few points, deterministically, so the
model path visibly differs from the rules path.

Token counts approximate Groq's billing without a tokenizer (none can be downloaded here):
words split like the o200k pre-tokenizer (letters, digits in groups of three, punctuation
runs), a long word costing one token per six letters, plus the chat-format overhead of each
message and the JSON schema, which gpt-oss reads as part of the prompt.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass

from pipeline.persona.spec import Persona
from pipeline.persona.titles import parse_title
from pipeline.ranking.rules import evaluate_title

_PIECE = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]+|_+|\n+")
_TOKENS_PER_MESSAGE = 4
# Harmony's fixed header (system preamble, reasoning level, channel markers).
_TOKENS_PER_REQUEST = 30
_REASON_WORDS = 8


def count_tokens(text: str) -> int:
    tokens = 0
    for piece in _PIECE.findall(text):
        if piece[0].isalpha():
            tokens += math.ceil(len(piece) / 6)
        elif piece[0] == "\n" or piece[0].isdigit():
            tokens += 1
        else:
            tokens += math.ceil(len(piece) / 2)
    return tokens


def prompt_tokens(messages: list[dict[str, str]], response_format: object) -> int:
    schema = json.dumps(response_format, separators=(",", ":")) if response_format else ""
    return (
        _TOKENS_PER_REQUEST
        + sum(_TOKENS_PER_MESSAGE + count_tokens(m.get("content") or "") for m in messages)
        + count_tokens(schema)
    )


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


def score_leads(
    leads: list[dict[str, object]], persona: Persona, disagreement: float
) -> list[ScoredLead]:
    """The persona's rules, with `disagreement` of the leads moved 10 points."""
    scored = []
    for lead in leads:
        title = str(lead.get("title", ""))
        verdict = evaluate_title(parse_title(title, persona), str(lead["size"]), persona)
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

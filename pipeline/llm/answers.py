"""Checking a model's answer: every id sent back exactly once, with a score in range."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class ModelScore:
    score: int
    reason: str


@dataclass
class CheckedAnswer:
    """The usable scores of an answer, the ids to ask again, and what was wrong."""

    scores: dict[int, ModelScore] = field(default_factory=dict)
    missing: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def check_answer(content: str | None, sent: set[int]) -> CheckedAnswer:
    """Scores for the ids in `sent` that came back exactly once and well formed.

    An id answered twice is not trusted either way; an id not sent is ignored; a score outside
    0-100 or of the wrong type voids that id's answer. The voided and the absent are `missing`.
    """
    checked = CheckedAnswer()
    entries = _entries(content, checked.problems)
    seen: dict[int, int] = {}
    for entry in entries:
        if isinstance(entry, dict) and _is_int(entry.get("id")):
            seen[entry["id"]] = seen.get(entry["id"], 0) + 1
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not _is_int(entry.get("id")):
            checked.problems.append(f"entry {position} has no integer id")
            continue
        number = entry["id"]
        if number not in sent:
            checked.problems.append(f"id {number} was not sent")
            continue
        if seen[number] > 1:
            if number not in checked.missing:
                checked.problems.append(f"id {number} answered {seen[number]} times")
            checked.missing.add(number)
            continue
        score, reason = entry.get("score"), entry.get("reason")
        if not _is_int(score) or not 0 <= score <= 100:
            checked.problems.append(f"id {number}: score {score!r} is not a whole number 0-100")
            checked.missing.add(number)
            continue
        if not isinstance(reason, str):
            checked.problems.append(f"id {number}: reason is not text")
            checked.missing.add(number)
            continue
        checked.scores[number] = ModelScore(score, " ".join(reason.split())[:MAX_REASON_CHARS])
    absent = sent - checked.scores.keys() - checked.missing
    if absent and entries:
        checked.problems.append(f"{len(absent)} ids not answered")
    checked.missing |= absent
    return checked


def _entries(content: str | None, problems: list[str]) -> list[object]:
    try:
        document = json.loads(content or "")
    except json.JSONDecodeError as error:
        problems.append(f"answer is not JSON ({error.msg} at {error.pos})")
        return []
    if not isinstance(document, dict) or not isinstance(document.get("leads"), list):
        problems.append("answer has no 'leads' list")
        return []
    return document["leads"]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

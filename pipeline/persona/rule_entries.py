"""The persona's rule sections read into rules: targets, champions, exclusions, bonuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pipeline.persona.document import KnownNames, PersonaDocument
from pipeline.persona.spec import Champion, Exclusion, PrimaryTarget, ScoreBonus, TitleCondition

_CONDITION_KEYS = ("seniority", "departments", "tags")

Rule = TypeVar("Rule")
EntryReader = Callable[[PersonaDocument, str, dict[str, Any], KnownNames], Rule]


def per_band(
    document: PersonaDocument, key: str, known: KnownNames, read_entry: EntryReader[Rule]
) -> dict[str, tuple[Rule, ...]]:
    """A section keyed by size band, each band a list of entries (a band may be left out)."""
    section = document.get(key, dict)
    unknown = set(section) - set(known.bands)
    if unknown:
        raise document.fail(key, f"unknown size band(s) {sorted(unknown)}")
    return {
        band: tuple(
            read_entry(document, f"{key}.{band}[{index}]", entry, known)
            for index, entry in enumerate(section.get(band) or [])
        )
        for band in known.bands
    }


def title_condition(
    document: PersonaDocument, key: str, entry: dict[str, Any], known: KnownNames
) -> TitleCondition:
    condition = TitleCondition(
        seniority=frozenset(entry.get("seniority") or ()),
        departments=frozenset(entry.get("departments") or ()),
        tags=frozenset(entry.get("tags") or ()),
    )
    known.check_levels(document, key, condition.seniority)
    known.check_departments(document, key, condition.departments)
    known.check_tags(document, key, condition.tags)
    if not (condition.seniority or condition.departments or condition.tags):
        raise document.fail(key, "needs seniority, departments or tags")
    return condition


def primary_target(
    document: PersonaDocument, key: str, entry: dict[str, Any], known: KnownNames
) -> PrimaryTarget:
    document.check_keys(key, entry, {"rank", "title", "priority", *_CONDITION_KEYS})
    try:
        return PrimaryTarget(
            rank=int(entry["rank"]),
            title=str(entry["title"]),
            priority=int(entry["priority"]),
            condition=title_condition(document, key, entry, known),
        )
    except KeyError as error:
        raise document.fail(key, f"missing {error}") from error


def champion(
    document: PersonaDocument, key: str, entry: dict[str, Any], known: KnownNames
) -> Champion:
    document.check_keys(key, entry, {"title", "score", *_CONDITION_KEYS})
    try:
        return Champion(
            title=str(entry["title"]),
            score=int(entry["score"]),
            condition=title_condition(document, key, entry, known),
        )
    except KeyError as error:
        raise document.fail(key, f"missing {error}") from error


def exclusions(
    document: PersonaDocument, key: str, known: KnownNames, default_penalty: float | None
) -> tuple[Exclusion, ...]:
    rules = []
    for index, entry in enumerate(document.get(key, list)):
        entry_key = f"{key}[{index}]"
        document.check_keys(
            entry_key, entry, {"name", "departments", "tags", "bands", "penalty", "seniority"}
        )
        penalty = entry.get("penalty", default_penalty)
        if penalty is None or not 0 <= float(penalty) <= 1:
            raise document.fail(entry_key, "penalty between 0 and 1 is required")
        rule = Exclusion(
            name=str(entry.get("name") or entry_key),
            departments=frozenset(entry.get("departments") or ()),
            tags=frozenset(entry.get("tags") or ()),
            bands=frozenset(entry.get("bands") or known.bands),
            penalty=float(penalty),
            seniority=frozenset(entry.get("seniority") or ()),
        )
        known.check_levels(document, entry_key, rule.seniority)
        known.check_names(document, entry_key, rule.departments, rule.tags)
        rules.append(rule)
    return tuple(rules)


def score_bonuses(document: PersonaDocument, known: KnownNames) -> tuple[ScoreBonus, ...]:
    bonuses = []
    for index, entry in enumerate(document.get("score_bonuses", list)):
        key = f"score_bonuses[{index}]"
        document.check_keys(key, entry, {"name", "departments", "tags", "bands", "points"})
        bonus = ScoreBonus(
            name=str(entry.get("name") or key),
            departments=frozenset(entry.get("departments") or ()),
            tags=frozenset(entry.get("tags") or ()),
            bands=frozenset(entry.get("bands") or known.bands),
            points=int(entry.get("points", 0)),
        )
        known.check_names(document, key, bonus.departments, bonus.tags)
        bonuses.append(bonus)
    return tuple(bonuses)

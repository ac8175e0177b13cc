"""The persona's rule sections read into rules: targets, champions, exclusions, bonuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pipeline.persona.document import KnownNames, PersonaDocument
from pipeline.persona.spec import (
    Champion,
    Exclusion,
    PrimaryTarget,
    PrototypeRole,
    Rung,
    ScoreBonus,
    SemanticReaderSpec,
    TitleCondition,
)

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
    _check_entry(document, key, entry, ("rank", "title", "priority"))
    return PrimaryTarget(
        rank=int(entry["rank"]),
        title=str(entry["title"]),
        priority=int(entry["priority"]),
        condition=title_condition(document, key, entry, known),
    )


def champion(
    document: PersonaDocument, key: str, entry: dict[str, Any], known: KnownNames
) -> Champion:
    _check_entry(document, key, entry, ("title", "score"))
    return Champion(
        title=str(entry["title"]),
        score=int(entry["score"]),
        condition=title_condition(document, key, entry, known),
    )


def _check_entry(
    document: PersonaDocument, key: str, entry: dict[str, Any], required: tuple[str, ...]
) -> None:
    """A rule entry holds its required keys and a title condition, nothing else."""
    document.check_keys(key, entry, {*required, *_CONDITION_KEYS})
    missing = [name for name in required if name not in entry]
    if missing:
        raise document.fail(key, f"missing '{missing[0]}'")


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


def ladder_rungs(
    document: PersonaDocument, ladder: dict[str, Any], known: KnownNames, threshold: int
) -> tuple[Rung, ...]:
    """The ladder, best rung first: the primary targets, then rungs named by a condition.

    Score ranges fall from rung to rung without overlapping and stay at or above the
    threshold, so a ranked lead's score says which rung it stands on.
    """
    entries = ladder.get("rungs")
    if not isinstance(entries, list) or not entries:
        raise document.fail("ladder.rungs", "a list of rungs is required")
    rungs = []
    floor = 101
    for index, entry in enumerate(entries):
        key = f"ladder.rungs[{index}]"
        if not isinstance(entry, dict):
            raise document.fail(key, "expected a mapping")
        document.check_keys(
            key,
            entry,
            {"name", "primary_targets", "champions", "scores", "bands", *_CONDITION_KEYS},
        )
        is_targets = bool(entry.get("primary_targets"))
        if is_targets != (index == 0):
            raise document.fail(key, "the first rung, and only it, holds the primary targets")
        scores = entry.get("scores")
        if not (isinstance(scores, list) and len(scores) == 2):
            raise document.fail(key, "scores: [low, high] is required")
        low, high = int(scores[0]), int(scores[1])
        if not threshold <= low <= high < floor:
            raise document.fail(
                key, f"scores must lie within {threshold}-{floor - 1}, below the rung above"
            )
        floor = low
        # Left out: every size. An empty list: no size, only as the best available.
        bands = frozenset(entry["bands"]) if "bands" in entry else frozenset(known.bands)
        if bands - set(known.bands):
            raise document.fail(key, f"unknown size band(s) {sorted(bands - set(known.bands))}")
        rungs.append(
            Rung(
                name=str(entry.get("name") or key),
                condition=None if is_targets else title_condition(document, key, entry, known),
                champions=bool(entry.get("champions")),
                low_score=low,
                high_score=high,
                bands=bands,
            )
        )
    return tuple(rungs)


def semantic_reader_spec(document: PersonaDocument, known: KnownNames) -> SemanticReaderSpec | None:
    """The `semantic_reader` section: a floor, a margin and the roles' prototype phrases."""
    if "semantic_reader" not in document.raw:
        return None
    section = document.section("semantic_reader", {"floor", "margin", "roles"})
    floor, margin = float(section.get("floor", 0)), float(section.get("margin", 0))
    if not (0 < floor <= 1 and 0 <= margin < 1):
        raise document.fail("semantic_reader", "floor in (0, 1] and margin in [0, 1) are required")
    roles = []
    for index, entry in enumerate(section.get("roles") or []):
        key = f"semantic_reader.roles[{index}]"
        if not isinstance(entry, dict):
            raise document.fail(key, "expected a mapping")
        document.check_keys(key, entry, {"name", "seniority", "departments", "tags", "phrases"})
        phrases = tuple(str(phrase) for phrase in entry.get("phrases") or ())
        if not phrases or "seniority" not in entry or not entry.get("departments"):
            raise document.fail(key, "name, seniority, departments and phrases are required")
        role = PrototypeRole(
            name=str(entry.get("name") or key),
            seniority=str(entry["seniority"]),
            departments=frozenset(entry["departments"]),
            tags=frozenset(entry.get("tags") or ()),
            phrases=phrases,
        )
        known.check_levels(document, key, frozenset({role.seniority}))
        known.check_departments(document, key, role.departments)
        known.check_tags(document, key, role.tags)
        roles.append(role)
    if len({role.departments for role in roles}) < 2:
        raise document.fail("semantic_reader.roles", "roles of at least two functions are needed")
    return SemanticReaderSpec(floor=floor, margin=margin, roles=tuple(roles))

"""Job title parsing: taglines, other languages and junk in, seniority/departments/tags out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pipeline.persona import Persona
from pipeline.text import collapse_spaces, normalize_text

# What follows these is a company name or a LinkedIn tagline, not the role.
_TAGLINE_SEPARATORS = re.compile(r"\s*(?:\||@|•|·|\s+at\s+)\s*", re.IGNORECASE)
_DASH_SEPARATOR = re.compile("\\s+[-\u2013\u2014]\\s+")
# A dash segment longer than this is a pitch ("- Digital experience platform for ..."),
# shorter ones qualify the role ("Sr. Vice President - Global Business Development").
_MAX_QUALIFIER_WORDS = 6
_JUNK_TITLES = frozenset(
    {"", "undefined", "null", "none", "n a", "na", "nan", "unknown", "employed", "x", "test"}
)

FLAG_EMPTY = "empty_title"
FLAG_TAGLINE = "tagline_removed"
FLAG_TRANSLATED = "translated"


@dataclass(frozen=True)
class TitleProfile:
    """What a title says, in the persona's vocabulary."""

    role_text: str
    seniority: str
    departments: frozenset[str]
    tags: frozenset[str]
    flags: frozenset[str]


def split_tagline(title: str) -> tuple[str, bool]:
    """The role part of a title and whether anything was cut off."""
    text = collapse_spaces(title)
    head = _TAGLINE_SEPARATORS.split(text, maxsplit=1)[0]
    segments = _DASH_SEPARATOR.split(head)
    kept = [segments[0]] + [
        segment for segment in segments[1:] if len(segment.split()) <= _MAX_QUALIFIER_WORDS
    ]
    role = " - ".join(kept).strip(" ,;:-")
    return role, role != text.strip(" ,;:-")


def parse_title(title: str | None, persona: Persona) -> TitleProfile:
    role, cut = split_tagline(title or "")
    text = normalize_text(role)
    flags = {FLAG_TAGLINE} if cut else set()
    if text in _JUNK_TITLES or not re.search(r"[a-z]", text):
        return TitleProfile(
            role_text=text,
            seniority=persona.default_seniority,
            departments=frozenset(),
            tags=frozenset(),
            flags=frozenset(flags | {FLAG_EMPTY}),
        )
    translated = _translate(text, persona)
    if translated != text:
        flags.add(FLAG_TRANSLATED)
    seniorities, departments, tags = _match_phrases(translated, persona)
    if tags & persona.individual_contributor_tags or not seniorities:
        seniority = persona.default_seniority
    else:
        seniority = min(seniorities, key=persona.seniority_order)
    return TitleProfile(
        role_text=translated,
        seniority=seniority,
        departments=frozenset(departments),
        tags=frozenset(tags),
        flags=frozenset(flags),
    )


def _translate(text: str, persona: Persona) -> str:
    pattern = _phrase_pattern(tuple(persona.translations))
    if pattern is None:
        return text
    return pattern.sub(lambda match: persona.translations[match.group(0)], text)


def _match_phrases(text: str, persona: Persona) -> tuple[set[str], set[str], set[str]]:
    """Longest vocabulary phrases first; a word belongs to one phrase only."""
    seniorities: set[str] = set()
    departments: set[str] = set()
    tags: set[str] = set()
    pattern = _phrase_pattern(tuple(persona.vocabulary))
    if pattern is None:
        return seniorities, departments, tags
    for match in pattern.finditer(text):
        meaning = persona.vocabulary[match.group(0)]
        if meaning.seniority:
            seniorities.add(meaning.seniority)
        departments |= meaning.departments
        tags |= meaning.tags
    return seniorities, departments, tags


@cache
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation, longest phrase first, so regex leftmost-longest claims each word once."""
    if not phrases:
        return None
    ordered = sorted(phrases, key=lambda phrase: (-len(phrase), phrase))
    return re.compile(r"\b(?:" + "|".join(re.escape(phrase) for phrase in ordered) + r")\b")

"""Job title parsing: taglines, other languages and junk in, seniority/departments/tags out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pipeline.leads.text import collapse_spaces, normalize_text
from pipeline.persona.spec import Persona, PhraseMeaning

# What follows these is a company name or a LinkedIn tagline, not the role.
_TAGLINE_SEPARATORS = re.compile(r"\s*(?:\||@|•|·|│|\s+at\s+|\s+chez\s+)\s*", re.IGNORECASE)
# After these the next segment names the employer ("Partner at Nosara Capital").
_EMPLOYER_SEPARATORS = frozenset({"@", "at", "chez"})
# "VP Sales EMEA. Business Advisor and Board Member." A full stop after a word (not an
# abbreviation such as "Sr.") before a capital ends the role.
_SENTENCE_END = re.compile(r"(?<=[a-z]{3})\.\s+(?=[A-Z])")
_DASH_SEPARATOR = re.compile("\\s+[-\u2013\u2014]\\s+")
_LIST_SEPARATOR = re.compile(r"\s*[,;]\s*")
# The role's segments: the head names the role, the others qualify it.
# A bracket holds a qualifier too: "Sales Director (former Olympic rower)".
_SEGMENT_SEPARATOR = re.compile("\\s*[,;()\\[\\]]\\s*|\\s+[-\u2013\u2014]\\s+")
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
    # The firm the title names after "@" or "at", as written; empty when none is named.
    employer: str = ""


def split_tagline(title: str) -> tuple[str, bool]:
    """The role part of a title and whether anything was cut off."""
    text = collapse_spaces(title)
    head = _TAGLINE_SEPARATORS.split(text, maxsplit=1)[0]
    first_sentence = _SENTENCE_END.split(head, maxsplit=1)[0]
    if len(first_sentence.split()) >= 2:
        head = first_sentence
    role = _drop_pitches(_DASH_SEPARATOR, " - ", head)
    role = _drop_pitches(_LIST_SEPARATOR, ", ", role).strip(" ,;:-")
    return role, role != text.strip(" ,;:-")


def _drop_pitches(separator: re.Pattern[str], joiner: str, text: str) -> str:
    """The first segment and the short ones after it; a long segment is a pitch."""
    segments = separator.split(text)
    return joiner.join(
        [segments[0]]
        + [segment for segment in segments[1:] if len(segment.split()) <= _MAX_QUALIFIER_WORDS]
    )


def named_employer(title: str) -> str:
    """The segment after a title's first separator when that is "@" / "at", up to the next,
    when it reads as a firm's name: "at a fast-growing startup" names none."""
    text = collapse_spaces(title)
    first = _TAGLINE_SEPARATORS.search(text)
    if first is None or first.group().strip().lower() not in _EMPLOYER_SEPARATORS:
        return ""
    named = _TAGLINE_SEPARATORS.split(text[first.end() :], maxsplit=1)[0].strip()
    return named if named[:1].isupper() or named[:1].isdigit() else ""


def parse_title(title: str | None, persona: Persona) -> TitleProfile:
    role, cut = split_tagline(title or "")
    employer = named_employer(title or "")
    text = normalize_text(role)
    flags = {FLAG_TAGLINE} if cut else set()
    if text in _JUNK_TITLES or not re.search(r"[a-z]", text):
        return TitleProfile(
            role_text=text,
            seniority=persona.default_seniority,
            departments=frozenset(),
            tags=frozenset(),
            flags=frozenset(flags | {FLAG_EMPTY}),
            employer=employer,
        )
    translated = _translate(text, persona)
    if translated != text:
        flags.add(FLAG_TRANSLATED)
    phrases, head_phrases = _role_phrases(role, persona)
    leader_words = phrases & persona.functional_leader_words
    if not _leads_a_function(phrases, persona):
        leader_words = set()
    meanings = [persona.vocabulary[phrase] for phrase in phrases - leader_words]
    head_meanings = [persona.vocabulary[phrase] for phrase in head_phrases - leader_words]
    if leader_words:
        # "President, Go To Market" runs a function, not the company.
        function_head = PhraseMeaning(persona.functional_leader_seniority, frozenset(), frozenset())
        meanings.append(function_head)
        if head_phrases & leader_words:
            head_meanings.append(function_head)
    # The head's level is the person's ("Account Executive - former Director" is no director).
    seniorities = {m.seniority for m in head_meanings if m.seniority} or {
        m.seniority for m in meanings if m.seniority
    }
    departments = {dept for meaning in meanings for dept in meaning.departments}
    # A past, a pitch or a side role after a comma or dash ("VP Sales, ex-Google", "Head of
    # Sales - trusted advisor") is no status of the person's role.
    tags = {
        tag
        for phrase in phrases - leader_words
        for tag in persona.vocabulary[phrase].tags
        if phrase in head_phrases or tag not in persona.head_segment_tags
    } | _whole_title_tags(title or "", persona)
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
        employer=employer,
    )


def _role_phrases(role: str, persona: Persona) -> tuple[set[str], set[str]]:
    """The vocabulary phrases of the role, and those of its head: the first segment holding
    any (all of them when none does)."""
    segments = [
        _matched_phrases(_translate(normalize_text(segment), persona), persona)
        for segment in _SEGMENT_SEPARATOR.split(role)
    ]
    every = set().union(*segments)
    return every, next((found for found in segments if found), every)


def _translate(text: str, persona: Persona) -> str:
    pattern = _phrase_pattern(tuple(persona.translations))
    if pattern is None:
        return text
    return pattern.sub(lambda match: persona.translations[match.group(0)], text)


def _whole_title_tags(title: str, persona: Persona) -> set[str]:
    if not persona.whole_title_tags:
        return set()
    text = _translate(normalize_text(title), persona)
    return {
        tag
        for phrase in _matched_phrases(text, persona)
        for tag in persona.vocabulary[phrase].tags & persona.whole_title_tags
    }


def _leads_a_function(phrases: set[str], persona: Persona) -> bool:
    """A leader word ("president") next to a function and no other company-leader phrase."""
    leader_words = phrases & persona.functional_leader_words
    if not leader_words:
        return False
    leader_departments = {
        dept for word in leader_words for dept in persona.vocabulary[word].departments
    }
    other_departments = {
        dept for phrase in phrases - leader_words for dept in persona.vocabulary[phrase].departments
    }
    return bool(other_departments) and not other_departments & leader_departments


def _matched_phrases(text: str, persona: Persona) -> set[str]:
    """Longest vocabulary phrases first; a word belongs to one phrase only."""
    pattern = _phrase_pattern(tuple(persona.vocabulary))
    if pattern is None:
        return set()
    return {match.group(0) for match in pattern.finditer(text)}


@cache
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation, longest phrase first, so regex leftmost-longest claims each word once."""
    if not phrases:
        return None
    ordered = sorted(phrases, key=lambda phrase: (-len(phrase), phrase))
    return re.compile(r"\b(?:" + "|".join(re.escape(phrase) for phrase in ordered) + r")\b")

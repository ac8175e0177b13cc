"""Job titles read into a level, functions and a status.

Taglines, pitches, abbreviations, other languages and scripts, and junk in; what the
persona's title vocabulary says out. A title whose function the vocabulary cannot find is
flagged `unread`: the model or the semantic reader reads it, never the empty-title rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.leads.text import collapse_spaces, normalize_title
from pipeline.persona.phrases import phrase_pattern
from pipeline.persona.spec import Persona, PhraseMeaning

# What follows these is a company name or a LinkedIn tagline, not the role.
_TAGLINE_SEPARATORS = re.compile(r"\s*(?:\||@|•|·|│|\s+at\s+|\s+chez\s+)\s*", re.IGNORECASE)
# After these the next segment names the employer ("Partner at Redwood Capital").
_EMPLOYER_SEPARATORS = frozenset({"@", "at", "chez"})
# "VP Sales EMEA. Business Advisor and Board Member." A full stop after a word (not an
# abbreviation such as "Sr.") before a capital ends the role.
_SENTENCE_END = re.compile(r"(?<=[a-z]{3})\.\s+(?=[A-Z])")
_DASH_SEPARATOR = re.compile("\\s+[-\u2013\u2014]\\s+")
_LIST_SEPARATOR = re.compile(r"\s*[,;]\s*")
# The role's segments: the head names the role, the others qualify it.
# A bracket holds a qualifier too: "Sales Director (former Olympic rower)".
_SEGMENT_SEPARATOR = re.compile("\\s*[,;()\\[\\]]\\s*|\\s+[-\u2013\u2014]\\s+")
# Every segment of a whole headline, taglines included: where status words are read.
_ANY_SEPARATOR = re.compile(
    "\\s*(?:[|@•·│,;()\\[\\]/]|\\s[-\u2013\u2014]\\s|\\sat\\s|\\schez\\s|(?<=[a-z]{3})\\.\\s)\\s*",
    re.IGNORECASE,
)
_LETTER = re.compile(r"[^\W\d_]")
_JUNK_TITLES = frozenset(
    {"", "undefined", "null", "none", "n a", "na", "nan", "unknown", "employed", "x", "test"}
)

FLAG_EMPTY = "empty_title"
FLAG_TAGLINE = "tagline_removed"
FLAG_TRANSLATED = "translated"
# The vocabulary found no function in the title.
FLAG_UNREAD = "unread"
# The semantic reader read the title (`pipeline.persona.semantic`).
FLAG_READ_BY_MEANING = "read_by_meaning"

STATUS_CURRENT = "current"
LEVEL_HEAD = "head"


@dataclass(frozen=True)
class TitleProfile:
    """What a title says, in the persona's vocabulary."""

    role_text: str
    seniority: str
    departments: frozenset[str]
    tags: frozenset[str]
    flags: frozenset[str]
    # The organisation the title names as the person's ("at X", "Partner, X Capital"), as
    # written; empty when none is named.
    employer: str = ""
    # How a reader other than the vocabulary read the title, for the reasoning.
    reading_note: str = ""
    # Distinct company-leading roles the head holds: a "Founder & CEO" holds two.
    roles_held: int = 0
    # Words of the role naming no level or function: a region, a product line, a segment.
    qualifiers: int = 0


def title_level(seniority: str, tags: frozenset[str]) -> str:
    """The level a person reads as: a director-level title with the head tag is a head."""
    return LEVEL_HEAD if seniority == "director" and "head" in tags else seniority


def title_status(tags: frozenset[str], persona: Persona) -> str:
    """The first of the persona's statuses whose tags the title holds; else 'current'."""
    return next((status for status, named in persona.statuses if named & tags), STATUS_CURRENT)


def split_tagline(title: str, persona: Persona) -> tuple[str, bool]:
    """The role part of a title and whether anything was cut off."""
    text = collapse_spaces(title)
    head = _TAGLINE_SEPARATORS.split(text, maxsplit=1)[0]
    first_sentence = _first_sentence(head, persona)
    if len(first_sentence.split()) >= 2:
        head = first_sentence
    role = _drop_pitches(_DASH_SEPARATOR, " - ", head, persona)
    role = _drop_pitches(_LIST_SEPARATOR, ", ", role, persona).strip(" ,;:-")
    return role, role != text.strip(" ,;:-")


def _first_sentence(text: str, persona: Persona) -> str:
    """The text up to the first full stop that ends a sentence, not an abbreviation the
    vocabulary knows ("Vice Pres. Sales")."""
    for stop in _SENTENCE_END.finditer(text):
        words = normalize_title(text[: stop.start()]).split()
        if not words or words[-1] not in persona.abbreviations:
            return text[: stop.start()]
    return text


def _drop_pitches(separator: re.Pattern[str], joiner: str, text: str, persona: Persona) -> str:
    """The first segment and the qualifiers after it; a segment that reads as a sentence
    addressed to the reader ("helping manufacturers sell", "we grow ...") is a pitch."""
    segments = separator.split(text)
    return joiner.join(
        [segments[0]] + [segment for segment in segments[1:] if not _is_pitch(segment, persona)]
    )


def _is_pitch(segment: str, persona: Persona) -> bool:
    words = normalize_title(segment).split()
    # As written, word by word: "US" is a country, "us" a pronoun, "Ops-us" neither.
    spoken = {word.strip(".,;:!?\"'") for word in segment.split()} & _PRONOUNS
    return bool(words) and (words[0] in persona.pitch_words or bool(spoken))


# A headline that speaks to the reader is a pitch, whatever its verb.
_PRONOUNS = frozenset(
    {"I", "we", "We", "you", "You", "our", "Our", "my", "My", "your", "Your", "us"}
)


def named_employer(title: str, persona: Persona) -> str:
    """The segment after a title's first separator when that is "@" / "at", up to the next,
    when it reads as a firm's name: "at a fast-growing startup" names none, and "formerly at
    X" names a past employer."""
    text = collapse_spaces(title)
    first = _TAGLINE_SEPARATORS.search(text)
    if first is None or first.group().strip().lower() not in _EMPLOYER_SEPARATORS:
        return ""
    before = _translate(normalize_title(text[: first.start()]), persona).split()
    if before and before[-1] in persona.history_words:
        return ""
    named = _TAGLINE_SEPARATORS.split(text[first.end() :], maxsplit=1)[0].strip()
    return named if named[:1].isupper() or named[:1].isdigit() else ""


def parse_title(title: str | None, persona: Persona) -> TitleProfile:
    raw = collapse_spaces(title or "")
    role, cut = split_tagline(raw, persona)
    text = normalize_title(role)
    flags = {FLAG_TAGLINE} if cut else set()
    if text in _JUNK_TITLES or not _LETTER.search(text):
        return TitleProfile(
            role_text=text,
            seniority=persona.default_seniority,
            departments=frozenset(),
            tags=frozenset(),
            flags=frozenset(flags | {FLAG_EMPTY}),
            employer=named_employer(raw, persona),
        )
    translated = _translate(text, persona)
    other_language = phrase_pattern(tuple(persona.translations))
    if other_language is not None and other_language.search(text):
        flags.add(FLAG_TRANSLATED)
    # Every segment of the whole headline, as written and as read.
    headline = [
        (segment, _translate(normalize_title(segment), persona))
        for segment in _ANY_SEPARATOR.split(raw)
        if segment.strip()
    ]
    # A qualifier naming an organisation ("President, Student Marketing Society") says where
    # the role is held, not what it does.
    segments = [
        _segment_phrases(segment, persona)
        for index, segment in enumerate(_SEGMENT_SEPARATOR.split(role))
        if index == 0 or not _names_organisation(segment, persona)
    ]
    phrases = set().union(*segments)
    head_phrases = next((found for found in segments if found), phrases)
    leader_words = phrases & persona.functional_leader_words
    if not _leads_a_function(phrases, persona):
        leader_words = set()
    meanings = [persona.vocabulary[phrase] for phrase in phrases - leader_words]
    head_meanings = [persona.vocabulary[phrase] for phrase in head_phrases - leader_words]
    if leader_words:
        # "President, Commercial" runs a function, not the company.
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
    } | _status_tags_anywhere(headline, persona)
    if tags & persona.individual_contributor_tags or not seniorities:
        seniority = persona.default_seniority
    else:
        seniority = min(seniorities, key=persona.seniority_order)
    if not departments:
        flags.add(FLAG_UNREAD)
    return TitleProfile(
        role_text=translated,
        seniority=seniority,
        departments=frozenset(departments),
        tags=frozenset(tags),
        flags=frozenset(flags),
        employer=named_employer(raw, persona) or _led_organisation(headline, persona),
        roles_held=_company_roles(head_phrases - leader_words, persona),
        qualifiers=len(_unknown_words(translated, persona)),
    )


def holds_unknown_words(role_text: str, persona: Persona) -> bool:
    """Whether a read role (`TitleProfile.role_text`) holds words no vocabulary phrase
    covers: "Vice President" holds none (a level with no function), "Zone Leader" one."""
    return bool(_unknown_words(role_text, persona))


def names_a_level(role_text: str, persona: Persona) -> bool:
    """Whether a read role holds a level word ("Zone Leader" does, "Kepala Penjualan" not)."""
    return any(
        persona.vocabulary[phrase].seniority for phrase in _matched_phrases(role_text, persona)
    )


def _unknown_words(role_text: str, persona: Persona) -> list[str]:
    pattern = phrase_pattern(tuple(persona.vocabulary))
    rest = pattern.sub(" ", role_text) if pattern else role_text
    return [
        word for word in rest.split() if _LETTER.search(word) and word not in persona.linking_words
    ]


def _company_roles(phrases: set[str], persona: Persona) -> int:
    """Distinct roles that lead the company (`company_departments`) among the phrases; a
    role and its synonym ("CEO", "Chief Executive Officer") share their tags and count once."""
    return len(
        {
            persona.vocabulary[phrase].tags or frozenset({phrase})
            for phrase in phrases
            if persona.vocabulary[phrase].departments & persona.company_departments
        }
    )


def _segment_phrases(segment: str, persona: Persona) -> set[str]:
    """The vocabulary phrases of one segment. A grade word beside a function is a grade, not
    a role ("Principal Engineer"); a deputy word beside a level, not "to" someone, is no
    assistant ("Assistant Sales Manager")."""
    text = _translate(normalize_title(segment), persona)
    found = _matched_phrases(text, persona)
    vocabulary = persona.vocabulary
    if any(vocabulary[phrase].departments for phrase in found - persona.grade_words):
        found -= persona.grade_words
    levels = {
        phrase
        for phrase in found - persona.deputy_words
        if vocabulary[phrase].seniority not in (None, persona.default_seniority)
    }
    if levels and "to" not in text.split():
        found -= persona.deputy_words
    return found


def _translate(text: str, persona: Persona) -> str:
    pattern = phrase_pattern(tuple(persona.rewrites))
    if pattern is None:
        return text
    # Padded: in a script without spaces the English words must not run together.
    replaced = pattern.sub(lambda match: f" {persona.rewrites[match.group(0)]} ", text)
    return collapse_spaces(replaced)


def _status_tags_anywhere(headline: list[tuple[str, str]], persona: Persona) -> set[str]:
    """Status tags read in every segment of the headline; a segment about the past
    ("ex-Oracle", "previously at X") says none."""
    if not persona.whole_title_tags:
        return set()
    tags: set[str] = set()
    for _, text in headline:
        if set(text.split()) & persona.history_words:
            continue
        tags.update(
            tag
            for phrase in _matched_phrases(text, persona)
            for tag in persona.vocabulary[phrase].tags & persona.whole_title_tags
        )
    return tags


def _led_organisation(headline: list[tuple[str, str]], persona: Persona) -> str:
    """The organisation a leader's role is held at, when the title names one beside it:
    "President of the Debating Society", "Partner, Redwood Capital", "Co-Founder & CTO Acme
    Labs". A name in capitals with an organisation word and no role phrase; '' otherwise."""
    if not persona.organisation_leader_words or not persona.organisation_words:
        return ""
    segments = [segment for segment, _ in headline]
    for index, (segment, normalized) in enumerate(headline):
        if not _holds_leader_word(normalized, persona):
            if _matched_phrases(normalized, persona):
                return ""  # the head is a role that leads no organisation
            continue
        words = segment.split()
        inside = (" ".join(words[start:]) for start in range(1, len(words)))
        following = segments[index + 1 : index + 2]
        return next(
            (name for name in [*inside, *following] if _names_organisation(name, persona)), ""
        )
    return ""


def _holds_leader_word(text: str, persona: Persona) -> bool:
    """A leader word read as the vocabulary reads it: "vice president" holds no president."""
    phrases = _matched_phrases(text, persona)
    if phrases & set(persona.organisation_leader_words):
        return True
    vocabulary, leaders = (
        phrase_pattern(tuple(persona.vocabulary)),
        phrase_pattern(persona.organisation_leader_words),
    )
    rest = vocabulary.sub(" ", text) if vocabulary else text
    return bool(leaders and leaders.search(rest))


def _names_organisation(text: str, persona: Persona) -> bool:
    """A name in capitals ending in an organisation word: "Redwood Capital", "Student
    Marketing Society"."""
    words = normalize_title(text).split()
    return (
        text.strip()[:1].isupper()
        and len(words) >= 2
        and words[-1] in persona.organisation_words
        and not _holds_leader_word(" ".join(words), persona)
    )


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
    pattern = phrase_pattern(tuple(persona.vocabulary))
    if pattern is None:
        return set()
    return {match.group(0) for match in pattern.finditer(text)}

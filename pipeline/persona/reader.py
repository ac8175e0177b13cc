"""Reading the persona YAML file into a validated `Persona`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import yaml

from pipeline.leads.text import normalize_text, normalize_title
from pipeline.persona import rule_entries
from pipeline.persona.document import KnownNames, PersonaDocument
from pipeline.persona.spec import Persona, PersonaError, PhraseMeaning, SizeBand

# The persona key naming the title vocabulary file, relative to the persona file.
VOCABULARY_KEY = "title_vocabulary"
# libyaml's safe loader where PyYAML was built with it: the vocabulary is a large file and
# every asset of a run loads the persona.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_persona(path: str | Path) -> Persona:
    """The persona file, with the title vocabulary it names (`title_vocabulary`); the
    fingerprint covers both files, so a changed vocabulary is a changed persona."""
    path = Path(path)
    document, raw_text = _read_yaml(path, "persona")
    vocabulary = document
    vocabulary_text = ""
    if VOCABULARY_KEY in document.raw:
        vocabulary_path = path.parent / document.get(VOCABULARY_KEY, str)
        vocabulary, vocabulary_text = _read_yaml(vocabulary_path, "title vocabulary")
    digest = hashlib.sha256(raw_text.encode("utf-8"))
    digest.update(vocabulary_text.encode("utf-8"))
    return read_persona(document, digest.hexdigest()[:16], vocabulary)


def _read_yaml(path: Path, what: str) -> tuple[PersonaDocument, str]:
    try:
        raw_text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PersonaError(f"{path}: cannot read the {what} file ({error.strerror})") from error
    try:
        document = yaml.load(raw_text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        raise PersonaError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict):
        raise PersonaError(f"{path}: expected a mapping at the top level")
    return PersonaDocument(path, document), raw_text


def read_persona(
    document: PersonaDocument, fingerprint: str, vocabulary_document: PersonaDocument | None = None
) -> Persona:
    """The persona from its document; the title vocabulary's sections come from
    `vocabulary_document` (the persona document itself when it holds them)."""
    words = vocabulary_document or document
    bands = _size_bands(document)
    band_names = tuple(band.name for band in bands)
    matrix = {
        str(level): document.fit_per_band(f"seniority_matrix.{level}", row, band_names)
        for level, row in document.get("seniority_matrix", dict).items()
    }
    levels = tuple(matrix)
    departments = {
        str(dept): document.fit_per_band(f"department_relevance.{dept}", value, band_names)
        for dept, value in document.get("department_relevance", dict).items()
    }
    vocabulary = _vocabulary(words, levels)
    other_firm = words.section("other_organisation", {"tag", "leader_words", "organisation_words"})
    public = document.section("public_administration", {"tag", "phrases"})
    public_phrases = tuple(normalize_text(str(phrase)) for phrase in public.get("phrases") or ())
    if "" in public_phrases:
        raise document.fail("public_administration.phrases", "empty phrase")
    known = KnownNames(
        band_names,
        levels,
        frozenset(departments)
        | {d for meaning in vocabulary.values() for d in meaning.departments},
        frozenset({t for meaning in vocabulary.values() for t in meaning.tags})
        | {str(other_firm.get("tag", "")), str(public.get("tag", ""))},
    )
    leader = words.section("functional_leader", {"words", "seniority"})
    leader_words = frozenset(normalize_title(word) for word in leader.get("words") or ())
    if not leader_words <= set(vocabulary):
        raise words.fail("functional_leader.words", "every word must be a vocabulary phrase")
    if leader.get("seniority") not in levels:
        raise words.fail("functional_leader.seniority", "not a level of seniority_matrix")

    unknown_as = document.get("unknown_size_band_as", str)
    if unknown_as not in band_names:
        raise document.fail("unknown_size_band_as", f"'{unknown_as}' is not a size band")
    default_seniority = document.get("default_seniority", str)
    if default_seniority not in levels:
        raise document.fail("default_seniority", f"'{default_seniority}' is not a seniority level")
    relevance_threshold = int(document.get("relevance_threshold", (int, float)))
    ladder = document.section("ladder", {"max_ranked_per_company", "rungs"})
    if int(ladder.get("max_ranked_per_company", 10)) < 1:
        raise document.fail("ladder.max_ranked_per_company", "must be at least 1")
    scoring = document.section("target_scoring", {"top_score", "rank_step", "priority_step"})
    mixed = document.section("mixed_title", {"min_fit", "penalty", "company_departments"})
    company_departments = frozenset(mixed.get("company_departments") or ())
    known.check_departments(document, "mixed_title.company_departments", company_departments)
    abbreviations, translations = (
        {
            normalize_title(str(source)): normalize_title(str(target))
            for source, target in words.get(key, dict).items()
        }
        for key in ("abbreviations", "translations")
    )
    ic_tags = _tags(words, "individual_contributor_tags", known)
    whole_title_tags = _tags(words, "whole_title_tags", known)
    head_segment_tags = _tags(words, "head_segment_tags", known)
    statuses = tuple(
        (str(status), frozenset(tags)) for status, tags in words.get("statuses", dict).items()
    )
    for status, tags in statuses:
        known.check_tags(words, f"statuses.{status}", tags)
    grade_words = _words(words, "grade_words")
    if not grade_words <= set(vocabulary):
        raise words.fail("grade_words", "every word must be a vocabulary phrase")

    return Persona(
        name=str(document.get("name", str)),
        fingerprint=fingerprint,
        relevance_threshold=relevance_threshold,
        size_bands=bands,
        unknown_size_band_as=unknown_as,
        seniority_levels=levels,
        seniority_matrix=matrix,
        default_seniority=default_seniority,
        department_relevance=departments,
        primary_targets=rule_entries.per_band(
            document, "primary_targets", known, rule_entries.primary_target
        ),
        top_score=int(scoring.get("top_score", 100)),
        rank_step=int(scoring.get("rank_step", 2)),
        priority_step=int(scoring.get("priority_step", 6)),
        score_bonuses=rule_entries.score_bonuses(document, known),
        ladder=rule_entries.ladder_rungs(document, ladder, known, relevance_threshold),
        max_ranked_per_company=int(ladder.get("max_ranked_per_company", 10)),
        champions=rule_entries.per_band(document, "champions", known, rule_entries.champion),
        base_score_scale=float(document.get("base_score_scale", (int, float))),
        hard_exclusions=rule_entries.exclusions(
            document, "hard_exclusions", known, default_penalty=0.0
        ),
        soft_exclusions=rule_entries.exclusions(
            document, "soft_exclusions", known, default_penalty=None
        ),
        mixed_title_min_fit=int(mixed.get("min_fit", 4)),
        mixed_title_penalty=float(mixed.get("penalty", 0.7)),
        company_departments=company_departments,
        abbreviations=abbreviations,
        translations=translations,
        vocabulary=vocabulary,
        individual_contributor_tags=ic_tags,
        whole_title_tags=whole_title_tags,
        head_segment_tags=head_segment_tags,
        history_words=_words(words, "history_words"),
        grade_words=grade_words,
        deputy_words=_words(words, "deputy_words"),
        pitch_words=_words(words, "pitch_words"),
        linking_words=_words(words, "linking_words"),
        statuses=statuses,
        functional_leader_words=leader_words,
        functional_leader_seniority=str(leader.get("seniority")),
        other_firm_tag=str(other_firm.get("tag", "")),
        organisation_leader_words=tuple(
            normalize_title(str(word)) for word in other_firm.get("leader_words") or ()
        ),
        organisation_words=frozenset(
            normalize_title(str(word)) for word in other_firm.get("organisation_words") or ()
        ),
        public_administration_tag=str(public.get("tag", "")),
        public_administration_phrases=public_phrases,
        semantic_reader=rule_entries.semantic_reader_spec(document, known),
    )


def _words(document: PersonaDocument, key: str) -> frozenset[str]:
    """A list of words, normalised as titles are."""
    return frozenset(normalize_title(str(word)) for word in document.get(key, list))


def _tags(document: PersonaDocument, key: str, known: KnownNames) -> frozenset[str]:
    tags = frozenset(document.get(key, list))
    known.check_tags(document, key, tags)
    return tags


def _size_bands(document: PersonaDocument) -> tuple[SizeBand, ...]:
    entries = document.get("size_bands", list)
    bands = []
    previous_max = 0
    for index, entry in enumerate(entries):
        key = f"size_bands[{index}]"
        try:
            band = SizeBand(
                name=str(entry["name"]),
                min_employees=int(entry["min_employees"]),
                max_employees=int(entry["max_employees"]) if entry.get("max_employees") else None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise document.fail(key, f"needs name and min_employees ({error})") from error
        if band.min_employees != previous_max + 1:
            raise document.fail(key, f"must start at {previous_max + 1} employees")
        if band.max_employees is None and index != len(entries) - 1:
            raise document.fail(key, "only the last band may be open-ended")
        previous_max = band.max_employees or 0
        bands.append(band)
    if not bands:
        raise document.fail("size_bands", "at least one band is required")
    return tuple(bands)


def _vocabulary(document: PersonaDocument, levels: Sequence[str]) -> dict[str, PhraseMeaning]:
    seniority_of: dict[str, str] = {}
    departments_of: dict[str, set[str]] = {}
    tags_of: dict[str, set[str]] = {}
    for level, phrases in document.get("seniority_phrases", dict).items():
        if level not in levels:
            raise document.fail(f"seniority_phrases.{level}", "not a level of seniority_matrix")
        for phrase in phrases:
            seniority_of[normalize_title(phrase)] = level
    for dept, phrases in document.get("department_phrases", dict).items():
        for phrase in phrases:
            departments_of.setdefault(normalize_title(phrase), set()).add(str(dept))
    for tag, phrases in document.get("tag_phrases", dict).items():
        for phrase in phrases:
            tags_of.setdefault(normalize_title(phrase), set()).add(str(tag))
    all_phrases = set(seniority_of) | set(departments_of) | set(tags_of)
    if "" in all_phrases:
        raise document.fail("seniority_phrases/department_phrases/tag_phrases", "empty phrase")
    # A compound ending in a level word holds that level unless the file says otherwise:
    # "Partner Manager" is a manager, "Business Development Director" a director.
    for phrase in all_phrases - set(seniority_of):
        last = phrase.rsplit(" ", 1)[-1]
        if " " in phrase and last in seniority_of:
            seniority_of[phrase] = seniority_of[last]
    return {
        phrase: PhraseMeaning(
            seniority=seniority_of.get(phrase),
            departments=frozenset(departments_of.get(phrase, ())),
            tags=frozenset(tags_of.get(phrase, ())),
        )
        for phrase in all_phrases
    }

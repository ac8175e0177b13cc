"""Reading the persona YAML file into a validated `Persona`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import yaml

from pipeline.leads.text import normalize_text
from pipeline.persona import rule_entries
from pipeline.persona.document import KnownNames, PersonaDocument
from pipeline.persona.spec import Persona, PersonaError, PhraseMeaning, SizeBand


def load_persona(path: str | Path) -> Persona:
    path = Path(path)
    try:
        raw_text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PersonaError(f"{path}: cannot read the persona file ({error.strerror})") from error
    try:
        document = yaml.safe_load(raw_text)
    except yaml.YAMLError as error:
        raise PersonaError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict):
        raise PersonaError(f"{path}: expected a mapping at the top level")
    fingerprint = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()[:16]
    return read_persona(PersonaDocument(path, document), fingerprint)


def read_persona(document: PersonaDocument, fingerprint: str) -> Persona:
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
    vocabulary = _vocabulary(document, levels)
    other_firm = document.section("other_firm", {"tag"})
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
    leader = document.section("functional_leader", {"words", "seniority"})
    leader_words = frozenset(normalize_text(word) for word in leader.get("words") or ())
    if not leader_words <= set(vocabulary):
        raise document.fail("functional_leader.words", "every word must be a vocabulary phrase")
    if leader.get("seniority") not in levels:
        raise document.fail("functional_leader.seniority", "not a level of seniority_matrix")

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
    scoring = document.section(
        "target_scoring", {"top_score", "rank_step", "priority_step", "extra_role_points"}
    )
    mixed = document.section("mixed_title", {"min_fit", "penalty", "company_departments"})
    company_departments = frozenset(mixed.get("company_departments") or ())
    known.check_departments(document, "mixed_title.company_departments", company_departments)
    ic_tags = frozenset(document.get("individual_contributor_tags", list))
    known.check_tags(document, "individual_contributor_tags", ic_tags)
    whole_title_tags = frozenset(document.get("whole_title_tags", list))
    known.check_tags(document, "whole_title_tags", whole_title_tags)
    head_segment_tags = frozenset(document.get("head_segment_tags", list))
    known.check_tags(document, "head_segment_tags", head_segment_tags)

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
        extra_role_points=int(scoring.get("extra_role_points", 0)),
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
        translations={
            normalize_text(source): normalize_text(target)
            for source, target in document.get("translations", dict).items()
        },
        vocabulary=vocabulary,
        individual_contributor_tags=ic_tags,
        whole_title_tags=whole_title_tags,
        head_segment_tags=head_segment_tags,
        functional_leader_words=leader_words,
        functional_leader_seniority=str(leader.get("seniority")),
        other_firm_tag=str(other_firm.get("tag", "")),
        public_administration_tag=str(public.get("tag", "")),
        public_administration_phrases=public_phrases,
    )


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
            seniority_of[normalize_text(phrase)] = level
    for dept, phrases in document.get("department_phrases", dict).items():
        for phrase in phrases:
            departments_of.setdefault(normalize_text(phrase), set()).add(str(dept))
    for tag, phrases in document.get("tag_phrases", dict).items():
        for phrase in phrases:
            tags_of.setdefault(normalize_text(phrase), set()).add(str(tag))
    all_phrases = set(seniority_of) | set(departments_of) | set(tags_of)
    if "" in all_phrases:
        raise document.fail("seniority_phrases/department_phrases/tag_phrases", "empty phrase")
    return {
        phrase: PhraseMeaning(
            seniority=seniority_of.get(phrase),
            departments=frozenset(departments_of.get(phrase, ())),
            tags=frozenset(tags_of.get(phrase, ())),
        )
        for phrase in all_phrases
    }

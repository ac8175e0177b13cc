"""The ideal customer persona: loaded from one YAML file, validated, immutable."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.text import normalize_text


class PersonaError(ValueError):
    """The persona file is unreadable or inconsistent; the message names the file and key."""


@dataclass(frozen=True)
class SizeBand:
    name: str
    min_employees: int
    max_employees: int | None


@dataclass(frozen=True)
class TitleCondition:
    """Matches a parsed title: any of `seniority`, any of `departments`, any of `tags`."""

    seniority: frozenset[str]
    departments: frozenset[str]
    tags: frozenset[str]


@dataclass(frozen=True)
class PrimaryTarget:
    rank: int
    title: str
    priority: int
    condition: TitleCondition


@dataclass(frozen=True)
class Champion:
    title: str
    score: int
    condition: TitleCondition


@dataclass(frozen=True)
class Exclusion:
    name: str
    departments: frozenset[str]
    tags: frozenset[str]
    bands: frozenset[str]
    penalty: float
    # Empty: every level. Otherwise the rule holds only for titles at these levels.
    seniority: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScoreBonus:
    """Points added to a scored lead with any of these departments or tags, at these bands."""

    name: str
    departments: frozenset[str]
    tags: frozenset[str]
    bands: frozenset[str]
    points: int


@dataclass(frozen=True)
class PhraseMeaning:
    """What one vocabulary phrase says about a title."""

    seniority: str | None
    departments: frozenset[str]
    tags: frozenset[str]


@dataclass(frozen=True)
class Persona:
    name: str
    fingerprint: str
    relevance_threshold: int
    size_bands: tuple[SizeBand, ...]
    unknown_size_band_as: str
    seniority_levels: tuple[str, ...]
    seniority_matrix: Mapping[str, Mapping[str, int]]
    default_seniority: str
    department_relevance: Mapping[str, Mapping[str, int]]
    primary_targets: Mapping[str, tuple[PrimaryTarget, ...]]
    top_score: int
    rank_step: int
    priority_step: int
    extra_role_points: int
    score_bonuses: tuple[ScoreBonus, ...]
    best_available_span: int
    best_available_min_fit: int
    champions: Mapping[str, tuple[Champion, ...]]
    base_score_scale: float
    hard_exclusions: tuple[Exclusion, ...]
    soft_exclusions: tuple[Exclusion, ...]
    mixed_title_min_fit: int
    mixed_title_penalty: float
    translations: Mapping[str, str]
    vocabulary: Mapping[str, PhraseMeaning]
    individual_contributor_tags: frozenset[str]
    whole_title_tags: frozenset[str]
    functional_leader_words: frozenset[str]
    functional_leader_seniority: str
    other_firm_tag: str
    other_firm_roles: frozenset[str]

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(band.name for band in self.size_bands)

    def seniority_order(self, level: str) -> int:
        """0 for the highest level; larger is more junior."""
        return self.seniority_levels.index(level)


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
    return _PersonaReader(path, document).read(fingerprint)


_CONDITION_KEYS = ("seniority", "departments", "tags")


class _PersonaReader:
    """Turns the YAML document into a Persona, naming the file and key on every error."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self._path = path
        self._doc = document

    def _fail(self, key: str, message: str) -> PersonaError:
        return PersonaError(f"{self._path}: {key}: {message}")

    def _get(self, key: str, expected: type | tuple[type, ...]) -> Any:
        if key not in self._doc:
            raise self._fail(key, "missing")
        value = self._doc[key]
        if not isinstance(value, expected):
            raise self._fail(key, f"expected {_type_names(expected)}, got {type(value).__name__}")
        return value

    def read(self, fingerprint: str) -> Persona:
        bands = self._size_bands()
        band_names = tuple(band.name for band in bands)
        matrix = self._seniority_matrix(band_names)
        levels = tuple(matrix)
        departments = self._department_relevance(band_names)
        vocabulary = self._vocabulary(levels)
        known_departments = set(departments) | {
            dept for meaning in vocabulary.values() for dept in meaning.departments
        }
        other_firm = self._section("other_firm", {"tag", "roles"})
        known_tags = {tag for meaning in vocabulary.values() for tag in meaning.tags}
        context = _Known(
            band_names,
            levels,
            frozenset(known_departments),
            frozenset(known_tags | {str(other_firm.get("tag", ""))}),
        )
        other_firm_roles = frozenset(other_firm.get("roles") or ())
        context.check_tags("other_firm.roles", other_firm_roles, self._fail)
        leader = self._section("functional_leader", {"words", "seniority"})
        leader_words = frozenset(normalize_text(word) for word in leader.get("words") or ())
        if not leader_words <= set(vocabulary):
            raise self._fail("functional_leader.words", "every word must be a vocabulary phrase")
        if leader.get("seniority") not in levels:
            raise self._fail("functional_leader.seniority", "not a level of seniority_matrix")
        best_available = self._section("best_available", {"span", "min_department_fit"})

        unknown_as = self._get("unknown_size_band_as", str)
        if unknown_as not in band_names:
            raise self._fail("unknown_size_band_as", f"'{unknown_as}' is not a size band")
        default_seniority = self._get("default_seniority", str)
        if default_seniority not in levels:
            raise self._fail("default_seniority", f"'{default_seniority}' is not a seniority level")
        scoring = self._section(
            "target_scoring", {"top_score", "rank_step", "priority_step", "extra_role_points"}
        )
        mixed = self._section("mixed_title", {"min_fit", "penalty"})
        ic_tags = frozenset(self._get("individual_contributor_tags", list))
        context.check_tags("individual_contributor_tags", ic_tags, self._fail)
        whole_title_tags = frozenset(self._get("whole_title_tags", list))
        context.check_tags("whole_title_tags", whole_title_tags, self._fail)

        return Persona(
            name=str(self._get("name", str)),
            fingerprint=fingerprint,
            relevance_threshold=int(self._get("relevance_threshold", (int, float))),
            size_bands=bands,
            unknown_size_band_as=unknown_as,
            seniority_levels=levels,
            seniority_matrix=matrix,
            default_seniority=default_seniority,
            department_relevance=departments,
            primary_targets=self._per_band("primary_targets", context, self._primary_target),
            top_score=int(scoring.get("top_score", 100)),
            rank_step=int(scoring.get("rank_step", 2)),
            priority_step=int(scoring.get("priority_step", 6)),
            extra_role_points=int(scoring.get("extra_role_points", 0)),
            score_bonuses=self._score_bonuses(context),
            best_available_span=int(best_available.get("span", 0)),
            best_available_min_fit=int(best_available.get("min_department_fit", 1)),
            champions=self._per_band("champions", context, self._champion),
            base_score_scale=float(self._get("base_score_scale", (int, float))),
            hard_exclusions=self._exclusions("hard_exclusions", context, default_penalty=0.0),
            soft_exclusions=self._exclusions("soft_exclusions", context, default_penalty=None),
            mixed_title_min_fit=int(mixed.get("min_fit", 4)),
            mixed_title_penalty=float(mixed.get("penalty", 0.7)),
            translations={
                normalize_text(source): normalize_text(target)
                for source, target in self._get("translations", dict).items()
            },
            vocabulary=vocabulary,
            individual_contributor_tags=ic_tags,
            whole_title_tags=whole_title_tags,
            functional_leader_words=leader_words,
            functional_leader_seniority=str(leader.get("seniority")),
            other_firm_tag=str(other_firm.get("tag", "")),
            other_firm_roles=other_firm_roles,
        )

    def _section(self, key: str, allowed: set[str]) -> dict[str, Any]:
        section = self._get(key, dict)
        self._check_keys(key, section, allowed)
        return section

    def _check_keys(self, key: str, entry: dict[str, Any], allowed: set[str]) -> None:
        unknown = set(entry) - allowed
        if unknown:
            raise self._fail(
                key,
                f"unknown key(s) {sorted(map(str, unknown))} "
                f"(allowed: {', '.join(sorted(allowed))}); "
                "a comma inside an unquoted {...} value splits it into keys",
            )

    def _score_bonuses(self, known: _Known) -> tuple[ScoreBonus, ...]:
        bonuses = []
        for index, entry in enumerate(self._get("score_bonuses", list)):
            key = f"score_bonuses[{index}]"
            self._check_keys(key, entry, {"name", "departments", "tags", "bands", "points"})
            bonus = ScoreBonus(
                name=str(entry.get("name") or key),
                departments=frozenset(entry.get("departments") or ()),
                tags=frozenset(entry.get("tags") or ()),
                bands=frozenset(entry.get("bands") or known.bands),
                points=int(entry.get("points", 0)),
            )
            self._check_names(key, bonus.departments, bonus.tags, known)
            bonuses.append(bonus)
        return tuple(bonuses)

    def _size_bands(self) -> tuple[SizeBand, ...]:
        bands = []
        previous_max = 0
        for index, entry in enumerate(self._get("size_bands", list)):
            key = f"size_bands[{index}]"
            try:
                band = SizeBand(
                    name=str(entry["name"]),
                    min_employees=int(entry["min_employees"]),
                    max_employees=(
                        int(entry["max_employees"]) if entry.get("max_employees") else None
                    ),
                )
            except (KeyError, TypeError, ValueError) as error:
                raise self._fail(key, f"needs name and min_employees ({error})") from error
            if band.min_employees != previous_max + 1:
                raise self._fail(key, f"must start at {previous_max + 1} employees")
            if band.max_employees is None and index != len(self._doc["size_bands"]) - 1:
                raise self._fail(key, "only the last band may be open-ended")
            previous_max = band.max_employees or 0
            bands.append(band)
        if not bands:
            raise self._fail("size_bands", "at least one band is required")
        return tuple(bands)

    def _seniority_matrix(self, bands: Sequence[str]) -> dict[str, dict[str, int]]:
        matrix: dict[str, dict[str, int]] = {}
        for level, row in self._get("seniority_matrix", dict).items():
            matrix[str(level)] = self._fit_per_band(f"seniority_matrix.{level}", row, bands)
        return matrix

    def _department_relevance(self, bands: Sequence[str]) -> dict[str, dict[str, int]]:
        return {
            str(dept): self._fit_per_band(f"department_relevance.{dept}", value, bands)
            for dept, value in self._get("department_relevance", dict).items()
        }

    def _fit_per_band(self, key: str, value: Any, bands: Sequence[str]) -> dict[str, int]:
        if isinstance(value, (int, float)):
            value = dict.fromkeys(bands, value)
        if not isinstance(value, dict) or set(value) != set(bands):
            raise self._fail(key, f"give one number or one per band ({', '.join(bands)})")
        fits = {band: int(value[band]) for band in bands}
        if any(not 0 <= fit <= 5 for fit in fits.values()):
            raise self._fail(key, "fits are between 0 and 5")
        return fits

    def _vocabulary(self, levels: Sequence[str]) -> dict[str, PhraseMeaning]:
        seniority_of: dict[str, str] = {}
        departments_of: dict[str, set[str]] = {}
        tags_of: dict[str, set[str]] = {}
        for level, phrases in self._get("seniority_phrases", dict).items():
            if level not in levels:
                raise self._fail(f"seniority_phrases.{level}", "not a level of seniority_matrix")
            for phrase in phrases:
                seniority_of[normalize_text(phrase)] = level
        for dept, phrases in self._get("department_phrases", dict).items():
            for phrase in phrases:
                departments_of.setdefault(normalize_text(phrase), set()).add(str(dept))
        for tag, phrases in self._get("tag_phrases", dict).items():
            for phrase in phrases:
                tags_of.setdefault(normalize_text(phrase), set()).add(str(tag))
        all_phrases = set(seniority_of) | set(departments_of) | set(tags_of)
        if "" in all_phrases:
            raise self._fail("seniority_phrases/department_phrases/tag_phrases", "empty phrase")
        return {
            phrase: PhraseMeaning(
                seniority=seniority_of.get(phrase),
                departments=frozenset(departments_of.get(phrase, ())),
                tags=frozenset(tags_of.get(phrase, ())),
            )
            for phrase in all_phrases
        }

    def _per_band(self, key: str, known: _Known, build: Any) -> dict[str, tuple[Any, ...]]:
        section = self._get(key, dict)
        unknown = set(section) - set(known.bands)
        if unknown:
            raise self._fail(key, f"unknown size band(s) {sorted(unknown)}")
        return {
            band: tuple(
                build(f"{key}.{band}[{index}]", entry, known)
                for index, entry in enumerate(section.get(band) or [])
            )
            for band in known.bands
        }

    def _condition(self, key: str, entry: dict[str, Any], known: _Known) -> TitleCondition:
        condition = TitleCondition(
            seniority=frozenset(entry.get("seniority") or ()),
            departments=frozenset(entry.get("departments") or ()),
            tags=frozenset(entry.get("tags") or ()),
        )
        unknown_levels = condition.seniority - set(known.levels)
        if unknown_levels:
            raise self._fail(key, f"unknown seniority level(s) {sorted(unknown_levels)}")
        known.check_departments(key, condition.departments, self._fail)
        known.check_tags(key, condition.tags, self._fail)
        if not (condition.seniority or condition.departments or condition.tags):
            raise self._fail(key, "needs seniority, departments or tags")
        return condition

    def _primary_target(self, key: str, entry: dict[str, Any], known: _Known) -> PrimaryTarget:
        self._check_keys(key, entry, {"rank", "title", "priority", *_CONDITION_KEYS})
        try:
            return PrimaryTarget(
                rank=int(entry["rank"]),
                title=str(entry["title"]),
                priority=int(entry["priority"]),
                condition=self._condition(key, entry, known),
            )
        except KeyError as error:
            raise self._fail(key, f"missing {error}") from error

    def _champion(self, key: str, entry: dict[str, Any], known: _Known) -> Champion:
        self._check_keys(key, entry, {"title", "score", *_CONDITION_KEYS})
        try:
            return Champion(
                title=str(entry["title"]),
                score=int(entry["score"]),
                condition=self._condition(key, entry, known),
            )
        except KeyError as error:
            raise self._fail(key, f"missing {error}") from error

    def _exclusions(
        self, key: str, known: _Known, default_penalty: float | None
    ) -> tuple[Exclusion, ...]:
        rules = []
        for index, entry in enumerate(self._get(key, list)):
            entry_key = f"{key}[{index}]"
            self._check_keys(
                entry_key, entry, {"name", "departments", "tags", "bands", "penalty", "seniority"}
            )
            penalty = entry.get("penalty", default_penalty)
            if penalty is None or not 0 <= float(penalty) <= 1:
                raise self._fail(entry_key, "penalty between 0 and 1 is required")
            rule = Exclusion(
                name=str(entry.get("name") or entry_key),
                departments=frozenset(entry.get("departments") or ()),
                tags=frozenset(entry.get("tags") or ()),
                bands=frozenset(entry.get("bands") or known.bands),
                penalty=float(penalty),
                seniority=frozenset(entry.get("seniority") or ()),
            )
            if rule.seniority - set(known.levels):
                raise self._fail(entry_key, f"unknown seniority level(s) {sorted(rule.seniority)}")
            self._check_names(entry_key, rule.departments, rule.tags, known)
            rules.append(rule)
        return tuple(rules)

    def _check_names(
        self, key: str, departments: frozenset[str], tags: frozenset[str], known: _Known
    ) -> None:
        """A rule naming departments or tags names at least one, and only known ones."""
        known.check_departments(key, departments, self._fail)
        known.check_tags(key, tags, self._fail)
        if not departments and not tags:
            raise self._fail(key, "needs departments or tags")


@dataclass(frozen=True)
class _Known:
    bands: tuple[str, ...]
    levels: tuple[str, ...]
    departments: frozenset[str]
    tags: frozenset[str]

    def check_departments(self, key: str, values: frozenset[str], fail: Any) -> None:
        unknown = values - self.departments
        if unknown:
            raise fail(key, f"unknown department(s) {sorted(unknown)}")

    def check_tags(self, key: str, values: frozenset[str], fail: Any) -> None:
        unknown = values - self.tags
        if unknown:
            raise fail(key, f"unknown tag(s) {sorted(unknown)} (define them in tag_phrases)")


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)

"""The ideal customer persona as immutable data: what `reader` builds from the YAML file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property


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
class Rung:
    """One step of the persona's ladder: who stands on it, what they score once ranked, and
    the sizes at which it is reached even when better people work at the company."""

    name: str
    # None on the first rung: the band's primary targets stand there.
    condition: TitleCondition | None
    # Whether the band's champions stand here too, whatever the condition says.
    champions: bool
    low_score: int
    high_score: int
    # Elsewhere the rung is reached only when nobody stands on a better rung.
    bands: frozenset[str]


@dataclass(frozen=True)
class PhraseMeaning:
    """What one vocabulary phrase says about a title."""

    seniority: str | None
    departments: frozenset[str]
    tags: frozenset[str]


@dataclass(frozen=True)
class PrototypeRole:
    """A role the semantic reader may read a title as: its reading, and phrases naming it."""

    name: str
    seniority: str
    departments: frozenset[str]
    tags: frozenset[str]
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class SemanticReaderSpec:
    """How titles the vocabulary cannot read are read by their meaning: the roles, the
    similarity a reading needs (`floor`), and how far it must stand above the nearest role of
    another function (`margin`)."""

    floor: float
    margin: float
    roles: tuple[PrototypeRole, ...]


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
    score_bonuses: tuple[ScoreBonus, ...]
    ladder: tuple[Rung, ...]
    max_ranked_per_company: int
    champions: Mapping[str, tuple[Champion, ...]]
    base_score_scale: float
    hard_exclusions: tuple[Exclusion, ...]
    soft_exclusions: tuple[Exclusion, ...]
    mixed_title_min_fit: int
    mixed_title_penalty: float
    # Departments that lead the company rather than a function (the executive office).
    company_departments: frozenset[str]
    # Short forms and other languages, rewritten before matching ("v p" -> "vice president",
    # "vertriebsleiter" -> "head of sales"); `rewrites` holds both.
    abbreviations: Mapping[str, str]
    translations: Mapping[str, str]
    vocabulary: Mapping[str, PhraseMeaning]
    individual_contributor_tags: frozenset[str]
    whole_title_tags: frozenset[str]
    # Tags that hold only in the title's first role segment, not in a qualifier after it.
    head_segment_tags: frozenset[str]
    # A segment holding one of these is the person's past: it says no status.
    history_words: frozenset[str]
    # Words that join a role's parts ("of", "and"): neither a role nor a qualifier.
    linking_words: frozenset[str]
    # A qualifier starting with one of these is a pitch ("- helping manufacturers sell").
    pitch_words: frozenset[str]
    # Beside a level word (and not "to" someone) a deputy: "Assistant Sales Manager".
    deputy_words: frozenset[str]
    # Words that name a role alone and only a grade beside another role word.
    grade_words: frozenset[str]
    # What a title says of the person, in order: the first status whose tags it holds.
    statuses: tuple[tuple[str, frozenset[str]], ...]
    functional_leader_words: frozenset[str]
    functional_leader_seniority: str
    other_firm_tag: str
    # A leader's role whose object names an organisation ("Partner, X Capital") is held there.
    organisation_leader_words: tuple[str, ...]
    organisation_words: frozenset[str]
    # Account names or industries of organisations that are no prospects, and their tag.
    public_administration_tag: str
    public_administration_phrases: tuple[str, ...]
    # None: a title the vocabulary cannot read stays unread.
    semantic_reader: SemanticReaderSpec | None = None

    @cached_property
    def rewrites(self) -> Mapping[str, str]:
        """Every rewrite applied before matching: abbreviations and translations."""
        return {**self.abbreviations, **self.translations}

    @property
    def ladder_departments(self) -> frozenset[str]:
        """The departments that can put a lead on a rung of the ladder: the rungs', the
        primary targets' and the champions'."""
        conditions = [rung.condition for rung in self.ladder if rung.condition is not None]
        conditions += [t.condition for targets in self.primary_targets.values() for t in targets]
        conditions += [c.condition for champions in self.champions.values() for c in champions]
        return frozenset(dept for condition in conditions for dept in condition.departments)

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(band.name for band in self.size_bands)

    def seniority_order(self, level: str) -> int:
        """0 for the highest level; larger is more junior."""
        return self.seniority_levels.index(level)

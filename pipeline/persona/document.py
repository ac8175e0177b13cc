"""Typed access to the persona YAML document: every error names the file and the key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.persona.spec import PersonaError


class PersonaDocument:
    """The parsed YAML mapping with the checks every section needs."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self.raw = document

    def fail(self, key: str, message: str) -> PersonaError:
        return PersonaError(f"{self.path}: {key}: {message}")

    def get(self, key: str, expected: type | tuple[type, ...]) -> Any:
        if key not in self.raw:
            raise self.fail(key, "missing")
        value = self.raw[key]
        if not isinstance(value, expected):
            raise self.fail(key, f"expected {_type_names(expected)}, got {type(value).__name__}")
        return value

    def section(self, key: str, allowed: set[str]) -> dict[str, Any]:
        section = self.get(key, dict)
        self.check_keys(key, section, allowed)
        return section

    def check_keys(self, key: str, entry: dict[str, Any], allowed: set[str]) -> None:
        unknown = set(entry) - allowed
        if unknown:
            raise self.fail(
                key,
                f"unknown key(s) {sorted(map(str, unknown))} "
                f"(allowed: {', '.join(sorted(allowed))}); "
                "a comma inside an unquoted {...} value splits it into keys",
            )

    def fit_per_band(self, key: str, value: Any, bands: Sequence[str]) -> dict[str, int]:
        """A 0-5 fit given as one number or one per band."""
        if isinstance(value, (int, float)):
            value = dict.fromkeys(bands, value)
        if not isinstance(value, dict) or set(value) != set(bands):
            raise self.fail(key, f"give one number or one per band ({', '.join(bands)})")
        fits = {band: int(value[band]) for band in bands}
        if any(not 0 <= fit <= 5 for fit in fits.values()):
            raise self.fail(key, "fits are between 0 and 5")
        return fits


@dataclass(frozen=True)
class KnownNames:
    """The bands, levels, departments and tags the rest of the file may name."""

    bands: tuple[str, ...]
    levels: tuple[str, ...]
    departments: frozenset[str]
    tags: frozenset[str]

    def check_levels(self, document: PersonaDocument, key: str, values: frozenset[str]) -> None:
        unknown = values - set(self.levels)
        if unknown:
            raise document.fail(key, f"unknown seniority level(s) {sorted(unknown)}")

    def check_departments(
        self, document: PersonaDocument, key: str, values: frozenset[str]
    ) -> None:
        unknown = values - self.departments
        if unknown:
            raise document.fail(key, f"unknown department(s) {sorted(unknown)}")

    def check_tags(self, document: PersonaDocument, key: str, values: frozenset[str]) -> None:
        unknown = values - self.tags
        if unknown:
            raise document.fail(
                key, f"unknown tag(s) {sorted(unknown)} (define them in tag_phrases)"
            )

    def check_names(
        self,
        document: PersonaDocument,
        key: str,
        departments: frozenset[str],
        tags: frozenset[str],
    ) -> None:
        """A rule naming departments or tags names at least one, and only known ones."""
        self.check_departments(document, key, departments)
        self.check_tags(document, key, tags)
        if not departments and not tags:
            raise document.fail(key, "needs departments or tags")


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)

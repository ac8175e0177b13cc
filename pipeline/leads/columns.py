"""Which header of an export is which of our columns: the names exports use, the tools'
known exports, a second reading for numbered and prefixed names, and the choice among several
columns that each hold one (a website and a LinkedIn page, a work and a mobile phone)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pipeline.leads.companies import normalize_domain
from pipeline.leads.records import CONTACT_COLUMNS, LEAD_COLUMNS, REQUIRED_COLUMNS, LeadsFileError
from pipeline.leads.sources import ExportSource, header_key, recognise
from pipeline.persona.sizing import parse_employee_count

# Header names seen in CRM, LinkedIn and scraper exports, compared as `header_key` spells them
# (camelCase and snake_case split into words).
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "account_name": (
        "company",
        "company name",
        "account name",
        "account",
        "organization",
        "organisation",
        "organization name",
        "employer",
    ),
    "lead_first_name": ("first name", "firstname", "given name", "first"),
    "lead_last_name": ("last name", "lastname", "surname", "family name", "last"),
    "lead_job_title": ("job title", "title", "position", "role"),
    "account_domain": (
        "domain",
        "website",
        "company website",
        "company domain",
        "url",
        "website url",
        "company url",
        "company website url",
        # Salesforce reports name an account's fields "Account: Website".
        "account website",
    ),
    "account_employee_range": (
        "employees",
        "# employees",
        "employee range",
        "company size",
        "number of employees",
        "headcount",
        "employee count",
        "company employee count",
        "company headcount",
        "size",
        "no of employees",
        "company employee count range",
        "employees range",
        "account employees",
        "account no of employees",
        "company staff count",
        "company staff count range",
        "staff count",
    ),
    "account_industry": ("industry", "company industry", "account industry"),
    "email": (
        "email",
        "email address",
        "e mail",
        "work email",
        "business email",
        "primary email",
        "contact email",
        "email work",
    ),
    "phone": (
        "phone",
        "phone number",
        "work phone",
        "direct phone",
        "work direct phone",
        "mobile phone",
        "mobile phone number",
        "mobile",
        "corporate phone",
        "telephone",
        "contact phone",
        "business phone",
        "phone work",
        "phone mobile",
        "direct phone number",
    ),
    "linkedin_url": (
        "linkedin",
        "linkedin url",
        "linkedin profile",
        "linkedin profile url",
        "person linkedin url",
        "contact linkedin url",
        "profile url",
        "linkedin contact profile url",
    ),
    "source_record_id": (
        "record id",
        "lead id",
        "contact id",
        "apollo contact id",
        "zoominfo contact id",
    ),
}
# Read only where no name above matches: a LinkedIn headline is the title when the export has
# no title column, and a tagline beside one.
FALLBACK_ALIASES: Mapping[str, tuple[str, ...]] = {"lead_job_title": ("headline",)}
MAPPED_COLUMNS: tuple[str, ...] = LEAD_COLUMNS + CONTACT_COLUMNS
FULL_NAME_ALIASES = ("full name", "name", "lead name", "contact name", "contact")
# Several URL, email or phone columns are common (a website and a LinkedIn page, a work and
# a mobile phone): each row takes the first that holds one, so none is dropped and a social
# network never becomes a company domain.
_COMBINED_COLUMNS = frozenset(
    {"account_domain", "account_employee_range", "email", "phone", "linkedin_url"}
)


class MissingColumnError(LeadsFileError):
    """This row lacks a required column: the header may be a row further down."""


def kept_headers(header: list[str], keep: Sequence[str], path: Path) -> list[str]:
    """The file's headers that `keep` names (in any case or spacing), in `keep`'s order."""
    by_key = {header_key(name): name for name in header}
    missing = [name for name in keep if header_key(name) not in by_key]
    if missing:
        raise LeadsFileError(
            f"{path}: --keep-columns names {', '.join(map(repr, missing))}: no such column "
            f"(found: {', '.join(header)})"
        )
    return list(dict.fromkeys(by_key[header_key(name)] for name in keep))


def wanted_value(ours: str, value: str) -> bool:
    """Whether a filled cell holds one of ours (a domain, an email address), for the choice
    among several columns that each may hold it."""
    wanted = _WANTED.get(ours)
    return bool(wanted(value)) if wanted else True


_WANTED: Mapping[str, Callable[[str], object]] = {
    "account_domain": normalize_domain,
    # A head count and a range side by side (ZoomInfo, Seamless): the first that reads.
    "account_employee_range": lambda value: parse_employee_count(value) is not None,
    "email": lambda value: "@" in value,
    "linkedin_url": lambda value: "linkedin.com/in/" in value.lower(),
}


def map_columns(
    header: list[str], path: Path, chosen: Mapping[str, str] | None = None
) -> tuple[dict[str, list[str]], str | None, ExportSource | None]:
    """Our column -> the file's header(s), the full-name column to split when the file has
    no first and last names, and the tool the export is recognised as. Two headers that both
    could be one of ours are refused, unless `chosen` names the one to read."""
    chosen = dict(chosen or {})
    unknown = sorted(set(chosen) - set(MAPPED_COLUMNS))
    if unknown:
        raise LeadsFileError(
            f"{path}: --columns names {', '.join(unknown)}: not one of ours "
            f"({', '.join(MAPPED_COLUMNS)})"
        )
    for ours, theirs in chosen.items():
        if theirs not in header:
            raise MissingColumnError(
                f"{path}: --columns {ours}={theirs}: no such column (found: {', '.join(header)})"
            )
    source = recognise(header)
    index = _HeaderIndex(header, source.ignore if source else frozenset())
    taken = set(chosen.values())
    columns: dict[str, list[str]] = {ours: [theirs] for ours, theirs in chosen.items()}
    for ours in MAPPED_COLUMNS:
        if ours in columns:
            continue
        found = index.named(source.prefer.get(ours, ()), taken) if source else []
        if found and ours not in _COMBINED_COLUMNS:
            found = found[:1]  # the tool's own column for it
        found = found or index.named((header_key(ours), *COLUMN_ALIASES[ours]), taken)
        found = found or index.named(FALLBACK_ALIASES.get(ours, ()), taken)
        if len(found) > 1 and ours not in _COMBINED_COLUMNS:
            raise LeadsFileError(
                f"{path}: columns {' and '.join(map(repr, found))} could each be {ours}; "
                f'choose one with --columns "{ours}={found[0]}"'
            )
        if found:
            columns[ours] = found
            taken.update(found)
    full_name = None
    if not {"lead_first_name", "lead_last_name"} <= columns.keys():
        names = index.named(FULL_NAME_ALIASES, taken)
        full_name = names[0] if names else None
    missing = [
        column
        for column in REQUIRED_COLUMNS
        if column not in columns
        and not (full_name and column in ("lead_first_name", "lead_last_name"))
    ]
    if missing:
        names = (*COLUMN_ALIASES[missing[0]], *FALLBACK_ALIASES.get(missing[0], ()))
        accepted = ", ".join(f"'{alias}'" for alias in names)
        raise MissingColumnError(
            f"{path}: missing required column '{missing[0]}' (found: "
            f"{', '.join(header) or 'none'}; accepted names: {accepted}; or name it with "
            f'--columns "{missing[0]}=<header>")'
        )
    if full_name:
        for column in ("lead_first_name", "lead_last_name"):
            columns.pop(column, None)
    return columns, full_name, source


class _HeaderIndex:
    """A header's names by `header_key`, and by a second reading for names no key matches:
    a trailing number dropped ('Email 1', 'Phone 2') and a record-type prefix dropped
    ('Person - Job title', 'Contact LinkedIn URL'), as CRM exports number and prefix them."""

    def __init__(self, header: list[str], ignored: frozenset[str]) -> None:
        self.primary: dict[str, list[str]] = {}
        self.derived: dict[str, list[str]] = {}
        for name in header:
            key = header_key(name)
            if key in ignored:
                continue
            self.primary.setdefault(key, []).append(name)
            for other in {_NUMBERED.sub("", key), _RECORD_PREFIX.sub("", key)} - {key}:
                self.derived.setdefault(other, []).append(name)

    def named(self, keys: Sequence[str], taken: set[str]) -> list[str]:
        """The names under these keys, in the keys' order; the second reading only when the
        first finds none."""
        for table in (self.primary, self.derived):
            found = [n for key in dict.fromkeys(keys) for n in table.get(key, []) if n not in taken]
            if found:
                return list(dict.fromkeys(found))
        return []


_NUMBERED = re.compile(r" \d+$")
_RECORD_PREFIX = re.compile(r"^(?:person|contact|lead|prospect) ")

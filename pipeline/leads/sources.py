"""The exports of the tools sales teams take lead lists from, told apart by their header sets.

Each tool writes a known header, in which some names would be ambiguous or misleading read
alone: Apollo writes `Company` and `Company Name for Emails` (the same firm, the second
shortened for mail merges), HubSpot and Salesforce write their record ids, Sales Navigator
scrapers write a Sales Navigator link beside the public profile. A recognised export reads
each of our columns from the header its tool means for it, then the general header names
fill the rest.

Header names are compared as `header_key` spells them (case, punctuation and camelCase
folded).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


def header_key(name: str) -> str:
    """'companyName', 'Company_Name' and 'Company Name' all read 'company name'; 'LinkedIn
    URL' and 'linkedInProfileUrl' keep LinkedIn one word."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    key = " ".join(re.sub(r"[^a-z0-9#]+", " ", spaced.lower()).split())
    return re.sub(r"\blinked in\b", "linkedin", key)


@dataclass(frozen=True)
class ExportSource:
    """A tool's export: `system` names it in the tables, `signatures` are header sets any one
    of which marks it, `prefer` gives our column -> its headers in order, `ignore` headers
    that are none of ours."""

    system: str
    name: str
    signatures: tuple[frozenset[str], ...]
    prefer: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()

    def matches(self, keys: set[str]) -> bool:
        return any(signature <= keys for signature in self.signatures)


EXPORT_SOURCES: tuple[ExportSource, ...] = (
    ExportSource(
        system="apollo",
        name="Apollo",
        signatures=(frozenset({"apollo contact id"}), frozenset({"company name for emails"})),
        prefer={
            "account_name": ("company name", "company"),
            "account_domain": ("website",),
            "account_employee_range": ("# employees",),
            "linkedin_url": ("person linkedin url",),
            # Apollo's phone columns, the person's own first.
            "phone": (
                "work direct phone",
                "mobile phone",
                "corporate phone",
                "other phone",
                "home phone",
            ),
            "source_record_id": ("apollo contact id",),
        },
        ignore=frozenset(
            {"company name for emails", "company linkedin url", "company phone", "headline"}
        ),
    ),
    ExportSource(
        system="hubspot",
        name="HubSpot",
        signatures=(frozenset({"record id", "first name", "last name"}),),
        prefer={
            "account_name": ("company name", "associated company"),
            "account_domain": ("website url", "company domain name"),
            "account_employee_range": ("number of employees",),
            "lead_job_title": ("job title",),
            "phone": ("phone number", "mobile phone number"),
            "linkedin_url": ("linkedin url", "linkedin profile url"),
            "source_record_id": ("record id",),
        },
    ),
    ExportSource(
        system="salesforce",
        name="Salesforce",
        signatures=(
            frozenset({"lead id"}),
            frozenset({"contact id"}),
            frozenset({"company account"}),
        ),
        prefer={
            "account_name": ("company account", "account name", "company"),
            "account_employee_range": ("no of employees", "employees"),
            "lead_job_title": ("title",),
            "phone": ("phone", "mobile phone", "mobile"),
            "source_record_id": ("lead id", "contact id"),
        },
    ),
    ExportSource(
        system="sales_navigator",
        name="Sales Navigator scraper",
        signatures=(
            frozenset({"vmid"}),
            frozenset({"sales navigator profile url"}),
            frozenset({"linkedin profile url", "company name"}),
        ),
        prefer={
            # The public profile first: a Sales Navigator link opens only for its subscribers.
            "linkedin_url": (
                "default profile url",
                "linkedin profile url",
                "linkedin url",
                "profile url",
                "sales navigator profile url",
            ),
            "account_domain": ("company domain", "company website"),
            "account_employee_range": ("company employee count range", "company headcount"),
        },
        ignore=frozenset({"company url", "regular company url", "title description"}),
    ),
)


def recognise(header: list[str]) -> ExportSource | None:
    """The tool whose export this header is, if it is one of the known ones."""
    keys = {header_key(name) for name in header}
    return next((source for source in EXPORT_SOURCES if source.matches(keys)), None)

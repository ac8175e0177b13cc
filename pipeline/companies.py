"""Company identity: the partition key every company's leads are grouped under."""

from __future__ import annotations

import re

from pipeline.text import collapse_spaces

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
# Dagster rejects partition keys holding '...' or control characters.
_DOT_RUNS = re.compile(r"\.{2,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_domain(domain: str | None) -> str:
    """'https://www.Example.com/about' -> 'example.com'; '' when there is no usable domain."""
    if not domain:
        return ""
    text = _CONTROL.sub("", domain).strip().lower()
    text = _SCHEME.sub("", text)
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.split("@")[-1].split(":")[0].strip(". ")
    text = text.removeprefix("www.")
    text = _DOT_RUNS.sub(".", text)
    return text if "." in text and " " not in text else ""


def company_key(account_name: str | None, account_domain: str | None) -> str:
    """The normalised domain when there is one, else the trimmed company name.

    Returns '' when the lead names neither; callers treat that as bad input.
    """
    domain = normalize_domain(account_domain)
    if domain:
        return domain
    name = collapse_spaces(_CONTROL.sub(" ", account_name or ""))
    return _DOT_RUNS.sub("…", name)

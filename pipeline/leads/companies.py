"""Company identity: the key every company's leads are grouped and ranked under."""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.leads.text import clean_cell, collapse_spaces, normalize_text

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
# No '...' and no control characters: keys were Dagster partition keys in earlier versions,
# which reject both, and keep that form so that they and the lead ids built on them (hence
# cached model answers) stay the same across versions.
_DOT_RUNS = re.compile(r"\.{2,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# A file repeats each company's website on every lead of it: each distinct value once.
@lru_cache(maxsize=1 << 16)
def normalize_domain(domain: str | None) -> str:
    """'https://www.Example.com/about' -> 'example.com'; '' when there is no usable domain."""
    if not domain:
        return ""
    text = _CONTROL.sub("", clean_cell(domain)).lower()
    text = _SCHEME.sub("", text)
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.split("@")[-1].split(":")[0].strip(". ")
    text = text.removeprefix("www.")
    text = _DOT_RUNS.sub(".", text)
    if not ("." in text and " " not in text) or _is_social_network(text):
        return ""
    return text


# Hosts of profile pages, not of companies: "linkedin.com/company/acme" names no domain of
# Acme's, and as a company key it would merge every company into one.
_SOCIAL_NETWORKS = frozenset(
    {
        "linkedin.com",
        "lnkd.in",
        "facebook.com",
        "fb.com",
        "twitter.com",
        "x.com",
        "instagram.com",
        "youtube.com",
        "tiktok.com",
        "xing.com",
        "crunchbase.com",
        "angel.co",
        "wellfound.com",
        "github.com",
        "medium.com",
        "glassdoor.com",
        "bit.ly",
    }
)


def _is_social_network(host: str) -> bool:
    """The host or a domain it is under is a social network's."""
    labels = host.split(".")
    return any(".".join(labels[start:]) in _SOCIAL_NETWORKS for start in range(len(labels)))


def company_key(account_name: str | None, account_domain: str | None) -> str:
    """The normalised domain when there is one, else the trimmed company name.

    Returns '' when the lead names neither; callers treat that as bad input.
    """
    domain = normalize_domain(account_domain)
    if domain:
        return domain
    name = collapse_spaces(_CONTROL.sub(" ", clean_cell(account_name or "")))
    return _DOT_RUNS.sub("…", name)


# Words that name no particular firm: "Acme Inc" and "Acme" are the same firm.
_GENERIC_NAME_WORDS = frozenset(
    {"inc", "ltd", "llc", "gmbh", "sa", "sas", "bv", "ag", "co", "corp", "company", "the", "group"}
)


def _name_words(text: str) -> list[str]:
    return [word for word in normalize_text(text).split() if word not in _GENERIC_NAME_WORDS]


def company_name_key(name: str) -> str:
    """A firm's name compared without case, accents, punctuation or legal form: 'ACME, Inc.'
    and 'Acme' are one firm."""
    return " ".join(_name_words(clean_cell(name)))


def firm_words(named: str) -> tuple[str, ...]:
    """The words that name a firm, as `same_firm` compares them."""
    return tuple(_name_words(named))


def company_words(account_name: str, account_domain: str) -> frozenset[str]:
    """The company's name words and its domain's stem, as `same_firm` compares them."""
    stem = normalize_domain(account_domain).split(".")[0]
    return frozenset(_name_words(account_name)) | ({stem} if stem else frozenset())


def same_firm(named_words: tuple[str, ...], words: frozenset[str]) -> bool:
    """Whether a firm named in a title (`firm_words`) is the lead's company
    (`company_words`), by name words, domain stem or initials ("Johnson Controls" is "JCI").

    Loose on purpose: only a firm sharing no word, stem or initials with the company counts
    as another firm. Words are read once per firm and per company: files repeat both.
    """
    if not named_words:
        return True
    joined = "".join(sorted(named_words))
    initials = "".join(word[0] for word in named_words)
    return (
        bool(set(named_words) & words)
        or any(word in joined for word in words)
        or (len(initials) >= 2 and any(word.startswith(initials) for word in words))
    )

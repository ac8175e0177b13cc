"""Reading a leads CSV and giving every lead a stable identity."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.leads.companies import company_key
from pipeline.leads.text import clean_cell, collapse_spaces

REQUIRED_COLUMNS: tuple[str, ...] = (
    "account_name",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
)
# Present in full exports; a file without them is still ranked (no domains, no sizes).
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "account_domain",
    "account_employee_range",
    "account_industry",
)
LEAD_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# How the sales team reaches the person, and the record in the tool the row came from.
CONTACT_COLUMNS: tuple[str, ...] = ("email", "phone", "linkedin_url", "source_record_id")
# Beside them in every lead table: the website as the file wrote it (`account_domain` holds
# the bare domain), the tool the export came from, and the columns a user chose to keep
# (their header -> value, as JSON).
SOURCE_COLUMNS: tuple[str, ...] = ("account_website", "source_system", "kept_columns")


class LeadsFileError(ValueError):
    """The leads file cannot be used; the message names the file, and the row and column."""


def read_text_csv(path: Path, error_type: type[ValueError]) -> pd.DataFrame:
    """Every cell as a string, exactly as written; header names trimmed.

    An unreadable file raises `error_type` naming the file.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise error_type(f"{path}: file not found") from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise error_type(f"{path}: not a readable CSV ({error})") from error
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def identity_text(value: str) -> str:
    """Case- and spacing-insensitive form of a name, keeping every script; invisible
    characters do not make another person."""
    return collapse_spaces(unicodedata.normalize("NFKC", clean_cell(value))).casefold()


def lead_id(first_name: str, last_name: str, job_title: str, company: str) -> str:
    """Stable id of a person in a role at a company: the same row in any file gets the same id."""
    return _hashed(
        (identity_text(first_name), identity_text(last_name), identity_text(job_title), company)
    )


def _hashed(parts: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def identities(frame: pd.DataFrame | Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `company_key` ('' when it names no company) and `lead_id`; names, titles
    and companies are normalised once per distinct value (files repeat them)."""
    pair_codes, first = distinct_rows(frame, ("account_name", "account_domain"))
    names, domains = (
        np.asarray(frame[column])[first] for column in ("account_name", "account_domain")
    )
    keys = spread([company_key(*pair) for pair in zip(names, domains, strict=True)], pair_codes)
    first, last, title = (
        by_distinct(frame[column], identity_text)
        for column in ("lead_first_name", "lead_last_name", "lead_job_title")
    )
    ids = np.array(
        [_hashed(parts) for parts in zip(first, last, title, keys, strict=True)], dtype=object
    )
    return keys, ids


def by_distinct(values: pd.Series, work: Callable[[str], object]) -> np.ndarray:
    """`work` applied to each value, computed once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return spread([work(value) for value in uniques], codes)


def spread(values: Sequence[object], codes: np.ndarray) -> np.ndarray:
    """Each row's value: `values` holds one per distinct input, `codes` each row's input."""
    distinct = np.empty(len(values), dtype=object)
    distinct[:] = values
    return distinct[codes]


def frame_of(columns: Mapping[str, np.ndarray | pd.Series]) -> pd.DataFrame:
    """The columns side by side, each kept as its own array: `pd.DataFrame(dict)` copies
    them all into one block (0.4 s for a million rows of 20 text columns)."""
    series = [pd.Series(values, name=name, copy=False) for name, values in columns.items()]
    return pd.concat(series, axis=1, copy=False)


def distinct_rows(
    frame: pd.DataFrame | Mapping[str, np.ndarray], columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code (0, 1, ... in order of first appearance) among the distinct value
    combinations of `columns`, and the position of each code's first row."""
    codes = np.zeros(len(frame[columns[0]]), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        codes, _ = pd.factorize(codes * max(len(uniques), 1) + column_codes)
    _, first = np.unique(codes, return_index=True)
    return codes, first


def with_identity(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds `company_key` and `lead_id`; a row naming no company fails with its row number."""
    keys, ids = identities(frame)
    for key, row, source in zip(keys, frame["source_row"], frame["source_file"], strict=True):
        if not key:
            raise LeadsFileError(
                f"{source}: row {row}: column 'account_name' is empty and 'account_domain' "
                "holds no domain, so the lead belongs to no company"
            )
    return frame.assign(company_key=keys, lead_id=ids)


def with_first_seen(leads: pd.DataFrame, stored: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Adds `first_seen_at`: when the lead base first held the lead (`stored`: the previous
    lead base's lead_id and first_seen_at), `now` for a lead new to it."""
    first_seen = stored.dropna(subset=["first_seen_at"]).drop_duplicates("lead_id")
    known = pd.to_datetime(
        leads["lead_id"].map(first_seen.set_index("lead_id")["first_seen_at"]), utc=True
    )
    return leads.assign(first_seen_at=known.fillna(pd.Timestamp(now)).dt.tz_localize(None))


def for_client(frame: pd.DataFrame, client: str) -> pd.DataFrame:
    """The rows with their client as the last column, as every table stores them: the
    columns before it stay where analysts know them."""
    return frame.drop(columns="client", errors="ignore").assign(client=client)


def companies_named(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """The company keys that these names (a company key, a domain or an account name, in any
    case or spacing) denote in the leads; a name matching none is an error naming it."""
    by_name: dict[str, set[str]] = {}
    for key, account in zip(frame["company_key"], frame["account_name"], strict=True):
        by_name.setdefault(identity_text(key), set()).add(key)
        by_name.setdefault(identity_text(account), set()).add(key)
    unknown = [name for name in names if identity_text(name) not in by_name]
    if unknown:
        raise ValueError(f"no company named {', '.join(map(repr, unknown))} in the leads")
    return sorted(set().union(*(by_name[identity_text(name)] for name in names)))

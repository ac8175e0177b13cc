"""Employee ranges to size bands: '51-200' -> 'smb', '10001+' -> 'enterprise'."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.persona.spec import SizeBand

UNKNOWN_BAND = "unknown"

_NUMBER = r"(\d+(?:\.\d+)?)\s*([km])?"
_RANGE = re.compile(rf"^{_NUMBER}\s*(?:-|to)\s*{_NUMBER}$")
_OPEN_ENDED = re.compile(rf"^{_NUMBER}\s*\+$")
_SINGLE = re.compile(rf"^{_NUMBER}$")
# Thousands separators: '10,001', '1 001' (a no-break space made plain), '1.001' (a dot before
# exactly three digits and no unit is a separator, '1.5K' a decimal).
_THOUSANDS = re.compile(r"(?<=\d)[,\s.](?=\d{3}(?!\d)(?!\s*[km]))")
_WORDS = re.compile(r"\b(?:employees?|staff|people|headcount)\b")
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-"})
_UNITS = {"k": 1000, "m": 1_000_000}


def _to_int(number: str, unit: str | None) -> int:
    return int(float(number) * _UNITS.get(unit or "", 1))


def parse_employee_count(employee_range: str | None) -> int | None:
    """The smallest head count the range guarantees, or None when it cannot be read.

    The lower bound decides the band: LinkedIn buckets start exactly at the band boundaries
    ('201-500' is mid-market), and a company is at least as big as its bucket's floor. CRMs
    write plain counts ('2,500'), and prospecting tools shorten the buckets ('1K-5K',
    '10,001+ employees'); anything else is unread, never guessed.
    """
    if employee_range is None:
        return None
    text = _WORDS.sub(" ", employee_range.lower().translate(_DASHES))
    text = _THOUSANDS.sub("", " ".join(text.split())).strip()
    match = _RANGE.match(text)
    if match:
        # LinkedIn's smallest bucket is '0-1': a company of one.
        return max(_floor(match.group(1), match.group(2)), 1)
    match = _OPEN_ENDED.match(text)
    if match:
        count = _floor(match.group(1), match.group(2))
        return count if count > 0 else None
    match = _SINGLE.match(text)
    if match:
        count = _to_int(match.group(1), match.group(2))
        return count if count > 0 else None
    return None


def _floor(number: str, unit: str | None) -> int:
    """A bucket's floor. Written in thousands it is LinkedIn's bucket shortened: '1K-5K' is
    '1,001-5,000' and '10K+' is '10,001+', so the floor is one above the round figure."""
    value = _to_int(number, unit)
    return value + 1 if unit else value


def size_band(employee_range: str | None, bands: Sequence[SizeBand]) -> str:
    count = parse_employee_count(employee_range)
    if count is None:
        return UNKNOWN_BAND
    for band in bands:
        if count >= band.min_employees and (
            band.max_employees is None or count <= band.max_employees
        ):
            return band.name
    return UNKNOWN_BAND

"""Employee ranges to size bands: '51-200' -> 'smb', '10001+' -> 'enterprise'."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.persona.spec import SizeBand

UNKNOWN_BAND = "unknown"

_NUMBER = r"(\d+(?:\.\d+)?)\s*(k)?"
_RANGE = re.compile(rf"^{_NUMBER}\s*(?:-|to|\u2013)\s*{_NUMBER}$")
_OPEN_ENDED = re.compile(rf"^{_NUMBER}\s*\+$")
_SINGLE = re.compile(rf"^{_NUMBER}$")


def _to_int(number: str, thousands: str | None) -> int:
    value = float(number)
    return int(value * 1000) if thousands else int(value)


def parse_employee_count(employee_range: str | None) -> int | None:
    """The smallest head count the range guarantees, or None when it cannot be read.

    The lower bound decides the band: LinkedIn buckets start exactly at the band boundaries
    ('201-500' is mid-market), and a company is at least as big as its bucket's floor.
    """
    if employee_range is None:
        return None
    text = employee_range.strip().lower().replace(",", "").replace(" employees", "")
    match = _RANGE.match(text)
    if match:
        # LinkedIn's smallest bucket is '0-1': a company of one.
        return max(_to_int(match.group(1), match.group(2)), 1)
    match = _OPEN_ENDED.match(text) or _SINGLE.match(text)
    if match:
        count = _to_int(match.group(1), match.group(2))
        return count if count > 0 else None
    return None


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

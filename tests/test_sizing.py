import pytest

from pipeline.persona.sizing import UNKNOWN_BAND, parse_employee_count, size_band
from pipeline.persona.spec import Persona


@pytest.mark.parametrize(
    ("employee_range", "band"),
    [
        ("2-10", "startup"),
        ("11-50", "startup"),
        ("0-1", "startup"),
        ("50", "startup"),
        ("51-200", "smb"),
        ("51", "smb"),
        ("200", "smb"),
        ("201-500", "mid_market"),
        ("501-1000", "mid_market"),
        ("1000", "mid_market"),
        ("1001-5000", "enterprise"),
        ("1,001-5,000", "enterprise"),
        ("5001-10000", "enterprise"),
        ("10001+", "enterprise"),
        ("10k+", "enterprise"),
        (" 51 - 200 ", "smb"),
        ("51\u2013200", "smb"),
        ("", UNKNOWN_BAND),
        ("  ", UNKNOWN_BAND),
        ("unknown", UNKNOWN_BAND),
        ("0", UNKNOWN_BAND),
        ("many", UNKNOWN_BAND),
        (None, UNKNOWN_BAND),
    ],
)
def test_size_band_edges(persona: Persona, employee_range: str | None, band: str) -> None:
    assert size_band(employee_range, persona.size_bands) == band


def test_employee_count_is_the_bucket_floor() -> None:
    assert parse_employee_count("201-500") == 201
    assert parse_employee_count("1.5k") == 1500

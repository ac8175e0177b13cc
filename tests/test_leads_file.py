import pytest

from pipeline.leads.companies import company_key, normalize_domain
from pipeline.leads.records import lead_id


@pytest.mark.parametrize(
    ("domain", "normalised"),
    [
        ("steelcase.com", "steelcase.com"),
        ("https://www.Steelcase.com/about", "steelcase.com"),
        ("WWW.ACME.IO.", "acme.io"),
        ("", ""),
        ("not a domain", ""),
    ],
)
def test_normalize_domain(domain: str, normalised: str) -> None:
    assert normalize_domain(domain) == normalised


def test_company_key_prefers_domain_then_trimmed_name() -> None:
    assert company_key("Steelcase", "steelcase.com") == "steelcase.com"
    assert company_key("  BTS-IT,   Inc. ", "") == "BTS-IT, Inc."
    assert "..." not in company_key("Acme... Corp", "")
    assert company_key("", "") == ""


def test_lead_id_is_stable_and_ignores_case_and_spacing() -> None:
    assert lead_id("Ana", "Ruiz", "VP Sales", "a.com") == lead_id(
        " ana", "RUIZ ", "vp  sales", "a.com"
    )
    assert lead_id("Ana", "Ruiz", "VP Sales", "a.com") != lead_id(
        "Ana", "Ruiz", "VP Sales", "b.com"
    )
    assert lead_id("Иван", "Петров", "", "a.com") != lead_id("Пётр", "Иванов", "", "a.com")

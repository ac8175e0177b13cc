import pytest

from pipeline.companies import company_key, normalize_domain
from pipeline.leads import LeadsFileError, lead_id, read_leads_csv, with_identity


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


def test_missing_required_column_names_file_and_column(write_leads) -> None:
    path = write_leads(
        [("Acme", "Ana", "Ruiz")], header=("account_name", "lead_first_name", "lead_last_name")
    )
    with pytest.raises(
        LeadsFileError, match=r"leads.csv: missing required column 'lead_job_title'"
    ):
        read_leads_csv(path)


def test_optional_columns_may_be_absent(write_leads) -> None:
    path = write_leads(
        [("Acme", "Ana", "Ruiz", "VP Sales")],
        header=("account_name", "lead_first_name", "lead_last_name", "lead_job_title"),
    )
    frame = with_identity(read_leads_csv(path))
    assert frame.loc[0, "account_domain"] == ""
    assert frame.loc[0, "company_key"] == "Acme"


def test_row_without_company_names_the_row(write_leads) -> None:
    path = write_leads(
        [
            ("Acme", "Ana", "Ruiz", "VP", "acme.com", "11-50", ""),
            ("", "Bo", "Li", "CEO", "", "11-50", ""),
        ]
    )
    with pytest.raises(LeadsFileError, match=r"row 3: column 'account_name' is empty"):
        with_identity(read_leads_csv(path))


def test_values_are_kept_as_given(write_leads) -> None:
    path = write_leads([("Acme", "NA", "null", " VP Sales ", "acme.com", "11-50", "")])
    row = read_leads_csv(path).iloc[0]
    assert (row["lead_first_name"], row["lead_last_name"], row["lead_job_title"]) == (
        "NA",
        "null",
        " VP Sales ",
    )
    assert row["source_file"] == "leads.csv"
    assert row["source_row"] == 2


def test_header_only_file_is_refused(write_leads) -> None:
    with pytest.raises(LeadsFileError, match="header but no leads"):
        read_leads_csv(write_leads([]))

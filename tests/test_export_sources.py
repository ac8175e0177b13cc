"""Exports as CRMs and prospecting tools write them: each tool's header row as its export
writes it (tests/data/exports), report workbooks with title rows above the header and footer
rows below the data, employee counts in every spelling those tools use."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.leads.files import read_lead_file
from pipeline.leads.records import LeadsFileError
from pipeline.orchestration.inbox import write_lead_base
from pipeline.persona.sizing import size_band
from pipeline.persona.spec import Persona

EXPORTS = Path(__file__).parent / "data" / "exports"


def workbook_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_apollo_export_reads_its_company_column_and_keeps_contacts() -> None:
    read = read_lead_file(EXPORTS / "apollo.csv")
    assert read.source == "Apollo"
    leads = read.leads.set_index("lead_last_name")
    # 'Company' and 'Company Name for Emails' are one export's two columns, not an ambiguity.
    assert read.columns["account_name"] == "Company"
    assert leads.loc["Holt", "account_name"] == "Norvik Robotics, Inc."
    assert leads.loc["Holt", "email"] == "maren.holt@norvik.io"
    assert leads.loc["Holt", "linkedin_url"] == "http://www.linkedin.com/in/marenholt"
    assert leads.loc["Holt", "source_record_id"] == "64f0a1b2c3d4e5f600000001"
    assert leads.loc["Holt", "source_system"] == "apollo"
    # The person's own phone first; the switchboard only when there is no other.
    assert leads.loc["Holt", "phone"] == "+1 415 555 0142"
    assert leads.loc["Ibarra", "phone"] == "+1 415 555 0100"
    # The bare domain in account_domain, the website as written beside it.
    assert leads.loc["Holt", "account_domain"] == "norvik.io"
    assert leads.loc["Holt", "account_website"] == "http://www.norvik.io"
    assert leads.loc["Holt", "company_key"] == "norvik.io"


def test_a_hubspot_export_keeps_its_record_ids_and_plain_employee_counts(
    persona: Persona,
) -> None:
    read = read_lead_file(EXPORTS / "hubspot.csv")
    assert read.source == "HubSpot"
    leads = read.leads.set_index("lead_last_name")
    assert leads.loc["Nand", "source_record_id"] == "51234001"
    assert leads.loc["Nand", "lead_job_title"] == "Director of Sales Development"
    assert leads.loc["Nand", "account_domain"] == "kestrelmed.com"
    assert leads.loc["Vogt", "linkedin_url"] == "https://de.linkedin.com/in/leavogt"
    bands = {
        name: size_band(value, persona.size_bands)
        for name, value in leads["account_employee_range"].items()
    }
    assert bands == {"Nand": "enterprise", "Reis": "enterprise", "Vogt": "startup"}


def test_a_sales_navigator_scrape_takes_the_public_profile_not_the_sales_link() -> None:
    read = read_lead_file(EXPORTS / "phantombuster_sales_navigator.csv")
    assert read.source == "Sales Navigator scraper"
    leads = read.leads.set_index("lead_last_name")
    assert leads.loc["Mendel", "linkedin_url"] == "https://www.linkedin.com/in/rosamendel"
    assert leads.loc["Mendel", "lead_job_title"] == "VP Sales"
    # Its company links are LinkedIn pages: no company domain, the name is the key.
    assert leads.loc["Mendel", "company_key"] == "Tidewater Logistics"


SALESFORCE_HEADER = [
    "Lead Owner",
    "First Name",
    "Last Name",
    "Title",
    "Company / Account",
    "Email",
    "Phone",
    "Website",
    "Employees",
    "Industry",
    "Lead Source",
    "Lead ID",
]


def test_a_salesforce_report_workbook_with_title_rows_and_footer(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(
        workbook_bytes(
            [
                ["Open Leads by Owner"],
                ["Filtered By:"],
                ["    Lead Status equals Open - Not Contacted"],
                [],
                SALESFORCE_HEADER,
                [
                    "Dana Fox",
                    "Ruth",
                    "Okafor",
                    "VP Inside Sales",
                    "Harbor Schools Supply",
                    "ruth.okafor@harborsupply.com",
                    "(555) 010-2000",
                    "www.harborsupply.com",
                    2500,
                    "Education",
                    "Web",
                    "00Q5e00000AbCdEFG1",
                ],
                [
                    "Dana Fox",
                    "Sam",
                    "Lind",
                    "Payroll Clerk",
                    "Harbor Schools Supply",
                    "sam.lind@harborsupply.com",
                    "",
                    "www.harborsupply.com",
                    2500,
                    "Education",
                    "Web",
                    "00Q5e00000AbCdEFG2",
                ],
                [],
                ["Grand Totals (2 records)"],
                ["Confidential Information - Do Not Distribute"],
                ["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."],
            ]
        )
    )
    read = read_lead_file(path)
    assert read.source == "Salesforce"
    assert read.header_row == 5
    assert "header on row 5" in read.describe()
    assert read.leads["lead_last_name"].tolist() == ["Okafor", "Lind"]
    assert read.leads["source_record_id"].tolist() == ["00Q5e00000AbCdEFG1", "00Q5e00000AbCdEFG2"]
    assert read.leads.loc[0, "account_name"] == "Harbor Schools Supply"
    # The footer never becomes a company.
    assert set(read.leads["company_key"]) == {"harborsupply.com"}
    assert [value.split(" ")[0] for value in read.rejected["value"]] == [
        "Grand",
        "Confidential",
        "Copyright",
    ]
    assert all("one filled cell" in reason for reason in read.rejected["reason"])


def test_a_salesforce_csv_report_footer_goes_to_rejected(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    header = ",".join(f'"{name}"' for name in SALESFORCE_HEADER)
    path.write_text(
        f"{header}\n"
        '"Dana Fox","Ruth","Okafor","VP Inside Sales","Harbor Schools Supply",'
        '"ruth@harborsupply.com","","harborsupply.com","2,500","Education","Web","00Q1"\n'
        '"Total","","","","","","","","","","",""\n'
        "\n"
        '"Open Leads by Owner"\n'
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n'
        '"Confidential Information - Do Not Distribute"\n'
        '"Generated By:  Dana Fox  11/30/2026 6:02 AM"\n'
        '"Harbor Schools Supply"\n',
        encoding="utf-8",
    )
    read = read_lead_file(path)
    assert read.leads["lead_last_name"].tolist() == ["Okafor"]
    assert len(read.rejected) == 6
    assert "Harbor Schools Supply" not in set(read.rejected["reason"])
    # The lone company name under the footer is a note, not a company with nobody in it.
    assert (read.leads["company_key"] == "harborsupply.com").all()


def test_a_total_row_with_a_name_and_title_is_a_lead_at_a_company_called_total(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Company,First Name,Last Name,Title\n"
        "Total Fitness,Ana,Ruiz,Head of Sales\n"
        "Total,,,\n"
        "Grand Total,,,12\n",
        encoding="utf-8",
    )
    read = read_lead_file(path)
    assert read.leads["account_name"].tolist() == ["Total Fitness"]
    assert sorted(read.rejected["source_row"]) == [3, 4]


def test_a_row_naming_nobody_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Company,First Name,Last Name,Title,Website\n"
        "Acme,,,,acme.com\n"
        "Acme,Ana,Ruiz,CEO,acme.com\n",
        encoding="utf-8",
    )
    read = read_lead_file(path)
    assert len(read.leads) == 1
    assert read.rejected.loc[0, "reason"] == "no person: the name and the title are empty"


def test_a_csv_with_title_lines_above_the_header_names_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Prospects export\nGenerated 2026-11-30\n\nCompany;First Name;Last Name;Title\n"
        "Acme;Ana;Ruiz;VP Sales\n",
        encoding="utf-8",
    )
    read = read_lead_file(path)
    assert read.header_row == 4
    assert read.delimiter == ";"
    assert read.leads["source_row"].tolist() == [5]


def test_a_file_whose_top_rows_hold_no_header_is_refused_with_the_first_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Company,Name,Seniority\nAcme,Ana Ruiz,VP\n", encoding="utf-8")
    with pytest.raises(LeadsFileError, match="missing required column 'lead_job_title'"):
        read_lead_file(path)


@pytest.mark.parametrize(
    ("employees", "band"),
    [
        ("1K-5K", "enterprise"),
        ("10K+", "enterprise"),
        ("10,001+ employees", "enterprise"),
        ("201-500 employees", "mid_market"),
        ("1.001-5.000", "enterprise"),
        ("1 001-5 000", "enterprise"),
        ("2,500", "enterprise"),
        ("2500.0", "enterprise"),
        ("45", "startup"),
        ("1000+", "mid_market"),
        ("Self-employed", "unknown"),
        ("see website", "unknown"),
        ("", "unknown"),
    ],
)
def test_employee_counts_as_crms_and_prospecting_tools_write_them(
    persona: Persona, employees: str, band: str
) -> None:
    assert size_band(employees, persona.size_bands) == band


def test_kept_columns_travel_and_a_missing_one_is_named(tmp_path: Path) -> None:
    read = read_lead_file(EXPORTS / "apollo.csv", keep=["Lists", "city"])
    assert read.leads.loc[0, "kept_columns"] == '{"Lists": "Q4 outbound", "City": "Oakland"}'
    with pytest.raises(LeadsFileError, match="--keep-columns names 'Territory': no such column"):
        read_lead_file(EXPORTS / "apollo.csv", keep=["Territory"])


def test_crm_numbered_and_prefixed_headers_and_a_count_beside_a_range(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Person - Name,Person - Organization,Person - Job title,Person - Email - Work,"
        "Email 1,Phone 1,Employees,Employee Range\n"
        "Ana Ruiz,Acme,VP Sales,,ana@acme.com,+1 555 0100,,1K-5K\n"
        "Bo Li,Acme,CEO,bo@acme.com,,,2500,1K-5K\n",
        encoding="utf-8",
    )
    read = read_lead_file(path)
    assert read.leads["lead_first_name"].tolist() == ["Ana", "Bo"]
    assert read.leads["account_name"].tolist() == ["Acme", "Acme"]
    assert read.leads["email"].tolist() == ["ana@acme.com", "bo@acme.com"]
    assert read.leads["phone"].tolist() == ["+1 555 0100", ""]
    assert read.leads["account_employee_range"].tolist() == ["1K-5K", "2500"]


def test_the_lead_base_the_inbox_writes_reads_back_the_same(tmp_path: Path) -> None:
    read = read_lead_file(EXPORTS / "apollo.csv", keep=["Lists"])
    write_lead_base(read.leads, tmp_path / "base.csv")
    again = read_lead_file(tmp_path / "base.csv", keep=["Lists"])
    columns = [
        "lead_id",
        "email",
        "phone",
        "linkedin_url",
        "source_record_id",
        "account_domain",
        "account_website",
        "source_system",
        "kept_columns",
    ]
    assert again.leads[columns].equals(read.leads[columns])


def test_a_headline_is_the_title_only_where_the_export_has_none(tmp_path: Path) -> None:
    both = tmp_path / "both.csv"
    both.write_text(
        "Full Name,Job Title,Headline,Company\n"
        "Ana Ruiz,VP Sales,Helping manufacturers grow | Speaker,Acme\n",
        encoding="utf-8",
    )
    assert read_lead_file(both).leads.loc[0, "lead_job_title"] == "VP Sales"
    alone = tmp_path / "alone.csv"
    alone.write_text(
        "Full Name,Headline,Company\nAna Ruiz,VP Sales at Acme,Acme\n", encoding="utf-8"
    )
    assert read_lead_file(alone).leads.loc[0, "lead_job_title"] == "VP Sales at Acme"


def test_a_salesforce_contact_report_reads_the_accounts_fields(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        '"Contact ID","First Name","Last Name","Title","Account Name","Account: Website",'
        '"Account: Employees","Account: Industry","Email"\n'
        '"0035e00000XyZ1","Ruth","Okafor","VP Inside Sales","Harbor Schools Supply",'
        '"www.harborsupply.com","2,500","Education","ruth@harborsupply.com"\n',
        encoding="utf-8",
    )
    lead = read_lead_file(path).leads.iloc[0]
    assert (lead.account_domain, lead.account_employee_range, lead.account_industry) == (
        "harborsupply.com",
        "2,500",
        "Education",
    )
    assert lead.source_system == "salesforce" and lead.source_record_id == "0035e00000XyZ1"

"""The campaign file in each sending tool's import format, written by a real run of the job on
an Apollo and a HubSpot export: every lead's email and LinkedIn URL reach every format, the
headers are the ones each tool's import documents (docs/configuration.md cites the pages),
and no cell can run as a spreadsheet formula."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance
from support import run_rank_leads

from pipeline.campaign.files import CampaignExporter
from pipeline.campaign.formats import EXPORT_FORMATS, in_export_format
from pipeline.cli import main
from pipeline.orchestration.settings import Settings

EXPORTS = Path(__file__).parent / "data" / "exports"

# Each tool's documented import columns (the column names its CSV import maps by).
DOCUMENTED_HEADERS = {
    "hubspot": [
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Job Title",
        "Company Name",
        "Website URL",
        "LinkedIn URL",
        "Record ID",
    ],
    "salesforce": [
        "First Name",
        "Last Name",
        "Title",
        "Company",
        "Email",
        "Phone",
        "Website",
        "Industry",
        "No. of Employees",
        "Lead Source",
        "Description",
        "LinkedIn URL",
        "Lead ID",
    ],
    "outreach": [
        "First Name",
        "Last Name",
        "Email",
        "Title",
        "Company",
        "Work Phone",
        "LinkedIn URL",
        "Website",
        "Tags",
    ],
    "apollo": [
        "First Name",
        "Last Name",
        "Title",
        "Company Name",
        "Company Website",
        "Contact Email",
        "Contact LinkedIn URL",
        "Contact Phone",
    ],
    "lemlist": [
        "email",
        "firstName",
        "lastName",
        "companyName",
        "jobTitle",
        "linkedinUrl",
        "phone",
        "companyDomain",
    ],
}
EMAIL_AND_PROFILE = {
    "generic": ("email", "linkedin_url"),
    "hubspot": ("Email", "LinkedIn URL"),
    "salesforce": ("Email", "LinkedIn URL"),
    "outreach": ("Email", "LinkedIn URL"),
    "apollo": ("Contact Email", "Contact LinkedIn URL"),
    "lemlist": ("email", "linkedinUrl"),
}


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.slow
@pytest.mark.parametrize("export_format", EXPORT_FORMATS)
@pytest.mark.parametrize("source", ["apollo.csv", "hubspot.csv"])
def test_every_format_holds_each_leads_email_and_linkedin_url(
    tmp_path: Path, instance: DagsterInstance, source: str, export_format: str
) -> None:
    settings = Settings(
        leads_path=EXPORTS / source,
        warehouse_path=tmp_path / "warehouse.duckdb",
        export_path=tmp_path / "exports" / "campaign.csv",
        labels_path=None,
        evaluator="rules",
        export_format=export_format,
    )
    result = run_rank_leads(settings, instance)
    campaign = result.output_for_node("campaign_export")
    assert len(campaign) > 0
    written = read_csv(settings.export_path)
    assert len(written) == len(campaign)
    if export_format in DOCUMENTED_HEADERS:
        assert list(written.columns) == DOCUMENTED_HEADERS[export_format]
    email, profile = EMAIL_AND_PROFILE[export_format]
    assert written[email].tolist() == campaign["email"].tolist()
    assert written[profile].tolist() == campaign["linkedin_url"].tolist()
    assert (written[email] != "").all() and (written[profile] != "").all()
    # The delta files beside it are in the same format, with the reason last.
    new = read_csv(settings.export_path.with_name("campaign_new.csv"))
    assert list(new.columns) == [*written.columns, "change_reason"]


def campaign_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "company_key": "acme.com",
        "account_name": "Acme",
        "company_rank": 1,
        "lead_first_name": "Ana",
        "lead_last_name": "Ruiz",
        "lead_job_title": "VP Sales",
        "email": "ana@acme.com",
        "phone": "+44 20 7946 0958",
        "linkedin_url": "https://www.linkedin.com/in/anaruiz",
        "account_domain": "acme.com",
        "account_website": "https://www.acme.com/",
        "account_employee_range": "51-200",
        "account_industry": "Software",
        "size_band": "smb",
        "relevance_score": 95,
        "reasoning": "Primary target",
        "source_record_id": "901",
        "source_system": "hubspot",
        "kept_columns": '{"Owner": "Dana"}',
        "lead_id": "abc",
    }
    row.update(values)
    return row


def test_value_formats_the_tools_ask_for() -> None:
    rows = pd.DataFrame([campaign_row(), campaign_row(source_system="apollo", lead_id="def")])
    salesforce = in_export_format(rows, "salesforce")
    # A number field gets a number; a record id only where the lead came from that tool.
    assert salesforce["No. of Employees"].tolist() == ["51", "51"]
    assert salesforce["Lead ID"].tolist() == ["", ""]
    assert in_export_format(rows, "hubspot")["Record ID"].tolist() == ["901", ""]
    # Apollo asks for the website as a bare domain.
    assert in_export_format(rows, "apollo")["Company Website"].tolist() == ["acme.com"] * 2
    assert (
        in_export_format(rows, "hubspot")["Website URL"].tolist() == ["https://www.acme.com/"] * 2
    )
    # Kept source columns follow the layout under their own names.
    assert in_export_format(rows, "lemlist").columns[-1] == "Owner"


@pytest.mark.parametrize("export_format", EXPORT_FORMATS)
def test_no_cell_of_any_format_runs_as_a_formula(tmp_path: Path, export_format: str) -> None:
    hostile = campaign_row(
        lead_first_name='=HYPERLINK("http://x")',
        lead_job_title="+cmd|' /C calc'!A0",
        account_name="@SUM(1+1)",
        kept_columns='{"Owner": "-2+3"}',
    )
    exporter = CampaignExporter(
        tmp_path / "campaign.csv", tmp_path / "report.html", 3, export_format
    )
    path = exporter.write_csv(pd.DataFrame([hostile]))
    with path.open(encoding="utf-8", newline="") as stream:
        cells = [cell for row in list(csv.reader(stream))[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "@", "-", "\t", "\r")]
    # The one '+' left is a phone number, which the sending tools need as written.
    assert [cell for cell in cells if cell.startswith("+")] in ([], ["+44 20 7946 0958"])


@pytest.mark.slow
def test_the_command_line_writes_the_chosen_format_with_the_kept_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = tmp_path / "campaign.csv"
    arguments = [
        "run",
        "--leads",
        str(EXPORTS / "apollo.csv"),
        "--warehouse",
        str(tmp_path / "warehouse.duckdb"),
        "--export",
        str(campaign),
        "--evaluator",
        "rules",
        "--export-format",
        "lemlist",
        "--keep-columns",
        "Lists, City",
    ]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert (
        f"Since the last campaign (no earlier campaign): {len(read_csv(campaign))} new" in printed
    )
    written = read_csv(campaign)
    assert list(written.columns) == [*DOCUMENTED_HEADERS["lemlist"], "Lists", "City"]
    assert set(written["Lists"]) == {"Q4 outbound"}

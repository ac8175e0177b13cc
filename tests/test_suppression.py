"""Do not contact: reading a client's suppression list, what it covers, and what the campaign
does with a suppressed lead (kept ranked, skipped, the next one moves up); a list that cannot
be read stops the run before anything is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance
from support import run_rank_leads

from pipeline.campaign.suppression import (
    DEFAULT_REASON,
    SuppressionFileError,
    read_suppression_file,
    suppressed_reasons,
)
from pipeline.cli import main
from pipeline.leads.records import LEAD_COLUMNS
from pipeline.orchestration.settings import Settings


def leads(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """(email, linkedin_url, account_domain, account_name) per lead."""
    return pd.DataFrame(rows, columns=["email", "linkedin_url", "account_domain", "account_name"])


def test_a_list_with_a_header_reads_each_column_as_its_kind(tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text(
        "Email,LinkedIn URL,Domain,Company,Reason\n"
        "Ana@Acme.com ,,,,opted out\n"
        ",https://uk.linkedin.com/in/bo-li/?trk=x,,,opted out\n"
        ",,https://www.customer.io/,,existing customer\n"
        ',,,"\u200bGlobex, Inc.",competitor\n',
        encoding="utf-8",
    )
    entries = read_suppression_file(path)
    assert entries[["kind", "match_key", "reason"]].values.tolist() == [
        ["email", "ana@acme.com", "opted out"],
        ["linkedin", "linkedin.com/in/bo-li", "opted out"],
        ["domain", "customer.io", "existing customer"],
        ["company", "globex", "competitor"],
    ]
    assert entries["source_row"].tolist() == [2, 3, 4, 5]


def test_a_plain_list_is_read_by_what_each_line_looks_like(tmp_path: Path) -> None:
    path = tmp_path / "dnc.txt"
    path.write_text(
        "cy@initech.com\nlinkedin.com/in/dee\n@umbrella.example\nhooli.com\nVandelay Industries\n",
        encoding="utf-8",
    )
    entries = read_suppression_file(path)
    assert entries["kind"].tolist() == ["email", "linkedin", "domain", "domain", "company"]
    assert set(entries["reason"]) == {DEFAULT_REASON}


def test_matching_ignores_case_spaces_invisible_characters_and_covers_subdomains(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text(
        "value,reason\nana@acme.com,opted out\nlinkedin.com/in/bo-li,opted out\n"
        "customer.io,customer\nGlobex Inc,competitor\n",
        encoding="utf-8",
    )
    found = suppressed_reasons(
        leads(
            (" ANA@acme.com\u200b", "", "acme.com", "Acme"),
            ("", "https://www.linkedin.com/in/Bo-Li/", "other.com", "Other"),
            ("", "", "eu.customer.io", "Customer EU"),
            ("dee@www.customer.io", "", "", "Reseller"),
            ("", "", "", "GLOBEX, INC."),
            ("ana@acme.co", "", "notcustomer.io", "Globex Labs"),
        ),
        read_suppression_file(path),
    )
    assert found.tolist() == [
        "opted out (email ana@acme.com)",
        "opted out (linkedin linkedin.com/in/bo-li)",
        "customer (domain customer.io)",
        "customer (domain customer.io)",
        "competitor (company Globex Inc)",
        "",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02" * 200, "not a text file"),
        (b"Email\nnot-an-address@\n", "row 2: 'not-an-address@' is no email"),
    ],
)
def test_a_list_that_cannot_be_read_is_an_error_naming_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "dnc.csv"
    path.write_bytes(content)
    with pytest.raises(SuppressionFileError, match=message) as refused:
        read_suppression_file(path)
    assert "dnc.csv" in str(refused.value)


def test_a_header_line_alone_is_an_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("email,reason\n", encoding="utf-8")
    assert read_suppression_file(path).empty


def test_a_suppressed_lead_keeps_its_rank_and_its_company_still_gets_its_top_n(
    tmp_path: Path, write_leads: Callable[..., Path], instance: DagsterInstance
) -> None:
    titles = (
        "VP of Sales",
        "Head of Sales",
        "Sales Director",
        "Director of Sales Development",
        "Sales Manager",
    )
    people = [
        ("Acme", first, "Doe", title, "acme.com", "51-200", "Software", f"{first}@acme.com")
        for first, title in zip(("ann", "bob", "cy", "di", "ed"), titles, strict=True)
    ]
    header = (*LEAD_COLUMNS, "email")
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("email,reason\n", encoding="utf-8")
    settings = Settings(
        leads_path=write_leads(people, header=header),
        warehouse_path=tmp_path / "warehouse.duckdb",
        export_path=tmp_path / "exports" / "campaign.csv",
        labels_path=None,
        evaluator="rules",
        suppress_path=dnc,
    )
    before = run_rank_leads(settings, instance).output_for_node("campaign_export")
    top = before.iloc[0]
    dnc.write_text(f"email,reason\n{top.email.upper()},opted out\n", encoding="utf-8")
    result = run_rank_leads(settings, instance)
    ranked = result.output_for_node("ranked_leads").set_index("lead_id")
    campaign = result.output_for_node("campaign_export")
    reason = f"opted out (email {top.email.upper()})"
    assert ranked.loc[top.lead_id, "suppressed_reason"] == reason
    # Still ranked where it was, never in the campaign; the company still gets its top 3.
    assert ranked.loc[top.lead_id, "company_rank"] == 1
    assert top.lead_id not in set(campaign["lead_id"])
    assert campaign["company_rank"].tolist() == [2, 3, 4]
    dropped = pd.read_csv(settings.export_path.with_name("campaign_dropped.csv"), dtype=str)
    assert dropped["change_reason"].tolist() == [f"suppressed: {reason}"]
    new = pd.read_csv(settings.export_path.with_name("campaign_new.csv"), dtype=str)
    assert new["change_reason"].tolist() == [
        f"moved up: {top.lead_first_name} {top.lead_last_name} suppressed: {reason}"
    ]
    # The report shows it struck through with the reason.
    report = settings.report_file.read_text(encoding="utf-8")
    payload = json.loads(report.split('id="report-data">')[1].split("</script>")[0])
    assert reason in payload["suppressions"]
    assert len(payload["suppressed"]) == 1


@pytest.mark.slow
def test_an_unreadable_suppression_list_writes_nothing(
    tmp_path: Path, write_leads: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    leads_file = write_leads([("Acme", "Ana", "Ruiz", "VP of Sales", "acme.com", "51-200", "")])
    warehouse = tmp_path / "warehouse.duckdb"
    campaign = tmp_path / "exports" / "campaign.csv"
    arguments = [
        "run",
        "--leads",
        str(leads_file),
        "--warehouse",
        str(warehouse),
        "--export",
        str(campaign),
        "--evaluator",
        "rules",
    ]
    assert main(arguments) == 0
    stored = (
        duckdb.connect(str(warehouse))
        .sql("select count(*) from persona_ranker.campaign_history")
        .fetchall()
    )
    written = campaign.read_bytes()
    missing = tmp_path / "no-such-list.csv"
    assert main([*arguments, "--suppress", str(missing)]) == 2
    assert "no-such-list.csv" in capsys.readouterr().err
    unreadable = tmp_path / "dnc.csv"
    unreadable.write_bytes(b"\x00\xff" * 500)
    assert main([*arguments, "--suppress", str(unreadable)]) == 2
    # Nothing of either run reached the campaign file or the warehouse.
    assert campaign.read_bytes() == written
    assert (
        duckdb.connect(str(warehouse))
        .sql("select count(*) from persona_ranker.campaign_history")
        .fetchall()
        == stored
    )


def test_the_job_fails_in_ingest_on_an_unreadable_list_and_stores_nothing(
    tmp_path: Path, write_leads: Callable[..., Path], instance: DagsterInstance
) -> None:
    """The same through the Dagster job (the schedule's and the UI's path): the ingest step
    reads the list with the leads and fails before any asset is written."""
    settings = Settings(
        leads_path=write_leads([("Acme", "Ana", "Ruiz", "VP of Sales", "acme.com", "", "")]),
        warehouse_path=tmp_path / "warehouse.duckdb",
        export_path=tmp_path / "exports" / "campaign.csv",
        labels_path=None,
        evaluator="rules",
        suppress_path=tmp_path / "missing.csv",
    )
    result = run_rank_leads(settings, instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "ingest_lead_file"
    assert "missing.csv: file not found" in failure.step_failure_data.error.to_string()
    assert not settings.export_path.exists()
    if settings.warehouse_path.exists():
        tables = duckdb.connect(str(settings.warehouse_path)).sql("show all tables").fetchall()
        assert not [t for t in tables if t[2] in ("raw_leads", "ranked_leads", "campaign_export")]

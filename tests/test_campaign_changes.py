"""What is new tonight: the campaign's changes since the last run, each with its reason, from
the rules of `campaign_changes` and from two real runs on the bundled file (DuckDB and
PostgreSQL); each client's history is its own."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance
from support import POSTGRES_URL, run_rank_leads

from pipeline.campaign.changes import FIRST_CAMPAIGN, NEW_LEAD, campaign_changes
from pipeline.orchestration.clients import Client
from pipeline.orchestration.settings import DATA_DIR, Settings

BEFORE = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LONG_AGO = pd.Timestamp("2026-01-01")
TONIGHT = pd.Timestamp("2026-12-01 02:00")


def lead(lead_id: str, first: str, title: str, rank: float | None, **values: object) -> dict:
    row = {
        "lead_id": lead_id,
        "company_key": "acme.com",
        "account_name": "Acme",
        "lead_first_name": first,
        "lead_last_name": "Doe",
        "lead_job_title": title,
        "company_rank": rank,
        "suppressed_reason": "",
        "first_seen_at": LONG_AGO,
    }
    row.update(values)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def campaign(ranked: pd.DataFrame, top_n: int = 2) -> pd.DataFrame:
    chosen = ranked[ranked["company_rank"].notna() & (ranked["suppressed_reason"] == "")]
    return (
        chosen.sort_values("company_rank")
        .head(top_n)
        .drop(columns=["suppressed_reason", "first_seen_at"])
    )


def reasons(rows: pd.DataFrame) -> dict[str, str]:
    return dict(zip(rows["lead_first_name"], rows["change_reason"], strict=True))


def test_the_first_campaign_is_all_new() -> None:
    ranked = frame(lead("a", "Ann", "VP Sales", 1))
    changes = campaign_changes(campaign(ranked).iloc[0:0], None, campaign(ranked), ranked)
    assert reasons(changes.new) == {"Ann": FIRST_CAMPAIGN}
    assert changes.dropped.empty


def test_nothing_changed_means_no_rows() -> None:
    ranked = frame(lead("a", "Ann", "VP Sales", 1), lead("b", "Bob", "Head of Sales", 2))
    changes = campaign_changes(campaign(ranked), BEFORE, campaign(ranked), ranked)
    assert changes.new.empty and changes.dropped.empty
    assert list(changes.new.columns)[-1] == "change_reason"


def test_a_new_lead_that_outranks_pushes_the_last_one_out() -> None:
    before = frame(lead("a", "Ann", "VP Sales", 1), lead("b", "Bob", "Head of Sales", 2))
    after = frame(
        lead("n", "Nia", "CRO", 1, first_seen_at=TONIGHT),
        lead("a", "Ann", "VP Sales", 2),
        lead("b", "Bob", "Head of Sales", 3),
    )
    changes = campaign_changes(campaign(before), BEFORE, campaign(after), after)
    assert reasons(changes.new) == {"Nia": NEW_LEAD}
    assert reasons(changes.dropped) == {"Bob": "a better lead arrived: Nia Doe"}


def test_a_title_change_is_one_contact_not_a_new_one_and_a_lost_one() -> None:
    before = frame(lead("a", "Ann", "Sales Manager", 1), lead("b", "Bob", "Head of Sales", 2))
    promoted = frame(lead("a2", "Ann", "VP Sales", 1), lead("b", "Bob", "Head of Sales", 2))
    changes = campaign_changes(campaign(before), BEFORE, campaign(promoted), promoted)
    assert reasons(changes.new) == {"Ann": "title changed (was: Sales Manager)"}
    assert changes.dropped.empty
    moved = frame(
        lead("a3", "Ann", "Payroll Clerk", None),
        lead("b", "Bob", "Head of Sales", 1),
        lead("c", "Cy", "Sales Manager", 2),
    )
    changes = campaign_changes(campaign(before), BEFORE, campaign(moved), moved)
    assert reasons(changes.dropped) == {"Ann": "title changed (now: Payroll Clerk)"}
    assert reasons(changes.new) == {"Cy": "moved up: Ann Doe title changed (now: Payroll Clerk)"}


def test_gone_from_the_file_and_suppressed_say_so() -> None:
    before = frame(lead("a", "Ann", "VP Sales", 1), lead("b", "Bob", "Head of Sales", 2))
    after = frame(
        lead("b", "Bob", "Head of Sales", 1, suppressed_reason="opted out (email b@acme.com)"),
        lead("c", "Cy", "Sales Manager", 2),
    )
    changes = campaign_changes(campaign(before), BEFORE, campaign(after), after)
    assert reasons(changes.dropped) == {
        "Ann": "gone from the file",
        "Bob": "suppressed: opted out (email b@acme.com)",
    }
    assert reasons(changes.new)["Cy"].startswith("moved up: Ann Doe gone from the file")


def test_a_lead_ranked_lower_without_a_new_arrival_says_so() -> None:
    before = frame(lead("a", "Ann", "VP Sales", 1), lead("b", "Bob", "Head of Sales", 2))
    after = frame(
        lead("c", "Cy", "Sales Director", 1),
        lead("a", "Ann", "VP Sales", 2),
        lead("b", "Bob", "Head of Sales", 3),
    )
    changes = campaign_changes(campaign(before), BEFORE, campaign(after), after)
    assert reasons(changes.new) == {"Cy": "ranked higher"}
    assert reasons(changes.dropped) == {"Bob": "ranked lower (now 3)"}


def edit_bundled_file(path: Path, campaign_rows: pd.DataFrame) -> tuple[str, str]:
    """One title changed (the only campaign lead of a startup becomes its Founder & CEO) and
    one lead added (the founder of a company new to the file); their first names."""
    single = campaign_rows.groupby("company_key").filter(
        lambda rows: len(rows) == 1 and rows["size_band"].iloc[0] == "startup"
    )
    changed = single[single["lead_job_title"] != "Founder & CEO"].iloc[0]
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        if (row["lead_first_name"], row["lead_last_name"], row["account_name"]) == (
            changed.lead_first_name,
            changed.lead_last_name,
            changed.account_name,
        ):
            row["lead_job_title"] = "Founder & CEO"
    rows.append(
        {
            "account_name": "Quillon Labs",
            "lead_first_name": "Quinn",
            "lead_last_name": "Arlow",
            "lead_job_title": "Co-Founder & CEO",
            "account_domain": "quillonlabs.example",
            "account_employee_range": "11-50",
            "account_industry": "Software Development",
        }
    )
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return changed.lead_first_name, str(changed.lead_job_title)


def two_runs(settings: Settings, instance: DagsterInstance) -> None:
    shutil.copy(DATA_DIR / "leads.csv", settings.leads_path)
    first = run_rank_leads(settings, instance).output_for_node("campaign_export")
    new = pd.read_csv(settings.export_path.with_name("campaign_new.csv"), dtype=str)
    assert len(new) == len(first) and set(new["change_reason"]) == {FIRST_CAMPAIGN}
    # Re-run with nothing changed: empty delta files, headers kept.
    assert run_rank_leads(settings, instance).success
    for name in ("campaign_new.csv", "campaign_dropped.csv"):
        text = settings.export_path.with_name(name).read_text(encoding="utf-8")
        assert text.count("\n") == 1 and text.startswith("company_key,")
    changed, was = edit_bundled_file(settings.leads_path, first)
    assert run_rank_leads(settings, instance).success
    new = pd.read_csv(settings.export_path.with_name("campaign_new.csv"), dtype=str)
    dropped = pd.read_csv(settings.export_path.with_name("campaign_dropped.csv"), dtype=str)
    assert reasons(new) == {changed: f"title changed (was: {was})", "Quinn": NEW_LEAD}
    assert dropped.empty
    report = settings.report_file.read_text(encoding="utf-8")
    assert "New since " in report and "Quinn Arlow" in report


@pytest.mark.slow
def test_two_runs_name_exactly_the_changes_on_duckdb(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    two_runs(
        Settings(
            leads_path=tmp_path / "leads.csv",
            warehouse_path=tmp_path / "warehouse.duckdb",
            export_path=tmp_path / "exports" / "campaign.csv",
            labels_path=None,
            evaluator="rules",
        ),
        instance,
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_two_runs_name_exactly_the_changes_on_postgres(
    tmp_path: Path, instance: DagsterInstance, pg_schema: str
) -> None:
    two_runs(
        Settings(
            leads_path=tmp_path / "leads.csv",
            database_url=POSTGRES_URL,
            database_schema=pg_schema,
            export_path=tmp_path / "exports" / "campaign.csv",
            labels_path=None,
            evaluator="rules",
        ),
        instance,
    )


def test_the_history_is_kept_per_client(tmp_path: Path, instance: DagsterInstance) -> None:
    """A second client's first run is its own first campaign, whatever the first client's."""
    base = Settings(
        warehouse_path=tmp_path / "warehouse.duckdb",
        labels_path=None,
        evaluator="rules",
    )
    clients = {
        name: Client(
            name,
            Settings(
                leads_path=DATA_DIR / "leads.csv",
                warehouse_path=base.warehouse_path,
                export_path=tmp_path / name / "campaign.csv",
                labels_path=None,
                evaluator="rules",
            ),
        )
        for name in ("north", "south")
    }
    for name in ("north", "south"):
        assert run_rank_leads(base, instance, client=name, clients=clients).success
        new = pd.read_csv(tmp_path / name / "campaign_new.csv", dtype=str)
        assert set(new["change_reason"]) == {FIRST_CAMPAIGN}

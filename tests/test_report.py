"""The HTML report: written by a real run beside the campaign file, then opened in headless
Chromium (Debian's, driven by Playwright): it renders, filters narrow it, a sort reorders it,
and a hostile title stays text."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance
from support import run_rank_leads

from pipeline.campaign.changes import CampaignChanges
from pipeline.orchestration.settings import DATA_DIR, Settings
from pipeline.report.html import ReportSummary, render_report

INJECTION = '<img src=x onerror="document.body.dataset.owned=1"></script><b>'
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full run of the bundled leads plus one lead whose title is markup."""
    folder = tmp_path_factory.mktemp("report")
    leads = folder / "leads.csv"
    bundled = (DATA_DIR / "leads.csv").read_text(encoding="utf-8").rstrip("\n")
    leads.write_text(
        bundled + f'\nInjectco,Eve,Doe,"VP Sales {INJECTION.replace(chr(34), chr(34) * 2)}",'
        "injectco.com,11-50,Software\n",
        encoding="utf-8",
    )
    settings = Settings(
        leads_path=leads,
        warehouse_path=folder / "w.duckdb",
        export_path=folder / "out" / "campaign.csv",
        evaluator="rules",
    )
    with DagsterInstance.ephemeral() as instance:
        result = run_rank_leads(settings, instance)
    written = folder / "out" / "report.html"
    assert written.exists()
    metadata = result.asset_materializations_for_node("campaign_export")[0].metadata
    assert metadata["report"].value == written.resolve().as_uri()
    assert metadata["report_bytes"].value == len(written.read_bytes())
    return written


def report_json(page: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    )
    assert found, "no data block"
    return json.loads(found.group(1))


def test_the_report_is_one_file_with_its_data_and_no_network(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page.replace("https://www.", "")
    data = report_json(page)
    assert data["summary"]["companies"] == 24 and data["summary"]["leads"] == 201
    assert data["summary"]["evaluator_mix"] == {"rules": 201}
    assert len(data["leads"]) == 201
    # The markup in a title never closes the data block.
    assert INJECTION not in page


def test_the_summary_states_the_model_cost_when_the_model_ran() -> None:
    import pandas as pd

    ranked = pd.DataFrame(
        {
            "company_key": ["a.com", "a.com"],
            "account_name": ["A", "A"],
            "account_domain": ["a.com", "a.com"],
            "size_band": ["smb", "smb"],
            "company_rank": pd.array([1, pd.NA], dtype="Int64"),
            "lead_first_name": ["Ana", "Bo"],
            "lead_last_name": ["Ruiz", "Li"],
            "lead_job_title": ["VP Sales", "Welder"],
            "relevance_score": [90, 0],
            "evaluator": ["groq", "rules"],
            "reasoning": ["fits", "no"],
            "ladder_rung": ["primary target", ""],
            "suppressed_reason": ["", ""],
        }
    )
    summary = ReportSummary("t", "now", 3, model_calls=2, model_usd=0.0123, model="m")
    page = render_report(ranked, summary)
    assert "m: 2 calls, $0.0123" in page
    assert "groq 1, rules 1" in page
    assert "$" not in render_report(ranked, ReportSummary("t", "now", 3)).split("<form")[0]


def test_above_the_company_limit_the_page_lists_ranked_leads_and_says_where_the_rest_are() -> None:
    import pandas as pd

    ranked = pd.DataFrame(
        {
            "company_key": ["a.com", "a.com", "b.com"],
            "account_name": ["A", "A", "B"],
            "account_domain": ["a.com", "a.com", "b.com"],
            "size_band": ["smb", "smb", "smb"],
            "company_rank": pd.array([1, pd.NA, pd.NA], dtype="Int64"),
            "lead_first_name": ["Ana", "Bo", "Cy"],
            "lead_last_name": ["Ruiz", "Li", "Oh"],
            "lead_job_title": ["VP Sales", "Welder", "Nurse"],
            "relevance_score": [90, 0, 5],
            "evaluator": ["rules"] * 3,
            "reasoning": ["fits", "no", "no"],
            "ladder_rung": ["primary target", "", ""],
            "suppressed_reason": ["", "", "on the list"],
        }
    )
    summary = ReportSummary("t", "now", 3)
    whole = report_json(render_report(ranked, summary, max_companies=2))
    assert len(whole["leads"]) == 3 and whole["summary"]["listed"] is None
    page = render_report(ranked, summary, max_companies=1)
    data = report_json(page)
    assert [lead[3] for lead in data["leads"]] == ["Ruiz"]
    assert [company[0] for company in data["companies"]] == ["A"]
    # The company keeps its true counts, and the summary counts every lead.
    assert data["companies"][0][3:] == [2, 1]
    assert data["summary"] | {"listed": None} == whole["summary"]
    assert data["summary"]["listed"] == {"companies": 1, "leads": 1}
    note = re.search(r'<p class="partial" id="partial">(.*?)</p>', page, re.S)
    assert note and "1 ranked leads of the 1 companies" in note.group(1)
    assert "all 3 leads of 2 companies" in note.group(1) and "ranked_leads" in note.group(1)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def opened(browser, report: Path) -> Iterator[Callable[[], object]]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            errors.append(f"network: {request.url}")
            if not request.url.startswith("file:")
            else None
        ),
    )
    page.goto(report.resolve().as_uri())
    page.wait_for_selector("section.company")
    yield page
    assert errors == []
    page.close()


@pytest.mark.slow
def test_the_page_renders_a_page_of_companies_with_the_summary(opened) -> None:
    page = opened
    assert page.locator("section.company").count() == 24
    assert page.locator("#summary").inner_text().startswith("COMPANIES\n24")
    assert page.locator("#shown").inner_text() == "Showing 24 companies, 201 leads"


@pytest.mark.slow
def test_filters_narrow_the_rows(opened) -> None:
    page = opened
    page.fill("#company", "steelcase")
    assert page.locator("section.company").count() == 1
    page.fill("#company", "")
    page.select_option("#band", "startup")
    bands = page.locator("section.company").evaluate_all("s => s.map(e => e.dataset.band)")
    assert bands and set(bands) == {"startup"} and len(bands) < 24
    page.select_option("#band", "")
    page.fill("#search", "founder")
    # Text content, not the rendered text: a matching lead behind the unranked toggle is
    # in the page but not drawn.
    titles = page.locator("tr.lead td.title").all_text_contents()
    names = page.locator("tr.lead td.reasoning").all_text_contents()
    assert titles and all(
        "founder" in f"{title} {reason}".lower()
        for title, reason in zip(titles, names, strict=True)
    )


@pytest.mark.slow
def test_a_sort_reorders_the_rows(opened) -> None:
    page = opened
    page.fill("#company", "steelcase")
    section = page.locator("section.company").first
    table = section.locator("table").first
    ranks = table.locator("td.rank").all_inner_texts()
    assert ranks == sorted(ranks, key=int)
    by_rank = table.locator("td.title").all_inner_texts()
    section.locator("th[data-sort=title]").first.click()
    titles = section.locator("table").first.locator("td.title").all_inner_texts()
    assert titles == sorted(by_rank, key=str.lower) and titles != by_rank
    section.locator("th[data-sort=title]").first.click()
    descending = section.locator("table").first.locator("td.title").all_inner_texts()
    assert descending == sorted(titles, key=str.lower, reverse=True)


@pytest.mark.slow
def test_unranked_leads_sit_behind_a_toggle(opened) -> None:
    page = opened
    page.fill("#company", "steelcase")
    hidden = page.locator("details.unranked tr.lead").first
    assert not hidden.is_visible()
    page.locator("details.unranked summary").first.click()
    assert hidden.is_visible()


@pytest.mark.slow
def test_a_hostile_title_is_shown_as_text(opened) -> None:
    page = opened
    page.fill("#company", "injectco")
    title = page.locator("td.title").first
    assert INJECTION in title.inner_text()
    assert title.locator("img").count() == 0
    assert page.evaluate("document.body.dataset.owned") is None


@pytest.mark.slow
def test_the_page_opens_on_the_changes_and_strikes_a_suppressed_lead(
    browser, tmp_path: Path
) -> None:
    import pandas as pd

    ranked = pd.DataFrame(
        {
            "company_key": ["a.com"] * 3,
            "account_name": ["A"] * 3,
            "account_domain": ["a.com"] * 3,
            "size_band": ["smb"] * 3,
            "company_rank": pd.array([1, 2, 3], dtype="Int64"),
            "lead_first_name": ["Ana", "Bo", "Cy"],
            "lead_last_name": ["Ruiz", "Li", "Ng"],
            "lead_job_title": ["VP Sales", "Head of Sales", "Sales Director"],
            "relevance_score": [90, 85, 80],
            "evaluator": ["rules"] * 3,
            "reasoning": ["fits"] * 3,
            "ladder_rung": ["primary target"] * 3,
            "suppressed_reason": ["opted out (email ana@a.com)", "", ""],
        }
    )
    new = ranked.iloc[[2]].assign(change_reason="moved up: Ana Ruiz suppressed: opted out")
    dropped = ranked.iloc[[0]].assign(change_reason="suppressed: opted out (email ana@a.com)")
    since = pd.Timestamp("2026-11-30 02:00", tz="UTC").to_pydatetime()
    path = tmp_path / "report.html"
    path.write_text(
        render_report(ranked, ReportSummary("t", "now", 2), CampaignChanges(new, dropped, since)),
        encoding="utf-8",
    )
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("section.company")
    # The changes come first, above the companies.
    assert page.locator("body > section.changes h2").inner_text() == (
        "New since 2026-11-30 02:00 UTC"
    )
    changes = page.locator("section.changes").inner_text()
    assert "Cy Ng" in changes and "moved up: Ana Ruiz" in changes and "Ana Ruiz" in changes
    struck = page.locator("tr.lead.suppressed")
    assert struck.count() == 1
    assert "not contacted: opted out (email ana@a.com)" in struck.inner_text()
    decoration = struck.locator("td.title").evaluate(
        "cell => getComputedStyle(cell).textDecorationLine"
    )
    assert decoration == "line-through"
    assert "NOT CONTACTED\n1 on the do-not-contact list" in page.locator("#summary").inner_text()
    page.close()

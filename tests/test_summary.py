"""The text the CLI prints after a run: each company and its campaign leads, up to a limit."""

from pathlib import Path

import pandas as pd

from pipeline.summary import format_summary

RANKED = pd.DataFrame(
    {
        "company_key": ["b.com", "a.com", "a.com"],
        "account_name": ["B", "A", "A"],
        "size_band": ["smb", "enterprise", "enterprise"],
        "company_rank": pd.array([pd.NA, 1, pd.NA], dtype="Int64"),
        "evaluator": ["rules"] * 3,
    }
)
CAMPAIGN = pd.DataFrame(
    {
        "company_key": ["a.com"],
        "company_rank": [1],
        "lead_first_name": ["Ana"],
        "lead_last_name": ["Ruiz"],
        "lead_job_title": [" VP Sales "],
        "relevance_score": [91],
    }
)


def test_each_company_is_listed_with_its_campaign_leads_in_key_order() -> None:
    text = format_summary(RANKED, CAMPAIGN, Path("c.csv"), "w.duckdb", Path("r.html"), "1 new")
    assert text.splitlines() == [
        "Ranked 1 of 3 leads at 2 companies (evaluator: rules); 1 in the campaign.",
        "",
        "A (a.com, enterprise): 1 of 2 leads ranked",
        "   1. Ana Ruiz: VP Sales [91]",
        "",
        "B (b.com, smb): 0 of 1 leads ranked",
        "   nobody worth contacting",
        "",
        "Campaign file: c.csv (1 rows)",
        "1 new",
        "Report: r.html",
        "Warehouse: w.duckdb",
    ]


def test_above_the_company_limit_only_the_totals_and_where_the_lists_are() -> None:
    text = format_summary(RANKED, CAMPAIGN, Path("c.csv"), "w.duckdb", max_companies=1)
    assert "A (a.com" not in text and "nobody worth contacting" not in text
    assert text.splitlines()[0].startswith("Ranked 1 of 3 leads at 2 companies")
    assert "in the campaign file and the report (listed here up to 1 companies)" in text

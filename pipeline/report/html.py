"""The HTML report: the ranked table as compact JSON inside one page with its script."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd

from pipeline.campaign.changes import CHANGE_COLUMN, CampaignChanges

# Rows are sent as lists, not objects, and repeated texts (reasonings, titles, first names)
# once: a 100,000-lead report stays a few megabytes. The script reads them by these positions.
LEAD_FIELDS = (
    "company",
    "rank",
    "first_name",
    "last_name",
    "title",
    "score",
    "evaluator",
    "reasoning",
    "rung",
)
COMPANY_FIELDS = ("name", "domain", "size_band", "leads", "ranked")
# The campaign's changes listed at the top; the files beside the report hold them all.
MAX_CHANGES_SHOWN = 200
# Above this many companies the page lists ranked leads only (`Settings.report_max_companies`).
DEFAULT_MAX_COMPANIES = 5000


@dataclass(frozen=True)
class ReportSummary:
    """What the top of the report says about the run."""

    title: str
    generated_at: str
    top_n: int
    # The model's calls and dollars in this run (0 when only the rules ran).
    model_calls: int = 0
    model_usd: float = 0.0
    model: str = ""


def render_report(
    ranked: pd.DataFrame,
    summary: ReportSummary,
    changes: CampaignChanges | None = None,
    max_companies: int = DEFAULT_MAX_COMPANIES,
) -> str:
    """One page: the summary and what changed since the last campaign rendered as HTML (they
    read without a script), the leads as JSON that the inline script renders a page of
    companies at a time. Above `max_companies` companies, the page lists each company's
    ranked leads only and says where the rest are."""
    data = report_data(ranked, summary, max_companies)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Inside <script>, "</" could close the element: a title is data, never markup.
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--")
    style = files("pipeline.report").joinpath("report.css").read_text(encoding="utf-8")
    script = files("pipeline.report").joinpath("report.js").read_text(encoding="utf-8")
    return _PAGE.format(
        title=html.escape(summary.title),
        style=style,
        summary=_summary_html(data["summary"]),
        changes=_changes_html(changes) if changes is not None else "",
        payload=payload,
        script=script,
    )


# The ranked table's columns the page shows.
_SHOWN_COLUMNS = (
    "company_key",
    "account_name",
    "account_domain",
    "size_band",
    "company_rank",
    "relevance_score",
    "lead_first_name",
    "lead_last_name",
    "lead_job_title",
    "evaluator",
    "reasoning",
    "ladder_rung",
    "suppressed_reason",
)


def report_data(
    ranked: pd.DataFrame, summary: ReportSummary, max_companies: int = DEFAULT_MAX_COMPANIES
) -> dict[str, object]:
    by_company = ranked.groupby("company_key", sort=False)
    counts, ranked_counts = by_company.size(), by_company["company_rank"].count()
    partial = len(counts) > max_companies
    # Only what the page shows is selected and sorted: each copies every column it holds.
    shown = list(_SHOWN_COLUMNS)
    listed = ranked.loc[ranked["company_rank"].notna(), shown] if partial else ranked[shown]
    leads = listed.assign(_name=listed["account_name"].str.casefold()).sort_values(
        ["_name", "company_key", "company_rank", "relevance_score"],
        ascending=[True, True, True, False],
        na_position="last",
        kind="stable",
    )
    # Companies are numbered in order of first appearance, as the page lists them.
    company_codes, keys = pd.factorize(leads["company_key"])
    first = (
        leads.groupby("company_key", sort=False)[["account_name", "account_domain", "size_band"]]
        .first()
        .reindex(keys)
    )
    reasons, reason_codes = _distinct(leads["reasoning"])
    evaluators, evaluator_codes = _distinct(leads["evaluator"])
    rungs, rung_codes = _distinct(leads["ladder_rung"])
    titles, title_codes = _distinct(leads["lead_job_title"])
    first_names, first_name_codes = _distinct(leads["lead_first_name"])
    # Few leads are suppressed: [lead's position in `leads`, its reason in `suppressions`].
    suppressed_at = np.flatnonzero((leads["suppressed_reason"].fillna("") != "").to_numpy())
    suppressions, suppression_codes = _distinct(leads["suppressed_reason"].iloc[suppressed_at])
    suppressed = [
        [int(position), code]
        for position, code in zip(suppressed_at, suppression_codes, strict=True)
    ]
    # Python ints and None, as JSON wants them, without a Python loop over numpy scalars.
    ranks = (
        pd.array(leads["company_rank"], dtype="Int64").to_numpy(dtype=object, na_value=None)
    ).tolist()
    rows = [
        list(row)
        for row in zip(
            company_codes.tolist(),
            ranks,
            first_name_codes,
            leads["lead_last_name"].tolist(),
            title_codes,
            leads["relevance_score"].astype("int64").tolist(),
            evaluator_codes,
            reason_codes,
            rung_codes,
            strict=True,
        )
    ]
    mix = ranked["evaluator"].value_counts().sort_index()
    return {
        "summary": {
            "title": summary.title,
            "generated_at": summary.generated_at,
            "companies": len(counts),
            "leads": len(ranked),
            "ranked": int(ranked["company_rank"].notna().sum()),
            "suppressed": int((ranked["suppressed_reason"].fillna("") != "").sum()),
            # What the page lists when it cannot list everything; None when it does.
            "listed": {"companies": len(keys), "leads": len(leads)} if partial else None,
            "top_n": summary.top_n,
            "evaluator_mix": {str(name): int(count) for name, count in mix.items()},
            "model_calls": summary.model_calls,
            "model_usd": round(summary.model_usd, 6),
            "model": summary.model,
        },
        "company_fields": list(COMPANY_FIELDS),
        "companies": [
            [str(name), str(domain), str(band), int(count), int(ranked_count)]
            for name, domain, band, count, ranked_count in zip(
                first["account_name"],
                first["account_domain"],
                first["size_band"],
                counts.reindex(keys),
                ranked_counts.reindex(keys),
                strict=True,
            )
        ],
        "lead_fields": list(LEAD_FIELDS),
        "leads": rows,
        "reasons": reasons,
        "titles": titles,
        "first_names": first_names,
        "evaluators": evaluators,
        "rungs": rungs,
        "suppressions": suppressions,
        "suppressed": suppressed,
    }


def _distinct(values: pd.Series) -> tuple[list[str], list[int]]:
    """Each distinct value once, as text, in order of first appearance; each row's number
    among them."""
    codes, uniques = pd.factorize(values.fillna(""), use_na_sentinel=False)
    return [str(value) for value in uniques], codes.tolist()


def _summary_html(summary: Mapping[str, object]) -> str:
    mix = summary["evaluator_mix"]
    assert isinstance(mix, dict)
    cells = [
        ("Companies", f"{summary['companies']:,}"),
        ("Leads", f"{summary['leads']:,}"),
        ("Ranked", f"{summary['ranked']:,}"),
        ("Campaign", f"top {summary['top_n']} per company"),
        ("Not contacted", f"{summary['suppressed']:,} on the do-not-contact list"),
        ("Evaluators", ", ".join(f"{name} {count:,}" for name, count in mix.items()) or "none"),
    ]
    if summary["model_calls"]:
        cells.append(
            (
                "Model",
                f"{summary['model']}: {summary['model_calls']} calls, "
                f"${float(summary['model_usd']):.4f}",  # type: ignore[arg-type]
            )
        )
    items = "".join(
        f"<div><dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd></div>"
        for name, value in cells
    )
    return f'<dl class="summary" id="summary">{items}</dl>' + _partial_html(summary)


def _partial_html(summary: Mapping[str, object]) -> str:
    """Where the leads the page leaves out are, when it leaves some out."""
    listed = summary["listed"]
    if not listed:
        return ""
    assert isinstance(listed, dict)
    return (
        '<p class="partial" id="partial">This page lists the '
        f"{listed['leads']:,} ranked leads of the {listed['companies']:,} companies that "
        f"have one: a page of all {summary['leads']:,} leads of {summary['companies']:,} "
        "companies would be too big for a browser. Every lead, ranked or not, is in the "
        "warehouse's <code>ranked_leads</code> table.</p>"
    )


def _changes_html(changes: CampaignChanges) -> str:
    """The report opens on what is new since the last campaign, and what left it."""
    if changes.since is None:
        return (
            '<section class="changes" id="changes"><h2>First campaign</h2><p>Every one of '
            f"its {len(changes.new):,} leads is new.</p></section>"
        )
    since = changes.since.strftime("%Y-%m-%d %H:%M UTC")
    parts = [f'<section class="changes" id="changes"><h2>New since {html.escape(since)}</h2>']
    for label, rows in (("new", changes.new), ("dropped", changes.dropped)):
        if rows.empty:
            parts.append(f"<p>No {label} leads.</p>")
            continue
        heading = "Not in the campaign any more" if label == "dropped" else "New in the campaign"
        parts.append(f'<h3>{heading} ({len(rows):,})</h3><table class="{label}"><tbody>')
        for row in rows.head(MAX_CHANGES_SHOWN).itertuples(index=False):
            cells = (
                f"{row.lead_first_name} {row.lead_last_name}".strip(),
                row.lead_job_title,
                row.account_name,
                getattr(row, CHANGE_COLUMN),
            )
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells))
        parts.append("</tbody></table>")
        if len(rows) > MAX_CHANGES_SHOWN:
            parts.append(f"<p>{len(rows) - MAX_CHANGES_SHOWN:,} more in campaign_{label}.csv.</p>")
    return "".join(parts) + "</section>"


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
{summary}
</header>
{changes}
<form class="controls" id="controls" onsubmit="return false">
<label>Search <input type="search" id="search" placeholder="name, title, reasoning"></label>
<label>Company <input type="search" id="company" placeholder="name or domain"></label>
<label>Size <select id="band"><option value="">all sizes</option></select></label>
<label><input type="checkbox" id="ranked-only"> ranked companies only</label>
</form>
<p id="shown" class="shown"></p>
<nav class="pager" id="pager-top"></nav>
<main id="companies"><noscript>The ranked list needs JavaScript; the campaign CSV beside this
file holds the top leads.</noscript></main>
<nav class="pager" id="pager-bottom"></nav>
<script type="application/json" id="report-data">{payload}</script>
<script>
{script}
</script>
</body>
</html>
"""

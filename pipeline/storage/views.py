"""Views for analysts, created beside the tables they read; the same SQL in DuckDB and
PostgreSQL. Their columns are listed, so they stay stable when a table gains a column. Each
carries `client`, like the tables (last: PostgreSQL replaces a view only when the new one
adds columns at the end)."""

from __future__ import annotations

CURRENT_RANKED_LEADS = "current_ranked_leads"
LLM_COST_PER_RUN = "llm_cost_per_run"

# Table written -> views over it.
_VIEWS: dict[str, dict[str, str]] = {
    "ranked_leads": {
        # Only the leads worth contacting, in rank order per company.
        CURRENT_RANKED_LEADS: (
            "select company_key, account_name, size_band, company_rank, lead_first_name, "
            "lead_last_name, lead_job_title, relevance_score, evaluator, reasoning, ladder_rung, "
            "client "
            "from {schema}.ranked_leads where company_rank is not null"
        ),
    },
    "llm_calls": {
        LLM_COST_PER_RUN: (
            "select run_id, min(started_at) as started_at, count(*) as calls, "
            "sum(retries) as retries, sum(leads) as leads_sent, "
            "sum(prompt_tokens) as prompt_tokens, sum(cached_tokens) as cached_tokens, "
            "sum(completion_tokens) as completion_tokens, "
            "sum(reasoning_tokens) as reasoning_tokens, sum(usd) as usd, client "
            "from {schema}.llm_calls group by client, run_id"
        ),
    },
}


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def view_statements(schema: str, table: str, postgres: bool) -> list[str]:
    """`create or replace view` for every view over `table`. In PostgreSQL a view reads as
    the role querying it (`security_invoker`), so the tables' row-level security applies to
    it too: by default a view reads as its owner, who sees every client."""
    invoker = " with (security_invoker = true)" if postgres else ""
    return [
        f"create or replace view {quoted(schema)}.{quoted(view)}{invoker} as "
        + select.format(schema=quoted(schema))
        for view, select in _VIEWS.get(table, {}).items()
    ]

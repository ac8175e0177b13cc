"""The same leads through synchronous calls and through Groq's Batch API: what each costs in
`llm_calls`, whether the rankings agree, and what a re-run after the batch calls.

    .venv/bin/python bench/llm_batch.py [--leads N --companies C] [--json]

Both runs are the rank_leads job (as `persona-ranker run` and `run --batch --wait` make it)
against the local Groq-compatible server, each in a warehouse of its own. Without `--leads`
the bundled file is ranked; with it, a synthetic file (`bench/make_leads.py`). Printed: calls,
prompt and completion tokens and dollars of each run, the batch's share of the synchronous
run's dollars, and its share of the same tokens at the synchronous list price (the
synchronous run pays half for a prompt prefix Groq has cached; batch pricing does not stack
with that discount).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
from dagster import DagsterInstance
from make_leads import make_leads, write_leads  # this folder: scripts, not a package

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.clients import DEFAULT_CLIENT
from pipeline.orchestration.resources import GroqEvaluator, resolved_batches
from pipeline.orchestration.settings import DATA_DIR, DUCKDB_SCHEMA, Settings
from pipeline.persona.reader import load_persona

_BATCH = {"ops": {"lead_evaluations": {"config": {"batch": True}}}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, help="synthetic rows (default: the bundled file)")
    parser.add_argument("--companies", type=int, default=1_000, help="companies in them (1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    config = load_groq_config(DATA_DIR / "groq.yaml")
    limits = config.limits("developer")
    with (
        tempfile.TemporaryDirectory(prefix="llm-batch-") as scratch,
        MockGroq(load_persona(DATA_DIR / "persona.yaml"), MockSettings(limits)) as server,
        DagsterInstance.ephemeral() as instance,
    ):
        folder = Path(scratch)
        leads = DATA_DIR / "leads.csv"
        if args.leads:
            leads = folder / "leads.csv"
            write_leads(make_leads(args.leads, args.companies, 7), leads)
        os.environ.update(GROQ_API_KEY="gsk_bench", GROQ_BASE_URL=server.base_url)
        base = Settings(leads_path=leads, evaluator="groq", groq_tier="developer")
        sync = replace(base, warehouse_path=folder / "sync.duckdb", export_path=folder / "s.csv")
        batch = replace(base, warehouse_path=folder / "batch.duckdb", export_path=folder / "b.csv")
        run(sync, instance, batch_mode=False)
        run(batch, instance, batch_mode=True)
        evaluator = build_definitions(batch).resources["evaluator"]
        assert isinstance(evaluator, GroqEvaluator)
        with resolved_batches(evaluator, DEFAULT_CLIENT) as batches:
            batches.collect(DEFAULT_CLIENT)
        served = len(server.served())
        run(batch, instance, batch_mode=True)
        rerun_calls = len(server.served()) - served
        sync_calls, batch_calls = calls(sync), calls(batch)
        same_ranking = ranking(sync).equals(ranking(batch))
    price = config.price(base.groq_model)
    list_usd = (
        sync_calls["prompt_tokens"].sum() * price.input_per_million
        + sync_calls["completion_tokens"].sum() * price.output_per_million
    ) / 1e6
    report = {
        "leads": "bundled file" if not args.leads else args.leads,
        "synchronous": totals(sync_calls),
        "batch": totals(batch_calls),
        "batch_share_of_synchronous_usd": round(
            batch_calls["usd"].sum() / sync_calls["usd"].sum(), 4
        ),
        "batch_share_of_list_price_usd": round(batch_calls["usd"].sum() / list_usd, 4),
        "same_ranking": same_ranking,
        "calls_of_a_rerun_after_the_batch": rerun_calls,
    }
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def run(settings: Settings, instance: DagsterInstance, batch_mode: bool) -> None:
    job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
    result = job.execute_in_process(
        instance=instance,
        partition_key=DEFAULT_CLIENT,
        run_config=_BATCH if batch_mode else None,
    )
    assert result.success


def calls(settings: Settings) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.sql(f"select * from {DUCKDB_SCHEMA}.llm_calls").df()


def ranking(settings: Settings) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.sql(
            f"select lead_id, company_rank from {DUCKDB_SCHEMA}.ranked_leads order by lead_id"
        ).df()


def totals(frame: pd.DataFrame) -> dict[str, float | int]:
    return {
        "calls": len(frame),
        "prompt_tokens": int(frame["prompt_tokens"].sum()),
        "cached_tokens": int(frame["cached_tokens"].sum()),
        "completion_tokens": int(frame["completion_tokens"].sum()),
        "usd": round(float(frame["usd"].sum()), 6),
    }


def format_report(report: dict[str, object]) -> str:
    rows = [
        "| | calls | prompt tokens | cached | completion tokens | dollars |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("synchronous", "batch"):
        t = report[name]
        assert isinstance(t, dict)
        rows.append(
            f"| {name} | {t['calls']} | {t['prompt_tokens']:,} | {t['cached_tokens']:,} | "
            f"{t['completion_tokens']:,} | ${t['usd']:.6f} |"
        )
    return "\n".join(
        [
            f"Leads: {report['leads']}",
            *rows,
            f"Batch / synchronous dollars: {report['batch_share_of_synchronous_usd']:.2%}",
            f"Batch / the same tokens at the list price: "
            f"{report['batch_share_of_list_price_usd']:.2%}",
            f"Same ranking: {report['same_ranking']}",
            f"Calls of a re-run after the batch: {report['calls_of_a_rerun_after_the_batch']}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

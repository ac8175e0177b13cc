"""What the Groq path costs at scale: a measured 10k-lead run, projected to 100k leads.

    .venv/bin/python bench/llm_scale.py [--leads 10000 --companies 1000] [--project 100000]
                                        [--tier developer] [--minute-seconds 6] [--json]

A synthetic lead file (`bench/make_leads.py`) goes through our evaluator (rules first, the
uncertain leads in batches per company) against the local Groq-compatible server enforcing
the tier's limits, with its minute shortened to `--minute-seconds` (same ratios). Measured:
leads sent to the model, calls, tokens, dollars, wall time (also converted to a real
minute). Projected to `--project` leads by the ratio of leads (the model's share of leads
and the tokens per call do not depend on the size of the file), with the time the tier's
per-minute budget needs for that work and the days its daily caps need.

The local server answers at once: a real model adds its latency per call, which this
projection prints as a bound of its own from `--latency-s` (an assumption, not a
measurement: the Groq API cannot be reached from here).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

from llm_cost import chat_for, ours  # this folder: scripts, not a package
from make_leads import make_leads, write_leads

from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.leads.files import read_lead_file
from pipeline.llm.config import load_groq_config
from pipeline.llm.store import LlmStore
from pipeline.orchestration.settings import DATA_DIR, DEFAULT_MODEL, DUCKDB_SCHEMA
from pipeline.persona.reader import load_persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.storage.stores import Warehouse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000, help="measured file rows (10000)")
    parser.add_argument("--companies", type=int, default=1_000, help="companies in it (1000)")
    parser.add_argument("--project", type=int, default=100_000, help="projected rows (100000)")
    parser.add_argument("--tier", default="developer", help="limits from data/groq.yaml")
    parser.add_argument("--minute-seconds", type=float, default=6.0, help="server minute (6 s)")
    parser.add_argument(
        "--latency-s", type=float, default=2.0, help="assumed model latency per call (2 s)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    config = load_groq_config(DATA_DIR / "groq.yaml")
    limits = config.limits(args.tier)
    persona = load_persona(DATA_DIR / "persona.yaml")
    with (
        tempfile.TemporaryDirectory(prefix="llm-scale-") as scratch,
        MockGroq(persona, MockSettings(limits, minute_s=args.minute_seconds)) as server,
    ):
        path = Path(scratch) / "leads.csv"
        write_leads(make_leads(args.leads, args.companies, args.seed), path)
        leads = enrich_leads(read_lead_file(path).leads, persona)
        store = LlmStore(
            Warehouse(str(Path(scratch) / "warehouse.duckdb"), DUCKDB_SCHEMA), "default"
        )
        chat = chat_for(server, config, limits, args.minute_seconds)
        measured = ours(leads, persona, chat, store)
        refused = sum(request.status == 429 for request in server.served())

    row = measured.as_dict(limits, args.minute_seconds)
    to_model = measured.sent_to_model
    factor = args.project / args.leads
    calls = math.ceil(measured.calls * factor)
    tokens = round(measured.usage.counted_tokens * factor)
    budget_minutes = max(tokens / limits.tokens_per_minute, calls / limits.requests_per_minute)
    report = {
        "model": DEFAULT_MODEL,
        "tier": args.tier,
        "limits": {
            "requests_per_minute": limits.requests_per_minute,
            "tokens_per_minute": limits.tokens_per_minute,
            "requests_per_day": limits.requests_per_day,
            "tokens_per_day": limits.tokens_per_day,
        },
        "measured": {
            "file_rows": args.leads,
            "leads": len(leads),
            "sent_to_model": to_model,
            "server_refusals": refused,
            **row,
        },
        "projected": {
            "file_rows": args.project,
            "sent_to_model": round(to_model * factor),
            "calls": calls,
            "input_tokens": round(measured.usage.prompt_tokens * factor),
            "cached_input_tokens": round(measured.usage.cached_tokens * factor),
            "output_tokens": round(measured.usage.completion_tokens * factor),
            "usd": round(measured.usd * factor, 2),
            "wall_min_at_real_minute": round(row["wall_s_at_real_minute"] * factor / 60, 1),
            "rate_limit_bound_min": round(budget_minutes, 1),
            "latency_bound_min_sequential": round(calls * args.latency_s / 60, 1),
            "days_for_daily_caps": round(
                max(tokens / limits.tokens_per_day, calls / limits.requests_per_day), 3
            ),
        },
    }
    print(json.dumps(report, indent=2) if args.json else format_report(report, args.latency_s))
    return 0


def format_report(report: dict[str, object], latency_s: float) -> str:
    measured, projected = report["measured"], report["projected"]
    lines = [
        f"{report['model']}, {report['tier']} tier "
        f"({report['limits']['requests_per_minute']} requests/min, "
        f"{report['limits']['tokens_per_minute']:,} tokens/min)",
        "",
        "| | file rows | to model | calls | input tok | cached | output tok | $ | wall min |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| measured | {measured['file_rows']:,} | {measured['sent_to_model']:,} | "
        f"{measured['calls']:,} | {measured['input_tokens']:,} | "
        f"{measured['cached_input_tokens']:,} | {measured['output_tokens']:,} | "
        f"{measured['usd']} | {measured['wall_s_at_real_minute'] / 60:.1f} |",
        f"| projected | {projected['file_rows']:,} | {projected['sent_to_model']:,} | "
        f"{projected['calls']:,} | {projected['input_tokens']:,} | "
        f"{projected['cached_input_tokens']:,} | {projected['output_tokens']:,} | "
        f"{projected['usd']} | {projected['wall_min_at_real_minute']} |",
        "",
        f"projected time: {projected['rate_limit_bound_min']} min of the tier's per-minute "
        f"budget; {projected['latency_bound_min_sequential']} min if each call took "
        f"{latency_s} s in sequence (assumed latency); "
        f"{projected['days_for_daily_caps']} of a day's caps",
        f"server refusals during the measured run: {measured['server_refusals']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

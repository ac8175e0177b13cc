"""What the Groq path costs at scale: a measured 10k-lead run, projected to 100k leads, with a
model that takes time and calls in flight together.

    .venv/bin/python bench/llm_scale.py [--leads 10000 --companies 1000] [--project 100000]
                                        [--tier developer] [--minute-seconds 6]
                                        [--latency 2] [--concurrency N] [--json]

A synthetic lead file (`bench/make_leads.py`) goes through our evaluator (rules first, the
uncertain leads in batches per company) against the local Groq-compatible server enforcing
the tier's limits, with its minute shortened to `--minute-seconds` (same ratios). The server
takes `--latency` seconds of a real minute to answer each call (scaled like the minute), so
the run meets latency as a real model has it. The run is measured twice, in the same
invocation: with `--concurrency` calls in flight (the tier's default) and with one at a
time. Printed for each: calls, tokens, dollars, wall time (also converted to a real minute),
the time the tier's per-minute token budget needs for the same work, and the ratio of the
two; and how far the limiter's prompt token count was from the server's. Projected to
`--project` leads by the ratio of leads (the model's share of leads and the tokens per call
do not depend on the size of the file), with the days its daily caps need.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import pandas as pd
from llm_cost import chat_for, ours  # this folder: scripts, not a package
from make_leads import make_leads, write_leads

from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.leads.files import read_lead_file
from pipeline.llm.config import GroqConfig, load_groq_config
from pipeline.llm.ratelimit import RateLimits
from pipeline.llm.store import LlmStore
from pipeline.orchestration.settings import DATA_DIR, DEFAULT_MODEL, DUCKDB_SCHEMA
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import Persona
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
        "--latency", type=float, default=2.0, help="seconds a call takes at a real minute (2)"
    )
    parser.add_argument("--concurrency", type=int, help="calls in flight (the tier's default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    config = load_groq_config(DATA_DIR / "groq.yaml")
    limits = config.limits(args.tier)
    concurrency = args.concurrency or config.calls_in_flight(args.tier)
    persona = load_persona(DATA_DIR / "persona.yaml")
    with tempfile.TemporaryDirectory(prefix="llm-scale-") as scratch:
        path = Path(scratch) / "leads.csv"
        write_leads(make_leads(args.leads, args.companies, args.seed), path)
        leads = enrich_leads(read_lead_file(path).leads, persona)
        runs = {
            calls_in_flight: measure(
                leads, persona, config, limits, args, calls_in_flight, Path(scratch)
            )
            for calls_in_flight in dict.fromkeys((concurrency, 1))
        }
    measured = runs[concurrency]
    factor = args.project / args.leads
    calls = math.ceil(measured["calls"] * factor)
    tokens = round(measured["counted_tokens"] * factor)
    bound_min = max(tokens / limits.tokens_per_minute, calls / limits.requests_per_minute)
    report = {
        "model": DEFAULT_MODEL,
        "tier": args.tier,
        "limits": {
            "requests_per_minute": limits.requests_per_minute,
            "tokens_per_minute": limits.tokens_per_minute,
            "requests_per_day": limits.requests_per_day,
            "tokens_per_day": limits.tokens_per_day,
        },
        "latency_s": args.latency,
        "concurrency": concurrency,
        "measured": measured,
        "one_at_a_time": runs[1],
        "projected": {
            "file_rows": args.project,
            "sent_to_model": round(measured["sent_to_model"] * factor),
            "calls": calls,
            "input_tokens": round(measured["input_tokens"] * factor),
            "cached_input_tokens": round(measured["cached_input_tokens"] * factor),
            "output_tokens": round(measured["output_tokens"] * factor),
            "usd": round(measured["usd"] * factor, 2),
            # A measured run that fits in one minute's budget is not held by it; the
            # projected one cannot be faster than its budget.
            "wall_min_at_real_minute": round(
                max(measured["wall_s_at_real_minute"] * factor / 60, bound_min), 1
            ),
            "rate_limit_bound_min": round(bound_min, 1),
            "one_at_a_time_wall_min_at_real_minute": round(
                runs[1]["wall_s_at_real_minute"] * factor / 60, 1
            ),
            "days_for_daily_caps": round(
                max(tokens / limits.tokens_per_day, calls / limits.requests_per_day), 3
            ),
        },
    }
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def measure(
    leads: pd.DataFrame,
    persona: Persona,
    config: GroqConfig,
    limits: RateLimits,
    args: argparse.Namespace,
    concurrency: int,
    scratch: Path,
) -> dict[str, object]:
    """One evaluation of the leads, from a cold cache, against a fresh server."""
    latency_s = args.latency * args.minute_seconds / 60
    settings = MockSettings(limits, minute_s=args.minute_seconds, latency_s=latency_s)
    with MockGroq(persona, settings) as server:
        store = LlmStore(
            Warehouse(str(scratch / f"warehouse-{concurrency}.duckdb"), DUCKDB_SCHEMA), "default"
        )
        chat = chat_for(server, config, limits, args.minute_seconds)
        outcome = ours(leads, persona, chat, store, concurrency)
        refused = sum(request.status == 429 for request in server.served())
        most_in_flight = server.most_in_flight()
    prompt = outcome.usage.prompt_tokens
    return {
        "concurrency": concurrency,
        "file_rows": args.leads,
        "leads": len(leads),
        "sent_to_model": outcome.sent_to_model,
        "server_refusals": refused,
        "most_in_flight": most_in_flight,
        "counted_tokens": outcome.usage.counted_tokens,
        "estimated_prompt_tokens": outcome.estimated_prompt_tokens,
        "prompt_estimate_error": (
            round((outcome.estimated_prompt_tokens - prompt) / prompt, 4) if prompt else 0.0
        ),
        **outcome.as_dict(limits, args.minute_seconds),
    }


def format_report(report: dict[str, object]) -> str:
    measured, serial, projected = report["measured"], report["one_at_a_time"], report["projected"]
    header = (
        "| | calls in flight | calls | input tok | cached | output tok | $ | wall s | "
        "token-budget s | wall / budget | wall min at a real minute |"
    )
    lines = [
        f"{report['model']}, {report['tier']} tier "
        f"({report['limits']['requests_per_minute']} requests/min, "
        f"{report['limits']['tokens_per_minute']:,} tokens/min); "
        f"{measured['file_rows']:,} rows, {measured['sent_to_model']:,} leads to the model, "
        f"{report['latency_s']} s a call at a real minute",
        "",
        header,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in (("in flight together", measured), ("one at a time", serial)):
        lines.append(
            f"| {name} | {run['concurrency']} (most seen {run['most_in_flight']}) | "
            f"{run['calls']:,} | {run['input_tokens']:,} | {run['cached_input_tokens']:,} | "
            f"{run['output_tokens']:,} | {run['usd']} | {run['wall_s']} | {run['budget_s']} | "
            f"{run['wall_vs_budget']} | {run['wall_s_at_real_minute'] / 60:.1f} |"
        )
    lines += [
        "",
        f"prompt tokens: the limiter counted {measured['estimated_prompt_tokens']:,}, the "
        f"server {measured['input_tokens']:,} (error {measured['prompt_estimate_error']:+.2%})",
        f"projected to {projected['file_rows']:,} rows: {projected['calls']:,} calls, "
        f"${projected['usd']}, {projected['wall_min_at_real_minute']} min "
        f"({projected['rate_limit_bound_min']} min of token budget; one at a time "
        f"{projected['one_at_a_time_wall_min_at_real_minute']} min); "
        f"{projected['days_for_daily_caps']} of a day's caps",
        f"server refusals: {measured['server_refusals']} and {serial['server_refusals']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

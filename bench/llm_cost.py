"""What the Groq path costs on the bundled leads, against the seed app's design.

One local Groq-compatible server enforcing the free tier's limits (a shorter minute with
`--minute-seconds`, same ratios), three strategies in one run:

- cold: ours, an empty cache (rules first, uncertain leads batched per company);
- warm: ours again on the same warehouse (the answer cache);
- seed: the original design, one call per lead with the whole persona
  (`docs/persona.md`), the lead and the answer instructions in one prompt, and
  a 2 s pause between calls. It stops where the free tier's daily cap stops it.

    .venv/bin/python bench/llm_cost.py [--minute-seconds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import groq
import pandas as pd

from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.leads.files import read_lead_file
from pipeline.llm.client import CallRecord, DailyCapReached, GroqChat
from pipeline.llm.config import GroqConfig, Usage, load_groq_config
from pipeline.llm.evaluator import HybridEvaluator
from pipeline.llm.prompts import LeadForModel, batch_message
from pipeline.llm.ratelimit import RateLimiter, RateLimits
from pipeline.llm.store import LlmStore
from pipeline.orchestration.settings import DATA_DIR, DEFAULT_MODEL, DUCKDB_SCHEMA, PROJECT_ROOT
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.storage.stores import Warehouse

SEED_PERSONA = PROJECT_ROOT / "docs" / "persona.md"
SEED_PAUSE_S = 2.0
SEED_INSTRUCTIONS = (
    "Evaluate the lead above against the persona. Return JSON with the lead's id, a relevance "
    "score from 0 to 100 and a short reason. Consider the company size, the person's "
    "department and seniority, the exclusions, and whether this person would be a buyer."
)


@dataclass
class Outcome:
    leads: int
    calls: int
    usage: Usage
    usd: float
    wall_s: float
    stopped_by: str = ""
    # Leads the rules left to the model (the seed design sends every lead).
    sent_to_model: int = 0
    # The limiter's prompt count before sending, against the server's (prompt_tokens).
    estimated_prompt_tokens: int = 0

    def as_dict(self, limits: RateLimits, minute_s: float) -> dict[str, object]:
        tokens = self.usage.prompt_tokens + self.usage.completion_tokens
        # The steady-rate time the per-minute budget allows for this much work.
        budget_minutes = max(
            self.usage.counted_tokens / limits.tokens_per_minute,
            self.calls / limits.requests_per_minute,
        )
        budget_s = budget_minutes * minute_s
        return {
            "leads": self.leads,
            "calls": self.calls,
            "input_tokens": self.usage.prompt_tokens,
            "cached_input_tokens": self.usage.cached_tokens,
            "output_tokens": self.usage.completion_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "tokens_per_lead": round(tokens / self.leads, 1) if self.leads else 0.0,
            "usd": round(self.usd, 6),
            "wall_s": round(self.wall_s, 2),
            "budget_s": round(budget_s, 2),
            "wall_vs_budget": round(self.wall_s / budget_s, 2) if budget_s else None,
            "wall_s_at_real_minute": round(self.wall_s * 60 / minute_s, 1),
            "stopped_by": self.stopped_by,
        }


def chat_for(server: MockGroq, config: GroqConfig, limits: RateLimits, minute_s: float) -> GroqChat:
    return GroqChat(
        client=groq.Groq(api_key="bench", base_url=server.base_url, timeout=60, max_retries=0),
        model=DEFAULT_MODEL,
        limiter=RateLimiter(limits, minute_s),
        config=config,
        # Anything longer than two of the server's minutes is its daily cap.
        max_wait_s=2 * minute_s,
    )


def ours(
    leads: pd.DataFrame, persona: Persona, chat: GroqChat, store: LlmStore, concurrency: int = 1
) -> Outcome:
    started = time.monotonic()
    evaluator = HybridEvaluator(
        persona, chat, store, "bench", batch_size=40, log=lambda _: None, concurrency=concurrency
    )
    _, stats = evaluator.evaluate(leads, datetime.now(UTC))
    return Outcome(
        len(leads),
        stats.calls,
        stats.usage,
        stats.usd,
        time.monotonic() - started,
        sent_to_model=stats.sent_to_model,
        estimated_prompt_tokens=stats.estimated_prompt_tokens,
    )


def seed(leads: pd.DataFrame, chat: GroqChat, minute_s: float) -> Outcome:
    persona_text = SEED_PERSONA.read_text(encoding="utf-8")
    usage, usd, calls, done, stopped_by = Usage(), 0.0, 0, 0, ""
    started = time.monotonic()
    for row in leads.itertuples(index=False):
        lead = LeadForModel(
            row.lead_id,
            row.company_key,
            row.account_name,
            row.account_employee_range,
            row.size_band,
            row.account_industry,
            row.lead_job_title,
        )
        message, _ = batch_message([lead])
        prompt = f"{persona_text}\n\nLead:\n{message}\n\n{SEED_INSTRUCTIONS}"
        record = CallRecord(model=chat.model, leads=1, companies=row.company_key)
        try:
            chat.complete([{"role": "user", "content": prompt}], 256, record)
        except DailyCapReached as cap:
            stopped_by = str(cap)
            break
        finally:
            calls += 1
            usage, usd = usage + record.usage, usd + record.usd
        done += 1
        time.sleep(SEED_PAUSE_S * minute_s / 60)
    return Outcome(done, calls, usage, usd, time.monotonic() - started, stopped_by)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minute-seconds", type=float, default=3.0, help="server minute (3 s)")
    parser.add_argument("--tier", default="free", help="limits from data/groq.yaml (free)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    config = load_groq_config(DATA_DIR / "groq.yaml")
    limits = config.limits(args.tier)
    persona = load_persona(DATA_DIR / "persona.yaml")
    leads = enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)
    results: dict[str, Outcome] = {}
    with (
        MockGroq(persona, MockSettings(limits, minute_s=args.minute_seconds)) as server,
        tempfile.TemporaryDirectory(prefix="llm-cost-") as scratch,
    ):
        store = LlmStore(
            Warehouse(str(Path(scratch) / "warehouse.duckdb"), DUCKDB_SCHEMA), "default"
        )
        for name in ("cold", "warm"):
            chat = chat_for(server, config, limits, args.minute_seconds)
            results[name] = ours(leads, persona, chat, store)
        chat = chat_for(server, config, limits, args.minute_seconds)
        results["seed"] = seed(leads, chat, args.minute_seconds)

    report = {
        "leads": len(leads),
        "model": DEFAULT_MODEL,
        "tier": args.tier,
        "minute_s": args.minute_seconds,
        **{
            name: results[name].as_dict(limits, args.minute_seconds)
            for name in ("seed", "cold", "warm")
        },
    }
    seed_per_lead = report["seed"]["tokens_per_lead"]
    cold_per_lead = report["cold"]["tokens_per_lead"]
    report["ratios"] = {
        "tokens_per_lead_seed_over_cold": round(seed_per_lead / cold_per_lead, 1),
        "usd_per_lead_seed_over_cold": round(
            (results["seed"].usd / results["seed"].leads) / (results["cold"].usd / len(leads)), 1
        ),
        "calls_per_lead_seed_over_cold": round(
            (results["seed"].calls / results["seed"].leads) / (results["cold"].calls / len(leads)),
            1,
        ),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_table(report))
    return 0


def format_table(report: dict[str, object]) -> str:
    columns = (
        ("leads", "leads"),
        ("calls", "calls"),
        ("input_tokens", "input tok"),
        ("output_tokens", "output tok"),
        ("tokens_per_lead", "tok/lead"),
        ("usd", "$"),
        ("wall_s", "wall s"),
        ("budget_s", "budget s"),
        ("wall_s_at_real_minute", "wall s @60s-min"),
    )
    lines = [
        f"{report['leads']} leads, {report['model']}, {report['tier']} tier, "
        f"server minute = {report['minute_s']} s",
        "",
        "| strategy | " + " | ".join(title for _, title in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name in ("seed", "cold", "warm"):
        row = report[name]
        lines.append(f"| {name} | " + " | ".join(str(row[key]) for key, _ in columns) + " |")
    lines.append("")
    if report["seed"]["stopped_by"]:
        lines.append(f"seed stopped: {report['seed']['stopped_by']}")
    lines.append("ratios: " + json.dumps(report["ratios"]))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

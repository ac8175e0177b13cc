"""The LLM cost benchmark runs and its figures meet the Groq issue's targets (counts, not
times: speed is printed by the benchmark, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.groq_server]


def test_llm_cost_benchmark_meets_the_call_and_token_targets() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "bench" / "llm_cost.py"),
            "--json",
            "--minute-seconds",
            "0.2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["leads"] == 200
    for strategy in ("seed", "cold", "warm"):
        assert {"calls", "input_tokens", "output_tokens", "usd", "wall_s", "leads"} <= set(
            report[strategy]
        )
    cold, warm, seed = report["cold"], report["warm"], report["seed"]
    assert cold["leads"] == 200 and 0 < cold["calls"] <= 10
    assert cold["tokens_per_lead"] <= 60
    assert warm["calls"] == 0 and warm["input_tokens"] == 0
    assert seed["calls"] >= seed["leads"] > 0
    assert report["ratios"]["tokens_per_lead_seed_over_cold"] >= 30
    # The seed design spends the free tier's daily tokens before the 200th lead.
    assert seed["leads"] < 200 and "daily limit" in seed["stopped_by"]

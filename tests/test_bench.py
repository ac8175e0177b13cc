"""The benchmarks run and their figures hold together (counts, not times: speed is printed by
the benchmarks, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.orchestration.settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.groq_server]


def run_bench(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / script), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_llm_cost_benchmark_meets_the_call_and_token_targets() -> None:
    report = run_bench("llm_cost.py", "--minute-seconds", "0.2")
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


def test_the_scale_benchmark_reports_every_size() -> None:
    report = run_bench("scale.py", "--sizes", "300:30,600:60,3x200:20", "--cold")
    assert set(report) == {"300", "600", "3x200"}
    assert report["3x200"]["clients"] == 3 and report["3x200"]["file_rows"] == 600
    for size, figures in report.items():
        clients, _, per_client = size.rpartition("x")
        rows = int(clients or 1) * int(per_client)
        assert {"wall_s", "peak_rss_mb", "leads_per_s", "steps_s", "dagster_overhead_s"} <= set(
            figures
        )
        assert figures["file_rows"] == rows
        assert 0 < figures["leads"] <= rows  # repeats in the file are set aside
        assert figures["companies"] <= rows // 10
        assert "lead_evaluations" in figures["steps_s"]
        assert figures["report_mb"] > 0 and figures["report_render_s"] >= 0
        assert figures["vector_cache"] == "empty"
        # The floor under the run's writes: DuckDB copying the tables the run left.
        assert 0 < figures["table_copy_s"] < figures["wall_s"]
        assert figures["table_copy_times_read"] > 0


def test_the_suppression_benchmark_matches_and_runs_both_ways() -> None:
    report = run_bench(
        "suppression.py", "--leads", "2000", "--companies", "200", "--entries", "400", "--runs", "1"
    )
    assert report["leads"] == 2000 and 0 < report["entries"] <= 400
    # About half the entries name a lead of the file; a domain or company covers several.
    assert 0 < report["suppressed_leads"] < 2000
    assert {"read_s", "match_s", "run_without_s", "run_with_s", "run_difference_s"} <= set(report)


def test_the_llm_scale_projection_multiplies_a_measured_run() -> None:
    report = run_bench(
        "llm_scale.py",
        "--leads",
        "400",
        "--companies",
        "40",
        "--project",
        "4000",
        "--minute-seconds",
        "0.5",
    )
    measured, projected = report["measured"], report["projected"]
    assert report["limits"]["requests_per_minute"] == 1000  # the developer tier
    assert measured["server_refusals"] == 0
    assert 0 < measured["sent_to_model"] < measured["leads"]
    assert measured["calls"] >= measured["sent_to_model"] / 40
    assert projected["calls"] >= 10 * measured["calls"]
    assert projected["output_tokens"] == round(10 * measured["output_tokens"])
    # The same leads one call at a time: the same calls and tokens, none refused.
    serial = report["one_at_a_time"]
    assert (serial["concurrency"], serial["most_in_flight"]) == (1, 1)
    assert measured["concurrency"] == 8 and measured["most_in_flight"] > 1
    assert serial["calls"] == measured["calls"]
    assert serial["server_refusals"] == 0
    assert measured["prompt_estimate_error"] == 0.0

"""Two processes spending one Groq key: with the budget in PostgreSQL they stay within the
limits together; each with its own budget, the server has to refuse them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from support import POSTGRES_URL

from pipeline.groq_server.server import MockGroq, ServedRequest
from pipeline.llm.ratelimit import RateLimits
from pipeline.orchestration.settings import DATA_DIR

pytestmark = [pytest.mark.postgres, pytest.mark.groq_server]

WORKER = Path(__file__).with_name("budget_worker.py")
MINUTE_S = 1.0
# Tight enough that either process alone would fill the window: the bundled leads in
# batches of two make about 47 calls of about 400 counted tokens between the two processes.
# One set binds on requests, the other on tokens.
REQUEST_BOUND = RateLimits(
    requests_per_minute=6, tokens_per_minute=9_000, requests_per_day=10_000, tokens_per_day=10**8
)
TOKEN_BOUND = RateLimits(
    requests_per_minute=40, tokens_per_minute=3_000, requests_per_day=10_000, tokens_per_day=10**8
)


def config_with_test_tier(tmp_path: Path, limits: RateLimits) -> Path:
    config = yaml.safe_load((DATA_DIR / "groq.yaml").read_text(encoding="utf-8"))
    config["tiers"]["test"] = {
        "requests_per_minute": limits.requests_per_minute,
        "tokens_per_minute": limits.tokens_per_minute,
        "requests_per_day": limits.requests_per_day,
        "tokens_per_day": limits.tokens_per_day,
    }
    path = tmp_path / "groq.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def run_two_workers(
    server: MockGroq, tmp_path: Path, warehouses: list[str], schema: str, concurrency: int = 1
):
    """Starts both processes at the same moment, each with `concurrency` calls in flight;
    their JSON figures."""
    start_at = time.time() + 3.0  # both have imported everything by then
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                json.dumps(
                    {
                        "half": half,
                        "base_url": server.base_url,
                        "config_path": str(config_with_test_tier(tmp_path, server.settings.limits)),
                        "warehouse": warehouse,
                        "schema": schema,
                        "minute_s": MINUTE_S,
                        "start_at": start_at,
                        "concurrency": concurrency,
                    }
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half, warehouse in enumerate(warehouses)
    ]
    outputs = [worker.communicate(timeout=240) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-2000:]
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]


def busiest_window(served: list[ServedRequest]) -> tuple[int, int]:
    """The most requests and tokens the server counted in any window of its minute."""
    counted = [request for request in served if request.status == 200]
    most_requests = most_tokens = 0
    for request in counted:
        window = [r for r in counted if request.at - MINUTE_S < r.at <= request.at]
        most_requests = max(most_requests, len(window))
        most_tokens = max(most_tokens, sum(r.counted_tokens for r in window))
    return most_requests, most_tokens


@pytest.mark.parametrize("limits", [REQUEST_BOUND, TOKEN_BOUND], ids=["requests", "tokens"])
def test_two_processes_sharing_the_budget_in_postgres_stay_within_the_limits(
    groq_server: Callable[..., MockGroq], tmp_path: Path, pg_schema: str, limits: RateLimits
) -> None:
    """Eight calls in flight in each process: every one admitted by the shared budget."""
    server = groq_server(limits=limits, minute_s=MINUTE_S, disagreement=0.0)
    figures = run_two_workers(
        server, tmp_path, [POSTGRES_URL, POSTGRES_URL], pg_schema, concurrency=8
    )
    served = server.served()
    # Both really spent at once: each made calls, and their calls interleave.
    assert all(figure["calls"] >= 10 for figure in figures)
    assert sum(figure["calls"] for figure in figures) == len(served)
    assert {request.status for request in served} == {200}, "the server never had to refuse"
    requests, tokens = busiest_window(served)
    assert requests <= limits.requests_per_minute
    assert tokens <= limits.tokens_per_minute
    # The binding limit was used, not just spared (a call holds its estimate, which is above
    # what the server counts, until its answer arrives: tokens are used at about 60 %).
    if limits is REQUEST_BOUND:
        assert requests == limits.requests_per_minute
    else:
        assert tokens >= 0.45 * limits.tokens_per_minute
    assert all(figure["rules_fallbacks"] == 0 for figure in figures)


def test_two_processes_each_with_its_own_budget_are_refused(
    groq_server: Callable[..., MockGroq], tmp_path: Path
) -> None:
    """The control: the same two processes, each budgeting alone (a DuckDB warehouse each),
    overrun the shared limit, and the server refuses them with 429."""
    server = groq_server(limits=REQUEST_BOUND, minute_s=MINUTE_S, disagreement=0.0)
    warehouses = [str(tmp_path / "one.duckdb"), str(tmp_path / "two.duckdb")]
    run_two_workers(server, tmp_path, warehouses, "persona_ranker")
    assert 429 in {request.status for request in server.served()}

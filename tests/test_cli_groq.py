"""`persona-ranker run --evaluator groq` end to end against the local Groq-compatible server:
the server as a user starts it, two runs (the second free), and a run killed half-way."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from pipeline.groq_server.server import MockGroq
from pipeline.orchestration.instance import local_instance_config
from pipeline.orchestration.settings import DUCKDB_SCHEMA

pytestmark = [pytest.mark.slow, pytest.mark.groq_server]

CLI = str(Path(sys.executable).with_name("persona-ranker"))
CALLS = re.compile(r"^(\d+) calls \((\d+) retries\)", re.MULTILINE)
CACHED = re.compile(r"(\d+) answered from the cache")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli_env(tmp_path: Path, base_url: str, **extra: str) -> dict[str, str]:
    """A Dagster home configured as the local one: the "groq" pool has one slot."""
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(local_instance_config())
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "GROQ_API_KEY": "gsk_local_test",
        "GROQ_BASE_URL": base_url,
        **extra,
    }


def run_args(tmp_path: Path) -> list[str]:
    return [
        CLI,
        "run",
        "--evaluator",
        "groq",
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--export",
        str(tmp_path / "campaign.csv"),
    ]


@pytest.fixture
def mock_groq_command() -> Iterator[str]:
    """`persona-ranker mock-groq` in its own process group, as a user runs it."""
    port = free_port()
    server = subprocess.Popen(
        [CLI, "mock-groq", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    banner = server.stdout.readline()
    assert f"http://127.0.0.1:{port}" in banner, banner
    yield f"http://127.0.0.1:{port}"
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=10) == 0


def test_the_cli_ranks_with_groq_and_the_second_run_makes_no_calls(
    tmp_path: Path, mock_groq_command: str
) -> None:
    env = cli_env(tmp_path, mock_groq_command)
    first = subprocess.run(run_args(tmp_path), capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Groq (openai/gpt-oss-120b): 83 leads needed the model" in first.stdout
    calls = int(CALLS.search(first.stdout).group(1))
    assert 0 < calls <= 10
    assert re.search(r"\$0\.00\d\d", first.stdout)
    assert "evaluator: groq, rules" in first.stdout

    second = subprocess.run(
        run_args(tmp_path), capture_output=True, text=True, env=env, timeout=300
    )
    assert second.returncode == 0, second.stderr
    assert CALLS.search(second.stdout).group(1) == "0"
    assert "83 answered from the cache" in second.stdout


def test_a_run_killed_half_way_does_not_pay_again_for_finished_batches(
    tmp_path: Path, groq_server: Callable[..., MockGroq]
) -> None:
    server = groq_server(slow_s=60.0)
    server.queue_faults(["ok", "ok", "slow"])
    # One call at a time, so that the third call is the one left hanging.
    env = cli_env(
        tmp_path,
        server.base_url,
        PERSONA_RANKER_GROQ_BATCH_SIZE="10",
        PERSONA_RANKER_GROQ_CONCURRENCY="1",
    )
    doomed = subprocess.Popen(
        run_args(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    deadline = time.monotonic() + 120
    while len(server.served()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the third call is now hanging on the server
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    assert len(server.served()) == 2

    warehouse = str(tmp_path / "w.duckdb")
    with duckdb.connect(warehouse, read_only=True) as connection:
        paid = connection.execute(f"select count(*) from {DUCKDB_SCHEMA}.llm_calls").fetchone()[0]
        assert paid == 2, "each finished call was logged before the kill"

    resumed = subprocess.run(
        run_args(tmp_path), capture_output=True, text=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert int(CACHED.search(resumed.stdout).group(1)) >= 20
    resumed_calls = int(CALLS.search(resumed.stdout).group(1))
    assert len(server.served()) == 2 + resumed_calls
    with duckdb.connect(warehouse, read_only=True) as connection:
        rows, leads = connection.execute(
            f"select count(*), count(distinct lead_id) from {DUCKDB_SCHEMA}.lead_evaluations"
        ).fetchone()
    assert rows == leads == 200

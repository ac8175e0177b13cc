"""`persona-ranker run --evaluator groq` end to end against the local Groq-compatible server:
the server as a user starts it, two runs (the second free), and a run killed half-way."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb
import pytest

from pipeline.groq_server.server import MockGroq
from pipeline.leads.files import read_lead_file
from pipeline.llm.prompts import LeadForModel
from pipeline.llm.routing import (
    answer_cache_key,
    company_batches,
    leads_for_model,
    needs_model,
    one_per_answer,
)
from pipeline.orchestration.instance import local_instance_config
from pipeline.orchestration.settings import DATA_DIR, DUCKDB_SCHEMA
from pipeline.persona.reader import load_persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import judge_with_rules

pytestmark = [pytest.mark.slow, pytest.mark.groq_server]

CLI = str(Path(sys.executable).with_name("persona-ranker"))
MODEL = "openai/gpt-oss-120b"


@cache
def bundled_model_leads() -> list[LeadForModel]:
    """The bundled file's leads the rules leave to the model."""
    persona = load_persona(DATA_DIR / "persona.yaml")
    leads = enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)
    routed = needs_model(leads, judge_with_rules(leads, persona, "rules", datetime.now(UTC)))
    return leads_for_model(leads[routed])


def model_leads() -> int:
    return len(bundled_model_leads())


@cache
def asked_model_leads() -> list[LeadForModel]:
    """Those the model is asked about: one of the colleagues who share a title."""
    persona = load_persona(DATA_DIR / "persona.yaml")
    leads = bundled_model_leads()
    keys = {lead.lead_id: answer_cache_key(lead, persona, MODEL) for lead in leads}
    return one_per_answer(leads, keys)[0]


def asked_leads() -> int:
    return len(asked_model_leads())


def model_calls(batch_size: int = 40) -> int:
    return len(company_batches(asked_model_leads(), batch_size))


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
    assert f"Groq (openai/gpt-oss-120b): {model_leads()} leads needed the model" in first.stdout
    calls = int(CALLS.search(first.stdout).group(1))
    assert 0 < calls <= 10
    assert re.search(r"\$0\.00\d\d", first.stdout)
    assert "evaluator: groq, rules" in first.stdout

    second = subprocess.run(
        run_args(tmp_path), capture_output=True, text=True, env=env, timeout=300
    )
    assert second.returncode == 0, second.stderr
    assert CALLS.search(second.stdout).group(1) == "0"
    assert f"{model_leads()} answered from the cache" in second.stdout


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


def test_batch_then_wait_ranks_from_the_batch_and_a_rerun_makes_no_calls(
    tmp_path: Path,
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [CLI, "mock-groq", "--port", str(port), "--batch-delay", "12"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        server.stdout.readline()
        env = cli_env(
            tmp_path,
            f"http://127.0.0.1:{port}",
            PERSONA_RANKER_GROQ_BATCH_POLL_SECONDS="0.3",
            PERSONA_RANKER_GROQ_TIER="developer",
        )
        submitted = subprocess.run(
            [*run_args(tmp_path), "--batch"], capture_output=True, text=True, env=env, timeout=300
        )
        assert submitted.returncode == 0, submitted.stderr
        assert f"{asked_leads()} leads submitted in 1 batch(es)" in submitted.stdout
        assert "Top leads" not in submitted.stdout and not (tmp_path / "campaign.csv").exists()

        waited = subprocess.run(
            [*run_args(tmp_path), "--batch", "--wait"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert waited.returncode == 0, waited.stderr
        assert f"{asked_leads()} leads wait in batches submitted before" in waited.stdout
        assert re.search(
            rf"1 batch\(es\) in_progress: \d+/{model_calls()} calls done", waited.stdout
        )
        assert f"completed: {asked_leads()} leads answered, 0 without an answer" in waited.stdout
        assert CALLS.search(waited.stdout).group(1) == "0"
        assert (tmp_path / "campaign.csv").exists()

        again = subprocess.run(
            run_args(tmp_path), capture_output=True, text=True, env=env, timeout=300
        )
        assert CALLS.search(again.stdout).group(1) == "0"
        assert f"{model_leads()} answered from the cache" in again.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def run_on_a_terminal(args: list[str], env: dict[str, str], timeout_s: float = 300) -> str:
    """The command on a pseudo-terminal, as a user at a shell runs it; what it printed."""
    controller, terminal = pty.openpty()
    command = subprocess.Popen(
        args, stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True
    )
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the command exited and the terminal closed
                break
            if not chunk:
                break
            output += chunk
        elif command.poll() is not None:
            break
    os.close(controller)
    assert command.wait(timeout=10) == 0, output.decode(errors="replace")[-2000:]
    return output.decode(errors="replace")


def test_a_terminal_shows_a_progress_bar_and_the_run_log_above_it(
    tmp_path: Path, groq_server: Callable[..., MockGroq]
) -> None:
    server = groq_server(latency_s=0.3)
    env = cli_env(tmp_path, server.base_url, PERSONA_RANKER_GROQ_BATCH_SIZE="10", COLUMNS="160")
    shown = run_on_a_terminal(run_args(tmp_path), env)
    bars = re.findall(r"model calls \S*━[^\r\n]*?(\d+)/(\d+)", shown)
    assert bars, shown[-2000:]
    assert {total for _, total in bars} == {str(model_calls(10))}
    assert "leads judged, $0.0" in shown
    # The run log still prints, each line after erasing the bar, which is drawn again below.
    calls = model_calls(10)
    assert re.search(
        rf"\r\x1b\[2K[^\r\n]*\x1b\[0m - dagster - [^\r\n]*model calls {calls}/{calls}", shown
    )
    assert "leads ranked" in shown, "the summary follows"


def test_without_a_terminal_there_is_no_bar(
    tmp_path: Path, groq_server: Callable[..., MockGroq]
) -> None:
    server = groq_server()
    env = cli_env(tmp_path, server.base_url)
    plain = subprocess.run(run_args(tmp_path), capture_output=True, text=True, env=env, timeout=300)
    assert plain.returncode == 0, plain.stderr
    calls = model_calls()
    assert f"model calls {calls}/{calls}" in plain.stderr
    assert "━" not in plain.stderr + plain.stdout


def test_the_batches_command_lists_open_batches_and_cancels_one(
    tmp_path: Path, groq_server: Callable[..., MockGroq]
) -> None:
    server = groq_server(batch_delay_s=600.0)
    env = cli_env(tmp_path, server.base_url)
    warehouse = ["--warehouse", str(tmp_path / "w.duckdb")]
    listing = [CLI, "batches", *warehouse]
    assert (
        "No open batches."
        in subprocess.run(listing, capture_output=True, text=True, env=env, timeout=120).stdout
    )
    submitted = subprocess.run(
        [*run_args(tmp_path), "--batch"], capture_output=True, text=True, env=env, timeout=300
    )
    assert submitted.returncode == 0, submitted.stderr
    shown = subprocess.run(listing, capture_output=True, text=True, env=env, timeout=120)
    (batch_id,) = re.findall(
        rf"^\| (batch_\w+) \| default \| in_progress \| 0/{model_calls()} \| {asked_leads()} \|",
        shown.stdout,
        re.M,
    )
    cancelled = subprocess.run(
        [*listing, "--cancel", batch_id], capture_output=True, text=True, env=env, timeout=120
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"batch {batch_id}: cancelling" in cancelled.stdout
    again = subprocess.run(listing, capture_output=True, text=True, env=env, timeout=120)
    assert f"| {batch_id} | default | cancelled |" in again.stdout
    unknown = subprocess.run(
        [*listing, "--cancel", "batch_nope"], capture_output=True, text=True, env=env, timeout=120
    )
    assert unknown.returncode == 2 and "no open batch batch_nope" in unknown.stderr

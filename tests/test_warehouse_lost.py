"""The warehouse lost while the model is being asked: a PostgreSQL server of the test's own,
SIGKILLed between calls. An answer that can no longer be recorded would be paid again by
the next run, so no call is sent after the loss but those already in flight."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
from dagster_dev import wait_until
from evaluator_harness import Harness
from own_postgres import OwnPostgres

from pipeline.groq_server.server import MockGroq
from pipeline.leads.files import read_lead_file
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.storage.postgres_warehouse import WarehouseConnectionLost

IN_FLIGHT = 2


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.groq_server
def test_the_warehouse_lost_in_the_model_step_stops_the_calls_not_yet_sent(
    groq_server: Callable[..., MockGroq], persona: Persona
) -> None:
    server = groq_server(latency_s=0.3)
    leads = enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)
    config = load_groq_config(DATA_DIR / "groq.yaml")
    with OwnPostgres() as database:
        harness = Harness(server, database.url, persona, config)
        served_at_kill: list[int] = []

        def kill_after_two_calls() -> None:
            wait_until(lambda: len(server.served()) >= 2, 60, "two model calls")
            database.kill()
            served_at_kill.append(len(server.served()))

        killer = threading.Thread(target=kill_after_two_calls, daemon=True)
        killer.start()
        lines: list[str] = []
        with pytest.raises(WarehouseConnectionLost, match=r"while writing .*llm_calls") as lost:
            harness.evaluate(leads, batch_size=4, concurrency=IN_FLIGHT, log=lines.append)
        killer.join(timeout=60)
    planned = int(re.search(r"to send in (\d+) calls", lines[0]).group(1))
    assert served_at_kill and planned > served_at_kill[0] + IN_FLIGHT
    # The calls in flight when the server died may finish; no other call starts.
    assert len(server.served()) <= served_at_kill[0] + IN_FLIGHT
    assert "test-key" not in str(lost.value)

"""The hybrid evaluator through the real `groq` SDK, over HTTP, against the local server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from evaluator_harness import BATCH, MODEL, Harness
from support import answers_needed

from pipeline.groq_server.server import MockGroq
from pipeline.leads.files import read_lead_file
from pipeline.llm.client import AccessDenied
from pipeline.llm.config import GroqConfig, ModelPrice, load_groq_config
from pipeline.llm.outcome import EvaluationIncomplete
from pipeline.llm.ratelimit import RateLimits
from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import EVALUATION_COLUMNS, evaluate_with_rules

pytestmark = pytest.mark.groq_server


@pytest.fixture(scope="module")
def leads(persona: Persona) -> pd.DataFrame:
    return enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)


@pytest.fixture(scope="module")
def config() -> GroqConfig:
    return load_groq_config(DATA_DIR / "groq.yaml")


@pytest.fixture
def rules(leads: pd.DataFrame, persona: Persona) -> pd.DataFrame:
    return evaluate_with_rules(leads, persona, "rules", datetime.now(UTC))


@pytest.fixture
def harness(
    groq_server: Callable[..., MockGroq], tmp_path: Path, persona: Persona, config: GroqConfig
) -> Harness:
    return Harness(
        groq_server(disagreement=0.0, slow_s=1.0), tmp_path / "w.duckdb", persona, config
    )


def test_the_model_judges_the_uncertain_leads_and_the_rules_the_rest(
    harness: Harness, leads: pd.DataFrame, rules: pd.DataFrame
) -> None:
    evaluations, stats = harness.evaluate(leads)
    assert list(evaluations.columns) == list(EVALUATION_COLUMNS)
    assert evaluations["lead_id"].tolist() == leads["lead_id"].tolist()
    by_model = evaluations["evaluator"] == "groq"
    assert set(evaluations["evaluator"]) == {"rules", "groq"}
    assert by_model.sum() == stats.sent_to_model == stats.answered
    assert set(evaluations.loc[by_model, "model"]) == {MODEL}
    assert set(evaluations.loc[by_model, "decision_basis"]) == {"model"}
    # The server answers from the same rules (no disagreement): the same scores come back.
    assert evaluations["relevance_score"].tolist() == rules["relevance_score"].tolist()
    assert evaluations["is_relevant"].tolist() == rules["is_relevant"].tolist()
    served = harness.server.served()
    assert stats.calls == len(served) == -(-stats.sent_to_model // BATCH)
    assert stats.usage.prompt_tokens == sum(r.prompt_tokens for r in served)
    assert stats.usage.completion_tokens == sum(r.completion_tokens for r in served)
    # Every call after the first starts with the same persona prefix: cached at half price.
    assert served[0].cached_tokens == 0 and all(r.cached_tokens > 0 for r in served[1:])
    assert stats.usd > 0


def test_every_call_is_logged_with_its_cost(harness: Harness, leads: pd.DataFrame) -> None:
    _, stats = harness.evaluate(leads)
    calls = harness.store.calls("run-1")
    assert len(calls) == stats.calls
    assert set(calls["status"]) == {"ok"}
    assert calls["usd"].sum() == pytest.approx(stats.usd)
    assert (calls["prompt_tokens"] > 0).all() and (calls["reasoning_tokens"] > 0).all()
    first = calls.iloc[0]
    price = harness.config.price(MODEL)
    expected = (
        first.prompt_tokens * price.input_per_million
        + first.completion_tokens * price.output_per_million
    ) / 1e6
    assert first.usd == pytest.approx(expected)


def test_a_second_run_makes_no_calls(harness: Harness, leads: pd.DataFrame) -> None:
    first, _ = harness.evaluate(leads)
    served = len(harness.server.served())
    second, stats = harness.evaluate(leads)
    assert len(harness.server.served()) == served
    assert stats.calls == 0 and stats.cache_hits == stats.sent_to_model > 0
    columns = ["lead_id", "relevance_score", "is_relevant", "reasoning", "evaluator"]
    pd.testing.assert_frame_equal(first[columns], second[columns])


def test_another_model_or_persona_is_evaluated_again(
    harness: Harness, leads: pd.DataFrame, persona: Persona
) -> None:
    harness.evaluate(leads)
    _, cheaper = harness.evaluate(leads, model="openai/gpt-oss-20b")
    assert cheaper.calls > 0 and cheaper.cache_hits == 0
    _, edited = harness.evaluate(leads, persona=replace(persona, fingerprint="edited"))
    assert edited.calls > 0 and edited.cache_hits == 0


@pytest.mark.parametrize("fault", ["429", "498", "500", "503"])
def test_transient_errors_are_retried(harness: Harness, leads: pd.DataFrame, fault: str) -> None:
    harness.server.queue_faults([fault])
    evaluations, stats = harness.evaluate(leads)
    assert stats.retries == 1 and stats.fallbacks == 0
    assert (evaluations["evaluator"] != "rules_fallback").all()
    assert harness.store.calls("run-1")["attempts"].max() == 2


def test_a_timeout_is_retried(harness: Harness, leads: pd.DataFrame) -> None:
    harness.server.queue_faults(["slow"])
    _, stats = harness.evaluate(leads, timeout_s=0.8)
    assert stats.retries == 1 and stats.fallbacks == 0


def test_a_request_too_large_is_split(harness: Harness, leads: pd.DataFrame) -> None:
    harness.server.queue_faults(["413"])
    _, stats = harness.evaluate(leads)
    assert stats.fallbacks == 0 and stats.answered == stats.sent_to_model
    calls = harness.store.calls("run-1")
    assert calls["status"].tolist()[0] == "too_large"
    assert calls["leads"].tolist()[1:3] == [BATCH // 2, BATCH // 2]


@pytest.mark.parametrize("fault", ["malformed", "missing_id", "duplicate_id", "out_of_range"])
def test_a_bad_answer_is_asked_again(harness: Harness, leads: pd.DataFrame, fault: str) -> None:
    harness.server.queue_faults([fault])
    _, stats = harness.evaluate(leads)
    assert stats.fallbacks == 0 and stats.answered == stats.sent_to_model
    assert stats.calls == -(-stats.sent_to_model // BATCH) + 1
    assert stats.problems


def test_colleagues_with_the_same_title_are_asked_once_and_share_the_answer(
    harness: Harness, leads: pd.DataFrame
) -> None:
    """Two people with the same title at the same company read the same to the model: one is
    asked, both get its answer, in one run and in calls of any size."""
    twins = leads.copy()
    twins["lead_id"] = twins["lead_id"] + "-twin"
    doubled = pd.concat([leads, twins], ignore_index=True)
    evaluations, stats = harness.evaluate(doubled, batch_size=7, concurrency=4)
    sent = [text for request in harness.server.served() for text in request.contents]
    assert len(sent) == len(set(sent)) == stats.sent_to_model - stats.shared_answers
    assert stats.shared_answers >= stats.sent_to_model // 2
    by_model = evaluations[evaluations["evaluator"] == "groq"].set_index("lead_id")
    originals = by_model.loc[[i for i in by_model.index if not i.endswith("-twin")]]
    twins_judged = by_model.loc[originals.index + "-twin"]
    columns = ["relevance_score", "reasoning", "is_relevant"]
    assert (twins_judged[columns].to_numpy() == originals[columns].to_numpy()).all()


def test_an_extra_id_is_ignored(harness: Harness, leads: pd.DataFrame) -> None:
    harness.server.queue_faults(["extra_id"])
    _, stats = harness.evaluate(leads)
    assert stats.calls == -(-stats.sent_to_model // BATCH)
    assert stats.problems == ["id 999 was not sent"]


def test_a_lead_missing_twice_is_judged_by_the_rules_and_flagged(
    harness: Harness, leads: pd.DataFrame, rules: pd.DataFrame
) -> None:
    harness.server.queue_faults(["missing_id", "missing_id"])
    evaluations, stats = harness.evaluate(leads)
    fallback = evaluations[evaluations["evaluator"] == "rules_fallback"]
    assert len(fallback) == stats.fallbacks == 1
    assert fallback["fallback_reason"].tolist() == ["model gave no valid answer twice"]
    expected = rules.set_index("lead_id").loc[fallback["lead_id"], "relevance_score"]
    assert fallback["relevance_score"].tolist() == expected.tolist()


def test_a_call_that_keeps_failing_falls_back_to_the_rules_never_to_irrelevant(
    harness: Harness, leads: pd.DataFrame, rules: pd.DataFrame
) -> None:
    harness.server.queue_faults(["500"] * 4)
    evaluations, stats = harness.evaluate(leads)
    fallback = evaluations["evaluator"] == "rules_fallback"
    # The failed call's leads, and the colleagues who share one of their answers.
    assert fallback.sum() == stats.fallbacks
    assert answers_needed(evaluations.loc[fallback, "lead_id"]) == BATCH
    assert evaluations.loc[fallback, "fallback_reason"].str.startswith("model call failed").all()
    # The rules' judgement, not a failure's zero: relevant leads stay relevant.
    pd.testing.assert_series_equal(
        evaluations.loc[fallback, "relevance_score"], rules.loc[fallback, "relevance_score"]
    )
    assert harness.store.calls("run-1")["status"].tolist()[0] == "failed"


def test_the_daily_cap_stops_cleanly_and_the_next_run_sends_only_what_is_pending(
    harness: Harness, leads: pd.DataFrame
) -> None:
    harness.server.queue_faults(["ok", "429_daily"])
    with pytest.raises(EvaluationIncomplete, match="resets in") as stopped:
        harness.evaluate(leads)
    pending = stopped.value.pending
    assert 0 < len(pending) < stopped.value.stats.sent_to_model
    assert stopped.value.stats.calls == 2
    assert "pending (not judged, not marked irrelevant)" in str(stopped.value)
    _, resumed = harness.evaluate(leads)
    assert resumed.cache_hits == resumed.sent_to_model - len(pending)
    assert resumed.answered == len(pending)
    assert resumed.calls == -(-answers_needed(lead.lead_id for lead in pending) // BATCH)


@pytest.mark.parametrize("outage", ["503", "slow"])
def test_an_outage_stops_the_run_and_every_unanswered_lead_waits_for_the_next(
    harness: Harness, leads: pd.DataFrame, outage: str
) -> None:
    """Groq refusing every call, or answering none in time, all night: three calls in a row
    fail every retry, the run stops, and no lead is judged for want of an answer."""
    harness.evaluate(leads.head(100), batch_size=10)  # an earlier night answered some
    harness.server.set_outage(outage)
    served_before = len(harness.server.served())
    with pytest.raises(
        EvaluationIncomplete, match="Groq is unavailable: 3 calls in a row"
    ) as stopped:
        harness.evaluate(leads, batch_size=10, timeout_s=0.3)
    harness.server.set_outage("")
    if outage == "503":
        # Three calls of four attempts each, then nothing more is sent (a slow answer is
        # logged by the server only when it ends, after the client gave up on it).
        assert len(harness.server.served()) - served_before == 12
    stats = stopped.value.stats
    pending = stopped.value.pending
    assert "pending (not judged, not marked irrelevant)" in str(stopped.value)
    # Every lead the cache could not answer is pending, the failed calls' leads included.
    assert len(pending) == stats.sent_to_model - stats.cache_hits > 0
    assert stats.fallbacks == 0
    _, resumed = harness.evaluate(leads, batch_size=10)
    assert resumed.cache_hits == stats.cache_hits
    assert resumed.answered == len(pending)
    assert resumed.fallbacks == 0


def test_calls_failing_between_answers_are_no_outage(
    harness: Harness, leads: pd.DataFrame, rules: pd.DataFrame
) -> None:
    """A failed call, an answer, a failed call, ...: the failed calls' leads go to the rules
    and the run goes on."""
    failed = ["500"] * 4
    harness.server.queue_faults([*failed, "ok", *failed, "ok", *failed])
    evaluations, stats = harness.evaluate(leads, batch_size=10)
    assert stats.fallbacks == 30
    fallback = evaluations["evaluator"] == "rules_fallback"
    assert evaluations.loc[fallback, "fallback_reason"].str.startswith("model call failed").all()
    pd.testing.assert_series_equal(
        evaluations.loc[fallback, "relevance_score"], rules.loc[fallback, "relevance_score"]
    )


def test_an_unknown_model_stops_the_run(harness: Harness, leads: pd.DataFrame) -> None:
    harness.config = replace(
        harness.config, prices={**harness.config.prices, "llama-3.3-70b": ModelPrice(1, 1)}
    )
    with pytest.raises(AccessDenied, match="HTTP 404"):
        harness.evaluate(leads, model="llama-3.3-70b")


@pytest.mark.parametrize("concurrency", [1, 8])
def test_no_minute_exceeds_the_limits(
    groq_server: Callable[..., MockGroq],
    tmp_path: Path,
    persona: Persona,
    config: GroqConfig,
    leads: pd.DataFrame,
    concurrency: int,
) -> None:
    """A time-scaled minute (1 s) with limits that force waiting, one call or eight in
    flight: the server, which enforces the same limits, never has to refuse, and no window of
    a minute holds more than allowed."""
    limits = RateLimits(
        requests_per_minute=4, tokens_per_minute=5000, requests_per_day=1000, tokens_per_day=10**6
    )
    server = groq_server(limits=limits, minute_s=1.0, disagreement=0.0, latency_s=0.2)
    harness = Harness(server, tmp_path / "w.duckdb", persona, config)
    _, stats = harness.evaluate(
        leads, limits=limits, minute_s=1.0, batch_size=6, concurrency=concurrency
    )
    served = server.served()
    assert stats.calls == len(served) >= 10
    assert {request.status for request in served} == {200}
    for request in served:
        window = [r for r in served if request.at - 1.0 < r.at <= request.at]
        assert len(window) <= limits.requests_per_minute
        assert sum(r.counted_tokens for r in window) <= limits.tokens_per_minute
    assert served[-1].at - served[0].at >= 1.0  # it had to wait


def test_the_model_judges_each_lead_on_its_rung_and_the_ladder_orders_the_company(
    groq_server: Callable[..., MockGroq],
    tmp_path: Path,
    persona: Persona,
    config: GroqConfig,
    leads: pd.DataFrame,
    rules: pd.DataFrame,
) -> None:
    """Every answer moved 10 points: the model changes who is plausible and the order within a
    rung, never the order of the rungs nor the cap."""
    harness = Harness(groq_server(disagreement=1.0), tmp_path / "w.duckdb", persona, config)
    evaluations, stats = harness.evaluate(leads)
    assert stats.answered == stats.sent_to_model > 0
    ranges = {rung.name: (rung.low_score, rung.high_score) for rung in persona.ladder}
    ranked = evaluations[evaluations["is_relevant"]]
    for rung, (low, high) in ranges.items():
        assert ranked.loc[ranked["ladder_rung"] == rung, "relevance_score"].between(low, high).all()
    assert (ranked.groupby("company_key").size() <= persona.max_ranked_per_company).all()
    moved_out = evaluations[(evaluations["evaluator"] == "groq") & ~evaluations["is_relevant"]]
    assert (moved_out["relevance_score"] < persona.relevance_threshold).all()
    by_model = (evaluations["evaluator"] == "groq").to_numpy()
    assert (
        evaluations.loc[by_model, "relevance_score"].to_numpy()
        != rules.loc[by_model, "relevance_score"].to_numpy()
    ).any()


def test_calls_in_flight_together_give_the_same_evaluations(
    groq_server: Callable[..., MockGroq],
    tmp_path: Path,
    persona: Persona,
    config: GroqConfig,
    leads: pd.DataFrame,
) -> None:
    """A model that takes 0.3 s a call: with eight in flight the server answers several at
    once, and the evaluations are exactly those of one call at a time, whatever order the
    calls finished in; a progress line follows every call."""
    results = {}
    for concurrency in (1, 8):
        server = groq_server(disagreement=0.5, latency_s=0.3)
        harness = Harness(server, tmp_path / f"w{concurrency}.duckdb", persona, config)
        lines: list[str] = []
        evaluations, stats = harness.evaluate(
            leads, batch_size=5, concurrency=concurrency, log=lines.append
        )
        results[concurrency] = (evaluations, stats, server.most_in_flight(), lines)
    serial, serial_stats, serial_most, _ = results[1]
    parallel, parallel_stats, parallel_most, lines = results[8]
    assert (serial_most, parallel_stats.concurrency) == (1, 8)
    assert 1 < parallel_most <= 8
    assert parallel_stats.calls == serial_stats.calls >= 10
    columns = ["lead_id", "relevance_score", "is_relevant", "reasoning", "ladder_rung"]
    pd.testing.assert_frame_equal(
        parallel[columns].sort_values("lead_id").reset_index(drop=True),
        serial[columns].sort_values("lead_id").reset_index(drop=True),
    )
    progress = [line for line in lines if line.startswith("model calls ")]
    assert len(progress) == parallel_stats.calls
    assert progress[-1].startswith(f"model calls {parallel_stats.calls}/{parallel_stats.calls}:")
    asked = parallel_stats.sent_to_model - parallel_stats.shared_answers
    assert f"{asked}/{asked} leads judged" in progress[-1]


def test_titles_in_other_scripts_are_sent_to_the_model(harness: Harness, persona: Persona) -> None:
    """Each alone at a company: a Russian, a Japanese, an Arabic sales director and a Thai
    sales manager the vocabulary cannot read. With a key the model reads every one."""
    titles = ["Директор по продажам", "営業部長", "مدير المبيعات", "ผู้จัดการฝ่ายขาย"]
    raw = pd.DataFrame(
        {
            "lead_id": [f"lead-{index}" for index in range(len(titles))],
            "company_key": [f"company{index}.io" for index in range(len(titles))],
            "account_name": [f"Company {index}" for index in range(len(titles))],
            "account_domain": [f"company{index}.io" for index in range(len(titles))],
            "account_employee_range": "201-500",
            "account_industry": "",
            "lead_first_name": "Sam",
            "lead_last_name": "Lee",
            "lead_job_title": titles,
        }
    )
    evaluations, stats = harness.evaluate(enrich_leads(raw, persona))
    assert stats.sent_to_model == stats.answered == len(titles)
    assert set(evaluations["evaluator"]) == {"groq"}
    assert set(evaluations["decision_basis"]) == {"model"}
    assert sum(request.leads for request in harness.server.served()) == len(titles)

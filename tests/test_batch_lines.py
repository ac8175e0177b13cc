"""The Batch API's files and routing, framework-free: lines, splitting, results, the plan."""

from __future__ import annotations

import json

import pytest

from pipeline.llm.batch.lines import BATCH_URL, batch_lines, read_results, split_files
from pipeline.llm.config import BatchTerms, GroqConfig, ModelPrice, Usage
from pipeline.llm.prompts import LeadForModel
from pipeline.llm.routing import plan_batch


def leads(count: int, company: str = "acme.com") -> list[LeadForModel]:
    return [
        LeadForModel(f"lead{n}", company, "Acme", "51-200", "smb", "Software", f"VP Sales {n}")
        for n in range(count)
    ]


def body(messages: list[dict[str, str]], budget: int) -> dict[str, object]:
    return {"model": "m", "messages": messages, "max_completion_tokens": budget}


def test_a_line_is_the_request_a_synchronous_call_sends_and_names_its_leads() -> None:
    calls = [leads(2), leads(1, "other.com")]
    keys = {lead.lead_id: f"key-{lead.lead_id}" for call in calls for lead in call}
    lines = batch_lines("run1", calls, keys, "system", body)
    assert [line.custom_id for line in lines] == ["run1-1", "run1-2"]
    request = json.loads(lines[0].text)
    assert request["method"] == "POST" and request["url"] == BATCH_URL
    assert request["body"]["messages"][0] == {"role": "system", "content": "system"}
    assert '"title":"VP Sales 1"' in request["body"]["messages"][1]["content"]
    assert [(lead.number, lead.lead_id, lead.cache_key) for lead in lines[0].leads] == [
        (1, "lead0", "key-lead0"),
        (2, "lead1", "key-lead1"),
    ]
    assert lines[1].companies == "other.com"


def test_files_are_split_at_the_line_and_byte_limits() -> None:
    calls = [leads(1) for _ in range(5)]
    keys = {lead.lead_id: "k" for call in calls for lead in call}
    lines = batch_lines("r", calls, keys, "s", body)
    assert [len(part) for part in split_files(lines, 2, 10**9)] == [2, 2, 1]
    size = len(lines[0].text.encode())
    assert [len(part) for part in split_files(lines, 100, size * 3)] == [3, 2]
    with pytest.raises(ValueError, match="alone is"):
        split_files(lines, 100, size - 1)


def test_results_are_matched_by_custom_id_in_any_order() -> None:
    output = "\n".join(
        json.dumps(line)
        for line in [
            {"custom_id": "b", "response": {"status_code": 200, "body": {"id": "x"}}},
            {"custom_id": "a", "response": {"status_code": 200, "body": {"id": "y"}}},
        ]
    )
    errors = "\n".join(
        [
            json.dumps(
                {
                    "custom_id": "c",
                    "response": {"status_code": 500, "body": {"error": {"message": "boom"}}},
                }
            ),
            json.dumps({"custom_id": "d", "response": None, "error": {"code": "batch_expired"}}),
            "not json",
        ]
    )
    results = read_results(output, errors)
    assert results["a"].completion == {"id": "y"} and results["b"].completion == {"id": "x"}
    assert results["c"].completion is None and results["c"].error == "HTTP 500: boom"
    assert results["d"].error == "batch_expired"
    assert set(results) == {"a", "b", "c", "d"}


@pytest.mark.parametrize(
    ("on_failure", "attempts", "goes_to"),
    [
        ("batch", 1, "submit"),
        ("batch", 2, "fallbacks"),
        ("sync", 5, "sync"),
        ("rules", 1, "fallbacks"),
    ],
)
def test_leads_that_batches_failed_go_where_configured(
    on_failure: str, attempts: int, goes_to: str
) -> None:
    new, waiting, failed = leads(3)
    keys = {lead.lead_id: lead.lead_id for lead in (new, waiting, failed)}
    plan = plan_batch(
        [new, waiting, failed],
        keys,
        waiting={waiting.lead_id},
        failures={failed.lead_id: (attempts, "HTTP 500")},
        on_failure=on_failure,
        max_attempts=2,
    )
    assert plan.waiting == [waiting]
    assert new in plan.submit
    placed = getattr(plan, goes_to)
    assert failed.lead_id in placed if goes_to == "fallbacks" else failed in placed
    if goes_to == "fallbacks":
        assert "HTTP 500" in plan.fallbacks[failed.lead_id]


def test_a_batch_line_is_billed_at_the_batch_share_of_the_list_price_cached_or_not() -> None:
    config = GroqConfig(
        prices={"m": ModelPrice(0.15, 0.60)},
        cached_input_factor=0.5,
        tiers={},
        batch=BatchTerms(price_factor=0.5),
    )
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cached_tokens=500_000)
    assert config.batch_cost_usd("m", usage) == pytest.approx((0.15 + 0.60) / 2)
    assert config.cost_usd("m", usage) == pytest.approx(0.075 + 0.0375 + 0.60)

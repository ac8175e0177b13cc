"""Checking the model's answer: every id once, scores in range, types right."""

from __future__ import annotations

import json

from pipeline.llm.answers import check_answer


def answer(*entries: object) -> str:
    return json.dumps({"leads": list(entries)})


def entry(number: object, score: object = 70, reason: object = "VP Sales") -> dict[str, object]:
    return {"id": number, "score": score, "reason": reason}


def test_a_complete_answer_gives_every_score() -> None:
    checked = check_answer(answer(entry(1, 80), entry(2, 0, "welder")), {1, 2})
    assert {n: s.score for n, s in checked.scores.items()} == {1: 80, 2: 0}
    assert checked.missing == set()
    assert checked.problems == []


def test_absent_ids_are_missing() -> None:
    checked = check_answer(answer(entry(1)), {1, 2, 3})
    assert checked.missing == {2, 3}
    assert checked.problems == ["2 ids not answered"]


def test_an_id_answered_twice_is_trusted_neither_way() -> None:
    checked = check_answer(answer(entry(1, 90), entry(1, 10), entry(2)), {1, 2})
    assert set(checked.scores) == {2}
    assert checked.missing == {1}
    assert checked.problems == ["id 1 answered 2 times"]


def test_ids_not_sent_are_ignored() -> None:
    checked = check_answer(answer(entry(1), entry(999)), {1})
    assert set(checked.scores) == {1}
    assert checked.missing == set()
    assert checked.problems == ["id 999 was not sent"]


def test_out_of_range_and_mistyped_scores_void_the_answer() -> None:
    checked = check_answer(
        answer(entry(1, 150), entry(2, "high"), entry(3, True), entry(4, 50, 7), entry(5, -1)),
        {1, 2, 3, 4, 5},
    )
    assert checked.scores == {}
    assert checked.missing == {1, 2, 3, 4, 5}
    assert len(checked.problems) == 5


def test_malformed_json_leaves_every_id_missing() -> None:
    checked = check_answer('{"leads": [{"id": 1, "sco', {1, 2})
    assert checked.missing == {1, 2}
    assert checked.problems[0].startswith("answer is not JSON")


def test_an_answer_without_a_leads_list_leaves_every_id_missing() -> None:
    for content in ('{"scores": []}', "[]", None, ""):
        assert check_answer(content, {1}).missing == {1}


def test_reasons_are_whitespace_collapsed_and_capped() -> None:
    checked = check_answer(answer(entry(1, 60, "  long\n" + "x" * 500)), {1})
    assert checked.scores[1].reason.startswith("long x")
    assert len(checked.scores[1].reason) == 200

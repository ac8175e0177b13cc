"""A client's evaluation in shards: whole companies per shard, the same evaluations whatever
the shards, the model figures added up, and the files the shards' steps hand each other."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance, build_input_context, build_output_context
from support import run_rank_leads

from pipeline.leads.files import read_lead_file
from pipeline.orchestration.settings import DATA_DIR, Settings
from pipeline.orchestration.work_files import WorkFilesIOManager, sweep_finished_runs
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import evaluate_with_rules
from pipeline.ranking.shards import company_shards, merged_usage, shard_count

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def enriched(persona: Persona) -> pd.DataFrame:
    return enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)


def test_shards_hold_whole_companies_of_about_equal_size() -> None:
    leads = pd.DataFrame({"company_key": [f"c{n // 10:02d}" for n in range(200)]})
    shards = company_shards(leads.sample(frac=1, random_state=3), 4)
    assert [len(shard) for shard in shards] == [50, 50, 50, 50]
    owners = [set(shard["company_key"]) for shard in shards]
    assert sum(len(companies) for companies in owners) == 20, "no company in two shards"
    assert sorted(pd.concat(shards).index) == sorted(leads.index)


def test_a_large_company_makes_fewer_shards_than_asked() -> None:
    leads = pd.DataFrame({"company_key": ["big"] * 90 + ["a", "b"] * 5})
    shards = company_shards(leads, 4)
    assert [set(shard["company_key"]) for shard in shards] == [{"a", "b"}, {"big"}]


def test_shard_count_is_one_at_least() -> None:
    assert shard_count(0, 10) == 1
    assert shard_count(10, 10) == 1
    assert shard_count(11, 10) == 2


def test_a_lead_is_judged_the_same_alone_with_its_company_as_among_every_lead(
    enriched: pd.DataFrame, persona: Persona
) -> None:
    whole = evaluate_with_rules(enriched, persona, "rules", WHEN).set_index("lead_id")
    parts = pd.concat(
        evaluate_with_rules(shard, persona, "rules", WHEN) for shard in company_shards(enriched, 7)
    ).set_index("lead_id")
    pd.testing.assert_frame_equal(parts.loc[whole.index], whole)


def test_the_model_figures_of_the_shards_add_up() -> None:
    first = {
        "model": "m",
        "calls": 2,
        "usd": 0.5,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "tokens_per_lead": 12.0,
        "concurrency": 2,
        "limiter_wait_s": 1.5,
    }
    second = {
        "model": "m",
        "calls": 3,
        "usd": 0.25,
        "prompt_tokens": 50,
        "completion_tokens": 10,
        "tokens_per_lead": 6.0,
        "concurrency": 4,
        "limiter_wait_s": 0.5,
    }
    merged = merged_usage([first, {}, second], leads=30)
    assert merged == {
        "model": "m",
        "calls": 5,
        "usd": 0.75,
        "prompt_tokens": 150,
        "completion_tokens": 30,
        "tokens_per_lead": 6.0,
        "concurrency": 4,
        "limiter_wait_s": 2.0,
    }
    assert merged_usage([{}, {}], leads=3) == {}


def test_work_files_go_through_fsspec_and_are_swept_once_their_run_succeeded(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    manager = WorkFilesIOManager(work_dir=(tmp_path / "work").as_uri())
    frame = pd.DataFrame({"lead_id": ["a", "b"]})
    output = build_output_context(
        run_id="run-1", step_key="plan", name="shards", mapping_key="shard_0"
    )
    manager.handle_output(output, frame)
    assert (tmp_path / "work" / "run-1" / "plan" / "shards" / "shard_0").is_file()
    loaded = manager.load_input(build_input_context(upstream_output=output))
    pd.testing.assert_frame_equal(loaded, frame)
    # An unknown run (not this instance's) is left alone.
    assert sweep_finished_runs((tmp_path / "work").as_uri(), instance) == []
    assert (tmp_path / "work" / "run-1").exists()


def test_a_run_in_one_process_judges_in_one_step_and_writes_no_work_files(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    work = tmp_path / "work"
    settings = Settings(
        warehouse_path=tmp_path / "w.duckdb",
        export_path=tmp_path / "campaign.csv",
        evaluator="rules",
        work_dir=str(work),
        leads_per_shard=10,
    )
    result = run_rank_leads(settings, instance)
    metadata = result.asset_materializations_for_node("lead_evaluations")[0].metadata
    assert metadata["shards"].value == 1
    assert not work.exists()

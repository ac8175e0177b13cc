"""What a run carries: its settings as plain data, its executor in its config; secrets only
as the names of the variables that hold them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.orchestration.clients import Client
from pipeline.orchestration.executors import ENV_CELERY_BROKER, executor_config
from pipeline.orchestration.resources import GroqEvaluator, select_evaluator
from pipeline.orchestration.run_settings import (
    clients_document,
    clients_from_document,
    settings_document,
    settings_from_document,
)
from pipeline.orchestration.settings import ENV_DATABASE_URL, Settings

SECRET = "s3cret-pw"


def test_settings_travel_as_plain_data_and_come_back_whole(tmp_path: Path) -> None:
    settings = Settings(
        leads_path=tmp_path / "leads.csv",
        suppress_path=None,
        input_columns=(("lead_job_title", "Job Title"),),
        keep_columns=("Owner",),
        top_n=5,
        executor="celery",
        leads_per_shard=7,
    )
    clients = {"acme": Client("acme", settings, scheduled=False)}
    assert settings_from_document(settings_document(settings)) == settings
    assert clients_from_document(clients_document(clients)) == clients


@pytest.mark.parametrize(
    ("field", "variable", "url"),
    [
        ("database_url", ENV_DATABASE_URL, f"postgresql://ranker:{SECRET}@db:5432/leads"),
        ("celery_broker", ENV_CELERY_BROKER, f"redis://:{SECRET}@cache:6379/0"),
    ],
)
def test_a_password_in_a_url_travels_as_its_variable_name(
    field: str, variable: str, url: str
) -> None:
    document = settings_document(Settings(**{field: url}))
    assert SECRET not in repr(document)
    assert document[field] == {"env": variable}
    assert getattr(settings_from_document(document, {variable: url}), field) == url
    with pytest.raises(ValueError, match=variable):
        settings_from_document(document, {})


def test_the_executor_is_run_config_and_a_broker_password_its_variable_name() -> None:
    assert executor_config("in_process", "redis://x") == {"config": {"in_process": {}}}
    assert executor_config("celery", "redis://127.0.0.1:6379/3") == {
        "config": {"celery": {"broker": "redis://127.0.0.1:6379/3"}}
    }
    hidden = executor_config("celery", f"redis://:{SECRET}@cache:6379/0")
    assert hidden == {"config": {"celery": {"broker": {"env": ENV_CELERY_BROKER}}}}


def test_an_unknown_executor_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        Settings(executor="dask")


def test_the_groq_back_off_comes_from_the_environment_to_the_evaluator() -> None:
    settings = Settings.from_env(
        {"PERSONA_RANKER_GROQ_BACKOFF_SECONDS": "0.25", "PERSONA_RANKER_EVALUATOR": "groq"}
    )
    assert settings_from_document(settings_document(settings)).groq_backoff_s == 0.25
    evaluator = select_evaluator(settings, {"GROQ_API_KEY": "gsk_test"})
    assert isinstance(evaluator, GroqEvaluator) and evaluator.backoff_s == 0.25
    with pytest.raises(ValueError, match="must be a number of seconds"):
        Settings.from_env({"PERSONA_RANKER_GROQ_BACKOFF_SECONDS": "soon"})
    with pytest.raises(ValueError, match="must not be negative"):
        Settings(groq_backoff_s=-1)

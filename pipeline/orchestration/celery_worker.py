"""The Celery app `persona-ranker workers` serves: Dagster's step task, on the broker of
PERSONA_RANKER_CELERY_BROKER. A task names its run's instance and carries the run's settings,
so a worker needs the project installed and the broker, nothing of the run's environment."""

from __future__ import annotations

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipeline.orchestration.executors import celery_executor_for
from pipeline.orchestration.settings import Settings

app = make_app(
    celery_executor_for(
        {"broker": Settings.from_env().celery_broker, "retries": {"disabled": {}}}
    ).app_args()
)
execute_plan = create_task(app)

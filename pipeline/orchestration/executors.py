"""Where a run's steps execute, chosen per run in its config: all in the run's own process,
one process per step on this machine, or Celery workers on any machine that reaches the broker.

A run carries its choice (`execution: {config: {celery: {broker: ...}}}`), so the CLI, the
schedule and a run launched from the UI all say how they ran, and the definitions stay one.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from dagster import (
    Executor,
    ExecutorDefinition,
    Field,
    InitExecutorContext,
    Noneable,
    Selector,
    StringSource,
    in_process_executor,
    multiple_process_executor_requirements,
    multiprocess_executor,
)
from dagster._core.definitions.executor_definition import (
    IN_PROC_CONFIG,
    MULTI_PROC_CONFIG,
    ExecutorRequirement,
)
from dagster._core.execution.retries import get_retries_config

EXECUTOR_CHOICES = ("in_process", "multiprocess", "celery")
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
ENV_CELERY_BROKER = "PERSONA_RANKER_CELERY_BROKER"
CELERY_EXTRA = "install the project's celery extra: pip install -e '.[celery]'"

_CELERY_CONFIG = Field(
    {
        "broker": Field(StringSource, default_value=DEFAULT_BROKER, description="Broker URL."),
        "backend": Field(
            Noneable(StringSource),
            default_value=None,
            description="Where workers leave each step's events; the broker when unset.",
        ),
        "retries": get_retries_config(),
    },
    description="Each step a task on a Celery queue, run by `persona-ranker workers`.",
)


def _requirements(config: Mapping[str, object]) -> Sequence[ExecutorRequirement]:
    # Steps in other processes rebuild the job from its pointer and share the instance.
    return [] if "in_process" in config else multiple_process_executor_requirements()


def project_executor(kind: str = "in_process", broker: str = DEFAULT_BROKER) -> ExecutorDefinition:
    """The job's executor: in_process, multiprocess or celery as the run's config says, and
    `kind` (the settings') for a run whose config does not say, such as one launched from the
    UI."""
    return ExecutorDefinition(
        name="persona_ranker",
        config_schema=Field(
            Selector(
                {
                    "in_process": IN_PROC_CONFIG,
                    "multiprocess": MULTI_PROC_CONFIG,
                    "celery": _CELERY_CONFIG,
                }
            ),
            default_value=executor_config(kind, broker)["config"],
        ),
        requirements=_requirements,
        executor_creation_fn=_create_executor,
        description="in_process, multiprocess or celery, as the run's config says.",
    )


def _create_executor(init_context: InitExecutorContext) -> Executor:
    (kind, config), *_ = init_context.executor_config.items()
    if kind == "celery":
        return celery_executor_for(config)
    chosen = in_process_executor if kind == "in_process" else multiprocess_executor
    creation = chosen.executor_creation_fn
    assert creation is not None
    return creation(
        InitExecutorContext(
            job=init_context.job,
            executor_def=chosen,
            executor_config=config,
            instance=init_context.instance,
        )
    )


def celery_executor_for(config: Mapping[str, Any]) -> Executor:
    """Dagster's Celery executor on the run's broker (the optional `celery` extra)."""
    try:
        from dagster._core.execution.retries import RetryMode
        from dagster_celery.executor import CeleryExecutor
    except ImportError as error:
        raise ImportError(f"the celery executor needs dagster-celery: {CELERY_EXTRA}") from error
    # The executor registers its step task again for every step it submits: the same task.
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")
    return CeleryExecutor(
        retries=RetryMode.from_config(config["retries"]),
        broker=config["broker"],
        backend=config.get("backend") or config["broker"],
    )


def executor_config(kind: str, broker: str) -> dict[str, Any]:
    """The run config's `execution` block for an executor of EXECUTOR_CHOICES. A broker URL
    with a password is named by its variable: run config shows in the UI."""
    if kind != "celery":
        return {"config": {kind: {}}}
    secret = urlsplit(broker).password is not None
    return {"config": {kind: {"broker": {"env": ENV_CELERY_BROKER} if secret else broker}}}

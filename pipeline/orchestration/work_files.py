"""The files a run's steps hand each other when they run in different processes: a client's
leads split into shards, and each shard's evaluations. They live under the work folder, a
local path or an fsspec URL every worker reaches (a shared mount, `s3://...`), one folder per
run, and are swept once their run has succeeded. A run whose steps all run in one process,
and that no daemon will retry from its failure (the command line's), hands them over in
memory."""

from __future__ import annotations

import pickle
import time
from typing import Any

from dagster import (
    ConfigurableIOManager,
    ConfigurableResource,
    DagsterInstance,
    InputContext,
    OutputContext,
)
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.execution.context.system import StepExecutionContext
from dagster._core.storage.dagster_run import DagsterRunStatus
from pydantic import Field
from upath import UPath

from pipeline.orchestration.settings import Settings
from pipeline.storage.same_process import RunObjects

WORK_IO_MANAGER = "work_io_manager"
# A failed run's files stay this long, for a retry from its failure to read them.
_FAILED_RUN_KEPT_S = 7 * 24 * 3600


class ShardingSettings(ConfigurableResource):
    """How a client's evaluation is split over steps, and where the steps leave their files."""

    work_dir: str = Field(description="Folder or fsspec URL of the steps' work files.")
    leads_per_shard: int = Field(
        default=50_000,
        ge=1,
        description="Most leads one evaluation step judges when the run's executor spreads "
        "steps over processes or workers; an in-process run judges its client in one step.",
    )


def sharding_settings(settings: Settings) -> ShardingSettings:
    return ShardingSettings(work_dir=settings.work_dir, leads_per_shard=settings.leads_per_shard)


# `JobDefinition.execute_in_process` swaps in an executor of its own, configured by nothing.
_EXECUTE_IN_PROCESS = (None, "execute_in_process_executor")


def runs_in_one_process(step: StepExecutionContext) -> bool:
    """Whether the run's executor keeps every step in the run's own process."""
    execution = step.resolved_run_config.execution
    return (
        execution.execution_engine_name in _EXECUTE_IN_PROCESS
        or "in_process" in execution.execution_engine_config
    )


_HANDED_OVER = RunObjects()


class WorkFilesIOManager(ConfigurableIOManager):
    """An op output as a pickle at `<work_dir>/<run id>/<step>/<output>[/<shard>]`, through
    fsspec; in memory when every step of the run runs in this process."""

    work_dir: str = Field(description="Folder or fsspec URL of the steps' work files.")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        key = tuple(context.get_identifier())
        if _in_one_process(context):
            _HANDED_OVER.keep(context.run_id, key, obj)
            return
        path = UPath(self.work_dir).joinpath(*key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as stream:
            pickle.dump(obj, stream, protocol=pickle.HIGHEST_PROTOCOL)

    def load_input(self, context: InputContext) -> Any:
        upstream = context.upstream_output
        assert upstream is not None
        key = tuple(upstream.get_identifier())
        handed_over = _HANDED_OVER.get(upstream.run_id, key)
        if handed_over is not None:
            return handed_over
        with UPath(self.work_dir).joinpath(*key).open("rb") as stream:
            return pickle.load(stream)


def _in_one_process(context: OutputContext) -> bool:
    """Whether the output can stay in memory: every step runs here, and no retry from the
    run's failure will look for it. The daemon retries runs launched through a code location
    (the UI, a schedule, a sensor, a retry), in a new process that reads the files."""
    try:
        step = context.step_context
    except DagsterInvariantViolationError:
        return False  # outside a run's step (a tool, a test): no executor, a file
    return runs_in_one_process(step) and step.dagster_run.remote_job_origin is None


def work_io_manager(settings: Settings) -> WorkFilesIOManager:
    return WorkFilesIOManager(work_dir=settings.work_dir)


def sweep_finished_runs(work_dir: str, instance: DagsterInstance) -> list[str]:
    """Removes the work files of runs that succeeded, and of runs that failed a week ago or
    more; returns the run ids swept."""
    root = UPath(work_dir)
    if not root.exists():
        return []
    swept = []
    for folder in root.iterdir():
        run = instance.get_run_record_by_id(folder.name)
        if run is None or not run.dagster_run.is_finished:
            continue
        ended = run.end_time or 0.0
        if run.dagster_run.status == DagsterRunStatus.SUCCESS or (
            time.time() - ended > _FAILED_RUN_KEPT_S
        ):
            folder.rmdir(recursive=True)
            swept.append(folder.name)
    return swept

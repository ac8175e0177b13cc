"""The job records its own runs in `run_stats`: a run launched from the CLI, the UI, the
schedule, a sensor, or run by workers on other machines lands there the same way."""

from dagster import HookContext, failure_hook, success_hook

from pipeline.orchestration.run_history import RunStatsStore, run_stats_row

# The step after which nothing of a run is left to do.
_LAST_STEP = "campaign_export"
# Leads waiting for a batch: this step writes nothing and every later step skips.
_EVALUATION_STEP = "lead_evaluations.collect_evaluations"


@success_hook(required_resource_keys={"warehouse"})
def record_finished_run(context: HookContext) -> None:
    """A run's row once its last step succeeds."""
    awaiting_batch = context.step_key == _EVALUATION_STEP and not context.op_output_metadata
    if context.step_key == _LAST_STEP or awaiting_batch:
        _record(context, "SUCCESS")


@failure_hook(required_resource_keys={"warehouse"})
def record_failed_run(context: HookContext) -> None:
    """A run's row when one of its steps fails: the run fails with it."""
    _record(context, "FAILURE")


def _record(context: HookContext, status: str) -> None:
    row = run_stats_row(context.instance, context.run_id, status=status)
    RunStatsStore(context.resources.warehouse.warehouse()).record(row)

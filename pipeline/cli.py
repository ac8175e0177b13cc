"""`persona-ranker`: rank a leads file through the project's Dagster definitions."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from dagster import DagsterEventType

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.instance import ensure_dagster_home, project_instance
from pipeline.leads import LeadsFileError, company_keys
from pipeline.partitions import full_range_tags, sync_company_partitions
from pipeline.persona import PersonaError, load_persona
from pipeline.resources import LeadSource
from pipeline.settings import EVALUATOR_CHOICES, PROJECT_ROOT, Settings
from pipeline.summary import format_summary
from pipeline.warehouse import WAREHOUSE_SCHEMA

TRIGGER_TAG = "persona_ranker/trigger"
_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="persona-ranker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="rank a leads file and write the campaign CSV")
    run.add_argument("--leads", type=Path, help="leads CSV (default data/leads.csv)")
    run.add_argument("--persona", type=Path, help="persona YAML (default data/persona.yaml)")
    run.add_argument("--warehouse", type=Path, help="DuckDB file (default data/warehouse.duckdb)")
    run.add_argument("--export", type=Path, help="campaign CSV (default data/exports/campaign.csv)")
    run.add_argument("--top-n", type=int, help="leads per company in the campaign (default 3)")
    run.add_argument("--evaluator", choices=EVALUATOR_CHOICES, help="default auto")
    commands.add_parser("dev", help="open the Dagster UI on the same definitions")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {
        field: value.expanduser().resolve()
        for field, value in (
            ("leads_path", args.leads),
            ("persona_path", args.persona),
            ("warehouse_path", args.warehouse),
            ("export_path", args.export),
        )
        if value is not None
    }
    if args.top_n is not None:
        overrides["top_n"] = args.top_n
    if args.evaluator is not None:
        overrides["evaluator"] = args.evaluator
    return replace(Settings.from_env(), **overrides)


def run(settings: Settings) -> int:
    # Read both inputs before anything is recorded: a bad file stops here, nothing half-run.
    load_persona(settings.persona_path)
    leads = LeadSource(path=str(settings.leads_path)).read()
    instance = project_instance()
    sync_company_partitions(instance, company_keys(leads))
    job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
    result = job.execute_in_process(
        instance=instance,
        run_config=_RUN_CONFIG,
        tags={**full_range_tags(instance), TRIGGER_TAG: "cli"},
        raise_on_error=False,
    )
    if not result.success:
        for event in result.all_events:
            if event.event_type == DagsterEventType.STEP_FAILURE and event.step_failure_data:
                error = event.step_failure_data.error
                message = error.message.strip() if error else "unknown error"
                print(f"error: {event.step_key} failed: {message}", file=sys.stderr)
        print(f"error: run {result.run_id} failed", file=sys.stderr)
        return 1
    print()
    print(
        format_summary(
            result.output_for_node("ranked_leads"),
            result.output_for_node("campaign_export"),
            settings.export_path,
            f"{settings.warehouse_path} (schema {WAREHOUSE_SCHEMA})",
        )
    )
    return 0


def dev() -> int:
    """Dagster's UI on workspace.yaml, recording runs in the same instance as `run`."""
    ensure_dagster_home()
    dagster = str(Path(sys.executable).with_name("dagster"))
    os.chdir(PROJECT_ROOT)
    os.execv(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml")])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "dev":
        return dev()
    try:
        return run(_settings(args))
    except (LeadsFileError, PersonaError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""One client's leads ranked in-process and by Celery workers, in one run of this script:
each step's time, the run's wall time and what the executor adds.

    .venv/bin/python bench/distributed.py [--leads 1000000] [--companies 100000]
                                          [--workers 2] [--leads-per-shard 50000]
                                          [--broker redis://127.0.0.1:6379/9] [--json]

Both runs are `persona-ranker run` (rules evaluator) on the same generated file
(`bench/make_leads.py`), each into a fresh DuckDB warehouse, recording in one fresh Dagster
instance. The second runs with `--executor celery` against `--workers` workers started by
`persona-ranker workers --concurrency 1` on this machine, on the broker's Redis database
(emptied first). Printed per step: seconds in-process and on the workers (the judging
shards' sum, and the span from the first shard's start to the last one's end); the run's
wall; the critical path (the steps in sequence, the shards as their span); and the
executor's overhead, the wall minus the critical path: queueing, a worker taking the task,
rebuilding the job, writing and reading the shards' work files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from dagster import DagsterInstance, RunsFilter
from make_leads import make_leads, write_leads  # this folder: scripts, not a package
from scale import step_bounds

from pipeline.orchestration.instance import local_instance_config

BIN = Path(sys.executable).parent
_SHARD = "lead_evaluations.evaluate_shard["


def rank(env: dict[str, str], *args: str) -> float:
    """`persona-ranker run` with these arguments; its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "persona-ranker"), "run", "--evaluator", "rules", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"persona-ranker run {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def start_workers(env: dict[str, str], count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for number in range(count):
        log = logs / f"worker-{number}.log"
        with log.open("wb") as stream:
            workers.append(
                subprocess.Popen(
                    [str(BIN / "persona-ranker"), "workers", "--name", f"w{number}@%h"],
                    stdout=stream,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        while b" ready." not in log.read_bytes():
            if workers[-1].poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.2)
    return workers


def run_profile(instance: DagsterInstance, run_id: str) -> dict[str, object]:
    """Each step's seconds (the shards summed and spanned), the wall, the critical path."""
    record = instance.get_run_record_by_id(run_id)
    assert record is not None and record.start_time and record.end_time
    bounds = step_bounds(instance, run_id)
    shards = {step: span for step, span in bounds.items() if step.startswith(_SHARD)}
    steps = {
        step: round(end - start, 2) for step, (start, end) in bounds.items() if step not in shards
    }
    shard_span = (
        max(end for _, end in shards.values()) - min(start for start, _ in shards.values())
        if shards
        else 0.0
    )
    critical = sum(steps.values()) + shard_span
    wall = record.end_time - record.start_time
    return {
        "steps_s": steps,
        "shards": len(shards),
        "shards_sum_s": round(sum(end - start for start, end in shards.values()), 2),
        "shards_span_s": round(shard_span, 2),
        "run_wall_s": round(wall, 2),
        "critical_path_s": round(critical, 2),
        "executor_overhead_s": round(wall - critical, 2),
    }


def format_table(alone: dict[str, object], spread: dict[str, object], workers: int) -> str:
    names = list(dict.fromkeys([*alone["steps_s"], *spread["steps_s"]]))  # type: ignore[misc]
    lines = [f"| step | in-process s | {workers} workers s |", "|---|---:|---:|"]
    for name in names:
        lines.append(
            f"| {name} | {alone['steps_s'].get(name, '')} | "  # type: ignore[attr-defined]
            f"{spread['steps_s'].get(name, '')} |"  # type: ignore[attr-defined]
        )
    lines.append(
        f"| judging shards: count, sum, span | {alone['shards']}, {alone['shards_sum_s']}, "
        f"{alone['shards_span_s']} | {spread['shards']}, {spread['shards_sum_s']}, "
        f"{spread['shards_span_s']} |"
    )
    for key, label in (
        ("run_wall_s", "run wall (Dagster's start to end)"),
        ("critical_path_s", "critical path (steps in sequence, shards as their span)"),
        ("executor_overhead_s", "executor overhead (wall - critical path)"),
        ("command_s", "`persona-ranker run` wall"),
    ):
        lines.append(f"| **{label}** | {alone[key]} | {spread[key]} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--leads-per-shard", type=int, default=50_000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    redis.Redis.from_url(args.broker).flushdb()
    with tempfile.TemporaryDirectory(prefix="distributed-bench-") as scratch:
        folder = Path(scratch)
        leads = folder / "leads.csv"
        write_leads(make_leads(args.leads, args.companies, args.seed), leads)
        home = folder / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(local_instance_config(), encoding="utf-8")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PERSONA_RANKER_", "GROQ_"))
        }
        env |= {
            "DAGSTER_HOME": str(home),
            "PERSONA_RANKER_CELERY_BROKER": args.broker,
            "PERSONA_RANKER_WORK_DIR": (folder / "work").as_uri(),
            "PERSONA_RANKER_LEADS_PER_SHARD": str(args.leads_per_shard),
            "PERSONA_RANKER_REPORT_MAX_COMPANIES": "5000",
        }
        common = ("--leads", str(leads))
        alone_s = rank(
            env,
            *common,
            "--warehouse",
            str(folder / "a.duckdb"),
            "--export",
            str(folder / "a" / "campaign.csv"),
        )
        workers = start_workers(env, args.workers, folder)
        try:
            spread_s = rank(
                env,
                *common,
                "--executor",
                "celery",
                "--warehouse",
                str(folder / "b.duckdb"),
                "--export",
                str(folder / "b" / "campaign.csv"),
            )
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=120)
        identical = (folder / "a" / "campaign.csv").read_bytes() == (
            folder / "b" / "campaign.csv"
        ).read_bytes()
        os.environ["DAGSTER_HOME"] = str(home)
        with DagsterInstance.get() as instance:
            first, second = sorted(
                instance.get_run_records(RunsFilter()), key=lambda record: record.create_timestamp
            )
            alone = run_profile(instance, first.dagster_run.run_id) | {
                "command_s": round(alone_s, 2)
            }
            spread = run_profile(instance, second.dagster_run.run_id) | {
                "command_s": round(spread_s, 2)
            }
    result = {
        "leads": args.leads,
        "companies": args.companies,
        "workers": args.workers,
        "leads_per_shard": args.leads_per_shard,
        "in_process": alone,
        "celery": spread,
        "campaign_files_identical": identical,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{args.leads:,} leads at {args.companies:,} companies; {args.workers} Celery workers "
        f"(concurrency 1 each) on this machine; shards of at most {args.leads_per_shard:,} "
        "leads\n"
    )
    print(format_table(alone, spread, args.workers))
    print(f"\nCampaign files identical: {'yes' if identical else 'NO'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())

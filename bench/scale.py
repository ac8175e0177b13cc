"""How the full pipeline's cost grows with its work: 1k, 10k and 100k leads.

    .venv/bin/python bench/scale.py [--sizes 1000:100,10000:1000,100000:10000] [--json]
                                    [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Each size runs the whole `rank_leads` job offline (rules evaluator) in a child process with
a fresh warehouse and a fresh Dagster instance, on a file from `bench/make_leads.py`: a DuckDB
file and the SQLite instance by default; with `--postgres`, a new database on that server
holds both the Dagster instance (the project's dagster.yaml) and the warehouse, and is
dropped afterwards. Printed per size: wall seconds of the run, peak RSS of the child,
seconds per step, leads per second, and the Dagster overhead (run wall minus the time inside
its steps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from dagster import DagsterEventType, DagsterInstance
from make_leads import make_leads, write_leads  # this folder: scripts, not a package

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.orchestration.instance import local_instance_config
from pipeline.orchestration.partitions import full_range_tags
from pipeline.orchestration.settings import PROJECT_ROOT, Settings
from pipeline.storage.postgres_warehouse import psycopg2_dsn

DEFAULT_SIZES = "1000:100,10000:1000,100000:10000"


def run_child(leads: Path, workdir: Path, database: str | None) -> dict[str, object]:
    """One full run in this process; timings as a dict."""
    home = workdir / "dagster_home"
    home.mkdir()
    instance_config = (PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8")
    if database:
        parts = urlsplit(database)
        os.environ.update(
            DAGSTER_PG_HOST=parts.hostname or "",
            DAGSTER_PG_PORT=str(parts.port or 5432),
            DAGSTER_PG_DB=parts.path.lstrip("/"),
            DAGSTER_PG_USER=parts.username or "",
            DAGSTER_PG_PASSWORD=os.environ.get("PGPASSWORD", ""),
        )
    else:
        instance_config = local_instance_config()
    (home / "dagster.yaml").write_text(instance_config, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    settings = Settings(
        leads_path=leads,
        warehouse_path=workdir / "warehouse.duckdb",
        database_url=database,
        export_path=workdir / "campaign.csv",
        evaluator="rules",
    )
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
        result = job.execute_in_process(instance=instance, tags=full_range_tags())
        finished = time.perf_counter()
        if not result.success:
            raise RuntimeError("the run failed")
        steps = step_seconds(instance, result.run_id)
        ranked = result.output_for_node("ranked_leads")
        report = result.asset_materializations_for_node("campaign_export")[0].metadata
    run_wall = finished - started
    return {
        "wall_s": round(run_wall, 2),
        "steps_s": steps,
        "dagster_overhead_s": round(run_wall - sum(steps.values()), 2),
        "leads": len(ranked),
        "companies": int(ranked["company_key"].nunique()),
        "ranked": int(ranked["company_rank"].notna().sum()),
        "report_mb": round(report["report_bytes"].value / 1e6, 2),
        "report_write_s": report["report_write_s"].value,
    }


def step_seconds(instance: DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds inside each step, from the run's step start and end events only (reading every
    event of a big run back would cost more memory than the run itself)."""
    bounds: dict[str, list[float]] = {}
    for entry in instance.all_logs(
        run_id,
        of_type={
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
        },
    ):
        if entry.step_key:
            bounds.setdefault(entry.step_key, []).append(entry.timestamp)
    return {step: round(max(times) - min(times), 2) for step, times in bounds.items()}


def measure(count: int, companies: int, seed: int, server: str | None) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory(prefix=f"scale-{count}-") as scratch,
        fresh_database(server, f"persona_ranker_scale_{count}") as database,
    ):
        workdir = Path(scratch)
        leads = workdir / "leads.csv"
        write_leads(make_leads(count, companies, seed), leads)
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(leads), str(workdir), database or ""],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        output = child.stdout.read() if child.stdout else b""
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"the {count}-lead run failed (exit {child.returncode})")
    figures = json.loads(output.decode().strip().splitlines()[-1])
    figures["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    figures["leads_per_s"] = round(count / figures["wall_s"], 1)
    figures["file_rows"] = count
    return figures


@contextmanager
def fresh_database(server: str | None, name: str) -> Iterator[str | None]:
    """A new, empty database on the server for one size (its URL), dropped afterwards."""
    if not server:
        yield None
        return
    connection = psycopg2.connect(psycopg2_dsn(server))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}"')
            cursor.execute(f'create database "{name}"')
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        connection.close()


def format_table(results: dict[int, dict[str, object]]) -> str:
    lines = [
        "| file rows | companies | wall s | peak RSS MB | leads/s | Dagster overhead s | "
        "report MB | report write s | slowest steps (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for count, row in results.items():
        steps = sorted(row["steps_s"].items(), key=lambda item: -item[1])[:3]
        slowest = ", ".join(f"{name} {seconds}" for name, seconds in steps)
        lines.append(
            f"| {count} | {row['companies']} | {row['wall_s']} | {row['peak_rss_mb']} | "
            f"{row['leads_per_s']} | {row['dagster_overhead_s']} | {row['report_mb']} | "
            f"{row['report_write_s']} | {slowest} |"
        )
    sizes = list(results)
    if len(sizes) >= 2:
        last, before = results[sizes[-1]], results[sizes[-2]]
        growth = last["wall_s"] / before["wall_s"]
        lines.append("")
        lines.append(f"growth {sizes[-2]} -> {sizes[-1]} rows: {growth:.1f}x wall time")
    # Seconds per step (assets and their checks) for every size.
    steps = list(dict.fromkeys(step for row in results.values() for step in row["steps_s"]))
    lines += ["", "| step (s) | " + " | ".join(f"{count} rows" for count in sizes) + " |"]
    lines.append("|---|" + "---:|" * len(sizes))
    for step in steps:
        seconds = (str(results[count]["steps_s"].get(step, "")) for count in sizes)
        lines.append(f"| {step} | " + " | ".join(seconds) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="leads:companies,...")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server for the instance and warehouse"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        leads, workdir, database = args.child
        print(json.dumps(run_child(Path(leads), Path(workdir), database or None)))
        return 0
    results = {}
    for size in args.sizes.split(","):
        count, companies = (int(part) for part in size.split(":"))
        results[count] = measure(count, companies, args.seed, args.postgres)
        if not args.json:
            print(f"{count} rows: {results[count]['wall_s']} s", file=sys.stderr)
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

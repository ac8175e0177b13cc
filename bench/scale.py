"""How the full pipeline's cost grows with its work: 1k, 10k and 100k leads.

    .venv/bin/python bench/scale.py [--sizes 1000:100,10000:1000,100000:10000] [--json]

Each size runs the whole `rank_leads` job offline (rules evaluator, DuckDB) in a child
process with a fresh warehouse and a fresh Dagster instance, on a file from
`bench/make_leads.py`. Printed per size: wall seconds of the run, peak RSS of the child,
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
from pathlib import Path

from dagster import DagsterInstance
from make_leads import make_leads, write_leads  # this folder: scripts, not a package

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.instance import local_instance_config
from pipeline.leads import company_keys
from pipeline.partitions import full_range_tags, sync_company_partitions
from pipeline.resources import LeadSource
from pipeline.settings import Settings

DEFAULT_SIZES = "1000:100,10000:1000,100000:10000"


def run_child(leads: Path, workdir: Path) -> dict[str, object]:
    """One full run in this process; timings as a dict."""
    home = workdir / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(local_instance_config(), encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    settings = Settings(
        leads_path=leads,
        warehouse_path=workdir / "warehouse.duckdb",
        export_path=workdir / "campaign.csv",
        evaluator="rules",
    )
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        keys = company_keys(LeadSource(path=str(leads)).read().leads)
        sync_company_partitions(instance, keys)
        registered = time.perf_counter()
        job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
        result = job.execute_in_process(instance=instance, tags=full_range_tags(instance))
        finished = time.perf_counter()
        if not result.success:
            raise RuntimeError("the run failed")
        steps = {
            stat.step_key: round(stat.end_time - stat.start_time, 2)
            for stat in instance.get_run_step_stats(result.run_id)
            if stat.end_time and stat.start_time
        }
        ranked = result.output_for_node("ranked_leads")
    run_wall = finished - registered
    return {
        "wall_s": round(finished - started, 2),
        "partition_sync_s": round(registered - started, 2),
        "run_wall_s": round(run_wall, 2),
        "steps_s": steps,
        "dagster_overhead_s": round(run_wall - sum(steps.values()), 2),
        "leads": len(ranked),
        "companies": len(keys),
        "ranked": int(ranked["company_rank"].notna().sum()),
    }


def measure(count: int, companies: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"scale-{count}-") as scratch:
        workdir = Path(scratch)
        leads = workdir / "leads.csv"
        write_leads(make_leads(count, companies, seed), leads)
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(leads), str(workdir)],
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


def format_table(results: dict[int, dict[str, object]]) -> str:
    lines = [
        "| file rows | companies | wall s | peak RSS MB | leads/s | partition sync s | "
        "Dagster overhead s | slowest steps (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for count, row in results.items():
        steps = sorted(row["steps_s"].items(), key=lambda item: -item[1])[:3]
        slowest = ", ".join(f"{name} {seconds}" for name, seconds in steps)
        lines.append(
            f"| {count} | {row['companies']} | {row['wall_s']} | {row['peak_rss_mb']} | "
            f"{row['leads_per_s']} | {row['partition_sync_s']} | {row['dagster_overhead_s']} | "
            f"{slowest} |"
        )
    sizes = list(results)
    if len(sizes) >= 2:
        last, before = results[sizes[-1]], results[sizes[-2]]
        growth = last["wall_s"] / before["wall_s"]
        lines.append("")
        lines.append(f"growth {sizes[-2]} -> {sizes[-1]} rows: {growth:.1f}x wall time")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="leads:companies,...")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("LEADS", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(Path(args.child[0]), Path(args.child[1]))))
        return 0
    results = {}
    for size in args.sizes.split(","):
        count, companies = (int(part) for part in size.split(":"))
        results[count] = measure(count, companies, args.seed)
        if not args.json:
            print(f"{count} rows: {results[count]['wall_s']} s", file=sys.stderr)
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

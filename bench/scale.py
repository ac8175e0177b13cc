"""How the full pipeline's cost grows with its work: 1k, 10k and 100k leads, and an agency's
many small clients against one large one.

    .venv/bin/python bench/scale.py [--sizes 1000:100,10000:1000,100000:10000] [--json]
                                    [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
                                    [--cold]
    .venv/bin/python bench/scale.py --sizes 20x5000:500,100000:10000

A size is LEADS:COMPANIES for one client, or CLIENTSxLEADS:COMPANIES for that many clients
of that many leads each (each its own file, all with the default persona, run one after the
other as `run --all-clients` does). Each size runs the whole `rank_leads` job offline (rules
evaluator) in a child process with a fresh warehouse and a fresh Dagster instance, on files
from `bench/make_leads.py`: a DuckDB file and the SQLite instance by default; with
`--postgres`, a new database on that server holds both the Dagster instance (the project's
dagster.yaml) and the warehouse, and is dropped afterwards. Printed per size: wall seconds of
the runs, peak RSS of the child, seconds per step (summed over clients) and the child's peak
memory during it, leads per second, the Dagster overhead (run wall minus the time inside its
steps), and the yardstick: the seconds DuckDB takes to read the same files into a table,
timed in the same run, and the pipeline's wall time as a multiple of it (absolute seconds
vary between days on shared machines; the ratio does not). Beside it, the floor under the
run's writes: DuckDB alone copying the tables the run left in its warehouse into a new file
(DuckDB warehouse only). The semantic reader's vectors come from the user's cache folder, as
a nightly run's do: titles an earlier run met are not embedded again; `--cold` gives each
size an empty cache folder, as on a first night.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import psycopg2
from dagster import DagsterEventType, DagsterInstance
from make_leads import make_leads, write_leads  # this folder: scripts, not a package

from pipeline.definitions import RANK_LEADS_JOB, build_definitions
from pipeline.orchestration.instance import local_instance_config
from pipeline.orchestration.settings import PROJECT_ROOT, Settings
from pipeline.persona.embedding_cache import CACHE_DIR_ENV
from pipeline.storage.postgres_warehouse import psycopg2_dsn

DEFAULT_SIZES = "1000:100,10000:1000,100000:10000"


def run_child(clients: int, workdir: Path, database: str | None) -> dict[str, object]:
    """One run per client in this process (the leads files are in `workdir`); timings."""
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
        leads_path=workdir / "client-0.csv",
        warehouse_path=workdir / "warehouse.duckdb",
        database_url=database,
        export_path=workdir / "campaign.csv",
        evaluator="rules",
        clients_path=write_clients_file(clients, workdir) if clients > 1 else None,
    )
    totals: dict[str, float] = {"wall_s": 0.0, "leads": 0, "companies": 0, "ranked": 0}
    totals |= {"report_mb": 0.0, "report_render_s": 0.0}
    steps: dict[str, float] = {}
    step_peaks: dict[str, int] = {}
    memory = RssSampler()
    with DagsterInstance.get() as instance:
        job = build_definitions(settings).resolve_job_def(RANK_LEADS_JOB)
        for client in job.partitions_def.get_partition_keys():
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance, partition_key=client)
            totals["wall_s"] += time.perf_counter() - started
            if not result.success:
                raise RuntimeError(f"the run of {client} failed")
            for step, (started_at, ended_at) in step_bounds(instance, result.run_id).items():
                # A graph asset's steps (plan, judge, collect) count as their asset's.
                asset = step.split(".")[0]
                steps[asset] = round(steps.get(asset, 0.0) + ended_at - started_at, 2)
                peak = memory.peak_mb(started_at, ended_at)
                step_peaks[asset] = max(step_peaks.get(asset, 0), peak)
            ranked = result.output_for_node("ranked_leads")
            report = result.asset_materializations_for_node("campaign_export")[0].metadata
            totals["leads"] += len(ranked)
            totals["companies"] += int(ranked["company_key"].nunique())
            totals["ranked"] += int(ranked["company_rank"].notna().sum())
            totals["report_mb"] += report["report_bytes"].value / 1e6
            totals["report_render_s"] += report["report_render_s"].value
    return {
        **{key: round(value, 2) for key, value in totals.items()},
        "clients": clients,
        "steps_s": steps,
        "steps_peak_mb": step_peaks,
        "dagster_overhead_s": round(totals["wall_s"] - sum(steps.values()), 2),
    }


def write_clients_file(clients: int, workdir: Path) -> Path:
    """An agency of `clients` clients, each with its own leads file and the default persona."""
    entries = {
        f"client-{number:02d}": {
            "persona": str(Settings().persona_path),
            "leads": f"client-{number}.csv",
        }
        for number in range(clients)
    }
    path = workdir / "clients.yaml"
    path.write_text(json.dumps({"clients": entries}), encoding="utf-8")  # JSON is YAML
    return path


def step_bounds(instance: DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """When each step started and ended, from the run's step start and end events only
    (reading every event of a big run back would cost more memory than the run itself)."""
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
    return {step: (min(times), max(times)) for step, times in bounds.items()}


class RssSampler:
    """This process's resident memory every 0.1 s, to tell each step's peak."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        status = Path("/proc/self/status")
        while True:
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS"))
            self.samples.append((time.time(), int(line.split()[1]) // 1024))
            time.sleep(0.1)

    def peak_mb(self, started_at: float, ended_at: float) -> int:
        """The most seen from the sample before the step started to its end (a step shorter
        than the interval still gets the sample taken while it ran, or just before)."""
        before = [mb for at, mb in self.samples if at <= started_at][-1:]
        during = [mb for at, mb in self.samples if started_at < at <= ended_at]
        return max(before + during, default=0)


def measure(
    clients: int, count: int, companies: int, seed: int, server: str | None, cold: bool
) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory(prefix=f"scale-{clients}x{count}-") as scratch,
        fresh_database(server, f"persona_ranker_scale_{clients}x{count}") as database,
    ):
        workdir = Path(scratch)
        for number in range(clients):
            write_leads(
                make_leads(count, companies, seed + number), workdir / f"client-{number}.csv"
            )
        read_s = duckdb_read_seconds(sorted(workdir.glob("client-*.csv")))
        environment = dict(os.environ)
        if cold:
            environment[CACHE_DIR_ENV] = str(workdir / "empty_cache")
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(clients), str(workdir), database or ""],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
        )
        output = child.stdout.read() if child.stdout else b""
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"the {count}-lead run failed (exit {child.returncode})")
        copies = None if database else table_copy_seconds(workdir / "warehouse.duckdb")
    figures = json.loads(output.decode().strip().splitlines()[-1])
    figures["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    figures["leads_per_s"] = round(clients * count / figures["wall_s"], 1)
    figures["file_rows"] = clients * count
    figures["duckdb_read_s"] = round(read_s, 2)
    figures["times_duckdb_read"] = round(figures["wall_s"] / read_s, 1)
    floor_s = None if copies is None else sum(copies.values())
    figures["table_copy_s"] = None if floor_s is None else round(floor_s, 2)
    figures["table_copy_times_read"] = None if floor_s is None else round(floor_s / read_s, 1)
    figures["table_copy_s_by_table"] = copies
    figures["vector_cache"] = "empty" if cold else "the user's"
    return figures


def duckdb_read_seconds(files: list[Path]) -> float:
    """The yardstick: DuckDB reading the files, every cell as text, into a table (the best of
    three, as the pipeline's cost is one run's)."""
    best = float("inf")
    for _ in range(3):
        with duckdb.connect() as connection:
            started = time.perf_counter()
            for number, path in enumerate(files):
                connection.execute(
                    f"create table leads_{number} as "
                    "select * from read_csv(?, all_varchar = true, header = true)",
                    [str(path)],
                )
            best = min(best, time.perf_counter() - started)
    return best


def table_copy_seconds(warehouse: Path) -> dict[str, float]:
    """The floor under the run's own writes: DuckDB alone (no Python, no pandas) copying
    each table the run left in the warehouse into a new database file, written to disk (the
    seconds of each table, in the best of three). A run that materialises these tables
    cannot take less than their sum."""
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="scale-copy-") as folder:
        for attempt in range(3):
            with duckdb.connect(str(Path(folder) / f"copy-{attempt}.duckdb")) as connection:
                connection.execute("set preserve_insertion_order = false")
                connection.execute("attach ? as run (read_only)", [str(warehouse)])
                tables = connection.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_catalog = 'run' and table_type = 'BASE TABLE'"
                ).fetchall()
                seconds = {}
                for number, (schema, table) in enumerate(tables):
                    started = time.perf_counter()
                    connection.execute(
                        f'create table copy_{number} as select * from run."{schema}"."{table}"'
                    )
                    connection.execute("checkpoint")
                    seconds[table] = round(time.perf_counter() - started, 2)
            if not best or sum(seconds.values()) < sum(best.values()):
                best = seconds
    return best


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


def format_table(results: dict[str, dict[str, object]]) -> str:
    lines = [
        "| size | file rows | companies | wall s | DuckDB read s | x DuckDB read | "
        "tables' copy s (x read) | peak RSS MB | leads/s | Dagster overhead s | report MB | "
        "report render s | slowest steps (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for count, row in results.items():
        steps = sorted(row["steps_s"].items(), key=lambda item: -item[1])[:3]
        slowest = ", ".join(f"{name} {seconds}" for name, seconds in steps)
        lines.append(
            f"| {count} | {row['file_rows']} | {row['companies']} | {row['wall_s']} | "
            f"{row['duckdb_read_s']} | {row['times_duckdb_read']} | {_copy_cell(row)} | "
            f"{row['peak_rss_mb']} | {row['leads_per_s']} | {row['dagster_overhead_s']} | "
            f"{row['report_mb']} | {row['report_render_s']} | {slowest} |"
        )
    sizes = list(results)
    cache = next(iter(results.values()))["vector_cache"]
    lines += ["", f"the semantic reader's vectors: {cache} cache folder"]
    copies = results[sizes[-1]]["table_copy_s_by_table"]
    if copies:
        slowest = sorted(copies.items(), key=lambda item: -item[1])
        shown = ", ".join(f"{table} {seconds}" for table, seconds in slowest)
        lines.append(f"the tables' copy at {sizes[-1]} (s): {shown}")
    if len(sizes) >= 2:
        last, before = results[sizes[-1]], results[sizes[-2]]
        growth = last["wall_s"] / before["wall_s"]
        lines.append("")
        lines.append(f"growth {sizes[-2]} -> {sizes[-1]} rows: {growth:.1f}x wall time")
    # Seconds and the process's peak memory in each step (assets and their checks), per size.
    steps = list(dict.fromkeys(step for row in results.values() for step in row["steps_s"]))
    lines += [
        "",
        "| step: s (peak RSS MB) | " + " | ".join(f"{count} rows" for count in sizes) + " |",
    ]
    lines.append("|---|" + "---:|" * len(sizes))
    for step in steps:
        cells = (
            f"{results[count]['steps_s'].get(step, '')} "
            f"({results[count]['steps_peak_mb'].get(step, '')})"
            for count in sizes
        )
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _copy_cell(row: dict[str, object]) -> str:
    if row["table_copy_s"] is None:
        return "n/a (PostgreSQL)"
    return f"{row['table_copy_s']} ({row['table_copy_times_read']}x)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help="[clientsx]leads:companies,... (per client)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server for the instance and warehouse"
    )
    parser.add_argument(
        "--cold", action="store_true", help="an empty vector cache for each size (a first night)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        clients, workdir, database = args.child
        print(json.dumps(run_child(int(clients), Path(workdir), database or None)))
        return 0
    results = {}
    for size in args.sizes.split(","):
        clients, _, per_client = size.rpartition("x")
        count, companies = (int(part) for part in per_client.split(":"))
        label = size.split(":")[0]
        results[label] = measure(
            int(clients or 1), count, companies, args.seed, args.postgres, args.cold
        )
        if not args.json:
            print(f"{label}: {results[label]['wall_s']} s", file=sys.stderr)
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

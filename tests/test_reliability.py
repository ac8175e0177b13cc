"""Storage faults end to end: a database that is down, two runs on one DuckDB file, and no
password in anything a failing run prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from support import POSTGRES_URL

from pipeline.orchestration.settings import DUCKDB_SCHEMA
from pipeline.storage.postgres_warehouse import pg_transaction

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("persona-ranker"))
DOWN_URL = "postgresql://postgres:s3cret-pw-4242@127.0.0.1:1/test"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "PERSONA_RANKER"))}
    return {**env, "DAGSTER_HOME": str(home), **extra}


def rank(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "run", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.postgres
def test_a_database_that_is_down_is_a_clear_error_and_the_tables_stay(
    tmp_path: Path, pg_schema: str
) -> None:
    env = cli_env(tmp_path / "home", PERSONA_RANKER_DATABASE_SCHEMA=pg_schema)
    export = ["--export", str(tmp_path / "c.csv")]
    assert rank(env, "--warehouse", POSTGRES_URL, *export).returncode == 0

    down = rank(env, "--warehouse", DOWN_URL, *export)
    assert down.returncode == 2
    assert "cannot open the warehouse postgresql://postgres:***@127.0.0.1:1/test" in down.stderr
    assert "Traceback" not in down.stderr
    assert "s3cret-pw-4242" not in down.stdout + down.stderr

    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(f'select count(*), count(distinct lead_id) from "{pg_schema}".ranked_leads')
        assert cursor.fetchone() == (200, 200)
    assert rank(env, "--warehouse", POSTGRES_URL, *export).returncode == 0


def test_two_runs_at_once_on_one_duckdb_file_wait_their_turn(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    runs = [
        subprocess.Popen(
            [CLI, "run", "--warehouse", str(warehouse), "--export", str(tmp_path / f"c{n}.csv")],
            env=cli_env(tmp_path / f"home{n}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    outcomes = [(run.wait(timeout=300), run.communicate()[1]) for run in runs]
    assert any(code == 0 for code, _ in outcomes)
    for code, stderr in outcomes:
        # The file allows one writer: the other waits, or says why it could not.
        assert code == 0 or "lock" in stderr.lower(), stderr[-2000:]
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table in ("raw_leads", "enriched_leads", "lead_evaluations", "ranked_leads"):
            rows, leads = connection.execute(
                f"select count(*), count(distinct lead_id) from {DUCKDB_SCHEMA}.{table}"
            ).fetchone()
            assert rows == leads == 200, table
    third = rank(
        cli_env(tmp_path / "home3"),
        "--warehouse",
        str(warehouse),
        "--export",
        str(tmp_path / "c3.csv"),
    )
    assert third.returncode == 0

"""Production set-up end to end: Dagster's instance on PostgreSQL from the project's
dagster.yaml, and `persona-ranker run` writing every table to PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from support import POSTGRES_URL

from pipeline.orchestration.settings import DUCKDB_SCHEMA
from pipeline.storage.postgres_warehouse import pg_transaction

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BIN = Path(sys.executable).parent
TOP_THREE = (
    "select account_name, company_rank, lead_job_title from {table} "
    "where company_rank <= 3 order by 1, 2"
)


def instance_info(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "dagster"), "instance", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def rank(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / "persona-ranker"), "run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_dagster_instance_info_reports_postgres_storage(production_env: dict[str, str]) -> None:
    info = instance_info(production_env)
    assert info.returncode == 0, info.stderr
    for storage in ("PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"):
        assert storage in info.stdout


def test_a_run_ranks_into_postgres_as_duckdb_does_and_is_recorded_there(
    tmp_path: Path, production_env: dict[str, str], pg_schema: str, instance_database: str
) -> None:
    export = ["--export", str(tmp_path / "campaign.csv")]
    done = rank(production_env, *export)
    assert f"(schema {pg_schema})" in done.stdout

    with pg_transaction(POSTGRES_URL) as cursor:
        cursor.execute(TOP_THREE.format(table=f'"{pg_schema}".ranked_leads'))
        in_postgres = cursor.fetchall()
    local_env = {**production_env, "DAGSTER_HOME": str(tmp_path / "local_home")}
    (tmp_path / "local_home").mkdir()
    del local_env["PERSONA_RANKER_DATABASE_URL"], local_env["PERSONA_RANKER_DATABASE_SCHEMA"]
    warehouse = tmp_path / "w.duckdb"
    rank(local_env, "--warehouse", str(warehouse), *export)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        in_duckdb = connection.execute(
            TOP_THREE.format(table=f"{DUCKDB_SCHEMA}.ranked_leads")
        ).fetchall()
    assert len(in_postgres) == 36
    assert sorted(in_postgres) == sorted(in_duckdb)

    instance_url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{instance_database}"
    with pg_transaction(instance_url) as cursor:
        cursor.execute("select pipeline_name, status from runs")
        assert cursor.fetchall() == [("rank_leads", "SUCCESS")]


def test_the_driver_scheme_is_what_makes_sqlalchemy_2_1_work(
    production_env: dict[str, str],
) -> None:
    """SQLAlchemy 2.1 reads a bare `postgresql` scheme as psycopg 3, which is not installed:
    the project's dagster.yaml says `postgresql+psycopg2`, and without it the instance fails."""
    config = Path(production_env["DAGSTER_HOME"]) / "dagster.yaml"
    assert "scheme: postgresql+psycopg2" in config.read_text()
    config.write_text(config.read_text().replace("postgresql+psycopg2", "postgresql"))
    info = instance_info(production_env)
    assert info.returncode != 0
    assert "psycopg" in info.stderr

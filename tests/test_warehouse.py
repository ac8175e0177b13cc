"""The warehouse IO manager replaces a company's rows all at once or not at all."""

from pathlib import Path

import duckdb
import pandas as pd
from dagster import DagsterInstance, DynamicPartitionsDefinition, asset, materialize

from pipeline.orchestration.settings import DUCKDB_SCHEMA
from pipeline.storage.duckdb_warehouse import AtomicDuckDBPandasIOManager

PARTITIONS = DynamicPartitionsDefinition(name="test_companies")
ROWS: dict[str, pd.DataFrame] = {}


@asset(partitions_def=PARTITIONS, metadata={"partition_expr": "company_key"})
def scores() -> pd.DataFrame:
    return ROWS["next"]


def write(database: Path, instance: DagsterInstance, frame: pd.DataFrame, key: str) -> bool:
    ROWS["next"] = frame
    result = materialize(
        [scores],
        partition_key=key,
        instance=instance,
        resources={
            "io_manager": AtomicDuckDBPandasIOManager(database=str(database), schema=DUCKDB_SCHEMA)
        },
        raise_on_error=False,
    )
    return result.success


def stored(database: Path) -> list[tuple[str, int]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(
            f"select company_key, score from {DUCKDB_SCHEMA}.scores order by all"
        ).fetchall()


def test_failed_write_keeps_the_previous_rows(tmp_path: Path, instance: DagsterInstance) -> None:
    database = tmp_path / "nested" / "w.duckdb"
    instance.add_dynamic_partitions("test_companies", ["a.com", "b.com"])
    assert write(
        database, instance, pd.DataFrame({"company_key": ["a.com"], "score": [1]}), "a.com"
    )
    assert write(
        database, instance, pd.DataFrame({"company_key": ["b.com"], "score": [2]}), "b.com"
    )

    # The delete of a.com's rows succeeds, then the insert fails (text into a BIGINT column):
    # the transaction must roll the delete back.
    broken = pd.DataFrame({"company_key": ["a.com"], "score": ["not a number"]})
    assert not write(database, instance, broken, "a.com")
    assert stored(database) == [("a.com", 1), ("b.com", 2)]

    assert write(
        database, instance, pd.DataFrame({"company_key": ["a.com"], "score": [3]}), "a.com"
    )
    assert stored(database) == [("a.com", 3), ("b.com", 2)]

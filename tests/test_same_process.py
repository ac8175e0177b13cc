"""A table the run wrote is handed to its later steps in the same process; a table of an
earlier run, or one changed since, is read from the warehouse."""

from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetIn, DagsterInstance, asset, materialize

from pipeline.storage.duckdb_warehouse import AtomicDuckDBPandasIOManager

SEEN: dict[str, pd.DataFrame] = {}


@asset
def written() -> pd.DataFrame:
    # A nullable integer column: read back from DuckDB it would be plain int64.
    return pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64"), "b": ["x", "y", "z"]})


@asset(ins={"written": AssetIn(metadata={"columns": ["b"]})})
def reader(written: pd.DataFrame) -> pd.DataFrame:
    SEEN["reader"] = written
    return written.assign(c=1)


def io_manager(tmp_path: Path) -> AtomicDuckDBPandasIOManager:
    return AtomicDuckDBPandasIOManager(database=str(tmp_path / "w.duckdb"), schema="test")


def test_a_later_step_of_the_run_takes_the_written_frame_with_its_chosen_columns(
    tmp_path: Path,
) -> None:
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [written, reader], instance=instance, resources={"io_manager": io_manager(tmp_path)}
        )
    assert result.success
    assert SEEN["reader"].columns.tolist() == ["b"]
    assert SEEN["reader"]["b"].tolist() == ["x", "y", "z"]
    # Still written: the warehouse holds the table.
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        assert connection.execute("select count(*) from test.written").fetchone() == (3,)


def test_another_run_reads_the_warehouse_as_it_is_now(tmp_path: Path) -> None:
    manager = io_manager(tmp_path)
    with DagsterInstance.ephemeral() as instance:
        assert materialize([written], instance=instance, resources={"io_manager": manager}).success
        with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
            connection.execute("delete from test.written where b = 'y'")
        later = materialize(
            [written, reader],
            selection=[reader],
            instance=instance,
            resources={"io_manager": manager},
        )
    assert later.success
    assert SEEN["reader"]["b"].tolist() == ["x", "z"]


def test_within_a_run_the_frame_keeps_the_types_the_step_gave_it(tmp_path: Path) -> None:
    @asset(name="typed_reader", ins={"written": AssetIn()})
    def typed_reader(written: pd.DataFrame) -> pd.DataFrame:
        SEEN["typed"] = written
        return written

    with DagsterInstance.ephemeral() as instance:
        assert materialize(
            [written, typed_reader],
            instance=instance,
            resources={"io_manager": io_manager(tmp_path)},
        ).success
        assert str(SEEN["typed"]["a"].dtype) == "Int64"
        # A run that did not write it reads DuckDB's types.
        assert materialize(
            [written, typed_reader],
            selection=[typed_reader],
            instance=instance,
            resources={"io_manager": io_manager(tmp_path)},
        ).success
    assert str(SEEN["typed"]["a"].dtype) == "int64"

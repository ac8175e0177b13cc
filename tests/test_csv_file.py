"""The campaign CSV writer writes the bytes pandas writes, for every kind of cell."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.campaign.csv_file import _duckdb_writes_alike, write_csv

HOSTILE_TEXT = [
    "plain",
    "",
    None,
    np.nan,
    "comma, inside",
    'a "quoted" word',
    "line\nbreak",
    "  spaces around  ",
    "=SUM(A1)",
    "Zoë Ünal - 営業部長",
    "'",
    "trailing comma,",
]


def pandas_bytes(rows: pd.DataFrame, tmp_path: Path) -> bytes:
    reference = tmp_path / "pandas.csv"
    rows.to_csv(reference, index=False)
    return reference.read_bytes()


@pytest.mark.parametrize(
    ("rows", "by_duckdb"),
    [
        (
            pd.DataFrame(
                {
                    "text": HOSTILE_TEXT,
                    "Notes, internal": list(reversed(HOSTILE_TEXT)),
                    'say "hi"': ["x"] * len(HOSTILE_TEXT),
                    "rank": np.arange(len(HOSTILE_TEXT), dtype=np.int64),
                    "nothing": [None] * len(HOSTILE_TEXT),
                }
            ),
            True,
        ),
        (
            pd.DataFrame(
                {"text": pd.Series([], dtype=object), "rank": pd.Series([], dtype="int64")}
            ),
            True,
        ),
        # What DuckDB would write otherwise: pandas writes it.
        (pd.DataFrame({"text": ["carriage\rreturn", ""], "rank": [1, 2]}), False),
        (pd.DataFrame({"text": [None, "after a gap\r"], "rank": [1, 2]}), False),
        (pd.DataFrame({"alone": ["", "a"]}), False),
        (pd.DataFrame({"score": [1.5, np.nan], "flag": [True, False], "text": ["a", ""]}), False),
        (pd.DataFrame({"text": ["a", ""], "rank": pd.array([1, None], dtype="Int64")}), True),
        (pd.DataFrame({"mixed": ["a", 3], "rank": [1, 2]}), False),
    ],
    ids=[
        "hostile text",
        "no rows",
        "carriage return",
        "carriage return after a missing cell",
        "one column",
        "floats",
        "nullable",
        "mixed",
    ],
)
def test_the_file_holds_the_bytes_pandas_writes(
    rows: pd.DataFrame, by_duckdb: bool, tmp_path: Path
) -> None:
    assert _duckdb_writes_alike(rows) is by_duckdb
    written = tmp_path / "campaign.csv"
    write_csv(rows, written)
    assert written.read_bytes() == pandas_bytes(rows, tmp_path)


def test_a_folder_that_is_gone_is_an_os_error(tmp_path: Path) -> None:
    rows = pd.DataFrame({"text": ["a"], "rank": [1]})
    with pytest.raises(OSError, match="gone"):
        write_csv(rows, tmp_path / "gone" / "campaign.csv")


@pytest.mark.parametrize(
    "rows", [pd.DataFrame({"text": ["a"], "rank": [1]}), pd.DataFrame({"a": [1.5]})]
)
def test_a_name_ending_in_gz_is_still_plain_text(rows: pd.DataFrame, tmp_path: Path) -> None:
    written = tmp_path / "campaign.csv.gz"
    write_csv(rows, written)
    assert written.read_bytes() == pandas_bytes(rows, tmp_path)

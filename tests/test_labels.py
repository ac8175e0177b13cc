"""Reading the expert's export format."""

from pathlib import Path

import pytest

from pipeline.orchestration.settings import DATA_DIR
from pipeline.quality.labels import LabelsFileError, read_expert_labels

HEADER = "Full Name,Title,Company,LI,Employee Range,Rank,,\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_ranks_ties_and_do_not_contact(tmp_path: Path) -> None:
    labels = read_expert_labels(
        write(
            tmp_path,
            "Ana Ruiz,CEO,Acme,https://li/ana,11-50,1,,\n"
            "Bo Li,VP Sales,Acme,,11-50,1,,\n"
            "Cy Ng,Welder,Acme,,11-50,-,,\n"
            "Di Oz,Engineer,Acme,,11-50,,,\n",
        )
    )
    assert labels["expert_rank"].tolist()[:2] == [1, 1]
    assert labels["expert_rank"].isna().tolist() == [False, False, True, True]
    assert labels[["lead_first_name", "lead_last_name"]].iloc[0].tolist() == ["Ana", "Ruiz"]
    assert set(labels["account_employee_range"]) == {"11-50"}
    assert labels["company_key"].unique().tolist() == ["Acme"]


def test_the_same_person_twice_counts_once_with_the_better_rank(tmp_path: Path) -> None:
    labels = read_expert_labels(
        write(tmp_path, "Ana Ruiz,CEO,Acme,,11-50,-,,\nAna Ruiz,CEO,Acme,,11-50,2,,\n")
    )
    assert len(labels) == 1
    assert labels["expert_rank"].iloc[0] == 2


def test_a_bad_rank_names_the_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Ana Ruiz,CEO,Acme,,11-50,1,,\nBo Li,VP,Acme,,11-50,first,,\n")
    with pytest.raises(LabelsFileError, match=r"row 3: column 'Rank' is 'first'"):
        read_expert_labels(path)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "Ana Ruiz,Acme,1\n", header="Full Name,Company,Rank\n")
    with pytest.raises(LabelsFileError, match=r"missing column.*Title.*Employee Range"):
        read_expert_labels(path)


def test_the_bundled_labels() -> None:
    labels = read_expert_labels(DATA_DIR / "eval_dev.csv")
    assert labels["company_key"].nunique() == 6
    assert int(labels["expert_rank"].notna().sum()) == 35

"""The `persona-ranker` command end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.orchestration.resources import ExpertLabels
from pipeline.orchestration.settings import DUCKDB_SCHEMA

CLI = str(Path(sys.executable).with_name("persona-ranker"))

NO_DOMAINS = [
    ("Acme Robotics", "Ana", "Ruiz", "Co-Founder & CEO", "", "11-50", ""),
    ("Acme Robotics", "Bo", "Li", "HR Manager", "", "11-50", ""),
    ("Acme Robotics", "Cy", "Ng", "Head of Sales", "", "11-50", ""),
    ("Globex, Inc.", "Di", "Oz", "VP Sales Development", "", "501-1000", ""),
    ("Globex, Inc.", "Ed", "Po", "CEO", "", "501-1000", ""),
    ("Globex, Inc.", "Fa", "Qi", "Welder", "", "501-1000", ""),
    ("Initech", "Gu", "Ra", "undefined", "", "", ""),
]


def run_cli(
    tmp_path: Path, *args: str, command: str = "run", **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"), **variables}
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    env.pop("GROQ_API_KEY", None)
    return subprocess.run(
        [CLI, command, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.slow
def test_cli_ranks_a_file_without_domains_into_a_fresh_warehouse(
    tmp_path: Path, write_leads
) -> None:
    leads = write_leads(NO_DOMAINS, name="other.csv")
    warehouse = tmp_path / "fresh" / "w.duckdb"
    export = tmp_path / "c.csv"
    done = run_cli(
        tmp_path, "--leads", str(leads), "--warehouse", str(warehouse), "--export", str(export)
    )
    assert done.returncode == 0, done.stderr
    assert "Evaluator: rules (auto: GROQ_API_KEY is unset)" in done.stderr + done.stdout
    assert "Acme Robotics (Acme Robotics, startup)" in done.stdout
    assert "1. Ana Ruiz: Co-Founder & CEO" in done.stdout
    assert f"Campaign file: {export}" in done.stdout

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        companies = {
            row[0]
            for row in connection.execute(
                f"select distinct company_key from {DUCKDB_SCHEMA}.ranked_leads"
            ).fetchall()
        }
        ranked = connection.sql(f"select * from {DUCKDB_SCHEMA}.ranked_leads").df()
    assert companies == {"Acme Robotics", "Globex, Inc.", "Initech"}
    chosen = set(ranked.loc[ranked["company_rank"].notna(), "lead_job_title"])
    # Globex's CEO ranks below its VP of Sales Development: the ladder, not a filter.
    assert chosen == {"Co-Founder & CEO", "Head of Sales", "VP Sales Development", "CEO"}
    campaign = pd.read_csv(export, dtype=str, keep_default_na=False)
    assert len(campaign) == 4


@pytest.mark.slow
def test_cli_top_n_and_missing_column(tmp_path: Path, write_leads) -> None:
    leads = write_leads(NO_DOMAINS)
    export = tmp_path / "c.csv"
    done = run_cli(
        tmp_path,
        "--leads",
        str(leads),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--export",
        str(export),
        "--top-n",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(export).groupby("company_key").size().max() == 1

    broken = write_leads(
        [("Acme", "Ana", "Ruiz")],
        name="broken.csv",
        header=("account_name", "lead_first_name", "lead_last_name"),
    )
    failed = run_cli(tmp_path, "--leads", str(broken), "--warehouse", str(tmp_path / "x.duckdb"))
    assert failed.returncode == 2
    assert "broken.csv: missing required column 'lead_job_title'" in failed.stderr
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.slow
def test_cli_eval_meets_the_quality_targets_and_leaves_the_user_warehouse_alone(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "user" / "warehouse.duckdb"
    os.environ["PERSONA_RANKER_WAREHOUSE"] = str(warehouse)
    try:
        done = run_cli(tmp_path, "--json", "--loco", command="eval")
    finally:
        del os.environ["PERSONA_RANKER_WAREHOUSE"]
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["evaluator"] == "rules"
    floors = ExpertLabels().floors()
    assert {name: document[name] >= floor for name, floor in floors.items()} == dict.fromkeys(
        floors, True
    )
    held_out = document["leave_one_company_out"]["held_out"]
    assert abs(held_out["ndcg_at_k"] - document["ndcg@3"]) <= 0.05
    assert len(document["report"]["companies"]) == 6
    assert not warehouse.exists()


@pytest.mark.slow
def test_cli_eval_scores_other_labelled_companies_and_names_bad_rows(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "Full Name,Title,Company,LI,Employee Range,Rank\n"
        "Ana Ruiz,VP Sales Development,Initrode,,201-500,1\n"
        "Bo Li,Welder,Initrode,,201-500,-\n"
        "Cy Ng,CFO,Initrode,,201-500,2\n",
        encoding="utf-8",
    )
    done = run_cli(tmp_path, "--labels", str(labels), "--k", "2", command="eval")
    assert done.returncode == 0, done.stderr
    assert "ndcg@2" in done.stdout
    assert "The expert ranked, we did not:" in done.stdout
    assert "CFO" in done.stdout.split("The expert ranked, we did not:")[1]
    labels.write_text(
        "Full Name,Title,Company,LI,Employee Range,Rank\nAna Ruiz,VP,Initrode,,201-500,top\n",
        encoding="utf-8",
    )
    failed = run_cli(tmp_path, "--labels", str(labels), command="eval")
    assert failed.returncode == 2
    assert "row 2: column 'Rank' is 'top'" in failed.stderr


@pytest.mark.slow
def test_strict_refuses_a_file_with_bad_rows_before_any_run(tmp_path: Path, write_leads) -> None:
    leads = write_leads([NO_DOMAINS[0], ("", "Bo", "Li", "CEO", "", "11-50", "")], name="bad.csv")
    warehouse = tmp_path / "w.duckdb"
    args = [
        "--leads",
        str(leads),
        "--warehouse",
        str(warehouse),
        "--export",
        str(tmp_path / "c.csv"),
    ]
    strict = run_cli(tmp_path, *args, "--strict")
    assert strict.returncode == 2
    assert "--strict: 1 bad row(s): line 3: no company" in strict.stderr
    assert not warehouse.exists()
    lenient = run_cli(tmp_path, *args)
    assert lenient.returncode == 0, lenient.stderr
    assert "1 row(s) rejected, see rejected_leads: line 3: no company" in lenient.stderr


@pytest.mark.slow
def test_a_multiprocess_run_judges_in_shards_and_writes_what_one_process_writes(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    alone = run_cli(
        tmp_path,
        "--warehouse",
        str(tmp_path / "a.duckdb"),
        "--export",
        str(tmp_path / "a" / "campaign.csv"),
    )
    assert alone.returncode == 0, alone.stderr
    assert "in 1 shard(s)" in alone.stderr
    spread = run_cli(
        tmp_path,
        "--executor",
        "multiprocess",
        "--warehouse",
        str(tmp_path / "b.duckdb"),
        "--export",
        str(tmp_path / "b" / "campaign.csv"),
        PERSONA_RANKER_LEADS_PER_SHARD="40",
        PERSONA_RANKER_WORK_DIR=work.as_uri(),
    )
    assert spread.returncode == 0, spread.stderr
    assert re.search(r"in [2-9] shard\(s\)", spread.stderr), spread.stderr
    assert (tmp_path / "b" / "campaign.csv").read_bytes() == (
        tmp_path / "a" / "campaign.csv"
    ).read_bytes()
    # The summary is the same, but for where the files went.
    assert spread.stdout.replace("/b", "/a") == alone.stdout
    (handed_over,) = work.iterdir()
    judged = [step for step in handed_over.iterdir() if "evaluate_shard[" in step.name]
    assert len(judged) >= 2
    assert all((step / "result").is_file() for step in judged)
    # The next run sweeps the files of a run that succeeded.
    again = run_cli(
        tmp_path, "--warehouse", str(tmp_path / "a.duckdb"), PERSONA_RANKER_WORK_DIR=work.as_uri()
    )
    assert again.returncode == 0, again.stderr
    assert not handed_over.exists()


@pytest.mark.slow
def test_cli_reruns_one_company_alone(tmp_path: Path, write_leads) -> None:
    leads = write_leads(NO_DOMAINS, name="other.csv")
    warehouse = tmp_path / "w.duckdb"
    common = ("--leads", str(leads), "--warehouse", str(warehouse))
    assert run_cli(tmp_path, *common).returncode == 0

    def evaluated_at() -> dict[str, object]:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            return dict(
                connection.execute(
                    f"select company_key, max(evaluated_at) from {DUCKDB_SCHEMA}.lead_evaluations "
                    "group by all"
                ).fetchall()
            )

    before = evaluated_at()
    done = run_cli(tmp_path, *common, "--company", "globex, inc.")
    assert done.returncode == 0, done.stderr
    after = evaluated_at()
    # Only Globex was evaluated again; the other companies kept their evaluations.
    assert {key for key in before if after[key] != before[key]} == {"Globex, Inc."}
    assert "Globex, Inc." in done.stdout, "the ranking is still printed for every company"

    unknown = run_cli(tmp_path, *common, "--company", "Umbrella")
    assert unknown.returncode == 2
    assert "no company named 'Umbrella' in the leads" in unknown.stderr


@pytest.mark.slow
def test_cli_reads_an_excel_sheet_and_a_column_map(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Notes"
    sheet = workbook.create_sheet("Contacts")
    sheet.append(["Company", "First Name", "Last Name", "Title", "Job Title", "Employees"])
    sheet.append(["Acme Robotics", "Ana", "Ruiz", "Sales", "VP of Sales", "51-200"])
    sheet.append(["Acme Robotics", "Bo", "Li", "HR", "HR Manager", "51-200"])
    leads = tmp_path / "export.xlsx"
    workbook.save(leads)
    common = ("--leads", str(leads), "--warehouse", str(tmp_path / "w.duckdb"))
    ambiguous = run_cli(tmp_path, *common, "--sheet", "Contacts")
    assert ambiguous.returncode == 2
    assert "could each be lead_job_title" in ambiguous.stderr
    done = run_cli(
        tmp_path,
        *common,
        "--sheet",
        "Contacts",
        "--columns",
        "lead_job_title=Job Title",
        "--export",
        str(tmp_path / "c.csv"),
    )
    assert done.returncode == 0, done.stderr
    assert "1. Ana Ruiz: VP of Sales" in done.stdout

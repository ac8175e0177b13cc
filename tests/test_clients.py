"""Several clients in one warehouse: the clients file, each client ranked by its own persona
into its own files, one client's run never touching another's rows, per-client schedule and
inbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from dagster import DagsterInstance, RunRequest, build_schedule_context, build_sensor_context
from support import run_rank_leads
from test_cli import run_cli

from pipeline.definitions import build_definitions
from pipeline.orchestration.clients import (
    DEFAULT_CLIENT,
    ClientsFileError,
    choose_clients,
    load_clients,
)
from pipeline.orchestration.resources import ExpertLabels
from pipeline.orchestration.settings import DATA_DIR, DUCKDB_SCHEMA, Settings

HR_PERSONA = DATA_DIR / "agency" / "personas" / "hr_software.yaml"
# The same companies in both clients' lead bases; one person is a lead of both.
SHARED = ("Acme", "Ana", "Ruiz", "VP of Sales", "acme.com", "51-200", "Software")
SALES_LEADS = [
    SHARED,
    ("Acme", "Bo", "Li", "HR Director", "acme.com", "51-200", "Software"),
    ("Acme", "Cy", "Ng", "Welder", "acme.com", "51-200", "Software"),
    ("Globex", "Di", "Oz", "VP Human Resources", "globex.com", "501-1000", "Software"),
    ("Globex", "Ed", "Po", "VP Sales Development", "globex.com", "501-1000", "Software"),
]
PEOPLE_LEADS = [
    SHARED,
    ("Acme", "Bo", "Li", "HR Director", "acme.com", "51-200", "Software"),
    ("Globex", "Di", "Oz", "VP Human Resources", "globex.com", "501-1000", "Software"),
    ("Globex", "Fa", "Qi", "Talent Acquisition Manager", "globex.com", "501-1000", "Software"),
]
TABLES = ("raw_leads", "enriched_leads", "lead_evaluations", "ranked_leads", "campaign_export")


def write_agency(tmp_path: Path, write_leads: Callable[..., Path], **people: object) -> Path:
    write_leads(SALES_LEADS, name="sales.csv")
    write_leads(PEOPLE_LEADS, name="people.csv")
    clients = {
        "sales": {"persona": str(DATA_DIR / "persona.yaml"), "leads": "sales.csv"},
        "people": {
            "persona": str(HR_PERSONA),
            "leads": "people.csv",
            "export": "out/people",
            "top_n": 1,
            **people,
        },
    }
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": clients}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def agency(tmp_path: Path, write_leads: Callable[..., Path]) -> Settings:
    return Settings(
        clients_path=write_agency(tmp_path, write_leads),
        warehouse_path=tmp_path / "w.duckdb",
        export_path=tmp_path / "exports" / "campaign.csv",
        inbox_path=tmp_path / "inbox",
        inbox_settle_s=0,  # the tests' files are whole when written
        evaluator="rules",
    )


def rank(settings: Settings, instance: DagsterInstance, client: str) -> None:
    result = run_rank_leads(settings, instance, client=client)
    assert result.success
    assert result.dagster_run.tags["dagster/partition"] == client


def rows(settings: Settings, table: str, client: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        frame = connection.execute(
            f"select * from {DUCKDB_SCHEMA}.{table} where client = ?", [client]
        ).df()
    return frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)


def test_without_a_clients_file_there_is_one_default_client() -> None:
    settings = Settings()
    (client,) = load_clients(settings).values()
    assert client.name == DEFAULT_CLIENT
    assert client.settings == settings


def test_the_clients_file_gives_each_client_its_files_and_overrides(agency: Settings) -> None:
    clients = load_clients(agency)
    assert list(clients) == ["sales", "people"]
    sales, people = clients["sales"].settings, clients["people"].settings
    assert people.persona_path == HR_PERSONA
    assert people.leads_path == agency.clients_path.parent / "people.csv"
    assert people.export_path == agency.clients_path.parent / "out" / "people" / "campaign.csv"
    assert people.report_file == people.export_path.with_name("report.html")
    assert sales.export_path == agency.export_path.parent / "sales" / "campaign.csv"
    assert (sales.top_n, people.top_n) == (3, 1)
    assert sales.inbox_path == agency.inbox_path / "sales"
    assert people.labels_path is None, "labels belong to one persona: none unless named"


def test_a_client_sets_its_export_format_suppression_list_and_kept_columns(
    agency: Settings,
) -> None:
    path = agency.clients_path
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "  people:\n",
            "  people:\n    export_format: lemlist\n    suppress: dnc.csv\n"
            "    keep: [Owner, Lead Source]\n",
        ),
        encoding="utf-8",
    )
    people = load_clients(agency)["people"].settings
    assert people.export_format == "lemlist"
    assert people.suppress_path == path.parent / "dnc.csv"
    assert people.keep_columns == ("Owner", "Lead Source")
    assert load_clients(agency)["sales"].settings.export_format == "generic"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"leads": "x.csv"}, "clients.people.persona: required"),
        ({"persona": "p.yaml", "leads": "x.csv", "topn": 2}, "clients.people.topn: unknown key"),
        ({"persona": "p.yaml", "leads": "x.csv", "top_n": 0}, "top N must be at least 1"),
        ({"persona": "p.yaml", "leads": "x.csv", "evaluator": "gpt"}, "choose from auto"),
        ({"persona": "p.yaml", "leads": "x.csv", "schedule": "no"}, "expected true or false"),
        (
            {"persona": "p.yaml", "leads": "x.csv", "export_format": "mailchimp"},
            "clients.people.export_format: choose from generic, hubspot",
        ),
        (
            {"persona": "p.yaml", "leads": "x.csv", "keep": "Owner"},
            "clients.people.keep: expected a list",
        ),
        (
            {"persona": "p.yaml", "leads": "x.csv", "suppress": ""},
            "clients.people.suppress: expected a path",
        ),
    ],
)
def test_a_bad_clients_file_names_the_file_the_client_and_the_key(
    tmp_path: Path, entry: dict[str, object], message: str
) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": {"people": entry}}), encoding="utf-8")
    with pytest.raises(ClientsFileError, match=message) as raised:
        load_clients(Settings(clients_path=path))
    assert str(path) in str(raised.value)


def test_a_client_name_must_be_usable_as_a_partition_and_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text(
        yaml.safe_dump({"clients": {"Acme Corp/EU": {"persona": "p", "leads": "l"}}}),
        encoding="utf-8",
    )
    with pytest.raises(ClientsFileError, match="lower-case letters"):
        load_clients(Settings(clients_path=path))


def test_choosing_clients_names_the_known_ones(agency: Settings) -> None:
    clients = load_clients(agency)
    with pytest.raises(ClientsFileError, match=r"unknown client 'acme' \(known: sales, people\)"):
        choose_clients(clients, ["acme"], every=False)
    with pytest.raises(ClientsFileError, match="choose --client NAME or --all-clients"):
        choose_clients(clients, [], every=False)
    assert [c.name for c in choose_clients(clients, [], every=True)] == ["sales", "people"]
    assert [c.name for c in choose_clients(clients, ["people"], every=False)] == ["people"]


def test_the_graph_is_partitioned_by_client(agency: Settings) -> None:
    defs = build_definitions(agency)
    job = defs.resolve_job_def("rank_leads")
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys() == ["sales", "people"]
    for asset in defs.assets:
        assert asset.backfill_policy is not None
        assert asset.backfill_policy.max_partitions_per_run == 1, "one client per run"


def test_two_clients_are_ranked_by_their_own_personas_into_their_own_files(
    agency: Settings, instance: DagsterInstance
) -> None:
    rank(agency, instance, "sales")
    rank(agency, instance, "people")
    ranked = {client: rows(agency, "ranked_leads", client) for client in ("sales", "people")}
    first = {
        client: dict(
            zip(
                frame.loc[frame["company_rank"] == 1, "company_key"],
                frame.loc[frame["company_rank"] == 1, "lead_job_title"],
                strict=True,
            )
        )
        for client, frame in ranked.items()
    }
    assert first["sales"] == {"acme.com": "VP of Sales", "globex.com": "VP Sales Development"}
    assert first["people"] == {"acme.com": "HR Director", "globex.com": "VP Human Resources"}
    # The same person is a lead of both clients, with one lead id, judged by each persona.
    shared = {
        client: frame.loc[frame["lead_first_name"] == "Ana"].iloc[0]
        for client, frame in ranked.items()
    }
    assert shared["sales"]["lead_id"] == shared["people"]["lead_id"]
    assert shared["sales"]["company_rank"] == 1
    assert pd.isna(shared["people"]["company_rank"]), "a seller is not an HR buyer"
    # Each client's campaign file and report in its own folder, at its own top N.
    clients = load_clients(agency)
    for name, top_n in (("sales", 3), ("people", 1)):
        own = clients[name].settings
        campaign = pd.read_csv(own.export_path, dtype=str, keep_default_na=False)
        assert campaign.groupby("company_key").size().max() <= top_n
        assert "client" not in campaign.columns, "the file is the client's own"
        assert set(campaign["lead_id"]) == set(rows(agency, "campaign_export", name)["lead_id"])
        assert f"ranked leads ({name})" in own.report_file.read_text(encoding="utf-8")


def test_running_one_client_never_changes_a_row_of_another(
    agency: Settings, instance: DagsterInstance
) -> None:
    rank(agency, instance, "sales")
    rank(agency, instance, "people")
    before = {table: rows(agency, table, "people") for table in TABLES}
    sales_before = rows(agency, "lead_evaluations", "sales")
    rank(agency, instance, "sales")
    for table in TABLES:
        pd.testing.assert_frame_equal(rows(agency, table, "people"), before[table])
    sales_after = rows(agency, "lead_evaluations", "sales")
    assert (sales_after["evaluated_at"] > sales_before["evaluated_at"]).all()
    with duckdb.connect(str(agency.warehouse_path), read_only=True) as connection:
        view = connection.execute(
            f"select distinct client from {DUCKDB_SCHEMA}.current_ranked_leads order by 1"
        ).fetchall()
    assert view == [("people",), ("sales",)]


def test_a_client_with_a_bad_persona_fails_alone(
    agency: Settings, instance: DagsterInstance, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    clients = load_clients(agency)
    clients["people"] = replace(
        clients["people"], settings=replace(clients["people"].settings, persona_path=broken)
    )
    failed = run_rank_leads(agency, instance, False, client="people", clients=clients)
    assert not failed.success
    assert run_rank_leads(agency, instance, client="sales", clients=clients).success
    assert len(rows(agency, "ranked_leads", "sales")) == len(SALES_LEADS)


def test_the_schedule_reranks_every_scheduled_client_one_run_each(
    tmp_path: Path, write_leads: Callable[..., Path], instance: DagsterInstance
) -> None:
    settings = Settings(
        clients_path=write_agency(tmp_path, write_leads, schedule=False),
        warehouse_path=tmp_path / "w.duckdb",
        evaluator="rules",
    )
    schedule = build_definitions(settings).resolve_schedule_def("nightly_rerank")
    requests = schedule(build_schedule_context(instance=instance))
    assert [request.partition_key for request in requests] == ["sales"]
    assert "sales" in schedule.description and "people" not in schedule.description


def test_each_client_has_its_own_inbox(
    agency: Settings, instance: DagsterInstance, write_leads: Callable[..., Path]
) -> None:
    rank(agency, instance, "people")
    people_inbox = agency.inbox_path / "people"
    people_inbox.mkdir(parents=True)
    write_leads(
        [("Initech", "Gu", "Ha", "Chief People Officer", "initech.com", "51-200", "Software")],
        name="inbox/people/new.csv",
    )
    sensor = build_definitions(agency).resolve_sensor_def("lead_inbox")
    result = sensor(build_sensor_context(instance=instance))
    (request,) = result.run_requests
    assert isinstance(request, RunRequest)
    assert request.partition_key == "people"
    assert request.run_config["ops"]["lead_evaluations"]["config"]["companies"] == ["initech.com"]
    base = pd.read_csv(load_clients(agency)["people"].settings.leads_path, dtype=str)
    assert "Initech" in set(base["account_name"])
    sales_base = pd.read_csv(load_clients(agency)["sales"].settings.leads_path, dtype=str)
    assert "Initech" not in set(sales_base["account_name"])


@pytest.mark.slow
def test_the_command_line_runs_every_client_and_a_bad_one_fails_alone(
    tmp_path: Path, write_leads: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clients' export folders default to beside this one.
    monkeypatch.setenv("PERSONA_RANKER_EXPORT", str(tmp_path / "exports" / "campaign.csv"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    clients = write_agency(tmp_path, write_leads, persona=str(broken))
    common = ("--clients", str(clients), "--warehouse", str(tmp_path / "w.duckdb"))
    unchosen = run_cli(tmp_path, *common)
    assert unchosen.returncode == 2
    assert "choose --client NAME or --all-clients (known: sales, people)" in unchosen.stderr
    flagged = run_cli(tmp_path, *common, "--all-clients", "--leads", "x.csv")
    assert flagged.returncode == 2 and "set it per client there" in flagged.stderr
    done = run_cli(tmp_path, *common, "--all-clients")
    assert done.returncode == 2
    assert f"error: client people: {broken}" in done.stderr
    assert "1 of 2 clients failed: people" in done.stderr
    assert "Client sales" in done.stdout
    assert (tmp_path / "exports" / "sales" / "campaign.csv").exists()
    assert not (tmp_path / "out" / "people" / "campaign.csv").exists()


@pytest.mark.slow
def test_eval_scores_one_client_against_its_labels(
    tmp_path: Path, write_leads: Callable[..., Path]
) -> None:
    clients = write_agency(tmp_path, write_leads)
    scored = run_cli(
        tmp_path,
        "--clients",
        str(clients),
        "--client",
        "sales",
        "--labels",
        str(DATA_DIR / "eval_dev.csv"),
        "--json",
        command="eval",
    )
    assert scored.returncode == 0, scored.stderr
    scored_json = json.loads(scored.stdout)
    assert (
        scored_json["client"] == "sales" and scored_json["ndcg@3"] >= ExpertLabels().min_ndcg_at_k
    )
    unlabelled = run_cli(tmp_path, "--clients", str(clients), "--client", "people", command="eval")
    assert unlabelled.returncode == 2
    assert "client people has no expert labels" in unlabelled.stderr

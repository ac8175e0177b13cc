"""The Dagster UI seen in a real browser: start `dagster dev`, rank the bundled leads through
the GraphQL API, and take headless screenshots of the asset graph, of `ranked_leads`' latest
materialization and of the run's HTML report (report.png).

    .venv/bin/python bench/ui_screenshots.py [--out docs/images/] [--chromium /usr/bin/chromium]

Everything runs in a temporary DAGSTER_HOME, warehouse and export: the user's own are not
touched. The server runs in its own process group and is stopped by its PID with SIGTERM
(`dagster dev` started in the background from a shell ignores SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from pipeline.orchestration.instance import local_instance_config
from pipeline.orchestration.run_history import TRIGGER_TAG
from pipeline.orchestration.settings import PROJECT_ROOT

PAGES = {
    # The lineage around lead_evaluations: all five assets, in their groups.
    "asset_graph.png": (
        "/assets/lead_evaluations?view=lineage&lineageScope=neighbors&lineageDepth=3"
    ),
    "ranked_leads.png": "/assets/ranked_leads?view=events",
}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--hide-scrollbars",
    "--window-size=1600,1000",
    # Lets the single-page app fetch and draw before the picture is taken.
    "--virtual-time-budget=20000",
)
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LOCATION = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str, variables: dict[str, object] | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        document = json.load(response)
    if document.get("errors"):
        raise RuntimeError(f"GraphQL error: {document['errors']}")
    return document["data"]


def wait_for_server(port: int, server: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {server.returncode}")
        try:
            entries = graphql(port, LOCATION)["workspaceOrError"]["locationEntries"]
            if entries:
                return
        except (OSError, RuntimeError, KeyError):
            pass
        time.sleep(1)
    raise TimeoutError(f"dagster dev did not answer on port {port} in {timeout_s:.0f} s")


def location_name(port: int) -> str:
    return graphql(port, LOCATION)["workspaceOrError"]["locationEntries"][0]["name"]


def launch_ranking(port: int, tags: dict[str, str]) -> str:
    location = location_name(port)
    params = {
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "jobName": "rank_leads",
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    launched = graphql(port, LAUNCH, {"params": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun failed: {launched}")
    return launched["run"]["runId"]


def wait_for_run(port: int, run_id: str, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = graphql(port, STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise TimeoutError(f"run {run_id} did not finish in {timeout_s:.0f} s")


def screenshot(chromium: str, url: str, target: Path) -> None:
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--screenshot={target}", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if not target.is_file() or target.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no picture of {url}")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (the webserver and the daemon are its
    children), then SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    except ProcessLookupError:
        pass


def take_screenshots(out: Path, chromium: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="persona-ranker-ui-") as scratch:
        home = Path(scratch) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(local_instance_config(), encoding="utf-8")
        # What clicking "Skip" on the UI's first-visit "Join the community" dialog records.
        (home / ".nux").mkdir()
        (home / ".nux" / "nux.yaml").write_text("seen: 1\n", encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "PERSONA_"))},
            "DAGSTER_HOME": str(home),
            "PERSONA_RANKER_WAREHOUSE": str(Path(scratch) / "warehouse.duckdb"),
            "PERSONA_RANKER_EXPORT": str(Path(scratch) / "campaign.csv"),
            "PERSONA_RANKER_EVALUATOR": "rules",
        }
        port = free_port()
        dagster = str(Path(sys.executable).with_name("dagster"))
        server = subprocess.Popen(
            [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_server(port, server)
            tags = {"dagster/partition": "default", TRIGGER_TAG: "manual"}
            run_id = launch_ranking(port, tags)
            status = wait_for_run(port, run_id)
            if status != "SUCCESS":
                raise RuntimeError(f"the ranking run {run_id} ended {status}")
            pictures = []
            location = location_name(port)
            for name, page in PAGES.items():
                url = f"http://127.0.0.1:{port}{page.format(location=location)}"
                screenshot(chromium, url, out / name)
                pictures.append(out / name)
            # The report the run wrote beside its campaign file, as the sales team opens it.
            report = (Path(scratch) / "report.html").resolve().as_uri()
            screenshot(chromium, report, out / "report.png")
            pictures.append(out / "report.png")
            return pictures
        finally:
            stop(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "images")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    for picture in take_screenshots(args.out, args.chromium):
        print(f"{picture} ({picture.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

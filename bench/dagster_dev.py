"""`dagster dev` for the project, in a home of its own, driven over its GraphQL API: what the
UI screenshots and the nightly-fault tests and soak run against (the webserver, the daemon with
its schedules, sensors, run monitoring and run retries, and the code server).

The server runs in its own process group and is stopped by its PID with SIGTERM (`dagster
dev` started in the background from a shell ignores SIGINT/SIGTERM).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRun, RunsFilter

from pipeline.orchestration.instance import local_instance_config
from pipeline.orchestration.settings import PROJECT_ROOT

Found = TypeVar("Found")

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
RUNS = "{ runsOrError(limit: 1) { __typename } }"


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


def launch_ranking(
    port: int, tags: dict[str, str], run_config: dict[str, object] | None = None
) -> str:
    """Launches the rank_leads job as the UI does (through the instance's queue); its run id."""
    location = location_name(port)
    params = {
        "runConfigData": run_config or {},
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "jobName": "rank_leads",
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    # After its storage restarted, the webserver's first requests may fail on connections
    # the restart closed (HTTP 500): asked again, as a user would click again.
    for attempt in range(3):
        try:
            launched = graphql(port, LAUNCH, {"params": params})["launchRun"]
            break
        except urllib.error.HTTPError:
            if attempt == 2:
                raise
            time.sleep(1)
    if launched["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun failed: {launched}")
    return launched["run"]["runId"]


def wait_for_run(port: int, run_id: str, timeout_s: float = 300) -> str:
    """The run's final status. The server not answering for a while (its storage
    restarting) is waited out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            status = graphql(port, STATUS, {"id": run_id})["runOrError"]["status"]
        except (OSError, RuntimeError):
            status = None
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise TimeoutError(f"run {run_id} did not finish in {timeout_s:.0f} s")


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


# A daemon that reacts in seconds, for tests and benchmarks that play many runs: run
# monitoring's poll, a run that never started, the slots of a finished run and the queue's
# dequeue (30, 180, 60 and 5 s in the shipped dagster.yaml, which suit a nightly run; a run's
# process starts in about 2 s here).
QUICK_DAEMON: dict[str, dict[str, object]] = {
    "run_monitoring": {
        "poll_interval_seconds": 2,
        "start_timeout_seconds": 30,
        "free_slots_after_run_end_seconds": 1,
    },
    "run_coordinator": {"config": {"dequeue_interval_seconds": 1}},
}


def new_home(home: Path, postgres_storage: bool = False, quick: bool = False) -> Path:
    """A DAGSTER_HOME with the project's instance settings: on local storage, or with
    `postgres_storage` on the PostgreSQL the DAGSTER_PG_* variables name, as in production;
    `quick` for the daemon's short intervals (`QUICK_DAEMON`). The UI's first-visit dialog is
    already dismissed (what clicking "Skip" records)."""
    home.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load(
        (PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8")
        if postgres_storage
        else local_instance_config()
    )
    for section, values in (QUICK_DAEMON if quick else {}).items():
        settings[section] = {**settings.get(section, {}), **values}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), "utf-8")
    (home / ".nux").mkdir(exist_ok=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n", encoding="utf-8")
    return home


@contextmanager
def dagster_dev(home: Path, env: dict[str, str], log: Path | None = None) -> Iterator[int]:
    """`dagster dev` on the project's workspace with DAGSTER_HOME=`home` and `env` over this
    process's environment (the GROQ_* and PERSONA_RANKER_* variables left out); yields its
    port once the code location is loaded."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "PERSONA_"))},
        "DAGSTER_HOME": str(home),
        # The daemon's run retries read the event log every second (5 s by default).
        "DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS": "1",
        **env,
    }
    port = free_port()
    dagster = str(Path(sys.executable).with_name("dagster"))
    output = log.open("wb") if log else subprocess.DEVNULL
    server = subprocess.Popen(
        [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_server(port, server)
        yield port
    finally:
        stop(server)
        if log:
            output.close()  # type: ignore[union-attr]


def wait_for_storage(port: int, timeout_s: float = 60) -> None:
    """Until the webserver answers a query of its run storage: after the storage restarted,
    its first requests may fail on connections the restart closed (HTTP 500), and a launch
    failing half-way leaves a run that never starts."""

    def answers() -> bool:
        try:
            graphql(port, RUNS)
        except (OSError, RuntimeError):
            return False
        return True

    wait_until(answers, timeout_s, "the webserver's run storage")


def wait_until(condition: Callable[[], Found], timeout_s: float, what: str) -> Found:
    """The first truthy value of `condition`, polled every 0.2 s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"{what} not seen in {timeout_s:.0f} s")


def kill_step_process(instance: DagsterInstance, run_id: str, step_prefix: str) -> int:
    """SIGKILL to the process the run's first step named `step_prefix...` runs in (the run
    worker, for an in-process run), as the machine's out-of-memory killer would; its pid."""

    def started() -> int | None:
        for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START):
            if record.step_key and record.step_key.startswith(step_prefix):
                return record.dagster_event.pid if record.dagster_event else None
        return None

    pid = wait_until(started, 120, f"step {step_prefix} of run {run_id}")
    os.kill(pid, signal.SIGKILL)
    return pid


def retry_of(instance: DagsterInstance, run_id: str, timeout_s: float = 120) -> DagsterRun:
    """The run the daemon launched to retry `run_id` from its failure."""
    return wait_until(
        lambda: instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id})),
        timeout_s,
        f"a retry of run {run_id}",
    )[0]

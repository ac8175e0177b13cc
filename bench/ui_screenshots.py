"""The Dagster UI seen in a real browser: start `dagster dev`, rank the bundled leads through
the GraphQL API, and take headless screenshots of the asset graph, of `ranked_leads`' latest
materialization and of the run's HTML report (report.png). Then a run on the local
Groq-compatible server whose worker is killed in the model step, and the daemon's retry of
it from its failure (retried_run.png).

    .venv/bin/python bench/ui_screenshots.py [--out docs/images/] [--chromium /usr/bin/chromium]

Everything runs in a temporary DAGSTER_HOME, warehouse and export: the user's own are not
touched.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dagster import DagsterInstance
from dagster_dev import (  # this folder: scripts, not a package
    dagster_dev,
    kill_step_process,
    launch_ranking,
    location_name,
    new_home,
    retry_of,
    wait_for_run,
    wait_until,
)

from pipeline.groq_server.server import MockGroq, MockSettings
from pipeline.llm.config import load_groq_config
from pipeline.orchestration.run_history import TRIGGER_TAG
from pipeline.orchestration.settings import DATA_DIR, PROJECT_ROOT
from pipeline.persona.reader import load_persona

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


def screenshot(chromium: str, url: str, target: Path) -> None:
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--screenshot={target}", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if not target.is_file() or target.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no picture of {url}")


def take_screenshots(out: Path, chromium: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="persona-ranker-ui-") as scratch:
        env = {
            "PERSONA_RANKER_WAREHOUSE": str(Path(scratch) / "warehouse.duckdb"),
            "PERSONA_RANKER_EXPORT": str(Path(scratch) / "campaign.csv"),
            "PERSONA_RANKER_EVALUATOR": "rules",
        }
        with dagster_dev(new_home(Path(scratch) / "dagster_home"), env) as port:
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
        retried = out / "retried_run.png"
        screenshot_retried_run(chromium, Path(scratch) / "retry", retried)
        return [*pictures, retried]


def screenshot_retried_run(chromium: str, scratch: Path, target: Path) -> None:
    """The page of a run the daemon retried from its failure, after the worker of the run
    before it was killed in the model step."""
    persona = load_persona(DATA_DIR / "persona.yaml")
    limits = load_groq_config(DATA_DIR / "groq.yaml").limits("free")
    env = {
        "GROQ_API_KEY": "gsk_screenshot",
        "PERSONA_RANKER_EVALUATOR": "groq",
        "PERSONA_RANKER_GROQ_BATCH_SIZE": "4",
        "PERSONA_RANKER_GROQ_CONCURRENCY": "1",
        "PERSONA_RANKER_WAREHOUSE": str(scratch / "warehouse.duckdb"),
        "PERSONA_RANKER_EXPORT": str(scratch / "campaign.csv"),
        "PERSONA_RANKER_WORK_DIR": str(scratch / "work"),
    }
    home = new_home(scratch / "dagster_home")
    with MockGroq(persona, MockSettings(limits, latency_s=0.3)) as server:
        env["GROQ_BASE_URL"] = server.base_url
        with dagster_dev(home, env) as port, DagsterInstance.from_config(str(home)) as instance:
            run_id = launch_ranking(port, {"dagster/partition": "default", TRIGGER_TAG: "manual"})
            wait_until(lambda: len(server.served()) >= 4, 120, "four model calls")
            kill_step_process(instance, run_id, "lead_evaluations.evaluate_shard")
            retry = retry_of(instance, run_id)
            status = wait_for_run(port, retry.run_id)
            if status != "SUCCESS":
                raise RuntimeError(f"the retry {retry.run_id} ended {status}")
            screenshot(chromium, f"http://127.0.0.1:{port}/runs/{retry.run_id}", target)


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

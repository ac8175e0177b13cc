"""Which Dagster instance runs are recorded in, so the CLI and the UI share one history."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance

from pipeline.settings import PROJECT_ROOT

LOCAL_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME when set; otherwise the project's own `.dagster_home` (Dagster's default
    local storage), which `persona-ranker run` and `persona-ranker dev` both use."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        return Path(home)
    LOCAL_DAGSTER_HOME.mkdir(exist_ok=True)
    config = LOCAL_DAGSTER_HOME / "dagster.yaml"
    # The project's instance settings (run queue, the "groq" pool) on default local storage.
    project_config = (PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8")
    if not config.exists() or config.read_text(encoding="utf-8") != project_config:
        config.write_text(project_config, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(LOCAL_DAGSTER_HOME)
    return LOCAL_DAGSTER_HOME


def project_instance() -> DagsterInstance:
    ensure_dagster_home()
    return DagsterInstance.get()

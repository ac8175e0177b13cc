"""Where inputs and outputs live: defaults under the project, overridable by environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

ENV_LEADS = "PERSONA_RANKER_LEADS"
ENV_PERSONA = "PERSONA_RANKER_PERSONA"
ENV_WAREHOUSE = "PERSONA_RANKER_WAREHOUSE"
ENV_EXPORT = "PERSONA_RANKER_EXPORT"
ENV_TOP_N = "PERSONA_RANKER_TOP_N"
ENV_EVALUATOR = "PERSONA_RANKER_EVALUATOR"
ENV_LABELS = "PERSONA_RANKER_LABELS"

EVALUATOR_CHOICES = ("auto", "rules")


@dataclass(frozen=True)
class Settings:
    leads_path: Path = DATA_DIR / "leads.csv"
    persona_path: Path = DATA_DIR / "persona.yaml"
    warehouse_path: Path = DATA_DIR / "warehouse.duckdb"
    export_path: Path = DATA_DIR / "exports" / "campaign.csv"
    # Expert rankings the quality check and `persona-ranker eval` score against.
    labels_path: Path = DATA_DIR / "eval_dev.csv"
    top_n: int = 3
    evaluator: str = "auto"

    def __post_init__(self) -> None:
        if self.top_n < 1:
            raise ValueError(f"top N must be at least 1, got {self.top_n}")
        if self.evaluator not in EVALUATOR_CHOICES:
            raise ValueError(
                f"unknown evaluator '{self.evaluator}' (choose from {', '.join(EVALUATOR_CHOICES)})"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        settings = cls()
        overrides: dict[str, object] = {}
        for variable, field in (
            (ENV_LEADS, "leads_path"),
            (ENV_PERSONA, "persona_path"),
            (ENV_WAREHOUSE, "warehouse_path"),
            (ENV_EXPORT, "export_path"),
            (ENV_LABELS, "labels_path"),
        ):
            if environ.get(variable):
                overrides[field] = Path(environ[variable]).expanduser().resolve()
        if environ.get(ENV_TOP_N):
            try:
                overrides["top_n"] = int(environ[ENV_TOP_N])
            except ValueError as error:
                raise ValueError(f"{ENV_TOP_N} must be a whole number") from error
        if environ.get(ENV_EVALUATOR):
            overrides["evaluator"] = environ[ENV_EVALUATOR]
        return replace(settings, **overrides)

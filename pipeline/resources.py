"""Dagster resources: the edges between the core and the outside world."""

from __future__ import annotations

import os
import tempfile
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from pipeline.evaluation import evaluate_with_rules
from pipeline.leads import read_leads_csv, with_identity
from pipeline.persona import Persona, load_persona


class LeadSource(ConfigurableResource):
    """The leads CSV that defines the lead base (each run replaces the base with this file)."""

    path: str = Field(description="Path of the leads CSV.")

    def read(self) -> pd.DataFrame:
        return with_identity(read_leads_csv(self.path))


class PersonaSource(ConfigurableResource):
    """The persona YAML file every rule is read from."""

    path: str = Field(description="Path of the persona YAML file.")

    def load(self) -> Persona:
        return load_persona(self.path)


class LeadEvaluator(ConfigurableResource):
    """The one interface every evaluator implements: leads in, one evaluation row per lead out.

    `leads` are enriched leads (lead_id, company_key, lead_job_title, size_band, title_* ...);
    the result has exactly the columns of `pipeline.evaluation.EVALUATION_COLUMNS`.
    """

    selected_because: str = Field(
        default="chosen explicitly", description="Why this evaluator runs, for the run log."
    )

    @property
    @abstractmethod
    def evaluator_name(self) -> str: ...

    @abstractmethod
    def evaluate(self, leads: pd.DataFrame, persona: Persona) -> pd.DataFrame: ...


class RulesEvaluator(LeadEvaluator):
    """Offline and deterministic: the persona file's rules, no network, no API key."""

    @property
    def evaluator_name(self) -> str:
        return "rules"

    def evaluate(self, leads: pd.DataFrame, persona: Persona) -> pd.DataFrame:
        return evaluate_with_rules(leads, persona, self.evaluator_name, datetime.now(UTC))


def select_evaluator(choice: str, environ: Mapping[str, str] = os.environ) -> LeadEvaluator:
    """`auto` picks the best evaluator this installation can run with the given environment."""
    if choice == "rules":
        return RulesEvaluator(selected_because="--evaluator rules")
    if environ.get("GROQ_API_KEY"):
        reason = "GROQ_API_KEY is set, but this version has no Groq evaluator yet"
    else:
        reason = "GROQ_API_KEY is unset"
    return RulesEvaluator(selected_because=f"auto: {reason}")


class CampaignExporter(ConfigurableResource):
    """Writes the campaign file the sales team loads into its outreach tool."""

    path: str = Field(description="Where the campaign CSV is written.")
    top_n: int = Field(default=3, ge=1, description="Leads per company in the campaign.")

    def write_csv(self, rows: pd.DataFrame) -> Path:
        """Written beside the target and renamed into place: readers never see half a file."""
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                rows.to_csv(stream, index=False)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target


class ExpertLabels(ConfigurableResource):
    """An expert's rankings and the quality floors below which the quality check warns."""

    path: str = Field(description="Expert labels CSV (Full Name, Title, Company, ..., Rank).")
    k: int = Field(default=3, ge=1, description="Depth of NDCG@k and precision@k.")
    min_ndcg_at_k: float = Field(default=0.90, description="Warn below this NDCG@k.")
    min_precision_at_k: float = Field(default=0.95, description="Warn below this precision@k.")
    min_f1: float = Field(default=0.70, description="Warn below this relevance F1.")
    min_hit_at_1: float = Field(default=1.0, description="Warn below this hit@1.")

    def floors(self) -> dict[str, float]:
        return {
            f"ndcg@{self.k}": self.min_ndcg_at_k,
            f"precision@{self.k}": self.min_precision_at_k,
            "f1": self.min_f1,
            "hit@1": self.min_hit_at_1,
        }

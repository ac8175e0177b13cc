"""One of the processes of tests/test_shared_budget.py: evaluates its half of the bundled
leads with the Groq evaluator, as a run would, and prints its figures as JSON."""

from __future__ import annotations

import json
import sys
import time

from pipeline.leads.files import read_lead_file
from pipeline.orchestration.resources import GroqEvaluator
from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.reader import load_persona
from pipeline.ranking.enrichment import enrich_leads


def main() -> None:
    job = json.loads(sys.argv[1])
    persona = load_persona(DATA_DIR / "persona.yaml")
    leads = enrich_leads(read_lead_file(DATA_DIR / "leads.csv").leads, persona)
    # Every other lead: the halves need the model about equally often, whichever companies
    # the file holds (the budget, not the ranking, is under test).
    mine = leads.iloc[job["half"] :: 2]
    evaluator = GroqEvaluator(
        api_key="test-key",
        base_url=job["base_url"],
        tier="test",
        config_path=job["config_path"],
        warehouse=job["warehouse"],
        warehouse_schema=job["schema"],
        concurrency=job["concurrency"],
        batch_size=2,
        minute_s=job["minute_s"],
        backoff_s=0.05,
    )
    time.sleep(max(0.0, job["start_at"] - time.time()))
    evaluated = evaluator.evaluate(mine, persona, f"worker-{job['half']}", "default")
    sys.stdout.write(
        json.dumps(
            {
                "leads": len(mine),
                **{k: v for k, v in evaluated.usage.items() if isinstance(v, int | float)},
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()

"""The synthetic lead files are deterministic for a seed and read like real exports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.leads.files import read_lead_file
from pipeline.orchestration.settings import PROJECT_ROOT
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads

SCRIPT = str(PROJECT_ROOT / "bench" / "make_leads.py")


def make(tmp_path: Path, name: str, seed: int) -> Path:
    out = tmp_path / name
    subprocess.run(
        [sys.executable, SCRIPT, "3000", "300", "--seed", str(seed), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def test_the_same_seed_writes_the_same_file(tmp_path: Path, persona: Persona) -> None:
    first, again, other = (
        make(tmp_path, "a.csv", 7),
        make(tmp_path, "b.csv", 7),
        make(tmp_path, "c.csv", 8),
    )
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()
    read = read_lead_file(first)
    assert read.leads["company_key"].nunique() == 300
    # Repeated rows at a few percent, as in real exports.
    assert 0.01 < len(read.rejected) / 3000 < 0.06
    bands = set(enrich_leads(read.leads, persona)["size_band"])
    assert bands == {"startup", "smb", "mid_market", "enterprise", "unknown"}

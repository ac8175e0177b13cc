from pathlib import Path

import pytest
import yaml

from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona.reader import load_persona
from pipeline.persona.spec import PersonaError


def test_default_persona_loads_with_every_band(persona) -> None:
    assert persona.band_names == ("startup", "smb", "mid_market", "enterprise")
    assert set(persona.primary_targets) == set(persona.band_names)
    assert len(persona.fingerprint) == 16


def broken_copy(tmp_path: Path, change, vocabulary_change=None) -> Path:
    """The default persona and its title vocabulary, copied side by side and changed."""
    for name, changed in (("persona.yaml", change), ("titles.yaml", vocabulary_change)):
        document = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
        if changed is not None:
            changed(document)
        (tmp_path / name).write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return tmp_path / "persona.yaml"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("seniority_matrix"), "seniority_matrix: missing"),
        (
            lambda d: d["primary_targets"]["smb"][0].update(departments=["salez"]),
            r"primary_targets.smb\[0\]: unknown department",
        ),
        (
            lambda d: d["primary_targets"]["smb"][0].update(seniority=["boss"]),
            r"primary_targets.smb\[0\]: unknown seniority",
        ),
        (lambda d: d["hard_exclusions"][0].update(tags=["nobody"]), "unknown tag"),
        (lambda d: d["size_bands"][1].update(min_employees=60), r"size_bands\[1\]"),
        (lambda d: d["seniority_matrix"]["manager"].update(smb=9), "between 0 and 5"),
        (lambda d: d.update(unknown_size_band_as="huge"), "unknown_size_band_as"),
        (
            # What an unquoted "{name: Account Executive (closer, not ...)}" turns into.
            lambda d: d["soft_exclusions"][0].update({"not outbound owner)": None}),
            r"soft_exclusions\[0\]: unknown key.*a comma inside an unquoted",
        ),
        (lambda d: d["score_bonuses"][0].update(departments=[]), "needs departments or tags"),
        (lambda d: d["ladder"]["rungs"][1].update(scores=[85, 90]), r"ladder.rungs\[1\]: scores"),
        (lambda d: d["ladder"]["rungs"][0].pop("primary_targets"), r"ladder.rungs\[0\]: the first"),
        (lambda d: d["ladder"]["rungs"][2].update(departments=["salez"]), "unknown department"),
        (lambda d: d["ladder"].update(max_ranked_per_company=0), "max_ranked_per_company"),
        (
            lambda d: d["semantic_reader"].update(floor=1.5),
            "semantic_reader: floor in",
        ),
        (
            lambda d: d["semantic_reader"]["roles"][0].update(departments=["salez"]),
            r"semantic_reader.roles\[0\]: unknown department",
        ),
    ],
)
def test_inconsistent_persona_names_file_and_key(tmp_path: Path, change, message: str) -> None:
    with pytest.raises(PersonaError, match=message) as raised:
        load_persona(broken_copy(tmp_path, change))
    assert "persona.yaml" in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["functional_leader"].update(seniority="boss"), "functional_leader"),
        (
            lambda d: d["other_organisation"].update(roles=["founder"]),
            "other_organisation: unknown key",
        ),
        (lambda d: d["head_segment_tags"].append("nobody"), "head_segment_tags: unknown tag"),
        (lambda d: d["statuses"].update(gone=["nobody"]), r"statuses.gone: unknown tag"),
        (lambda d: d["grade_words"].append("nonsense"), "grade_words: every word"),
    ],
)
def test_an_inconsistent_title_vocabulary_names_its_file_and_key(
    tmp_path: Path, change, message: str
) -> None:
    with pytest.raises(PersonaError, match=message) as raised:
        load_persona(broken_copy(tmp_path, None, change))
    assert "titles.yaml" in str(raised.value)


def test_a_missing_title_vocabulary_is_named(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, lambda d: d.update(title_vocabulary="nowhere.yaml"))
    with pytest.raises(PersonaError, match=r"nowhere\.yaml: cannot read the title vocabulary"):
        load_persona(path)


def test_the_fingerprint_covers_the_title_vocabulary(tmp_path: Path) -> None:
    same = load_persona(broken_copy(tmp_path, None))
    changed = load_persona(
        broken_copy(tmp_path, None, lambda d: d["translations"].update(boss="manager"))
    )
    assert same.fingerprint != changed.fingerprint


def test_missing_persona_file(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="cannot read"):
        load_persona(tmp_path / "nope.yaml")


def test_another_persona_changes_the_verdicts(tmp_path: Path) -> None:
    """Nothing persona-specific lives in code: a persona that wants CFOs gets CFOs."""
    from pipeline.persona.titles import parse_title
    from pipeline.ranking.rules import evaluate_title

    def want_finance(document: dict) -> None:
        document["hard_exclusions"] = [
            rule
            for rule in document["hard_exclusions"]
            if "finance" not in rule.get("departments", [])
        ]
        document["department_relevance"]["finance"] = 5
        document["ladder"]["rungs"][1]["departments"].append("finance")

    other = load_persona(broken_copy(tmp_path, want_finance))
    assert evaluate_title(parse_title("CFO", other), "startup", other).is_relevant

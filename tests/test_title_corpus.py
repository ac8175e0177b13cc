"""The title reader against its specification: `tests/data/titles.csv`, titles written from
common B2B job titles and the persona document, each with the level, functions and status
a sales expert reads in it."""

from pathlib import Path

from pipeline.persona.spec import Persona
from pipeline.quality.title_corpus import read_corpus

CORPUS = Path(__file__).parent / "data" / "titles.csv"
# The share of titles read exactly as the corpus says (level, functions and status).
AGREEMENT_FLOOR = 0.97
NOT_LANGUAGES = {
    "english",
    "abbreviation",
    "commercial",
    "owner_words",
    "owners_other_words",
    "fractional",
    "non_employee",
    "history",
    "tagline",
}


def test_the_corpus_covers_what_the_reader_must_read(persona: Persona) -> None:
    titles = read_corpus(CORPUS, persona)
    kinds = {title.kind for title in titles}
    assert len(titles) >= 400
    assert kinds >= NOT_LANGUAGES
    assert {"russian", "japanese", "chinese", "arabic", "greek", "hebrew"} <= kinds
    assert len(kinds - NOT_LANGUAGES) + 1 >= 12  # English among them


def test_the_reader_agrees_with_the_corpus(persona: Persona) -> None:
    titles = read_corpus(CORPUS, persona)
    disagreements = [
        f"{t.kind:18} {t.title!r}: expected {t.expected}, read {t.read}"
        for t in titles
        if not t.agrees
    ]
    agreement = 1 - len(disagreements) / len(titles)
    summary = f"{len(titles) - len(disagreements)} of {len(titles)} agree ({agreement:.1%})"
    assert agreement >= AGREEMENT_FLOOR, "\n".join([summary, *disagreements])

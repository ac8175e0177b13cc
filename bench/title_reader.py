"""What reading titles costs and how well it agrees with its corpus.

    .venv/bin/python bench/title_reader.py [--titles 400] [--cold] [--json]

Prints, for the default persona: the corpus agreement by kind (`tests/data/titles.csv`) and
every disagreement; the by-meaning cases (`tests/data/titles_by_meaning.csv`) read, left
unread, and excluded roles lifted (must be 0); and the semantic reader's cost: the model's
load time and memory, the prototypes' (embedded, or read from the cache; `--cold` embeds
them in an empty cache folder), milliseconds per title (embedded into an empty cache folder,
then read from it), against the vocabulary's. The memory figures are the process's resident
set before and after, read from /proc.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.orchestration.settings import DATA_DIR  # noqa: E402
from pipeline.persona import semantic  # noqa: E402
from pipeline.persona.embedding_cache import CACHE_DIR_ENV  # noqa: E402
from pipeline.persona.reader import load_persona  # noqa: E402
from pipeline.persona.titles import FLAG_READ_BY_MEANING, parse_title  # noqa: E402
from pipeline.quality.title_corpus import read_corpus  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "titles.csv"
BY_MEANING = ROOT / "tests" / "data" / "titles_by_meaning.csv"


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=400, help="distinct titles to time")
    parser.add_argument("--cold", action="store_true", help="embed the prototypes anew")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cold:
        os.environ[CACHE_DIR_ENV] = tempfile.mkdtemp(prefix="title-reader-")
    persona = load_persona(DATA_DIR / "persona.yaml")
    assert persona.semantic_reader is not None

    with BY_MEANING.open(newline="", encoding="utf-8") as handle:
        cases = list(csv.DictReader(handle))
    # Distinct strings (a number after each) so that nothing is read from a cache.
    titles = [f"{cases[i % len(cases)]['title']} {i}" for i in range(args.titles)]

    before = resident_mb()
    started = time.perf_counter()
    semantic._embedder()
    load_s = time.perf_counter() - started
    loaded = resident_mb()
    started = time.perf_counter()
    semantic._prototype_vectors(persona.semantic_reader)
    prototypes_s = time.perf_counter() - started
    reader = semantic.SemanticReader(persona.semantic_reader)
    # The titles into an empty cache: each is embedded; then once more, from that cache.
    os.environ[CACHE_DIR_ENV] = tempfile.mkdtemp(prefix="title-reader-titles-")
    started = time.perf_counter()
    reader.read(titles)
    per_title_ms = (time.perf_counter() - started) * 1000 / len(titles)
    after = resident_mb()
    started = time.perf_counter()
    reader.read(titles)
    cached_ms = (time.perf_counter() - started) * 1000 / len(titles)
    started = time.perf_counter()
    for title in titles:
        parse_title(title, persona)
    vocabulary_us = (time.perf_counter() - started) * 1e6 / len(titles)

    corpus = read_corpus(CORPUS, persona)
    kinds = Counter(title.kind for title in corpus)
    agree = Counter(title.kind for title in corpus if title.agrees)
    read = semantic.read_titles([case["title"] for case in cases], persona)
    by_meaning = [case for case in cases if FLAG_READ_BY_MEANING in read[case["title"]].flags]
    lifted = [
        case["title"]
        for case in cases
        if case["contactable"] == "no"
        and read[case["title"]].departments & persona.ladder_departments
    ]
    wrong = [
        case["title"]
        for case in by_meaning
        if case["functions"] not in read[case["title"]].departments
    ]
    figures = {
        "corpus_titles": len(corpus),
        "corpus_agreement": round(sum(agree.values()) / len(corpus), 4),
        "disagreements": [f"{t.title}: {t.expected} read {t.read}" for t in corpus if not t.agrees],
        "by_meaning_cases": len(cases),
        "by_meaning_read": len(by_meaning),
        "by_meaning_wrong_function": len(wrong),
        "excluded_lifted": len(lifted),
        "model_load_s": round(load_s, 3),
        "prototypes_s": round(prototypes_s, 3),
        "prototypes_cold": args.cold,
        "model_mb": round(loaded - before, 1),
        "peak_added_mb": round(after - before, 1),
        "ms_per_title": round(per_title_ms, 2),
        "ms_per_title_cached": round(cached_ms, 3),
        "vocabulary_us_per_title": round(vocabulary_us, 1),
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"corpus: {sum(agree.values())} of {len(corpus)} agree ({figures['corpus_agreement']:.1%})"
    )
    for kind, count in sorted(kinds.items()):
        print(f"  {kind:20} {agree[kind]:4} / {count}")
    for line in figures["disagreements"]:
        print(f"  disagrees: {line}")
    print(
        f"by meaning: {len(by_meaning)} of {len(cases)} read, {len(wrong)} to a wrong function, "
        f"{len(cases) - len(by_meaning)} left unread; excluded roles lifted: {len(lifted)}"
    )
    print(
        f"semantic reader: model loaded in {load_s:.2f} s, +{loaded - before:.0f} MB;"
        f" prototypes {'embedded' if args.cold else 'from the cache'} in {prototypes_s:.2f} s;"
        f" {per_title_ms:.1f} ms a title ({len(titles)} titles), +{after - before:.0f} MB in all;"
        f" {cached_ms:.3f} ms a title from the disk cache;"
        f" the vocabulary alone: {vocabulary_us:.0f} µs a title"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Vectors the semantic reader embedded, kept on disk between runs: the prototypes' of a
persona, and the titles'. A nightly run meets yesterday's titles again, and embedding one
takes about 7 ms on two cores (a million-lead base with 525 titles the vocabulary cannot read
spent 3.7 s on them every night). A cache that cannot be read or written only costs time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

CACHE_DIR_ENV = "PERSONA_RANKER_CACHE_DIR"
# The titles kept, newest embedded last: 50,000 of 384 floats is about 77 MB on disk.
MOST_TITLES = 50_000


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "persona-ranker"


def phrase_vectors(
    phrases: tuple[str, ...], model_key: str, embed: Callable[[tuple[str, ...]], np.ndarray]
) -> np.ndarray:
    """A persona's prototype phrases' vectors (a row per phrase), kept under a key of the
    phrases and the model: a persona's phrases change together."""
    key = hashlib.sha256("\n".join((model_key, *phrases)).encode()).hexdigest()[:24]
    path = cache_dir() / f"prototypes-{key}.npy"
    try:
        vectors = np.load(path)
        if vectors.shape[0] == len(phrases):
            return vectors
    except (OSError, ValueError):
        pass
    vectors = embed(phrases)
    _replace(path, ".npy", lambda handle: np.save(handle, vectors))
    return vectors


def title_vectors(
    titles: Sequence[str], model_key: str, embed: Callable[[tuple[str, ...]], np.ndarray]
) -> np.ndarray:
    """Each title's vector (a row per title): from the cache where an earlier run embedded
    it, from `embed` otherwise; the new ones are added to the cache."""
    if not titles:
        return np.zeros((0, 0), dtype=np.float32)
    path = cache_dir() / f"titles-{model_key}.npz"
    known, vectors = _load_titles(path)
    rows = {title: row for row, title in enumerate(known)}
    missing = [title for title in dict.fromkeys(titles) if title not in rows]
    if missing or vectors is None:
        fresh = embed(tuple(missing))
        vectors = fresh if vectors is None else np.concatenate([vectors, fresh])
        rows |= {title: len(known) + row for row, title in enumerate(missing)}
        _store_titles(path, [*known, *missing][-MOST_TITLES:], vectors[-MOST_TITLES:])
    return vectors[[rows[title] for title in titles]]


def _load_titles(path: Path) -> tuple[list[str], np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            titles = json.loads(stored["titles"].tobytes().decode("utf-8"))
            vectors = stored["vectors"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return [], None
    if not isinstance(titles, list) or len(titles) != len(vectors) or vectors.ndim != 2:
        return [], None
    return titles, vectors


def _store_titles(path: Path, titles: list[str], vectors: np.ndarray) -> None:
    encoded = np.frombuffer(json.dumps(titles, ensure_ascii=False).encode("utf-8"), np.uint8)
    _replace(path, ".npz", lambda handle: np.savez(handle, titles=encoded, vectors=vectors))


def _replace(path: Path, suffix: str, write: Callable[[object], None]) -> None:
    """Written whole or not at all: two runs writing at once leave one's file whole."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=suffix, delete=False) as handle:
            temporary = handle.name
            write(handle)
        os.replace(temporary, path)
    except OSError:
        if temporary:
            Path(temporary).unlink(missing_ok=True)

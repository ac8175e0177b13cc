"""The semantic reader's vectors on disk: a title embedded once is read back on later runs,
a broken cache file costs only time."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.orchestration.settings import DATA_DIR
from pipeline.persona import embedding_cache, semantic
from pipeline.persona.embedding_cache import CACHE_DIR_ENV, title_vectors
from pipeline.persona.reader import load_persona


class CountingEmbedder:
    """A stand-in model: a vector made from each text's hash; remembers what it embedded."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def __call__(self, texts: tuple[str, ...]) -> np.ndarray:
        self.embedded += texts
        return np.array(
            [np.frombuffer(hashlib.sha256(text.encode()).digest(), np.uint8) for text in texts],
            dtype=np.float32,
        )


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    return tmp_path


def test_a_title_is_embedded_once_across_runs(cache: Path) -> None:
    first, second = CountingEmbedder(), CountingEmbedder()
    night_one = title_vectors(
        ["Territory Captain", "Kepala Penjualan", "Territory Captain"], "m", first
    )
    assert first.embedded == ["Territory Captain", "Kepala Penjualan"]
    night_two = title_vectors(
        ["Kepala Penjualan", "Jefe de Ventas", "Territory Captain"], "m", second
    )
    assert second.embedded == ["Jefe de Ventas"]
    assert np.array_equal(night_two[0], night_one[1])
    assert np.array_equal(night_two[2], night_one[0])
    assert np.array_equal(night_two[1], CountingEmbedder()(("Jefe de Ventas",))[0])
    # Another model's vectors are not these.
    other = CountingEmbedder()
    title_vectors(["Territory Captain"], "another model", other)
    assert other.embedded == ["Territory Captain"]


def test_a_broken_cache_file_is_embedded_again_and_replaced(cache: Path) -> None:
    title_vectors(["Territory Captain"], "m", CountingEmbedder())
    (cache / "titles-m.npz").write_bytes(b"not a zip file")
    again = CountingEmbedder()
    vectors = title_vectors(["Territory Captain"], "m", again)
    assert again.embedded == ["Territory Captain"] and vectors.shape == (1, 32)
    assert title_vectors(["Territory Captain"], "m", CountingEmbedder()).shape == (1, 32)


def test_the_cache_keeps_the_newest_titles(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding_cache, "MOST_TITLES", 2)
    title_vectors(["a", "b", "c"], "m", CountingEmbedder())
    later = CountingEmbedder()
    title_vectors(["a", "b", "c"], "m", later)
    assert later.embedded == ["a"]


def test_the_reader_reads_yesterdays_titles_without_the_model(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    persona = load_persona(DATA_DIR / "persona.yaml")
    assert persona.semantic_reader is not None
    reader = semantic.SemanticReader(persona.semantic_reader)
    titles = ["Kepala Penjualan Wilayah", "Territory Captain"]
    yesterday = reader.read(titles)
    semantic._prototype_vectors(persona.semantic_reader)  # held in this process

    def no_model() -> None:
        raise AssertionError("the model was asked again")

    monkeypatch.setattr(semantic, "_embedder", no_model)
    assert reader.read(titles) == yesterday

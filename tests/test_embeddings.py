"""The embedder reproduces sentence-transformers' all-MiniLM-L6-v2 and caches by content."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthbench.embeddings import DEFAULT_EMBEDDER, Embedder, default_model_path

TEXTS = ["a gripping and tender film", "the plot makes no sense at all",
         "What is the capital of Peru?", "a gripping and tender film"]


def test_matches_sentence_transformers_and_caches(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    embedder = Embedder(default_model_path(), DEFAULT_EMBEDDER, tmp_path / "vectors.sqlite")
    ours = embedder.encode(TEXTS)
    reference = SentenceTransformer(str(default_model_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert embedder.encoded == 3, "the repeated text is encoded once"

    fresh = Embedder(default_model_path(), DEFAULT_EMBEDDER, tmp_path / "vectors.sqlite")
    np.testing.assert_array_equal(fresh.encode(TEXTS), ours)
    assert fresh.encoded == 0, "a second process reads the vectors from the disk cache"
    assert fresh.encode([]).shape == (0, 384)

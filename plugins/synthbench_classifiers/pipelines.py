"""The tier-0 classifiers as scikit-learn pipelines; imported when a classifier is built, so
loading the plugins (``synthbench list``) does not import scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from synthbench import DEFAULT_EMBEDDER, default_embedder


class SentenceEmbeddings(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Frozen sentence embeddings as features (the MTEB classification recipe)."""

    def __init__(self, model: str = DEFAULT_EMBEDDER) -> None:
        self.model = model

    def fit(self, texts: Sequence[str], labels: Any = None) -> SentenceEmbeddings:
        return self

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        embedder = default_embedder()
        if self.model != embedder.name:
            raise ValueError(f"only {embedder.name} is available offline, not {self.model}")
        return embedder.encode(list(texts))


def tfidf_lr(random_state: int) -> Pipeline:
    """Word 1-2-gram TF-IDF (sublinear tf) + logistic regression."""
    return Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("lr", LogisticRegression(max_iter=2000, C=10.0, random_state=random_state)),
    ])


def minilm_lr(random_state: int) -> Pipeline:
    """Frozen all-MiniLM-L6-v2 embeddings + logistic regression."""
    return Pipeline([
        ("embed", SentenceEmbeddings()),
        ("lr", LogisticRegression(max_iter=2000, C=1.0, random_state=random_state)),
    ])

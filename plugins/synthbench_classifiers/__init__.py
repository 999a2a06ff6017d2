"""Downstream classifiers. Tier 0 (CPU, seconds): TF-IDF + LR and MiniLM embeddings + LR,
plain scikit-learn pipelines. Tier 1: MiniLM fine-tuned end to end (``finetune.py``). All follow
scikit-learn conventions, so the runner can ``clone`` a fresh one per fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from synthbench import DEFAULT_EMBEDDER, ClassifierSpec, default_embedder, hookimpl
from synthbench_classifiers.finetune import minilm_ft


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


# Fine-tuning is the one slow fit: 1,000 texts took over 15 minutes of a shared two-core CPU
# (a 10,000-text ceiling would take hours per task and seed), so its ceiling is stated at 400
# real texts, twice the grid's N.
FINETUNE_CEILING_CAP = 400


@hookimpl
def synthbench_register_classifiers(register: Callable[[ClassifierSpec], None]) -> None:
    register(ClassifierSpec("tfidf_lr", tfidf_lr, "TF-IDF word 1-2-grams + logistic regression"))
    register(ClassifierSpec("minilm_lr", minilm_lr,
                            "frozen all-MiniLM-L6-v2 embeddings + logistic regression"))
    register(ClassifierSpec("minilm_ft", minilm_ft,
                            "all-MiniLM-L6-v2 + linear head fine-tuned end to end (AdamW, "
                            "lr 3e-5, early stopping on a held-out slice of the training data)",
                            recomputable=False, ceiling_cap=FINETUNE_CEILING_CAP))

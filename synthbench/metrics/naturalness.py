"""Naturalness (METHOD.md §6): a classifier two-sample test between synthetic and real texts.

A logistic regression is cross-validated on telling the synthetic texts from the same number of
real ones; its ROC AUC is 0.5 when the two cannot be told apart and 1.0 when they always can.
Features are named in the result: "minilm" (the default embedder's sentence vectors) or
"tfidf" (word 1-2-gram TF-IDF, fitted inside each training fold so no fold sees its test part).
Compare with real *training* texts, never the test split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from synthbench.errors import SynthbenchError

Features = Literal["minilm", "tfidf"]
FEATURES: dict[str, str] = {
    "minilm": "all-MiniLM-L6-v2 mean-pooled sentence embeddings (synthbench default embedder)",
    "tfidf": "word 1-2-gram TF-IDF (sublinear tf), fitted per training fold",
}
CLASSIFIER = "logistic regression (C=1.0)"


@dataclass(frozen=True)
class Naturalness:
    """Cross-validated ROC AUC of telling ``n`` synthetic from ``n`` real texts.

    ``auc`` is None (with ``error``) when there are too few texts to cross-validate.
    """

    auc: float | None
    auc_std: float | None
    fold_aucs: tuple[float, ...]
    features: str
    classifier: str
    folds: int
    n: int
    seed: int
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"auc": self.auc, "auc_std": self.auc_std, "fold_aucs": list(self.fold_aucs),
                "features": self.features, "feature_description": FEATURES[self.features],
                "classifier": self.classifier, "folds": self.folds, "n_per_side": self.n,
                "seed": self.seed, **({"error": self.error} if self.error else {})}


def two_sample_auc(synthetic: Sequence[str], real: Sequence[str], *,
                   features: Features = "minilm", folds: int = 5,
                   seed: int = 0) -> Naturalness:
    """Naturalness of ``synthetic`` against ``real``: the larger side is subsampled (seeded) to
    the smaller, then ``folds``-fold stratified cross-validated ROC AUC (fewer folds if n is
    smaller)."""
    if features not in FEATURES:
        raise SynthbenchError(f"unknown naturalness features {features!r}; "
                              f"choose from {sorted(FEATURES)}")
    rng = random.Random(seed)
    n = min(len(synthetic), len(real))
    syn = list(synthetic) if len(synthetic) == n else rng.sample(list(synthetic), n)
    ref = list(real) if len(real) == n else rng.sample(list(real), n)
    k = min(folds, n)
    if k < 2:
        return Naturalness(None, None, (), features, CLASSIFIER, k, n, seed,
                           error=f"{n} text(s) per side; a two-sample test needs at least 2")
    texts = syn + ref
    y = np.array([1] * n + [0] * n)
    lr = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
    model: Pipeline | LogisticRegression
    if features == "tfidf":
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), lr)
        x: Any = np.array(texts, dtype=object)
    else:
        from synthbench.embeddings import default_embedder

        model = lr
        x = default_embedder().encode(texts)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = cross_val_score(model, x, y, cv=splitter, scoring="roc_auc")
    return Naturalness(float(scores.mean()), float(scores.std()),
                       tuple(float(s) for s in scores), features, CLASSIFIER, k, n, seed)

"""Downstream classifiers. Tier 0 (CPU, seconds): TF-IDF + LR and MiniLM embeddings + LR,
plain scikit-learn pipelines. Tier 1: MiniLM fine-tuned end to end (``finetune.py``). All follow
scikit-learn conventions, so the runner can ``clone`` a fresh one per fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthbench import ClassifierSpec, hookimpl


def tfidf_lr(random_state: int) -> Any:
    """Word 1-2-gram TF-IDF (sublinear tf) + logistic regression."""
    from synthbench_classifiers.pipelines import tfidf_lr as pipeline

    return pipeline(random_state)


def minilm_lr(random_state: int) -> Any:
    """Frozen all-MiniLM-L6-v2 embeddings + logistic regression."""
    from synthbench_classifiers.pipelines import minilm_lr as pipeline

    return pipeline(random_state)


def minilm_ft(random_state: int) -> Any:
    """all-MiniLM-L6-v2 with a linear head, fine-tuned end to end (``finetune.py``)."""
    from synthbench_classifiers.finetune import minilm_ft as estimator

    return estimator(random_state)


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

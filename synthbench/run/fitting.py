"""Fitting a downstream classifier and scoring it on a task's real test split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from synthbench.types import Example, FitScores, Task


def test_scores(task: Task, model: Any, test: Sequence[Example]) -> tuple[float, float]:
    """Macro-F1 (over every label of the task) and accuracy of ``model`` on ``test``."""
    truth = [e.label for e in test]
    predicted = model.predict([e.text for e in test])
    return (float(f1_score(truth, predicted, labels=list(task.label_names), average="macro",
                           zero_division=0)),
            float(accuracy_score(truth, predicted)))


def fit_and_score(task: Task, model: Any, train: Sequence[Example],
                  test: Sequence[Example]) -> FitScores:
    """Fit on ``train`` and score on ``test``; a training set of one label is recorded as an
    error, not fitted."""
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        return FitScores(len(train), error=f"training set has {len(train)} texts of "
                         f"{len(labels)} label(s) {labels}; a classifier needs at least 2")
    model.fit([e.text for e in train], [e.label for e in train])
    macro_f1, accuracy = test_scores(task, model, test)
    return FitScores(len(train), macro_f1, accuracy)

"""Fitting a downstream classifier on labelled examples and scoring it on a task's real test
split, and drawing the real examples to fit on. Shared by the runner's stages, the real
learning curve and the real + synthetic mix; a training set with fewer than two labels is
recorded as an error, not raised, so one degenerate set never loses a cell."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from synthbench.data import balanced_quota, sample_per_label
from synthbench.errors import SynthbenchError
from synthbench.generation import request_seed
from synthbench.metrics.equivalence import LearningCurve
from synthbench.record import FitScores
from synthbench.types import Example

ClassifierFactory = Callable[[int], Any]


def fit_and_score(model: Any, train: Sequence[Example], test: Sequence[Example],
                  label_names: Sequence[str]) -> FitScores:
    """Fit ``model`` on ``train`` and return macro-F1 (over all ``label_names``) and accuracy
    on ``test``."""
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        return FitScores(len(train), error=f"training set has {len(train)} texts of "
                         f"{len(labels)} label(s) {labels}; a classifier needs at least 2")
    model.fit([e.text for e in train], [e.label for e in train])
    truth = [e.label for e in test]
    predicted = model.predict([e.text for e in test])
    return FitScores(len(train),
                     float(f1_score(truth, predicted, labels=list(label_names),
                                    average="macro", zero_division=0)),
                     float(accuracy_score(truth, predicted)))


def real_sample(train: Sequence[Example], label_names: Sequence[str], n: int, seed: int,
                purpose: str = "real") -> list[Example]:
    """``n`` label-balanced real training examples drawn with ``request_seed(seed, purpose)``.

    With the default ``purpose`` and every label holding its share, this is the runner's same-N
    real baseline sample exactly. A label with too few examples gives its share to the others,
    so exactly ``n`` come back; ``n`` above the examples of ``label_names`` is a
    ``SynthbenchError``.
    """
    available = {label: 0 for label in label_names}
    for example in train:
        if example.label in available:
            available[example.label] += 1
    if n < 0 or n > sum(available.values()):
        raise SynthbenchError(f"cannot sample {n} real examples from a train split with "
                              f"{sum(available.values())} of labels {list(label_names)}")
    rng = random.Random(request_seed(seed, purpose))
    quota = balanced_quota(label_names, n)
    capped = {label: min(q, available[label]) for label, q in quota.items()}
    spare = n - sum(capped.values())
    while spare > 0:  # hand the shortfall round, one at a time, to labels that still have some
        for label in label_names:
            if spare and capped[label] < available[label]:
                capped[label] += 1
                spare -= 1
    return sample_per_label(train, capped, rng)


def learning_curve(factory: ClassifierFactory, train: Sequence[Example],
                   test: Sequence[Example], label_names: Sequence[str], seed: int,
                   grid: Sequence[int], classifier: str = "") -> LearningCurve:
    """Fit ``factory(seed)`` at each size in ``grid`` and score it on ``test``.

    Each size draws its own label-balanced sample with ``real_sample(train, ..., n, seed)``, the
    same draw as the cell's same-N real baseline, so the curve passes through that baseline.
    """
    sizes = sorted(set(int(n) for n in grid))
    if not sizes:
        raise SynthbenchError("learning curve needs at least one training size")
    scores = [fit_and_score(factory(seed), real_sample(train, label_names, n, seed), test,
                            label_names).macro_f1 for n in sizes]
    return LearningCurve(classifier, seed, tuple(sizes), tuple(scores))

"""Naturalness: the classifier two-sample test between synthetic and real texts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from synthbench import SynthbenchError
from synthbench.data import TaskData, load_task_data
from synthbench.metrics.naturalness import two_sample_auc
from synthbench.plugins import Plugins

N = 100


def disjoint_samples(data: TaskData) -> tuple[list[str], list[str]]:
    texts = random.Random(0).sample([e.text for e in data.train], 2 * N)
    return texts[:N], texts[N:]


@pytest.mark.parametrize("features", ["minilm", "tfidf"])
def test_two_samples_of_the_same_real_data_are_indistinguishable(
        sst2_data: TaskData, features: str) -> None:
    first, second = disjoint_samples(sst2_data)
    assert not set(first) & set(second)
    result = two_sample_auc(first, second, features=features, seed=0)  # type: ignore[arg-type]
    assert result.auc is not None and 0.35 <= result.auc <= 0.65
    assert (result.n, result.folds, result.features) == (N, 5, features)
    assert len(result.fold_aucs) == 5


@pytest.mark.parametrize("features", ["minilm", "tfidf"])
def test_an_obviously_different_set_is_told_apart(
        plugins: Plugins, shared_data: Path, sst2_data: TaskData, features: str) -> None:
    news = load_task_data(plugins.tasks.get("ag_news"), shared_data)
    other = [e.text for e in news.train[:N]]
    reviews, _ = disjoint_samples(sst2_data)
    result = two_sample_auc(other, reviews, features=features, seed=0)  # type: ignore[arg-type]
    assert result.auc is not None and result.auc > 0.95
    record = result.to_json()
    assert record["features"] == features and record["n_per_side"] == N
    assert record["folds"] == 5 and "feature_description" in record


def test_sizes_are_matched_and_tiny_sets_are_recorded_not_raised(sst2_data: TaskData) -> None:
    first, second = disjoint_samples(sst2_data)
    result = two_sample_auc(first[:30], second, features="tfidf", folds=3, seed=1)
    assert (result.n, result.folds) == (30, 3)
    assert result == two_sample_auc(first[:30], second, features="tfidf", folds=3, seed=1)
    tiny = two_sample_auc(first[:1], second, features="tfidf")
    assert tiny.auc is None and tiny.error is not None and "error" in tiny.to_json()
    with pytest.raises(SynthbenchError, match="unknown naturalness features"):
        two_sample_auc(first, second, features="bow")  # type: ignore[arg-type]

"""Real + synthetic (--mix-real K), the shared fit-and-score helper, and cost per F1 point."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from synthbench import Example, SynthbenchError
from synthbench.data import TaskData
from synthbench.metrics import chance_macro_f1, cost_per_f1_point
from synthbench.plugins import Plugins
from synthbench.run.fitting import fit_and_score, real_sample
from synthbench.run.mixing import mix_real, score_mixed
from synthbench_classifiers import tfidf_lr

LABELS = ("negative", "positive")
SYNTHETIC = [Example(f"a {word} synthetic review {i}", label, {"synthetic": True})
             for i in range(20) for word, label in (("dreadful", "negative"),
                                                     ("delightful", "positive"))]


class RecordingTfidf(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The real tfidf_lr pipeline, remembering every training set it was fitted on."""

    fits: ClassVar[list[list[str]]] = []

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> RecordingTfidf:
        RecordingTfidf.fits.append(list(texts))
        self.model_ = tfidf_lr(self.random_state).fit(texts, labels)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, texts: Sequence[str]) -> Any:
        return self.model_.predict(texts)


def test_mix_holds_exactly_k_balanced_real_examples(sst2_data: TaskData) -> None:
    sets = mix_real(SYNTHETIC, sst2_data.train, LABELS, k=10, seed=4)
    assert len(sets.real) == 10 and sets.n_synthetic == len(SYNTHETIC)
    assert Counter(e.label for e in sets.real) == {"negative": 5, "positive": 5}
    train = {(e.text, e.label) for e in sst2_data.train}
    assert all((e.text, e.label) in train for e in sets.real)
    assert [id(e) for e in sets.mixed] == [id(e) for e in (*SYNTHETIC, *sets.real)]
    assert sets == mix_real(SYNTHETIC, sst2_data.train, LABELS, k=10, seed=4)
    assert sets.real != mix_real(SYNTHETIC, sst2_data.train, LABELS, k=10, seed=5).real
    assert mix_real(SYNTHETIC, sst2_data.train, LABELS, k=0, seed=4).mixed == tuple(SYNTHETIC)
    with pytest.raises(SynthbenchError, match="cannot sample"):
        mix_real(SYNTHETIC, sst2_data.train[:5], LABELS, k=6, seed=4)
    with pytest.raises(SynthbenchError, match=">= 0"):
        mix_real(SYNTHETIC, sst2_data.train, LABELS, k=-1, seed=4)


def test_trains_on_exactly_k_real_plus_the_synthetic_texts(sst2_data: TaskData) -> None:
    RecordingTfidf.fits = []
    sets = mix_real(SYNTHETIC, sst2_data.train, LABELS, k=30, seed=0)
    score = score_mixed(RecordingTfidf, 0, sets, sst2_data.test, LABELS)
    mixed_fit, alone_fit = RecordingTfidf.fits
    real_texts = [e.text for e in sets.real]
    assert Counter(mixed_fit) == Counter([e.text for e in SYNTHETIC] + real_texts)
    assert Counter(alone_fit) == Counter(real_texts) and len(alone_fit) == 30
    assert score.mixed.n_train == 70 and score.real_alone.n_train == 30
    assert score.mixed.macro_f1 is not None and score.real_alone.macro_f1 is not None
    assert score.gain == pytest.approx(score.mixed.macro_f1 - score.real_alone.macro_f1)
    assert score.to_json()["gain"] == score.gain


def test_one_real_example_cannot_be_scored_alone(sst2_data: TaskData) -> None:
    sets = mix_real(SYNTHETIC, sst2_data.train, LABELS, k=1, seed=0)
    score = score_mixed(tfidf_lr, 0, sets, sst2_data.test, LABELS)
    assert score.real_alone.error is not None and "at least 2" in score.real_alone.error
    assert score.mixed.macro_f1 is not None and score.gain is None
    assert "error" in score.to_json()["real_alone"]


def test_real_sample_fills_a_short_label_from_the_others(plugins: Plugins) -> None:
    train = [Example(f"n{i}", "negative") for i in range(2)] + [
        Example(f"p{i}", "positive") for i in range(20)] + [Example("x", "other")]
    sample = real_sample(train, LABELS, 10, seed=0)
    assert Counter(e.label for e in sample) == {"negative": 2, "positive": 8}
    with pytest.raises(SynthbenchError, match="cannot sample 23"):
        real_sample(train, LABELS, 23, seed=0)
    one_label = fit_and_score(tfidf_lr(0), train[2:10], train, LABELS)
    assert one_label.macro_f1 is None and one_label.to_json()["n_train"] == 8


def test_cost_per_f1_point() -> None:
    assert cost_per_f1_point(1.5, 0.75) == pytest.approx(0.02)
    assert cost_per_f1_point(1.5, 0.75, baseline_f1=0.5) == pytest.approx(0.06)
    assert cost_per_f1_point(0.0, 0.6) == 0.0
    assert cost_per_f1_point(None, 0.6) is None
    assert cost_per_f1_point(1.0, None) is None
    assert cost_per_f1_point(1.0, 0.4, baseline_f1=0.5) is None
    assert chance_macro_f1({k: 0.25 for k in "abcd"}, list("abcd") * 100, list("abcd")) == \
        pytest.approx(0.25, abs=0.01)
    with pytest.raises(ValueError):
        cost_per_f1_point(-1.0, 0.5)

"""Instance-level subjectivity on real financial_phrasebank data: Li's agreement, accuracy
curves over agreement thresholds, the slope difference with its bootstrap interval, and the
judge's proxy for agreement."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from synthbench.calls import CallContext
from synthbench.data import TaskData, load_task_data, sample_per_label
from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins
from synthbench.subjectivity.agreement import (
    agreement_curve,
    instance_agreement,
    li_agreement,
    tracking,
)
from synthbench.subjectivity.proxy import parse_label, proxy_agreement
from synthbench.testing import MockProvider
from synthbench.types import Example

REPO = Path(__file__).resolve().parent.parent
CELL = REPO / "leaderboard" / "results" / "cells" / \
    "financial_phrasebank__local__zero_shot__s0__4ec04029b649" / "synthetic.jsonl"


@pytest.fixture(scope="module")
def phrasebank(plugins: Plugins, shared_data: Path) -> tuple[Any, TaskData]:
    task = plugins.tasks.get("financial_phrasebank")
    return task, load_task_data(task, shared_data)


def predictions(plugins: Plugins, train: list[Example], test: tuple[Example, ...],
                seed: int = 0) -> list[str]:
    """TF-IDF + logistic regression (the built-in classifier) fitted on ``train``."""
    model = plugins.classifiers.get("tfidf_lr").factory(seed)
    model.fit([e.text for e in train], [e.label for e in train])
    return [str(p) for p in model.predict([e.text for e in test])]


def test_li_agreement_is_the_share_of_the_most_common_label() -> None:
    assert li_agreement(["pos"] * 5) == 1.0
    assert li_agreement(["pos", "pos", "neg", "neu"]) == 0.5
    assert li_agreement(["a", "b", "b"]) == pytest.approx(2 / 3)
    with pytest.raises(SynthbenchError):
        li_agreement([])


def test_phrasebank_rows_carry_their_declared_agreement(phrasebank: tuple[Any, TaskData]
                                                       ) -> None:
    task, data = phrasebank
    assert task.agreement_field == "agreement"
    assert "agreement_field" not in task.to_record()  # declaring it keeps every cell key
    values = instance_agreement(task, data.test)
    assert len(values) == len(data.test) == 967
    assert sorted(set(values)) == [0.5, 0.66, 0.75, 1.0]


def test_accuracy_rises_with_agreement_on_real_phrasebank_data(
        plugins: Plugins, phrasebank: tuple[Any, TaskData]) -> None:
    task, data = phrasebank
    real = predictions(plugins, list(data.train), data.test)
    synthetic_texts = [json.loads(line) for line in CELL.read_text().splitlines()]
    synthetic = predictions(plugins, [Example(r["text"], r["label"]) for r in synthetic_texts],
                            data.test)
    curve = agreement_curve(task, data.test, synthetic, real, seed=0, rounds=300)
    assert curve["gammas"] == [0.5, 0.66, 0.75, 1.0]
    assert [p["n"] for p in curve["real"]] == [967, 865, 732, 487]
    accuracy = [p["accuracy"] for p in curve["real"]]
    assert accuracy == sorted(accuracy) and accuracy[-1] - accuracy[0] > 0.05
    f1 = [p["macro_f1"] for p in curve["real"]]
    assert f1[-1] > f1[0]
    assert curve["accuracy_slope"]["real"] > 0
    mix = curve["label_mix"]
    assert [m["n"] for m in mix] == [967, 865, 732, 487]
    assert [sum(m["counts"].values()) for m in mix] == [967, 865, 732, 487]
    neutral = [m["counts"]["neutral"] / m["n"] for m in mix]
    assert neutral[-1] > neutral[0]  # the label mix moves with γ: the headline score does not
    assert curve["measure"] == "balanced_accuracy"
    low, high = curve["balanced_accuracy_slope_difference_ci"]
    assert low <= curve["balanced_accuracy_slope_difference"] <= high
    low, high = curve["slope_difference_ci"]
    assert low <= curve["slope_difference"] <= high
    assert curve["agreement_source"] == "annotators (field 'agreement')" and not curve["proxy"]
    json.dumps(curve)
    assert curve == agreement_curve(task, data.test, synthetic, real, seed=0, rounds=300)


def test_several_seeds_are_resampled_too(plugins: Plugins, phrasebank: tuple[Any, TaskData]
                                         ) -> None:
    task, data = phrasebank
    quota = {label: 40 for label in task.label_names}
    runs = [predictions(plugins, sample_per_label(data.train, quota, random.Random(s)),
                        data.test, s) for s in range(3)]
    full = predictions(plugins, list(data.train), data.test)
    curve = agreement_curve(task, data.test, runs, [full], gammas=[0.5, 0.75, 1.0],
                            seed=1, rounds=200)
    assert curve["seeds"] == {"synthetic": 3, "real": 1}
    assert curve["bootstrap"]["over"] == "test instances and seeds"
    assert curve["slope_difference_ci"] is not None


def test_bad_input_is_one_clear_error(plugins: Plugins, phrasebank: tuple[Any, TaskData]
                                      ) -> None:
    task, data = phrasebank
    with pytest.raises(SynthbenchError, match="one entry per test example"):
        agreement_curve(task, data.test, ["neutral"], ["neutral"] * len(data.test))
    imdb = plugins.tasks.get("imdb")
    with pytest.raises(SynthbenchError, match="declares no per-instance agreement"):
        agreement_curve(imdb, data.test[:3], ["neutral"] * 3, ["neutral"] * 3)
    proxied = agreement_curve(imdb, data.test[:4], ["a"] * 4, ["a"] * 4,
                              agreement=[1.0, 0.6, 0.8, 1.0], agreement_source="proxy: x")
    assert proxied["proxy"] and proxied["agreement_source"] == "proxy: x"


def test_sampled_proxy_counts_unparsable_replies(phrasebank: tuple[Any, TaskData]) -> None:
    task, data = phrasebank
    provider = MockProvider("labeller", script=["positive", "Positive.", "negative", "hmm"])
    values, info = proxy_agreement(provider, task, data.test[:2], k=4, method="sample")
    assert values == [pytest.approx(2 / 3), pytest.approx(2 / 3)]
    assert info["unparsable_replies"] == 2 and info["proxy"]
    assert [r.sample_index for r in provider.requests] == [0, 1, 2, 3] * 2
    assert parse_label("non_irony, clearly", ["irony", "non_irony"]) == "non_irony"


def test_log_probability_proxy_tracks_agreement_and_is_cached(
        plugins: Plugins, phrasebank: tuple[Any, TaskData], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from synthbench.models import resolve_model

    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
    task, data = phrasebank
    rows = data.test[:6]
    provider = resolve_model(plugins, "local", CallContext.from_environ(os.environ))
    values, info = proxy_agreement(provider, task, rows)
    assert info["method"] == "logprobs" and info["calls"] == 6
    assert all(v is not None and 1 / 3 <= v <= 1 for v in values)
    again, info2 = proxy_agreement(provider, task, rows)
    assert again == values and info2["calls"] == 0 and info2["cache_hits"] == 6
    report = tracking([float(v) for v in values if v is not None],
                      instance_agreement(task, rows))
    assert report["n"] == 6
    provider.close()

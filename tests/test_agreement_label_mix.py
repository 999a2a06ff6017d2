"""The instance-level slope on a score that the label mix alone does not move: balanced
accuracy per agreement level γ, the label mix recorded at each γ, and the leaderboard reading
new and old agreement records alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from synthbench.errors import SynthbenchError
from synthbench.leaderboard.tables import agreement_slope
from synthbench.subjectivity.agreement import agreement_from_predictions, headline_slope

LABELS = ["negative", "neutral", "positive"]
# rows per agreement level: the neutral share rises with agreement, as on financial_phrasebank
MIX = {0.5: {"negative": 40, "neutral": 20, "positive": 40},
       0.75: {"negative": 30, "neutral": 40, "positive": 30},
       1.0: {"negative": 10, "neutral": 80, "positive": 10}}


def predict(truth: list[str], recall: dict[str, float]) -> list[str]:
    """Every label's recall exactly ``recall`` within each agreement level (rows come in
    blocks of 10 per level and label); a miss goes to the next label."""
    out, seen = [], {}
    for label in truth:
        i = seen.get(label, 0)
        seen[label] = i + 1
        right = i % 10 < round(recall[label] * 10)
        out.append(label if right else LABELS[(LABELS.index(label) + 1) % 3])
    return out


def constructed() -> tuple[list[str], list[float]]:
    truth, agreement = [], []
    for level, counts in MIX.items():
        for label, count in counts.items():
            truth += [label] * count
            agreement += [level] * count
    return truth, agreement


def test_the_label_mix_moves_accuracy_but_not_the_headline_slope() -> None:
    truth, agreement = constructed()
    synthetic = predict(truth, {"negative": 0.5, "neutral": 0.9, "positive": 0.5})
    real = predict(truth, {"negative": 0.7, "neutral": 0.7, "positive": 0.7})
    record = agreement_from_predictions(truth, synthetic, real, agreement, LABELS,
                                        task_id="constructed", seed=0, rounds=300)
    assert record["measure"] == "balanced_accuracy"
    assert record["gammas"] == [0.5, 0.75, 1.0]
    # accuracy follows the neutral share: the synthetic-trained slope looks steeper ...
    assert record["slope_difference"] > 0.1
    assert record["accuracy_slope"]["real"] == pytest.approx(0.0, abs=1e-9)
    assert record["slope_difference_ci"][0] > 0
    # ... while every label's recall, and so balanced accuracy, is the same at every γ
    assert record["balanced_accuracy_slope_difference"] == pytest.approx(0.0, abs=1e-9)
    assert [p["balanced_accuracy"] for p in record["synthetic"]] == \
        pytest.approx([(0.5 + 0.9 + 0.5) / 3] * 3)
    ci = record["balanced_accuracy_slope_difference_ci"]
    assert ci[0] <= 0 <= ci[1]
    assert abs(record["macro_f1_slope_difference"]) < record["slope_difference"]
    assert headline_slope(record) == ("balanced_accuracy", record[
        "balanced_accuracy_slope_difference"], ci)
    assert record["label_mix"] == [
        {"gamma": 0.5, "n": 300, "counts": {"negative": 80, "neutral": 140, "positive": 80}},
        {"gamma": 0.75, "n": 200, "counts": {"negative": 40, "neutral": 120, "positive": 40}},
        {"gamma": 1.0, "n": 100, "counts": {"negative": 10, "neutral": 80, "positive": 10}}]
    json.dumps(record, allow_nan=False)
    assert record == agreement_from_predictions(truth, synthetic, real, agreement, LABELS,
                                                task_id="constructed", seed=0, rounds=300)


def test_a_real_difference_in_the_slope_is_still_seen() -> None:
    """The synthetic-trained classifier loses recall on low-agreement rows of every label."""
    truth, agreement = constructed()
    real = predict(truth, dict.fromkeys(LABELS, 0.8))
    synthetic = [t if a == 1.0 else p for t, a, p in
                 zip(truth, agreement, predict(truth, dict.fromkeys(LABELS, 0.4)),
                     strict=True)]
    record = agreement_from_predictions(truth, synthetic, real, agreement, LABELS, rounds=300)
    assert record["balanced_accuracy_slope_difference"] > 0.3
    assert record["balanced_accuracy_slope_difference_ci"][0] > 0


def test_labels_outside_the_task_and_empty_levels() -> None:
    truth = ["a", "b", "a", "b", "odd"]
    predictions = ["a", "b", "b", "zzz", "odd"]
    record = agreement_from_predictions(truth, predictions, truth, [0.5, 0.5, 1, 1, 1],
                                        ["a", "b"], gammas=[0.5, 1.0, 2.0], rounds=50)
    assert record["label_mix"][1]["counts"] == {"a": 1, "b": 1, "odd": 1}
    assert record["label_mix"][2] == {"gamma": 2.0, "n": 0, "counts": {"a": 0, "b": 0}}
    assert record["synthetic"][2]["balanced_accuracy"] is None
    top = record["synthetic"][1]  # rows a->b, b->zzz, odd->odd on the labels a and b
    assert top["balanced_accuracy"] == 0.0 and top["accuracy"] == pytest.approx(1 / 3)
    with pytest.raises(SynthbenchError, match="one entry per test example"):
        agreement_from_predictions(truth, predictions[:4], truth, [1.0] * 5, ["a", "b"])


def old_record(value: float | None) -> dict[str, Any]:
    return {"slope_difference": value, "slope_difference_ci": None, "accuracy_slope": {}}


def test_the_leaderboard_prefers_the_headline_and_still_reads_old_records() -> None:
    new = {"measure": "balanced_accuracy", "balanced_accuracy_slope_difference": 0.1,
           "slope_difference": 0.5}
    assert headline_slope(old_record(0.2)) == ("accuracy", 0.2, None)
    assert agreement_slope([new, dict(new, balanced_accuracy_slope_difference=0.3)]) == {
        "agreement_slope_difference": pytest.approx(0.2),
        "agreement_slope_measure": "balanced_accuracy"}
    assert agreement_slope([old_record(0.2), old_record(0.4), None]) == {
        "agreement_slope_difference": pytest.approx(0.3)}  # unnamed: accuracy, as old boards
    # seeds measured on different scores are not averaged together: accuracy, which all have
    assert agreement_slope([new, old_record(0.3)]) == {
        "agreement_slope_difference": pytest.approx(0.4)}
    assert agreement_slope([None, old_record(None)]) == {}

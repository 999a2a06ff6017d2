"""The rating judge format: the expected digit and its contextual calibration, the scale's
two directions, and diagnostics that fail a judge answering by digit preference and pass one
that reads the card."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from synthbench.data import load_task_data
from synthbench.plugins import load_plugins
from synthbench.subjectivity.rating import (
    CONTENT_FREE,
    SCALE,
    RatingSettings,
    agreement_with_declared,
    expected_rating,
    rate,
    toward_subjective,
)
from synthbench.types import Message
from tests.conftest import SHARED_DATA

TASKS = ("ag_news", "sms_spam", "sst2", "financial_phrasebank", "tweet_irony", "humor")


def test_expected_rating_and_calibration() -> None:
    uniform = [0.0] * 5
    assert expected_rating(uniform) == pytest.approx(3.0)
    sure_four = [-50.0, -50.0, -50.0, 0.0, -50.0]
    assert expected_rating(sure_four) == pytest.approx(4.0)
    # a judge that likes "4" everywhere: divided by its content-free liking, a card it reads
    # exactly as it reads no card at all rates the middle of the scale
    liking = [math.log(p) for p in (0.05, 0.1, 0.15, 0.6, 0.1)]
    prior = [0.05, 0.1, 0.15, 0.6, 0.1]
    assert expected_rating(liking) > 3.3
    assert expected_rating(liking, prior) == pytest.approx(3.0)
    assert toward_subjective(2.0, "subjective_low") == 4.0
    assert toward_subjective(2.0, "objective_low") == 2.0


class CardReader:
    """A judge whose digit follows the declared subjectivity named on the card, asked in
    either direction, plus a fixed liking for "4"."""

    def __init__(self, declared: dict[str, float], names: dict[str, str]) -> None:
        self.declared, self.names = declared, names

    def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        assert list(continuations) == list(SCALE)
        user = messages[-1].content
        liking = [0.0, 0.0, 0.0, 1.0, 0.0]
        if CONTENT_FREE in user:
            return liking
        task = next(t for t, name in self.names.items() if f"Name: {name}\n" in user)
        level = 1 + 4 * self.declared[task]
        if "1 = completely subjective" in user:
            level = 6 - level
        return [liking[i] - 2.0 * (i + 1 - level) ** 2 for i in range(5)]


class DigitLover:
    """A judge that answers "4" whatever it reads: every card like the content-free one."""

    def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        return [0.0, 0.0, 0.0, 2.0, 0.0]


@pytest.fixture(scope="module")
def setup() -> tuple[list[Any], dict[str, Any]]:
    plugins = load_plugins()
    tasks = [plugins.tasks.get(t) for t in TASKS]
    train = {t.id: load_task_data(t, SHARED_DATA).train for t in tasks}
    return tasks, train


def test_a_judge_that_reads_the_card_passes(setup: tuple[list[Any], dict[str, Any]]) -> None:
    tasks, train = setup
    declared = {t.id: t.subjectivity.score for t in tasks}
    judge = CardReader(declared, {t.id: t.name for t in tasks})
    record = rate(judge, "fake/reader", tasks, train, RatingSettings())
    found = record["diagnostics"]
    assert found["passed"], found
    assert found["direction_spearman"] > 0.9 and found["split_half_spearman"] > 0.9
    assert record["declared"]["kendall_tau"] > 0.9
    # calibration removes the liking for "4": asked with 1 = objective, the calibrated
    # readings sit nearer the card's level than the raw ones, and the raw directions
    # disagree by more
    key = "objective_low/0"

    def miss(readings: dict[str, dict[str, float]]) -> float:
        return float(sum(abs(readings[t][key] - (1 + 4 * declared[t])) for t in declared))

    assert miss(record["readings"]) < miss(record["raw_readings"])
    assert abs(record["raw_diagnostics"]["direction_gap"]) > abs(found["direction_gap"])
    assert len(record["answers"]) == len(tasks) * 2 * 2


def test_a_judge_that_answers_by_digit_fails(setup: tuple[list[Any], dict[str, Any]]) -> None:
    tasks, train = setup
    record = rate(DigitLover(), "fake/digit", tasks, train, RatingSettings())
    found = record["diagnostics"]
    assert not found["passed"]
    assert found["signal_to_noise"] == 0.0 and found["direction_spearman"] is None
    assert set(record["scores"].values()) == {0.5}  # calibrated to the middle: no order


def test_agreement_interval_covers_its_estimate() -> None:
    declared = {f"t{i}": i / 9 for i in range(10)}
    noisy = {t: v + (0.3 if i % 3 == 0 else 0.0) for i, (t, v) in enumerate(declared.items())}
    found = agreement_with_declared(noisy, declared, rounds=500)
    low, high = found["kendall_tau_ci"]
    assert low <= found["kendall_tau"] <= high and found["n_tasks"] == 10
    assert 0 < found["spearman_rho"] < 1

"""Real-data-equivalent size: the N grid, the real learning curve, and N_eq read off it."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from synthbench import SynthbenchError
from synthbench.data import TaskData, balanced_quota, sample_per_label
from synthbench.generation import request_seed
from synthbench.metrics.equivalence import (
    LearningCurve,
    curve_key,
    n_grid,
    real_equivalent_n,
)
from synthbench.plugins import Plugins
from synthbench.run.fitting import fit_and_score, learning_curve

CURVE = LearningCurve("tfidf_lr", 0, (25, 50, 100, 200, 400), (0.5, 0.6, 0.7, 0.8, 0.9))


def test_grid_is_geometric_and_ends_at_the_split_size() -> None:
    assert n_grid(1000) == (25, 50, 100, 200, 400, 800, 1000)
    assert n_grid(800) == (25, 50, 100, 200, 400, 800)
    assert n_grid(30) == (25, 30)
    assert n_grid(10) == (10,)
    sizes = n_grid(6000, start=16, ratio=1.5)
    assert sizes[0] == 16 and sizes[-1] == 6000
    assert all(b / a <= 1.5 + 0.1 for a, b in itertools.pairwise(sizes))
    assert list(sizes) == sorted(set(sizes))
    with pytest.raises(SynthbenchError, match="ratio > 1"):
        n_grid(100, ratio=1.0)


def test_interpolates_in_log_n_on_a_known_curve() -> None:
    mid = real_equivalent_n(CURVE, 0.65)
    assert mid.bound == "within" and mid.n == pytest.approx(math.sqrt(50 * 100))
    assert real_equivalent_n(CURVE, 0.7).n == pytest.approx(100)
    quarter = real_equivalent_n(CURVE, 0.825)
    assert quarter.n == pytest.approx(200 * 2 ** 0.25)
    assert quarter.label == "238"
    assert quarter.to_json() == {"n_eq": quarter.n, "bound": "within", "label": "238",
                                 "f1": 0.825, "n_min": 25, "n_max": 400}


def test_edges_are_marked_not_extrapolated() -> None:
    above = real_equivalent_n(CURVE, 0.95)
    assert (above.bound, above.n, above.label) == (">max", None, ">400")
    below = real_equivalent_n(CURVE, 0.3)
    assert (below.bound, below.n, below.label) == ("<min", None, "<25")
    assert real_equivalent_n(CURVE, 0.5).n == pytest.approx(25)
    assert real_equivalent_n(CURVE, 0.9).n == pytest.approx(400)


def test_non_monotone_curve_takes_the_first_size_that_reaches_the_f1() -> None:
    noisy = LearningCurve("x", 0, (25, 50, 100, 200), (0.5, 0.7, 0.6, 0.8))
    assert real_equivalent_n(noisy, 0.65).n == pytest.approx(25 * 2 ** 0.75)  # not 100..200
    assert real_equivalent_n(noisy, 0.75).n == pytest.approx(100 * 2 ** 0.75)
    assert real_equivalent_n(noisy, 0.7).n == pytest.approx(50)
    gaps = LearningCurve("x", 0, (25, 50, 100), (None, 0.6, 0.8))
    result = real_equivalent_n(gaps, 0.55)
    assert (result.bound, result.n_min) == ("<min", 50)
    with pytest.raises(SynthbenchError, match="no scored point"):
        real_equivalent_n(LearningCurve("x", 0, (25,), (None,)), 0.5)
    with pytest.raises(SynthbenchError, match="needs a macro-F1"):
        real_equivalent_n(CURVE, float("nan"))


def test_curve_json_round_trip_and_cache_key() -> None:
    curve = LearningCurve("minilm_lr", 3, (20, 40), (0.61, None))
    assert LearningCurve.from_json(curve.to_json()) == curve
    key = curve_key("abc", "minilm_lr", 3, (40, 20))
    assert key == curve_key("abc", "minilm_lr", 3, [20, 40, 20])
    assert len({key, curve_key("abd", "minilm_lr", 3, (20, 40)),
                curve_key("abc", "tfidf_lr", 3, (20, 40)),
                curve_key("abc", "minilm_lr", 4, (20, 40)),
                curve_key("abc", "minilm_lr", 3, (20, 80))}) == 5


def test_learning_curve_on_real_data(plugins: Plugins, sst2_data: TaskData) -> None:
    """Deterministic, rising from 20 to 400 texts, and through the runner's same-N baseline."""
    task = plugins.tasks.get("sst2")
    factory = plugins.classifiers.get("tfidf_lr").factory
    curve = learning_curve(factory, sst2_data.train, sst2_data.test, task.label_names, seed=1,
                           grid=(400, 20), classifier="tfidf_lr")
    assert curve.n == (20, 400) and curve.classifier == "tfidf_lr"
    assert curve == learning_curve(factory, sst2_data.train, sst2_data.test, task.label_names,
                                   seed=1, grid=(20, 400), classifier="tfidf_lr")
    low, high = curve.f1
    assert low is not None and high is not None and high > low
    baseline = sample_per_label(sst2_data.train, balanced_quota(task.label_names, 400),
                                random.Random(request_seed(1, "real")))
    assert fit_and_score(factory(1), baseline, sst2_data.test,
                         task.label_names).macro_f1 == high
    n_eq = real_equivalent_n(curve, (low + high) / 2)
    assert n_eq.bound == "within" and n_eq.n is not None and 20 < n_eq.n < 400

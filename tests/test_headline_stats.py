"""The headline's significance and power: the permutation p-value of a rank correlation and the
|rho| a task count can detect, checked against exact cases, scipy and a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from synthbench.metrics import detectable_rho, permutation_p


def test_a_perfect_monotone_relation_beats_every_shuffle() -> None:
    x = list(range(15))
    y = [math.exp(v / 3) for v in x]  # monotone, not linear
    for method in ("spearman", "kendall"):
        p = permutation_p(x, y, method=method, n_permutations=2_000, seed=1)
        assert p is not None and p <= 3 / 2_001
        assert permutation_p(x, [-v for v in y], method=method, n_permutations=2_000) == p


def test_independent_data_is_not_significant_and_p_is_roughly_uniform() -> None:
    rng = np.random.default_rng(7)
    ps = [permutation_p(rng.normal(size=15), rng.normal(size=15), n_permutations=400,
                        seed=i) for i in range(60)]
    values = np.asarray(ps, dtype=float)
    assert 0.35 < values.mean() < 0.65
    assert (values < 0.05).mean() < 0.15  # about 5 % by design
    assert (values > 0.5).mean() > 0.3


def test_p_follows_scipy_on_a_moderate_relation_and_is_fixed_by_the_seed() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=15)
    y = 0.6 * x + rng.normal(size=15)
    p = permutation_p(x, y, n_permutations=20_000, seed=0)
    assert p == permutation_p(x, y, n_permutations=20_000, seed=0)
    assert p != permutation_p(x, y, n_permutations=20_000, seed=1)
    exact = stats.spearmanr(x, y, alternative="two-sided").pvalue
    assert p is not None and abs(p - exact) < 0.02 + 0.25 * exact
    tau_p = permutation_p(x, y, method="kendall", n_permutations=20_000)
    assert tau_p is not None and abs(tau_p - stats.kendalltau(x, y).pvalue) < 0.02


def test_ties_use_average_ranks() -> None:
    x = [1, 1, 2, 2, 3, 3, 4, 4]
    y = [1, 2, 2, 3, 3, 4, 4, 5]
    p = permutation_p(x, y, n_permutations=5_000)
    q = permutation_p(x, y, method="kendall", n_permutations=5_000)
    assert p is not None and q is not None and p < 0.01 and q < 0.01
    # one shuffle in four puts the lone 1 back in place and ties the observed statistic
    assert permutation_p([0, 0, 0, 1], [0, 0, 0, 1], n_permutations=5_000) == \
        pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize("x, y", [([1, 2], [2, 1]), ([1, 1, 1, 1], [1, 2, 3, 4]),
                                  ([1, 2, 3, 4], [5, 5, 5, 5]), ([1, 2, math.nan], [1, 2, 3])])
def test_undefined_correlations_give_none(x: list[float], y: list[float]) -> None:
    assert permutation_p(x, y) is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        permutation_p([1, 2, 3], [1, 2, 3], method="pearson")
    with pytest.raises(ValueError, match="one length"):
        permutation_p([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_p([1, 2, 3], [1, 2, 3], n_permutations=0)
    with pytest.raises(ValueError, match="at least 4"):
        detectable_rho(3)


def test_detectable_rho_shrinks_with_more_tasks() -> None:
    values = [detectable_rho(n) for n in (8, 15, 30, 100, 1000)]
    assert values == sorted(values, reverse=True)
    assert 0.6 < detectable_rho(15) < 0.75
    assert detectable_rho(15, power=0.9) > detectable_rho(15)
    assert detectable_rho(15, alpha=0.01) > detectable_rho(15)
    assert detectable_rho(1000) < 0.1


def test_detectable_rho_has_about_the_stated_power_in_a_simulation() -> None:
    """Normal pairs whose Spearman rho is the detectable one, tested at the permutation
    null's 5 % critical value: about 80 % of 400 samples of 15 reject."""
    n, target = 15, detectable_rho(15)
    rng = np.random.default_rng(11)
    null = [abs(stats.spearmanr(np.arange(n), rng.permutation(n)).statistic)
            for _ in range(20_000)]
    critical = float(np.quantile(null, 0.95))
    r = 2 * math.sin(math.pi * target / 6)  # Pearson r of the normal with that Spearman rho
    cov = [[1.0, r], [r, 1.0]]
    rejected = 0
    for _ in range(400):
        xy = rng.multivariate_normal([0.0, 0.0], cov, size=n)
        rejected += abs(stats.spearmanr(xy[:, 0], xy[:, 1]).statistic) > critical
    assert 0.7 <= rejected / 400 <= 0.9

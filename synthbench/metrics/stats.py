"""Summary statistics: the mean over repeated runs (seeds) with a Student t interval, and for
the headline rank correlation a permutation p-value and the |rho| a task count can detect."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _scipy_stats() -> Any:
    """scipy.stats, imported when a statistic is computed (importing synthbench stays light)."""
    from scipy import stats

    return stats

def mean_ci(
    values: Iterable[float] | NDArray[np.floating[Any]], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high) with the two-sided Student t interval, NaNs ignored, for few-seed runs.

    One value gives (v, nan, nan); no values give (nan, nan, nan).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    raw = values if isinstance(values, np.ndarray) else list(values)
    arr = np.asarray(raw, dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    n = arr.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(arr.mean())
    if n == 1:
        return mean, float("nan"), float("nan")
    sem = float(arr.std(ddof=1)) / math.sqrt(n)
    t_crit = float(_scipy_stats().t.ppf((1.0 + confidence) / 2.0, n - 1))
    half = t_crit * sem
    return mean, mean - half, mean + half


def permutation_p(x: Sequence[float], y: Sequence[float], method: str = "spearman",
                  n_permutations: int = 10_000, seed: int = 0) -> float | None:
    """Two-sided permutation p-value of Spearman's rho or Kendall's tau-b between x and y.

    y is shuffled against x ``n_permutations`` times (a fixed ``seed`` gives the same p); p =
    (1 + shuffles with |statistic| >= |observed|) / (n_permutations + 1), so never 0. Ties
    take average ranks (Spearman) or the tau-b correction (Kendall). None, like an undefined
    correlation, for fewer than 3 pairs or a constant x or y.
    """
    if method not in ("spearman", "kendall"):
        raise ValueError(f"method must be 'spearman' or 'kendall', got {method!r}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"x and y must be two sequences of one length, got {a.shape}, {b.shape}")
    if a.size < 3 or np.isnan(a).any() or np.isnan(b).any() or np.ptp(a) == 0 \
            or np.ptp(b) == 0:
        return None
    if method == "spearman":  # Pearson on average ranks; the norms do not change when shuffled
        left = _scipy_stats().rankdata(a) - (a.size + 1) / 2.0
        right = _scipy_stats().rankdata(b)

        def statistic(rows: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.asarray(rows @ left, dtype=np.float64)
    else:  # tau-b's numerator: sum over pairs of sign(dx) * sign(dy); its denominator is fixed
        i, j = np.triu_indices(a.size, k=1)
        left = np.sign(a[i] - a[j])
        right = b

        def statistic(rows: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.sign(rows[:, i] - rows[:, j]) @ left
    observed = abs(float(statistic(right[np.newaxis, :])[0]))
    rng = np.random.default_rng(seed)
    count, done = 0, 0
    while done < n_permutations:
        size = min(2_000, n_permutations - done)
        rows = rng.permuted(np.tile(right, (size, 1)), axis=1)
        count += int(np.count_nonzero(np.abs(statistic(rows)) >= observed - 1e-9 * (1 + observed)))
        done += size
    return (count + 1) / (n_permutations + 1)


def detectable_rho(n_tasks: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest |Spearman rho| a two-sided test at ``alpha`` detects with ``power`` on
    ``n_tasks`` points: Fisher's z with Bonett and Wright's variance (1 + rho^2 / 2) / (n - 3)
    under the alternative and 1 / (n - 3) under the null, i.e. the rho solving
    atanh(rho) = z_(1 - alpha/2) / sqrt(n - 3) + z_power * sqrt((1 + rho^2 / 2) / (n - 3)).
    """
    if n_tasks < 4:
        raise ValueError(f"detectable_rho needs at least 4 tasks, got {n_tasks}")
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha}, {power}")
    z_alpha = float(_scipy_stats().norm.ppf(1.0 - alpha / 2.0))
    z_power = float(_scipy_stats().norm.ppf(power))
    scale = math.sqrt(n_tasks - 3)

    def gap(rho: float) -> float:
        return math.atanh(rho) - (z_alpha + z_power * math.sqrt(1.0 + rho * rho / 2.0)) / scale

    if gap(1.0 - 1e-12) < 0:
        return 1.0  # not even a near-perfect correlation reaches the power
    from scipy import optimize

    return float(optimize.brentq(gap, 0.0, 1.0 - 1e-12, xtol=1e-10))

"""Summary statistics for repeated runs (seeds): mean with a Student t confidence interval."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats as _scipy_stats


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
    t_crit = float(_scipy_stats.t.ppf((1.0 + confidence) / 2.0, n - 1))
    half = t_crit * sem
    return mean, mean - half, mean + half

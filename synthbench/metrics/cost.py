"""Cost per point of macro-F1 (METHOD.md §6), for priced models."""

from __future__ import annotations

import math


def cost_per_f1_point(usd: float | None, macro_f1: float | None,
                      baseline_f1: float = 0.0) -> float | None:
    """Dollars per macro-F1 percentage point the cell's synthetic data buys over a baseline.

    ``usd / (100 * (macro_f1 - baseline_f1))``, with F1 in [0, 1]: the default baseline 0
    prices every point of the synthetic-trained classifier's macro-F1; pass e.g. the cell's
    chance macro-F1 or the zero-shot cell's F1 to price only the points above it. None
    when the cost is unknown, an F1 is missing, or nothing is gained over the baseline. A free
    (local) model costs 0.0 per point.
    """
    if usd is None or macro_f1 is None or math.isnan(usd) or math.isnan(macro_f1):
        return None
    if usd < 0:
        raise ValueError(f"cost cannot be negative, got {usd}")
    points = 100.0 * (macro_f1 - baseline_f1)
    if points <= 0:
        return None
    return usd / points


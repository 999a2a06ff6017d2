"""Closeness between two sets of sentence embeddings: similarity to real data and leakage.

Cosines are dot products of L2-normalised rows (inputs are re-normalised here; a zero row has
cosine 0 with everything). The pairwise searches run in row blocks of about 32 MB of float32
similarities, so no |a| x |b| matrix is ever held whole.
"""

from __future__ import annotations

import numpy as np

from synthbench.metrics.diversity import FloatArray, _rows_per_block, _same_dim, _unit_rows

NearDuplicate = tuple[int, int, float]
"""One near-duplicate: (row in the first set, row in the second set, their cosine)."""


def top_k_similarity(
    real: FloatArray, synthetic: FloatArray, k: int = 5, block_size: int | None = None
) -> float:
    """Mean, over real rows, of the mean cosine to their k most similar synthetic rows (Li et al.).

    Says how well the synthetic set covers the real one. ``k`` is capped at the number of
    synthetic rows; NaN when either set is empty. Blocked over the real rows.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    r = _unit_rows(real, "real", np.float32)
    s = _unit_rows(synthetic, "synthetic", np.float32)
    _same_dim(r, s, "top_k_similarity")
    n_real, n_syn = int(r.shape[0]), int(s.shape[0])
    if n_real == 0 or n_syn == 0:
        return float("nan")
    k = min(k, n_syn)
    rows = _rows_per_block(n_syn, block_size)
    total = 0.0
    for start in range(0, n_real, rows):
        sims = r[start : start + rows] @ s.T
        top = np.partition(sims, n_syn - k, axis=1)[:, n_syn - k :]
        total += float(top.sum(dtype=np.float64))
    return total / (n_real * k)


def mean_cross_distance(a: FloatArray, b: FloatArray) -> float:
    """Mean cosine distance over all pairs (a_i, b_j) between two sets (Chung et al.).

    Closed form on unit rows: mean_ij (1 - a_i . b_j) = 1 - mean(a) . mean(b), in float64 and
    O((|a| + |b|) d). NaN when either set is empty.
    """
    ua = _unit_rows(a, "a", np.float64)
    ub = _unit_rows(b, "b", np.float64)
    _same_dim(ua, ub, "mean_cross_distance")
    if ua.shape[0] == 0 or ub.shape[0] == 0:
        return float("nan")
    return 1.0 - float(ua.mean(axis=0) @ ub.mean(axis=0))


def near_duplicates(
    a: FloatArray, b: FloatArray, threshold: float, block_size: int | None = None
) -> list[NearDuplicate]:
    """Pairs (i, j, cos): row i of ``a``, its most similar row j of ``b``, when cos >= threshold.

    Finds copies of one set inside another (at most one pair per row of ``a``, ties going to
    the lowest j). Rows are not excluded against themselves, so ``a`` vs ``a`` pairs every row
    with itself. Blocked over the rows of ``a``; an empty set gives no pairs.
    """
    ua = _unit_rows(a, "a", np.float32)
    ub = _unit_rows(b, "b", np.float32)
    _same_dim(ua, ub, "near_duplicates")
    n_a, n_b = int(ua.shape[0]), int(ub.shape[0])
    if n_a == 0 or n_b == 0:
        return []
    rows = _rows_per_block(n_b, block_size)
    pairs: list[NearDuplicate] = []
    for start in range(0, n_a, rows):
        sims = ua[start : start + rows] @ ub.T
        best_j = sims.argmax(axis=1)
        best_cos = sims[np.arange(sims.shape[0]), best_j].astype(np.float64)
        for offset in np.flatnonzero(best_cos >= threshold):
            pairs.append((start + int(offset), int(best_j[offset]), float(best_cos[offset])))
    return pairs


def leakage(
    synthetic: FloatArray, real_test: FloatArray, threshold: float = 0.95
) -> tuple[float, list[NearDuplicate]]:
    """Share of synthetic rows with a near-duplicate (cos >= threshold) in the real test set.

    Flags generated data that copies test examples and would inflate scores. Returns the share
    and the (synthetic row, test row, cos) pairs; the share is NaN when ``synthetic`` is empty.
    """
    pairs = near_duplicates(synthetic, real_test, threshold)  # validates both inputs
    n_syn = int(np.asarray(synthetic).shape[0])  # 2-D, or an empty 1-D array
    if n_syn == 0:
        return float("nan"), pairs
    return len(pairs) / n_syn, pairs

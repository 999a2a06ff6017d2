"""Diversity of one set of sentence embeddings: Remote-Clique and Chamfer distance.

Both use the cosine distance d(a, b) = 1 - cos(a, b) on L2-normalised rows (inputs are
re-normalised here, so unnormalised embeddings give the same figures; a zero row has cosine 0
with everything). Neither ever builds the n x n matrix: Remote-Clique has a closed form in
O(n * d), and Chamfer is an exact nearest-neighbour search done in row blocks of about 32 MB.

This module also holds the small array helpers that ``similarity`` shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.floating[Any]]
"""Embeddings as the metrics accept them: a 2-D float array of shape (rows, dim)."""

BLOCK_BYTES = 32 * 1024 * 1024
"""Target size of one block of float32 similarities, so a blocked pass stays near 32 MB."""


def _unit_rows(
    x: FloatArray, name: str, dtype: type[np.floating[Any]] = np.float32
) -> NDArray[Any]:
    """Return ``x`` as 2-D L2-normalised rows of ``dtype`` so that cosines are plain dot products.

    Zero rows stay zero. An empty 1-D array is read as zero rows; anything else that is not
    2-D, or that holds NaN/inf, raises ``ValueError``.
    """
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 0)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows, dim), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1
    out: NDArray[Any] = arr / norms
    return out


def _same_dim(a: NDArray[Any], b: NDArray[Any], names: str) -> None:
    """Raise ``ValueError`` when two non-empty embedding sets have different widths."""
    if a.shape[0] and b.shape[0] and a.shape[1] != b.shape[1]:
        raise ValueError(f"{names}: embedding widths differ ({a.shape[1]} vs {b.shape[1]})")


def _rows_per_block(n_cols: int, block_size: int | None) -> int:
    """Rows per block: ``block_size`` if given, else what keeps rows x n_cols float32 near 32 MB."""
    if block_size is not None:
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        return int(block_size)
    return max(1, BLOCK_BYTES // (4 * max(n_cols, 1)))


def remote_clique(embeddings: FloatArray) -> float:
    """Mean cosine distance from each row to all other rows (Remote-Clique), via a closed form.

    With s = sum of unit rows, sum_i sum_{j != i} cos(e_i, e_j) = |s|^2 - sum_i |e_i|^2
    (= |s|^2 - n for unit rows), so RC = 1 - (|s|^2 - n) / (n (n - 1)): O(n * d) in float64,
    no n x n matrix. Returns NaN for fewer than two rows.
    """
    e = _unit_rows(embeddings, "embeddings", np.float64)
    n = int(e.shape[0])
    if n < 2:
        return float("nan")
    s = e.sum(axis=0)
    self_sim = float(np.einsum("ij,ij->", e, e))  # n, less one per zero row
    off_diagonal = float(s @ s) - self_sim
    return 1.0 - off_diagonal / (n * (n - 1))


def chamfer(embeddings: FloatArray, block_size: int | None = None) -> float:
    """Mean cosine distance from each row to its nearest other row (Chamfer), exact and blocked.

    Rows are processed in blocks against the rows from the block's start onwards (the upper
    triangle), updating both the rows' and the columns' best similarity, so every pair is
    scored once and memory stays at one block (``block_size`` rows x n float32; by default
    about 32 MB). The diagonal is masked, so duplicate rows have distance 0. NaN if n < 2.
    """
    e = _unit_rows(embeddings, "embeddings", np.float32)
    n = int(e.shape[0])
    if n < 2:
        return float("nan")
    rows = _rows_per_block(n, block_size)
    best = np.full(n, -np.inf, dtype=np.float32)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        sims = e[start:stop] @ e[start:].T  # (stop - start, n - start)
        diag = np.arange(stop - start)
        sims[diag, diag] = -np.inf
        np.maximum(best[start:stop], sims.max(axis=1), out=best[start:stop])
        np.maximum(best[start:], sims.max(axis=0), out=best[start:])
        del sims
    nearest = 1.0 - np.clip(best.astype(np.float64), -1.0, 1.0)
    return float(nearest.mean())

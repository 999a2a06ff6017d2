"""Pure metrics on sentence embeddings and texts (METHOD.md): diversity, similarity, lexical, stats.

Embedding metrics take 2-D float arrays (rows, dim), re-normalise the rows, and use the cosine
distance 1 - cos; none of them builds an n x n matrix.
"""

from __future__ import annotations

from synthbench.metrics.cost import cost_per_f1_point
from synthbench.metrics.diversity import chamfer, remote_clique
from synthbench.metrics.headroom import chance_macro_f1, gap_closed, label_prior
from synthbench.metrics.lexical import compression_ratio, distinct_n, tokenize
from synthbench.metrics.similarity import (
    NearDuplicate,
    leakage,
    mean_cross_distance,
    near_duplicates,
    top_k_similarity,
)
from synthbench.metrics.stats import detectable_rho, mean_ci, permutation_p

__all__ = [
    "NearDuplicate",
    "chamfer",
    "chance_macro_f1",
    "compression_ratio",
    "cost_per_f1_point",
    "detectable_rho",
    "distinct_n",
    "gap_closed",
    "label_prior",
    "leakage",
    "mean_ci",
    "mean_cross_distance",
    "near_duplicates",
    "permutation_p",
    "remote_clique",
    "tokenize",
    "top_k_similarity",
]

"""The metric functions against brute-force versions (full matrices) and hand-worked examples."""

from __future__ import annotations

import gzip
import math
import random
import string

import numpy as np
import pytest
from numpy.typing import NDArray

from synthbench.metrics import (
    chamfer,
    compression_ratio,
    distinct_n,
    leakage,
    mean_ci,
    mean_cross_distance,
    near_duplicates,
    remote_clique,
    tokenize,
    top_k_similarity,
)

F64 = NDArray[np.float64]


def unit(n: int, d: int, seed: int) -> NDArray[np.float32]:
    """Seeded random L2-normalised float32 rows."""
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    out: NDArray[np.float32] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def cos_matrix(a: NDArray[np.float32], b: NDArray[np.float32]) -> F64:
    """Full cosine matrix in float64 (rows are normalised again in float64)."""
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    a64 /= np.linalg.norm(a64, axis=1, keepdims=True)
    b64 /= np.linalg.norm(b64, axis=1, keepdims=True)
    out: F64 = a64 @ b64.T
    return out


def brute_remote_clique(e: NDArray[np.float32]) -> float:
    """Mean over i of mean over j != i of 1 - cos, from the full n x n matrix."""
    n = len(e)
    dist = 1.0 - cos_matrix(e, e)
    per_row = [np.delete(dist[i], i).mean() for i in range(n)]
    return float(np.mean(per_row))


def brute_chamfer(e: NDArray[np.float32]) -> float:
    """Mean over i of min over j != i of 1 - cos, from the full n x n matrix."""
    dist = 1.0 - cos_matrix(e, e)
    np.fill_diagonal(dist, np.inf)
    return float(dist.min(axis=1).mean())


# --- Remote-Clique -------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d", "seed"), [(2, 3, 0), (7, 5, 1), (64, 16, 2), (301, 48, 3)])
def test_remote_clique_matches_brute_force(n: int, d: int, seed: int) -> None:
    e = unit(n, d, seed)
    assert remote_clique(e) == pytest.approx(brute_remote_clique(e), abs=1e-6)


def test_remote_clique_clustered_data_is_less_diverse() -> None:
    # Small noise around one direction: distances near 0, far below random data (about 1).
    base = unit(1, 32, 4)
    tight = base + 0.01 * np.random.default_rng(5).standard_normal((50, 32)).astype(np.float32)
    assert remote_clique(tight) < 0.01
    assert remote_clique(unit(50, 32, 6)) > 0.9


def test_remote_clique_known_values() -> None:
    # Two opposite vectors: distance 2. Two orthogonal vectors: distance 1.
    assert remote_clique(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)
    assert remote_clique(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(1.0)
    # Three copies of one vector: the diagonal is excluded, so 0 (not diluted by self-pairs).
    assert remote_clique(np.ones((3, 4))) == pytest.approx(0.0, abs=1e-12)


def test_remote_clique_renormalises_rows() -> None:
    e = unit(40, 8, 7)
    scales = np.random.default_rng(8).uniform(0.1, 10.0, size=(40, 1)).astype(np.float32)
    assert remote_clique(e * scales) == pytest.approx(remote_clique(e), abs=1e-6)


def test_remote_clique_too_few_rows_is_nan() -> None:
    assert math.isnan(remote_clique(unit(1, 4, 0)))
    assert math.isnan(remote_clique(np.zeros((0, 4), dtype=np.float32)))


# --- Chamfer -------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d", "seed"), [(2, 3, 0), (9, 4, 1), (100, 16, 2), (500, 32, 3)])
def test_chamfer_matches_brute_force(n: int, d: int, seed: int) -> None:
    e = unit(n, d, seed)
    assert chamfer(e) == pytest.approx(brute_chamfer(e), abs=1e-6)


@pytest.mark.parametrize("block_size", [1, 3, 7, 64, 99, 100, 101, 1000])
def test_chamfer_block_sizes_that_do_not_divide_n(block_size: int) -> None:
    e = unit(100, 12, 11)
    assert chamfer(e, block_size=block_size) == pytest.approx(brute_chamfer(e), abs=1e-6)


def test_chamfer_duplicate_rows_have_zero_nearest_distance() -> None:
    e = unit(30, 10, 12)
    e[20] = e[3]  # one duplicated pair
    e[25] = e[26] = e[27] = e[9]  # a row copied three times
    dupes = {3, 20, 9, 25, 26, 27}
    others = [i for i in range(30) if i not in dupes]
    # Only the non-duplicated rows contribute to the mean; the duplicated ones add 0.
    dist = 1.0 - cos_matrix(e[others], e)
    for row, i in enumerate(others):
        dist[row, i] = np.inf
    expected = float(dist.min(axis=1).sum()) / 30
    assert brute_chamfer(e) == pytest.approx(expected, abs=1e-6)
    for block_size in (1, 4, None):
        assert chamfer(e, block_size=block_size) == pytest.approx(expected, abs=1e-6)
    assert chamfer(np.tile(e[:1], (5, 1))) == pytest.approx(0.0, abs=1e-6)


def test_chamfer_excludes_self_match() -> None:
    # Without the diagonal mask every row would find itself and Chamfer would be 0.
    e = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    # Row 0: nearest other is row 1 (distance 1); same for row 2; row 1: distance 1 to both.
    assert chamfer(e) == pytest.approx(1.0, abs=1e-6)


def test_chamfer_too_few_rows_is_nan_and_bad_input_raises() -> None:
    assert math.isnan(chamfer(unit(1, 4, 0)))
    with pytest.raises(ValueError):
        chamfer(np.ones(5, dtype=np.float32))
    with pytest.raises(ValueError):
        chamfer(unit(5, 3, 0), block_size=0)
    bad = unit(5, 3, 0)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError):
        chamfer(bad)


# --- similarity to real --------------------------------------------------------------------


def brute_top_k(real: NDArray[np.float32], syn: NDArray[np.float32], k: int) -> float:
    sims = cos_matrix(real, syn)
    k = min(k, syn.shape[0])
    return float(np.mean([np.sort(row)[::-1][:k].mean() for row in sims]))


@pytest.mark.parametrize(
    ("n_real", "n_syn", "k", "block_size"),
    [(50, 80, 5, None), (50, 80, 1, 7), (33, 3, 5, 4), (10, 10, 10, 3), (120, 41, 3, 1)],
)
def test_top_k_similarity_matches_brute_force(
    n_real: int, n_syn: int, k: int, block_size: int | None
) -> None:
    real, syn = unit(n_real, 16, 20), unit(n_syn, 16, 21)
    got = top_k_similarity(real, syn, k=k, block_size=block_size)
    assert got == pytest.approx(brute_top_k(real, syn, k), abs=1e-6)


def test_top_k_similarity_identical_sets_with_k1_is_one_and_empty_is_nan() -> None:
    e = unit(20, 8, 22)
    assert top_k_similarity(e, e, k=1) == pytest.approx(1.0, abs=1e-6)
    assert math.isnan(top_k_similarity(e, np.zeros((0, 8), dtype=np.float32)))
    assert math.isnan(top_k_similarity(np.zeros((0, 8), dtype=np.float32), e))
    with pytest.raises(ValueError):
        top_k_similarity(e, unit(5, 9, 0))


@pytest.mark.parametrize(("n_a", "n_b"), [(1, 1), (10, 25), (200, 60)])
def test_mean_cross_distance_matches_brute_force(n_a: int, n_b: int) -> None:
    a, b = unit(n_a, 24, 30), unit(n_b, 24, 31)
    expected = float((1.0 - cos_matrix(a, b)).mean())
    assert mean_cross_distance(a, b) == pytest.approx(expected, abs=1e-6)
    # Unnormalised input gives the same figure (rows are normalised first).
    assert mean_cross_distance(3.0 * a, b) == pytest.approx(expected, abs=1e-6)


def test_mean_cross_distance_empty_is_nan() -> None:
    assert math.isnan(mean_cross_distance(np.zeros((0, 4)), unit(3, 4, 0)))


# --- near duplicates and leakage -----------------------------------------------------------


def test_leakage_finds_planted_near_duplicate() -> None:
    synthetic = unit(60, 32, 40)
    real_test = unit(45, 32, 41)
    noise = 0.01 * np.random.default_rng(42).standard_normal(32).astype(np.float32)
    synthetic[17] = real_test[29] + noise  # a slightly perturbed copy of a test example
    expected_cos = float(cos_matrix(synthetic[17:18], real_test[29:30])[0, 0])
    assert 0.99 < expected_cos < 1.0

    share, pairs = leakage(synthetic, real_test, threshold=0.95)
    assert len(pairs) == 1
    i, j, cos = pairs[0]
    assert (i, j) == (17, 29)
    assert cos == pytest.approx(expected_cos, abs=1e-6)
    assert share == pytest.approx(1 / 60)

    # Random 32-d unit vectors are nowhere near 0.95 apart from the planted one.
    share_clean, pairs_clean = leakage(unit(60, 32, 43), real_test)
    assert share_clean == 0.0
    assert pairs_clean == []


def test_near_duplicates_matches_brute_force_across_blocks() -> None:
    a, b = unit(70, 6, 50), unit(90, 6, 51)  # low dimension: many close pairs
    sims = cos_matrix(a, b)
    threshold = 0.9
    expected = [
        (i, int(sims[i].argmax()), float(sims[i].max()))
        for i in range(70)
        if sims[i].max() >= threshold
    ]
    assert len(expected) > 10
    for block_size in (1, 8, None):
        got = near_duplicates(a, b, threshold, block_size=block_size)
        assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in expected]
        for (_, _, c_got), (_, _, c_exp) in zip(got, expected, strict=True):
            assert c_got == pytest.approx(c_exp, abs=1e-6)


def test_leakage_empty_synthetic() -> None:
    share, pairs = leakage(np.zeros((0, 4), dtype=np.float32), unit(3, 4, 0))
    assert math.isnan(share)
    assert pairs == []


# --- lexical -------------------------------------------------------------------------------


def test_tokenize_lowercases_words_and_drops_punctuation() -> None:
    assert tokenize("Hello, WORLD! it's 2 o'clock_now") == [
        "hello",
        "world",
        "it",
        "s",
        "2",
        "o",
        "clock_now",
    ]


def test_distinct_n_hand_worked() -> None:
    assert distinct_n(["a b a b"], 1) == pytest.approx(0.5)
    # Bigrams of "a b a b": (a b), (b a), (a b) -> 2 distinct / 3.
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    # Case and punctuation are ignored: all four unigrams are "a" or "b".
    assert distinct_n(["A, b", "a B!"], 1) == pytest.approx(2 / 4)
    # n-grams do not cross texts: "x y" + "z" gives bigrams (x y) only.
    assert distinct_n(["x y", "z"], 2) == pytest.approx(1.0)
    # Pooled over texts: the same bigram in two texts counts once among two.
    assert distinct_n(["the cat", "The cat."], 2) == pytest.approx(0.5)
    assert distinct_n(["a b c d"], 3) == pytest.approx(1.0)


def test_distinct_n_without_ngrams_is_nan_and_bad_n_raises() -> None:
    assert math.isnan(distinct_n([], 1))
    assert math.isnan(distinct_n(["one two"], 3))
    assert math.isnan(distinct_n(["", "!!"], 1))
    with pytest.raises(ValueError):
        distinct_n(["a"], 0)
    with pytest.raises(TypeError):
        distinct_n("a b", 1)


def test_compression_ratio_higher_for_repeated_text() -> None:
    rng = random.Random(0)
    varied = [
        " ".join(
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(12)
        )
        for _ in range(40)
    ]
    repeated = ["the product arrived on time and works great"] * 40
    r_rep, r_var = compression_ratio(repeated), compression_ratio(varied)
    assert r_rep > 2 * r_var
    assert r_var > 1.0


def test_compression_ratio_definition_and_determinism() -> None:
    texts = ["first text", "second text", "héllo wörld"]
    data = "\n".join(texts).encode("utf-8")
    expected = len(data) / len(gzip.compress(data, compresslevel=9, mtime=0))
    assert compression_ratio(texts) == expected
    assert compression_ratio(texts) == compression_ratio(list(texts))
    assert math.isnan(compression_ratio([]))
    assert math.isnan(compression_ratio([""]))


# --- stats ---------------------------------------------------------------------------------


def test_mean_ci_against_hand_computed_t_interval() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    # mean 3, sample sd sqrt(2.5), sem sqrt(2.5)/sqrt(5) = sqrt(0.5);
    # t_{0.975, 4} = 2.776445105... (tables), half-width = 2.776445105 * 0.707106781.
    half = 2.7764451051977934 * math.sqrt(0.5)
    mean, low, high = mean_ci(values)
    assert mean == pytest.approx(3.0)
    assert low == pytest.approx(3.0 - half, abs=1e-9)
    assert high == pytest.approx(3.0 + half, abs=1e-9)
    # 90 %: t_{0.95, 4} = 2.131846786...
    _, low90, high90 = mean_ci(np.array(values), confidence=0.90)
    assert high90 - low90 == pytest.approx(2 * 2.1318467863266495 * math.sqrt(0.5), abs=1e-9)


def test_mean_ci_ignores_nans_and_handles_small_samples() -> None:
    m, lo, hi = mean_ci([2.0, float("nan"), 4.0])
    # Two values: mean 3, sd sqrt(2), sem 1, t_{0.975, 1} = 12.706204736...
    assert m == pytest.approx(3.0)
    assert (lo, hi) == pytest.approx((3.0 - 12.706204736174698, 3.0 + 12.706204736174698))
    one = mean_ci([float("nan"), 0.7])
    assert one[0] == pytest.approx(0.7)
    assert math.isnan(one[1])
    assert math.isnan(one[2])
    assert all(math.isnan(x) for x in mean_ci([]))
    assert all(math.isnan(x) for x in mean_ci([float("nan")]))
    assert mean_ci([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError):
        mean_ci([1.0, 2.0], confidence=1.5)

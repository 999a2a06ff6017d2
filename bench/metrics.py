"""Benchmark of the embedding diversity metrics at the size METHOD.md sets as the target.

Run: ``python bench/metrics.py``. Prints figures only; it asserts nothing about time.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from synthbench.metrics import chamfer, remote_clique
from synthbench.metrics.diversity import BLOCK_BYTES

N, D, SEED = 10_000, 384, 0
CHAMFER_TARGET_S = 2.0
CHAMFER_TARGET_MB = 500.0
MB = 1024 * 1024


def best_of(fn: Callable[[], float], repeats: int = 3) -> tuple[float, float]:
    """(value, best wall time in seconds) over ``repeats`` calls."""
    times = []
    value = float("nan")
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return value, min(times)


def peak_extra_mb(fn: Callable[[], float]) -> float:
    """Peak memory allocated during one call, as tracemalloc sees it (numpy buffers included)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - base) / MB


def brute_remote_clique(e: NDArray[np.float32]) -> float:
    """Remote-Clique from the full n x n distance matrix (diagonal excluded)."""
    n = len(e)
    dist = 1.0 - e @ e.T  # n x n float32
    np.fill_diagonal(dist, 0.0)
    return float((dist.sum(axis=1, dtype=np.float64) / (n - 1)).mean())


def brute_chamfer(e: NDArray[np.float32]) -> float:
    """Chamfer from the full n x n similarity matrix (diagonal masked)."""
    sims = e @ e.T
    np.fill_diagonal(sims, -np.inf)
    return float((1.0 - np.clip(sims.max(axis=1).astype(np.float64), -1.0, 1.0)).mean())


def main() -> None:
    """Time Chamfer and Remote-Clique on seeded random unit vectors and print the figures."""
    rng = np.random.default_rng(SEED)
    e = rng.standard_normal((N, D)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    block_rows = max(1, BLOCK_BYTES // (4 * N))

    print("synthbench metrics benchmark")
    print(f"  data: {N:,} random L2-normalised float32 vectors, d = {D}, seed {SEED}; {cpus} CPUs")
    print("  Chamfer: mean over rows of the cosine distance to the nearest other row, exact,")
    block_mb = block_rows * N * 4 / MB
    print(f"    blocked ({block_rows} rows x {N:,} float32 = {block_mb:.0f} MB a block);")
    print("    time = best of 3 wall-clock runs; memory = tracemalloc peak during one call.")
    print("  Remote-Clique: mean pairwise cosine distance; closed form (O(n d)) against the")
    print("    brute force that builds the full n x n matrix; times are best of 3.")
    print()

    value, t_ch = best_of(lambda: chamfer(e))
    mem_ch = peak_extra_mb(lambda: chamfer(e))
    ok_t = "OK" if t_ch <= CHAMFER_TARGET_S else "OVER TARGET"
    ok_m = "OK" if mem_ch <= CHAMFER_TARGET_MB else "OVER TARGET"
    print(f"Chamfer            value {value:.6f}")
    print(f"  time (best of 3) {t_ch:8.3f} s    target <= {CHAMFER_TARGET_S:.0f} s    {ok_t}")
    print(f"  peak extra mem   {mem_ch:8.1f} MB   target <= {CHAMFER_TARGET_MB:.0f} MB  {ok_m}")
    brute_ch = brute_chamfer(e)
    print(f"  full-matrix check value {brute_ch:.6f}, |diff| {abs(value - brute_ch):.2e}")
    print()

    rc_closed, t_closed = best_of(lambda: remote_clique(e))
    rc_brute, t_brute = best_of(lambda: brute_remote_clique(e))
    mem_brute = peak_extra_mb(lambda: brute_remote_clique(e))
    mem_closed = peak_extra_mb(lambda: remote_clique(e))
    print("Remote-Clique")
    print("                   value          best time      peak extra mem")
    print(f"  closed form      {rc_closed:.9f}  {t_closed * 1e3:9.2f} ms   {mem_closed:7.1f} MB")
    print(f"  brute force      {rc_brute:.9f}  {t_brute * 1e3:9.2f} ms   {mem_brute:7.1f} MB")
    print(f"  |difference|     {abs(rc_closed - rc_brute):.2e}")
    print(f"  speed ratio      brute / closed = {t_brute / t_closed:.0f}x")


if __name__ == "__main__":
    main()

"""Benchmark of the llm_few_shot baseline on the embedded model: label log-probabilities with
the few-shot prefix cached, against scoring every label from scratch, against greedy text.

Run: ``python bench/llm_few_shot.py [N_TEST] [K]`` (default 20 texts, 8 shots, SST-2 from
``../shared/data``). Prints seconds per test text and ratios measured in the same run, and
whether the two scoring paths pick the same labels; it asserts nothing about time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

from synthbench.data import balanced_quota, load_task_data, sample_per_label
from synthbench.generation import request_seed
from synthbench.plugins import load_plugins
from synthbench_baselines import LlmFewShot
from synthbench_local.provider import TransformersProvider

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> None:
    import random

    n_test = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    task = load_plugins().tasks.get("sst2")
    data = load_task_data(task, DATA)
    provider = TransformersProvider.embedded()
    labels = list(task.label_names)
    baseline = LlmFewShot(k=k, n_test=n_test)
    shots = sample_per_label(data.train, balanced_quota(task.label_names, k),
                             random.Random(request_seed(0, "llm_few_shot", "shots")))
    sample = list(data.test)[:n_test]
    prompts = [baseline.messages(task, shots, e.text) for e in sample]

    t0 = time.perf_counter()
    cached = [provider.score_continuations(m, labels) for m in prompts]
    t_cached = (time.perf_counter() - t0) / n_test
    t0 = time.perf_counter()
    scratch = [provider.score_continuations_uncached(m, labels) for m in prompts]
    t_scratch = (time.perf_counter() - t0) / n_test
    t0 = time.perf_counter()
    LlmFewShot(k=k, n_test=n_test, method="text").run(provider, task, data.train, sample, 0)
    t_text = (time.perf_counter() - t0) / n_test

    same = sum(max(range(len(labels)), key=a.__getitem__) == max(range(len(labels)),
               key=b.__getitem__) for a, b in zip(cached, scratch, strict=True))
    gap = max(abs(x - y) for a, b in zip(cached, scratch, strict=True)
              for x, y in zip(a, b, strict=True))
    print(f"llm_few_shot on {provider.model_id}, SST-2, k={k}, {n_test} test texts, "
          f"{torch.get_num_threads()} threads")
    print(f"  log-probabilities, prefix cached : {t_cached:.3f} s/text")
    print(f"  log-probabilities, from scratch  : {t_scratch:.3f} s/text "
          f"({t_scratch / t_cached:.1f}x the cached path)")
    print(f"  greedy text, batched             : {t_text:.3f} s/text "
          f"({t_text / t_cached:.1f}x the cached path)")
    print(f"  same label from both scorings: {same}/{n_test}; largest log-prob gap {gap:.2e}")


if __name__ == "__main__":
    main()

"""Prefill and decode tokens/s of the fast local engine (CTranslate2 int8) on zero-shot and
few-shot prompt mixes, before and after length-sorted batching, against GEMM rates measured
in the same run.

The prompts are the real generators' (``zero_shot``, ``few_shot``) on real tasks: one call of
the runner (the engine's requests per call) per task and generator, seed 0. Each mix runs on
the bare engine in the batches of two plans: ``before``, the old scheme (the call in hash
order, split evenly when the key/value cache, counted per grouped head, passed 1 GiB), and
``after``, the engine's own ``plan``. A batch is run twice, once with one new token (its
prefill as the engine pays it: CTranslate2 feeds prompt tokens past the batch's shortest
prompt one step at a time) and once in full; decode is the difference. The roofline is the
int8 GEMM rate (``torch._int_mm``, transformer-shaped) over 2 x parameters per token.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/prefill.py --model smollm2-135m-instruct \\
        --tasks sst2 --data-dir ../shared/data --repeat 2

Asserts nothing about time; on a shared machine compare figures of one run only.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synthbench import (
    Completion,
    GenerationContext,
    GenerationRequest,
    Usage,
    balanced_quota,
    load_plugins,
)
from synthbench.data import load_task_data

OLD_KV_BUDGET = 1 << 30


class Recorder:
    """A provider that records the requests a generator sends and answers a fixed review."""

    def __init__(self, per_call: int) -> None:
        self.requests: list[GenerationRequest] = []
        self._per_call = per_call

    @property
    def model_id(self) -> str:
        return "bench/recorder"

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"seed", "batch"})

    @property
    def requests_per_call(self) -> int:
        return self._per_call

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id}

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        self.requests.extend(requests)
        return [Completion("A fine and moving film.", self.model_id, Usage(1, 1))
                for _ in requests]


def first_call(task_id: str, generator: str, per_call: int, data_dir: Path
               ) -> list[GenerationRequest]:
    """The first ``complete`` call a ``generator`` cell of ``task_id`` (N = 200) sends."""
    plugins = load_plugins()
    task = plugins.tasks.get(task_id)
    data = load_task_data(task, data_dir)
    recorder = Recorder(per_call)
    plugins.generators.get(generator).factory().generate(GenerationContext(
        task, recorder, data.train, balanced_quota(task.label_names, 200), 0))
    return recorder.requests[:per_call]


def legacy_plan(provider: Any, config: Any, requests: Sequence[GenerationRequest]
                ) -> list[list[list[int]]]:
    """The batches of the old scheme: hash order, even split past 1 GiB counted per grouped
    key/value head (what CTranslate2 stores is larger by the query/kv head ratio)."""
    from synthbench_local.fast import request_digest

    text: Any = getattr(config, "text_config", None) or config
    heads = int(text.num_attention_heads)
    kv_heads = int(getattr(text, "num_key_value_heads", None) or heads)
    old_per_token = provider._kv_per_token * kv_heads // (1 if kv_heads == 1 else heads)
    prompts = {id(r): provider.chat_ids(r.messages) for r in requests}
    order = sorted(requests, key=request_digest)
    longest = max(len(p) for p in prompts.values()) + requests[0].max_tokens
    cap = max(1, min(provider.requests_per_call, OLD_KV_BUDGET // (old_per_token * longest)))
    count = -(-len(order) // cap)
    base, extra = divmod(len(order), count)
    batches, start = [], 0
    for index in range(count):
        size = base + (index < extra)
        batches.append([prompts[id(r)] for r in order[start:start + size]])
        start += size
    return batches


def int8_gemm_rate(m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """Best int8 x int8 -> int32 GEMM rate (GOP/s) of ``torch._int_mm`` at (m, k) x (k, n)."""
    import torch

    a = torch.randint(-127, 127, (m, k), dtype=torch.int8)
    b = torch.randint(-127, 127, (k, n), dtype=torch.int8)
    return _best(lambda: torch._int_mm(a, b), 2 * m * k * n, seconds)


def fp32_gemm_rate(m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """Best numpy fp32 GEMM rate (GFLOP/s) at (m, k) x (k, n)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return _best(lambda: a @ b, 2 * m * k * n, seconds)


def _best(step: Any, ops: int, seconds: float) -> float:
    step()
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        for _ in range(5):
            step()
        best = max(best, 5 * ops / (time.perf_counter() - began) / 1e9)
    return best


def run_plan(generator: Any, provider: Any, request: GenerationRequest,
             batches: Sequence[Sequence[list[int]]]) -> dict[str, float]:
    """Prefill-only and full seconds, prompt and output tokens of ``batches``."""
    import ctranslate2

    options = provider.generate_options(request)
    prefill = full = 0.0
    output = 0
    for batch in batches:
        tokens = [provider.tokenizer.convert_ids_to_tokens(ids) for ids in batch]
        ctranslate2.set_random_seed(0)
        began = time.perf_counter()
        generator.generate_batch(tokens, **{**options, "max_length": 1})
        prefill += time.perf_counter() - began
        began = time.perf_counter()
        results = generator.generate_batch(tokens, **options)
        full += time.perf_counter() - began
        output += sum(len(r.sequences_ids[0]) for r in results)
    return {"prefill_s": prefill, "full_s": full, "output": float(output),
            "prompt": float(sum(len(ids) for batch in batches for ids in batch)),
            "batches": float(len(batches))}


def rate_floor(few: dict[str, float], zero: dict[str, float]) -> float:
    """The few/zero time ratio if the few-shot mix ran its prompt and output tokens at the
    zero-shot mix's own prefill and decode rates: what batching alone can reach, since
    longer prompts are more work, not waste (their longer contexts only add to it)."""
    prefill_rate = zero["prompt"] / zero["prefill_s"]
    decode_rate = zero["output"] / max(zero["full_s"] - zero["prefill_s"], 1e-9)
    return (few["prompt"] / prefill_rate + few["output"] / decode_rate) / zero["full_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct",
                        help="local/<model>: smollm2-135m-instruct, qwen2.5-0.5b, ...")
    parser.add_argument("--tasks", default="sst2", help="comma-separated, e.g. sst2,ag_news")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import ctranslate2
    from transformers import AutoConfig

    from synthbench_local.fast import CTranslate2Provider
    from synthbench_local.models import offline_model, transformers_folder

    model = offline_model(args.model)
    provider = CTranslate2Provider.offline(model)
    config: Any = AutoConfig.from_pretrained(str(transformers_folder(model)))
    text: Any = getattr(config, "text_config", None) or config
    hidden, inner = int(text.hidden_size), int(text.intermediate_size)
    generator = ctranslate2.Generator(str(provider.model_dir), **provider.engine_options())
    mixes = {(task, kind): first_call(task, kind, provider.requests_per_call, args.data_dir)
             for task in args.tasks.split(",") for kind in ("zero_shot", "few_shot")}
    print(f"local/{args.model}: {model.parameters / 1e6:.0f}M parameters, "
          f"{provider.engine_options()['intra_threads']} threads, {os.cpu_count()} CPUs "
          f"(load {os.getloadavg()[0]:.1f})")
    for round_ in range(1, args.repeat + 1):
        int8 = int8_gemm_rate(512, hidden, inner)
        fp32 = fp32_gemm_rate(512, hidden, inner)
        roofline = int8 * 1e9 / (2 * model.parameters)
        print(f"\nround {round_}: GEMM (512 x {hidden}) x ({hidden} x {inner}): int8 "
              f"{int8:.0f} GOP/s, fp32 {fp32:.0f} GFLOP/s -> int8 prefill roofline "
              f"{roofline:.0f} tok/s")
        total: dict[tuple[str, str], dict[str, float]] = {}
        for (task, kind), requests in mixes.items():
            plans = {"before": legacy_plan(provider, config, requests),
                     "after": [[ids for _, ids in batch] for batch in provider.plan(requests)]}
            for name, batches in plans.items():
                f = run_plan(generator, provider, requests[0], batches)
                total[(task, f"{kind}/{name}")] = f
                decode = f["output"] / max(f["full_s"] - f["prefill_s"], 1e-9)
                prefill = f["prompt"] / f["prefill_s"]
                print(f"  {task:8s} {kind:9s} {name:6s}: {len(requests)} requests in "
                      f"{f['batches']:.0f} batches, {f['prompt']:6.0f} prompt tok, prefill "
                      f"{prefill:6.0f} tok/s ({prefill / roofline:4.2f} of int8 roofline), "
                      f"decode {decode:6.1f} tok/s ({f['output']:.0f} tok), total "
                      f"{f['full_s']:6.1f} s = {f['output'] / f['full_s']:5.1f} out tok/s",
                      flush=True)
        for task in args.tasks.split(","):
            for name in ("before", "after"):
                few, zero = total[(task, f"few_shot/{name}")], total[(task, f"zero_shot/{name}")]
                print(f"  {task:8s} few/zero time, {name:6s}: "
                      f"{few['full_s'] / zero['full_s']:4.2f}x (floor at the zero-shot "
                      f"mix's own rates: {rate_floor(few, zero):4.2f}x; prompt tokens "
                      f"{few['prompt'] / zero['prompt']:3.1f}x)")


if __name__ == "__main__":
    main()

"""Generated tokens/s of the ``local`` provider: the fast engine (CTranslate2 int8) through
synthbench against today's transformers path (fp32, batch 8) and against the bare engine,
with the share of the machine's fp32 matmul roofline, peak memory, and seconds per 100 texts.

Each side runs in its own process, one after the other in the same invocation (so peak
resident memory is that side's own), on the same 64 chat prompts, sampling (T = 1, top_p = 1,
one seed per request) and 60 new tokens. Tokens are counted alike: generated tokens up to and
including the end token.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/local_generation.py
    HF_HUB_OFFLINE=1 .venv/bin/python bench/local_generation.py --model qwen2.5-0.5b \\
        --sides synthbench,bare
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

KINDS = ["positive", "negative", "funny", "sarcastic", "enthusiastic", "disappointed",
         "short", "detailed"]
FILMS = ["movie", "science-fiction movie", "romantic comedy", "documentary",
         "horror film", "animated film", "thriller", "musical"]
SIDES = ("transformers", "synthbench", "bare")


def make_requests(n: int, max_tokens: int, temperature: float, words: int | None = None
                  ) -> list[Any]:
    """``n`` chat requests over 64 distinct prompts, one seed per request."""
    from synthbench import GenerationRequest, Message

    prompts = [f"Write a {kind} review of a {film}" for film in FILMS for kind in KINDS]
    suffix = f" in about {words} words." if words else "."
    return [GenerationRequest((Message("user", prompts[i % len(prompts)] + suffix),),
                              max_tokens=max_tokens, temperature=temperature, seed=0,
                              sample_index=i)
            for i in range(n)]


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops(seconds: float = 3.0) -> float:
    """Best fp32 GFLOP/s of a 1024 x 1024 matrix product on every core torch uses."""
    import torch

    from synthbench_local.base import available_cores

    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(available_cores())
    size = 1024
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        torch.mm(a, b)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        for _ in range(10):
            torch.mm(a, b)
        best = max(best, 10 * 2 * size**3 / (time.perf_counter() - began) / 1e9)
    return best


def worker(side: str, model_name: str, n: int, max_tokens: int, temperature: float,
           texts: int, words: int) -> dict[str, Any]:
    """Measure one side in this process; returns figures as a JSON-able dict."""
    from synthbench import CacheSettings, CallContext
    from synthbench_local import local_provider

    options = {"engine": "transformers"} if side == "transformers" else {}
    calls = CallContext(cache=CacheSettings(enabled=False), provider_options=options)
    began = time.perf_counter()
    provider: Any = local_provider(model_name, calls)
    ready = time.perf_counter() - began
    requests = make_requests(n, max_tokens, temperature)
    out: dict[str, Any] = {"side": side, "ready_s": ready, "batch": None}
    if side == "bare":
        import ctranslate2

        inner = provider.inner
        generator = ctranslate2.Generator(str(inner.model_dir), **inner.engine_options())
        tokens = [inner.tokenizer.convert_ids_to_tokens(inner.chat_ids(r.messages))
                  for r in requests]
        options = inner.generate_options(requests[0])
        generator.generate_batch(tokens[:4], **{**options, "max_length": 4})  # warm up
        began = time.perf_counter()
        results = generator.generate_batch(tokens, **options)
        seconds = time.perf_counter() - began
        out.update(tokens=sum(len(r.sequences_ids[0]) for r in results), seconds=seconds,
                   batch=len(tokens))
    else:
        provider.complete(make_requests(4, 4, temperature))  # warm up
        began = time.perf_counter()
        completions = provider.complete(requests)
        seconds = time.perf_counter() - began
        out.update(tokens=sum(c.usage.output_tokens for c in completions), seconds=seconds,
                   batch=getattr(provider.inner, "batch_size", None) or n)
        if texts and side == "synthbench":
            asked = make_requests(texts, 2 * words + 16, temperature, words=words)
            began = time.perf_counter()
            written = provider.complete(asked)
            out.update(texts_s=time.perf_counter() - began, texts=len(written),
                       mean_words=sum(len(c.text.split()) for c in written) / len(written))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct",
                        help="local/<model>: smollm2-135m-instruct, qwen2.5-0.5b, ...")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--n", type=int, default=64, help="requests per pass")
    parser.add_argument("--max-tokens", type=int, default=60)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--texts", type=int, default=100,
                        help="texts of ~--words words to time through synthbench (0: skip)")
    parser.add_argument("--words", type=int, default=40)
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.n, args.max_tokens,
                                args.temperature, args.texts, args.words)))
        return

    from synthbench_local.models import offline_model

    parameters = offline_model(args.model).parameters
    gflops = matmul_gflops()
    roofline = gflops * 1e9 / (2 * parameters)
    print(f"local/{args.model}: {parameters / 1e6:.0f}M parameters; fp32 matmul "
          f"{gflops:.0f} GFLOP/s -> roofline {roofline:.0f} tok/s")
    figures: dict[str, dict[str, Any]] = {}
    for side in args.sides.split(","):
        command = [sys.executable, __file__, "--worker", side, "--model", args.model,
                   "--n", str(args.n), "--max-tokens", str(args.max_tokens),
                   "--temperature", str(args.temperature), "--texts", str(args.texts),
                   "--words", str(args.words)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{side} failed:\n{done.stderr[-3000:]}")
        figures[side] = json.loads(done.stdout.strip().splitlines()[-1])
        f = figures[side]
        print(f"{side:>12}: {f['tokens']:5d} tokens in {f['seconds']:6.2f} s = "
              f"{f['tokens'] / f['seconds']:7.1f} tok/s (batch {f['batch']}); "
              f"ready in {f['ready_s']:.1f} s; peak RSS {f['peak_rss_mb']:.0f} MB")

    rate = {side: f["tokens"] / f["seconds"] for side, f in figures.items()}
    print(f"\n{args.n} prompts, {args.max_tokens} new tokens, T = {args.temperature}, "
          f"one process per side, shared machine")
    if "synthbench" in rate and "transformers" in rate:
        print(f"synthbench (CTranslate2) / transformers fp32 batch 8: "
              f"{rate['synthbench'] / rate['transformers']:6.2f}x  (target >= 4)")
    if "synthbench" in rate and "bare" in rate:
        print(f"synthbench / bare CTranslate2 engine, same batch:    "
              f"{rate['synthbench'] / rate['bare']:6.3f}   (target >= 0.9)")
    if "synthbench" in rate:
        print(f"share of the fp32 matmul roofline:                   "
              f"{rate['synthbench'] / roofline:6.3f}   (target >= 0.5)")
        f = figures["synthbench"]
        if "texts_s" in f:
            print(f"{f['texts']} texts of ~{args.words} words (mean {f['mean_words']:.0f}): "
                  f"{f['texts_s']:.1f} s = {100 * f['texts_s'] / f['texts']:.1f} s per 100 texts")


if __name__ == "__main__":
    main()

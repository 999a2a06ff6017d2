"""Generated tokens/s of the ``local`` provider through synthbench vs raw ``model.generate``.

Both sides use the provider's loaded model and tokenizer, the same prompts, batch size and
max_new_tokens, and count generated tokens the same way (up to and including EOS). Rounds
alternate between the two so that load from other processes hits both alike.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/local_generation.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from synthbench.types import GenerationRequest, Message
from synthbench_local.provider import TransformersProvider, count_generated

KINDS = ["positive", "negative", "funny", "sarcastic", "enthusiastic", "disappointed"]
FILMS = ["movie", "science-fiction movie", "romantic comedy", "documentary"]


def make_requests(n: int, max_tokens: int, temperature: float) -> list[GenerationRequest]:
    prompts = [f"Write a short {kind} review of a {film}." for film in FILMS for kind in KINDS]
    return [
        GenerationRequest((Message("user", prompts[i % len(prompts)]),), max_tokens=max_tokens,
                          temperature=temperature, seed=0, sample_index=i)
        for i in range(n)
    ]


def raw_pass(provider: TransformersProvider, batches: list[Any], max_tokens: int,
             temperature: float, seed: int) -> int:
    """Plain ``model.generate`` over pre-tokenized batches; returns generated tokens."""
    model, tokenizer = provider.model, provider.tokenizer
    eos = frozenset({tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)})
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0}
        if temperature > 0 else {"do_sample": False}
    )
    torch.manual_seed(seed)
    total = 0
    for encoded in batches:
        with torch.inference_mode():
            output = model.generate(**encoded, max_new_tokens=max_tokens,
                                    pad_token_id=tokenizer.pad_token_id, **sampling)
        new = output[:, encoded["input_ids"].shape[1]:].tolist()
        total += sum(count_generated(row, eos) for row in new)
    return total


def provider_pass(provider: TransformersProvider, requests: list[GenerationRequest]) -> int:
    """The same work through ``Provider.complete``; returns generated tokens."""
    return sum(c.usage.output_tokens for c in provider.complete(requests))


def _as_list(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [int(value)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="requests per pass")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    provider = TransformersProvider.embedded(batch_size=args.batch_size)
    print(f"provider ready in {time.perf_counter() - start:.1f} s: {provider.model_id}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    requests = make_requests(args.n, args.max_tokens, args.temperature)
    tokenizer = provider.tokenizer
    batches = []
    for begin in range(0, len(requests), args.batch_size):
        chunk = requests[begin:begin + args.batch_size]
        conversations = [[{"role": m.role, "content": m.content} for m in r.messages]
                         for r in chunk]
        batches.append(tokenizer.apply_chat_template(
            conversations, add_generation_prompt=True, return_dict=True,
            return_tensors="pt", padding=True,
        ).to(provider.model.device))

    # warm up both paths once (one batch each)
    raw_pass(provider, batches[:1], args.max_tokens, args.temperature, seed=-1)
    provider_pass(provider, requests[:args.batch_size])

    rates: dict[str, list[float]] = {"synthbench": [], "raw": []}
    for round_index in range(args.rounds):
        order = ["raw", "synthbench"] if round_index % 2 == 0 else ["synthbench", "raw"]
        for side in order:
            began = time.perf_counter()
            if side == "raw":
                tokens = raw_pass(provider, batches, args.max_tokens, args.temperature,
                                  seed=round_index)
            else:
                tokens = provider_pass(provider, requests)
            seconds = time.perf_counter() - began
            rates[side].append(tokens / seconds)
            print(f"round {round_index + 1} {side:>10}: {tokens:5d} tokens in {seconds:6.2f} s "
                  f"= {tokens / seconds:7.1f} tok/s")

    ours = statistics.median(rates["synthbench"])
    raw = statistics.median(rates["raw"])
    # Adjacent runs share the machine's load best, so the paired per-round ratio is steadier.
    pairs = zip(rates["synthbench"], rates["raw"], strict=True)
    paired = statistics.median(ours_rate / raw_rate for ours_rate, raw_rate in pairs)
    print(f"\n{args.n} requests, batch {args.batch_size}, max_tokens {args.max_tokens}, "
          f"temperature {args.temperature}, median of {args.rounds} rounds")
    print(f"synthbench provider.complete: {ours:7.1f} generated tok/s")
    print(f"raw model.generate loop:      {raw:7.1f} generated tok/s")
    print(f"ratio of medians:             {ours / raw:7.3f}")
    print(f"median per-round ratio:       {paired:7.3f}  (target >= 0.9)")


if __name__ == "__main__":
    main()

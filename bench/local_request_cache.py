"""What the request cache costs and saves on the embedded model.

Run: ``python bench/local_request_cache.py [N] [MAX_TOKENS]`` (default 32 requests, one
generation chunk, of 16 tokens). On the real SmolLM2-135M it times the same requests three
ways in one process: the bare model, the cached provider with an empty cache (generate and
store), and the cached provider again (answered from the cache), and prints

- the cached provider's time on misses over the bare model's (target <= 1.05);
- the time of a re-run answered from the cache over the first run's (target <= 1 %);
- whether all three gave the same texts (they must).

Prints figures only; it asserts nothing about time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from synthbench.calls import CachedProvider, CacheSettings, CallContext
from synthbench.types import GenerationRequest, Message, Provider
from synthbench_local import local_provider


def timed(run: Provider, requests: list[GenerationRequest]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    answers = run.complete(requests)
    return time.perf_counter() - started, [a.text for a in answers]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    max_tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    requests = [GenerationRequest((Message("user", f"Write a one-line review of film {i}."),),
                                  max_tokens=max_tokens, temperature=1.0, seed=i,
                                  sample_index=i) for i in range(n)]
    built = local_provider("", CallContext(cache=CacheSettings(enabled=False)))
    with tempfile.TemporaryDirectory() as folder:
        settings = CacheSettings(Path(folder) / "requests.sqlite")
        extra = {k: v for k, v in built.identity.items() if k != "weights"}
        cached = CachedProvider(built.inner, built.identity["weights"], extra, settings)
        bare_s, bare = timed(built.inner, requests)
        miss_s, missed = timed(cached, requests)
        hit_s, hit = timed(cached, requests)
        stats = cached.request_stats()["calls"]
        cached.close()
    print(f"{n} requests of {max_tokens} tokens on {built.model_id}")
    print(f"bare model            {bare_s:8.2f} s")
    print(f"cached, empty cache   {miss_s:8.2f} s   ratio to bare   {miss_s / bare_s:.3f}")
    print(f"cached, re-run        {hit_s:8.4f} s   ratio to first  {hit_s / miss_s:.5f}")
    print(f"model calls: {stats.get('provider_calls', 0)} of {stats['requests']} requests; "
          f"same texts: {bare == missed == hit}")


if __name__ == "__main__":
    main()

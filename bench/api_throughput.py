"""Throughput of the request layer against the loopback fake server with a rate limit.

Run: ``python bench/api_throughput.py``. Drives the real openai SDK through the request layer
at a configured requests-per-minute limit (the fake server enforces the same limit per model,
answering 429 above it) and a fixed latency, and prints:

- sustained throughput as a ratio of the limit, for one model and for four models at once,
  with the share of calls that got a 429 (targets: >= 0.9 with < 1 % 429s);
- the four-model grid's time over the slowest model alone (target <= 1.2);
- a re-run of the finished requests: provider calls (target 0) and its time as a share of
  the first run's (target <= 5 %).

Prints figures only; it asserts nothing about time.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_llm_server import FakeLLMServer, ServerConfig

from synthbench.calls import CacheSettings, CallContext, LayeredProvider, SendSettings
from synthbench.types import GenerationRequest, Message

RPM = 1200.0  # per model: 20 requests a second
LATENCY_S = 0.2
PER_MODEL = 160
MODELS = 4


def requests(model: str) -> list[GenerationRequest]:
    return [GenerationRequest((Message("user", f"Write review {i} for {model}."),),
                              max_tokens=24, sample_index=i) for i in range(PER_MODEL)]


def provider(model: str, cache: Path, configured: bool = True) -> LayeredProvider:
    from synthbench_api import openai_provider

    send = SendSettings(concurrency=int(RPM / 60 * LATENCY_S * 3) + 4,
                        requests_per_minute=RPM if configured else None, timeout_base_s=10)
    return openai_provider(model, CallContext(cache=CacheSettings(cache), send=send))


def timed_run(model: str, cache: Path, results: dict[str, float],
              configured: bool = True) -> None:
    made = provider(model, cache, configured)
    started = time.perf_counter()
    made.complete(requests(model))
    results[model] = time.perf_counter() - started
    made.close()


def steady_ratio(server: FakeLLMServer, model: str) -> float:
    """Answered requests per second over the middle 80 % of the model's run, over the limit."""
    times = sorted(e.at for e in server.log if e.model == model and e.outcome == "ok")
    low, high = times[len(times) // 10], times[-len(times) // 10]
    inside = sum(low <= t <= high for t in times)
    return (inside - 1) / (high - low) / (RPM / 60)


def main() -> None:
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    folder = Path(tempfile.mkdtemp(prefix="synthbench-bench-"))
    with FakeLLMServer(ServerConfig(latency_s=LATENCY_S, requests_per_minute=RPM)) as server:
        os.environ["OPENAI_BASE_URL"] = server.openai_url
        names = [f"bench-{i}" for i in range(MODELS)]
        alone: dict[str, float] = {}
        for name in names:
            timed_run(name, folder / f"alone-{name}.sqlite", alone)
        one_429 = sum(e.outcome.startswith("rate_limited") for e in server.log)
        one_calls = len(server.log)
        print(f"limit {RPM:g} requests/min per model, latency {LATENCY_S:g} s, "
              f"{PER_MODEL} requests per model")
        for name in names:
            print(f"one model alone ({name}): {alone[name]:.2f} s, throughput/limit "
                  f"{PER_MODEL / alone[name] / (RPM / 60):.3f} overall, "
                  f"{steady_ratio(server, name):.3f} steady")
        print(f"one model alone: 429s {one_429}/{one_calls} calls "
              f"({100 * one_429 / one_calls:.2f} %)")

        server.log.clear()
        learned: dict[str, float] = {}
        timed_run("learned", folder / "learned.sqlite", learned, configured=False)
        learned_429 = sum(e.outcome.startswith("rate_limited") for e in server.log)
        print(f"one model, limit not configured (learned from headers and 429s): "
              f"{learned['learned']:.2f} s, throughput/limit "
              f"{steady_ratio(server, 'learned'):.3f} steady, 429s {learned_429}/"
              f"{len(server.log)} ({100 * learned_429 / len(server.log):.2f} %)")

        server.log.clear()
        grid: dict[str, float] = {}
        grid_names = [f"grid-{i}" for i in range(MODELS)]
        threads = [threading.Thread(target=timed_run, args=(n, folder / "grid.sqlite", grid))
                   for n in grid_names]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        grid_s = time.perf_counter() - started
        grid_429 = sum(e.outcome.startswith("rate_limited") for e in server.log)
        ratios = [steady_ratio(server, n) for n in grid_names]
        print(f"four models at once: {grid_s:.2f} s; throughput/limit per model "
              f"{', '.join(f'{r:.3f}' for r in ratios)} (steady); overall "
              f"{MODELS * PER_MODEL / grid_s / (MODELS * RPM / 60):.3f}; 429s "
              f"{grid_429}/{len(server.log)} ({100 * grid_429 / len(server.log):.2f} %)")
        print(f"grid time / slowest model alone: {grid_s / max(alone.values()):.3f} "
              "(target <= 1.2)")

        server.log.clear()
        again: dict[str, float] = {}
        started = time.perf_counter()
        timed_run(grid_names[0], folder / "grid.sqlite", again)
        rerun_s = time.perf_counter() - started
        print(f"re-run of a finished run: {len(server.log)} provider calls, {rerun_s:.3f} s = "
              f"{100 * rerun_s / grid[grid_names[0]]:.2f} % of the first run (target <= 5 %)")


if __name__ == "__main__":
    main()

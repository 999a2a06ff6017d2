"""The Ray executor: scaling against a rate-limited API, and its overhead on a tiny grid.

Run: ``python bench/ray_executor.py`` (needs ``pip install -e '.[ray]'`` and ../shared/data).
Prints:

- a grid of API cells (the real openai SDK against the loopback fake server, with latency
  and a per-model rate limit that synthbench is told) on a local Ray cluster with 1, 2 and 4
  workers: wall time, its ratio to 1 worker, and the share of 429s. The rate limit is owned
  by one actor for the whole cluster, so adding workers helps until the limit binds;
- the same tiny grid of ``mock`` cells through the local executor and through Ray:
  Ray time / local time (the cost of starting Ray and its workers).

Prints figures only; it asserts nothing about time.
"""

from __future__ import annotations

import collections
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import ray
from fake_llm_server import FakeLLMServer, ServerConfig

from synthbench.plugins import PluginSelection, load_plugins
from synthbench.record import CellConfig
from synthbench.run import Runner, RunSettings, make_configs
from synthbench.run.ray_executor import run_on_ray

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
RPM = 600  # 10 requests a second for the model, server and client alike
LATENCY_S = 0.4
CONCURRENCY = 2  # per worker: one worker alone is latency-bound at 5 requests a second
CELLS_N = 20


def grid(model: str, seeds: int) -> list[CellConfig]:
    return make_configs(load_plugins(), models=[model], tasks=["relation_classification"],
                        generators=["zero_shot", "few_shot"], params={}, n=CELLS_N,
                        seeds=list(range(seeds)), classifiers=["tfidf_lr"], oracle_size=100)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def on_ray(configs: list[CellConfig], out: Path, workers: int) -> None:
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {k: v for k, v in os.environ.items()
                                       if k.startswith(("SYNTHBENCH_", "OPENAI_BASE", "HF_"))}})
    try:
        with Runner(load_plugins(), RunSettings.from_environ(os.environ, out=out, data_dir=DATA,
                                                                  progress=False)) as r:
            run_on_ray(r, configs, PluginSelection())
    finally:
        ray.shutdown()


def scaling(folder: Path) -> None:
    print(f"API grid: 8 cells x {CELLS_N} requests, latency {LATENCY_S} s, limit {RPM}/min, "
          f"{CONCURRENCY} requests in flight per worker")
    base = None
    for workers in (1, 2, 4):
        with FakeLLMServer(ServerConfig(latency_s=LATENCY_S, requests_per_minute=RPM)) as server:
            os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.openai_url,
                               "SYNTHBENCH_REQUEST_CACHE": str(folder / f"w{workers}.sqlite"),
                               "SYNTHBENCH_CONCURRENCY": str(CONCURRENCY),
                               "SYNTHBENCH_RPM": str(RPM)})
            seconds = timed(functools.partial(on_ray, grid("openai/gpt-4o-mini", 4),
                                              folder / f"out{workers}", workers))
            outcomes = collections.Counter(r.outcome for r in server.log)
        base = base or seconds
        limited = outcomes["rate_limited_by_limit"] / max(1, sum(outcomes.values()))
        print(f"  {workers} worker(s): {seconds:6.1f} s, {base / seconds:4.2f}x the speed of 1 "
              f"worker, 429s {limited:.1%}")


def overhead(folder: Path) -> None:
    os.environ["SYNTHBENCH_REQUEST_CACHE"] = str(folder / "local.sqlite")
    configs = grid("mock/bench", 1)
    plugins = load_plugins()
    with Runner(plugins, RunSettings.from_environ(os.environ, out=folder / "local",
                                                      data_dir=DATA, progress=False)) as r:
        local = timed(lambda: r.run(configs))
    os.environ["SYNTHBENCH_REQUEST_CACHE"] = str(folder / "ray.sqlite")
    on_ray_s = timed(lambda: on_ray(configs, folder / "ray", 2))
    print(f"tiny mock grid (2 cells): local {local:.1f} s, Ray {on_ray_s:.1f} s, "
          f"Ray / local {on_ray_s / local:.1f}x")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        scaling(Path(tmp))
        overhead(Path(tmp))

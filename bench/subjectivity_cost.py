"""What a measured-subjectivity sweep costs with a judge: time a few uncached judgments of
the largest task cards and extrapolate to every pair of the chosen tasks, both orders, K
samples. Nothing is cached or stored (the request cache is off for this process).

    python bench/subjectivity_cost.py --judge local --data-dir ../shared/data [--samples 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ["SYNTHBENCH_REQUEST_CACHE"] = "off"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from synthbench.calls import CallContext
from synthbench.data import load_task_data
from synthbench.models import resolve_model
from synthbench.plugins import load_plugins
from synthbench.subjectivity.protocol import (
    Judge,
    ProtocolSettings,
    design,
    pair_messages,
    task_card,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="local")
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--examples-per-label", type=int, default=2)
    parser.add_argument("--method", default="auto")
    parser.add_argument("--timed", type=int, default=4, help="judgments to time")
    args = parser.parse_args()
    plugins = load_plugins()
    tasks = [plugins.tasks.get(t) for t in plugins.tasks.ids()]
    settings = ProtocolSettings(samples=args.samples, method=args.method,
                                examples_per_label=args.examples_per_label)
    cards = {t.id: task_card(t, load_task_data(t, Path(args.data_dir)).train, settings, 0)
             for t in tasks}
    started = time.perf_counter()
    calls = CallContext.from_environ(os.environ)
    judge = Judge(resolve_model(plugins, args.judge, calls), settings)
    loaded = time.perf_counter() - started
    by_size = sorted(cards, key=lambda t: len(cards[t]), reverse=True)
    pairs = [(by_size[i], by_size[-1 - i]) for i in range(args.timed)]  # large with small
    items = [(f"bench-{i}", pair_messages(cards[a], cards[b]), 0)
             for i, (a, b) in enumerate(pairs)]
    started = time.perf_counter()
    judge.answer(items, lambda n: None)
    per = (time.perf_counter() - started) / len(items)
    total = len(design([t.id for t in tasks], args.samples))
    print(f"judge {args.judge} ({judge.method}), model loaded in {loaded:.1f} s")
    print(f"{per:.2f} s per judgment (mean of {len(items)}, large card with small card)")
    print(f"{len(tasks)} tasks, K = {args.samples}: {total} judgments ~ {per * total / 60:.0f} "
          "min")


if __name__ == "__main__":
    main()

"""The rating judge format (``synthbench.subjectivity.rating``) on the built-in tasks: one
card at a time on a 1–5 scale, both scale directions, two draws of examples, calibrated on a
content-free card. Writes the record with its diagnostics and pass marks (fixed in the module
before any run) and prints them. Scores go through the request cache, so a re-run is free.

    .venv/bin/python experiments/judge_rating.py --judge local/qwen2.5-1.5b \\
        --data-dir ../shared/data --out experiments/records
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from synthbench.calls import CallContext
from synthbench.data import load_task_data
from synthbench.models import resolve_model
from synthbench.plugins import load_plugins
from synthbench.store import atomic_write_text
from synthbench.subjectivity.rating import RatingSettings, rate
from synthbench.subjectivity.scoring import CachedScorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="local/qwen2.5-1.5b")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tasks", default="", help="comma-separated (default: every task)")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("experiments/records"))
    args = parser.parse_args()

    plugins = load_plugins()
    ids = [t for t in args.tasks.split(",") if t] or plugins.tasks.ids()
    tasks = [plugins.tasks.get(t) for t in ids]
    train = {t.id: load_task_data(t, args.data_dir).train for t in tasks}
    provider = resolve_model(plugins, args.judge, CallContext.from_environ(os.environ))
    scorer = CachedScorer(provider)
    try:
        record = rate(scorer, args.judge, tasks, train, RatingSettings(samples=args.samples),
                      log=print)
    finally:
        scorer.close()
    record["scorer"] = {"cached": scorer.hits, "scored": scorer.calls}
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", args.judge).strip("-")
    path = args.out / f"judge-rating__{slug}__{len(ids)}tasks.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    found, declared = record["diagnostics"], record["declared"]
    print(f"wrote {path}")
    for name, ok in found["checks"].items():
        print(f"  {name}: {found[name]} ({'pass' if ok else 'FAIL'})")
    print(f"  passed: {found['passed']}; Kendall tau vs declared {declared['kendall_tau']} "
          f"{declared['kendall_tau_ci']}, Spearman {declared['spearman_rho']} "
          f"{declared['spearman_rho_ci']}")


if __name__ == "__main__":
    main()

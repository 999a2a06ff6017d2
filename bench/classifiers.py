"""Seconds per fit and peak memory of each downstream classifier at N = 200 and 1,000.

Run: ``python bench/classifiers.py [--task sst2] [--sizes 200 1000]``. Every (classifier, N)
fits in its own subprocess, with a fresh embedding cache so frozen-embedding costs are counted,
on a seeded, label-balanced sample of the task's real training split; it then scores on the
test split. Memory is the subprocess's peak resident set (``ru_maxrss``) and its growth over
the resident set just before the fit (which includes torch and transformers being imported
lazily on the first fit, about 210 MiB here); tracemalloc is not used because it does not see
torch's native allocations. Prints figures only; it asserts nothing about time. ``OMP_NUM_THREADS``
is honoured (the fine-tuned tier uses every core otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIERS = ("tfidf_lr", "minilm_lr", "minilm_ft")
MB = 1024 * 1024


def rss_mb() -> float:
    """The current resident set of this process, in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def one(classifier: str, n: int, task_id: str, data_dir: str, seed: int) -> dict[str, object]:
    """Fit one classifier once in this process and return its figures."""
    from sklearn.metrics import f1_score

    from synthbench.data import load_task_data
    from synthbench.plugins import load_plugins
    from synthbench.run.fitting import real_sample

    plugins = load_plugins()
    task = plugins.tasks.get(task_id)
    data = load_task_data(task, Path(data_dir))
    train = real_sample(data.train, task.label_names, n, seed)
    model = plugins.classifiers.get(classifier).factory(seed)
    before = rss_mb()
    started = time.perf_counter()
    model.fit([e.text for e in train], [e.label for e in train])
    fit_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    started = time.perf_counter()
    predicted = model.predict([e.text for e in data.test])
    predict_s = time.perf_counter() - started
    return {"classifier": classifier, "n": n, "fit_s": fit_s, "predict_s": predict_s,
            "n_test": len(data.test), "peak_rss_mb": peak, "fit_growth_mb": peak - before,
            "macro_f1": float(f1_score([e.label for e in data.test], predicted,
                                       average="macro")),
            "epochs": getattr(model, "epochs_run_", None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--classifiers", nargs="+", default=list(CLASSIFIERS))
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", nargs=2, metavar=("CLASSIFIER", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.task, args.data_dir,
                             args.seed)))
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print(f"task {args.task}, seed {args.seed}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, cpus {os.cpu_count()}")
    print(f"{'classifier':<10} {'N':>5} {'fit s':>8} {'predict s':>10} {'peak RSS MiB':>13} "
          f"{'fit +MiB':>9} {'macro-F1':>9} {'epochs':>6}")
    for n in args.sizes:
        for classifier in args.classifiers:
            with tempfile.TemporaryDirectory() as cache:
                done = subprocess.run(
                    [sys.executable, __file__, "--task", args.task, "--data-dir",
                     args.data_dir, "--seed", str(args.seed), "--one", classifier, str(n)],
                    env={**env, "SYNTHBENCH_CACHE_DIR": cache}, capture_output=True,
                    text=True, check=False)
            if done.returncode != 0:
                print(f"{classifier:<10} {n:>5} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{classifier:<10} {n:>5} {r['fit_s']:>8.1f} {r['predict_s']:>10.1f} "
                  f"{r['peak_rss_mb']:>13.0f} {r['fit_growth_mb']:>9.0f} "
                  f"{r['macro_f1']:>9.3f} {r['epochs'] if r['epochs'] else '-':>6}", flush=True)


if __name__ == "__main__":
    main()

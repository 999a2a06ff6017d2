"""Instance-level subjectivity on financial_phrasebank, printed: scores against the
annotator-agreement threshold for a classifier trained on real data and one trained on a
stored synthetic set, the label mix, the slope differences with their intervals (balanced
accuracy the headline), and how well a judge's proxy
agreement tracks the annotators' on a sample of the test split.

    python bench/phrasebank_agreement.py --data-dir ../shared/data \
        --synthetic leaderboard/results/cells/financial_phrasebank__*/synthetic.jsonl \
        [--judge local --proxy-n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from synthbench.calls import CallContext
from synthbench.data import balanced_quota, load_task_data, sample_per_label
from synthbench.models import resolve_model
from synthbench.plugins import load_plugins
from synthbench.subjectivity.agreement import agreement_curve, instance_agreement, tracking
from synthbench.subjectivity.proxy import proxy_agreement
from synthbench.types import Example


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--synthetic", required=True, help="a cell's synthetic.jsonl")
    parser.add_argument("--classifier", default="tfidf_lr")
    parser.add_argument("--judge", help="also measure a proxy agreement with this judge")
    parser.add_argument("--proxy-n", type=int, default=200)
    args = parser.parse_args()
    plugins = load_plugins()
    task = plugins.tasks.get("financial_phrasebank")
    data = load_task_data(task, Path(args.data_dir))
    rows = [json.loads(line) for line in Path(args.synthetic).read_text().splitlines()]
    synthetic = [Example(r["text"], r["label"]) for r in rows]
    real = sample_per_label(data.train, balanced_quota(task.label_names, len(synthetic)),
                            random.Random(0))
    spec = plugins.classifiers.get(args.classifier)

    def predict(train: list[Example]) -> list[str]:
        model = spec.factory(0).fit([e.text for e in train], [e.label for e in train])
        return [str(p) for p in model.predict([e.text for e in data.test])]

    full = predict(list(data.train))
    curve = agreement_curve(task, data.test, predict(synthetic), predict(real))
    print(f"{args.classifier}, N = {len(synthetic)} synthetic vs {len(real)} real "
          f"(same N), test {len(data.test)}")
    for s, r in zip(curve["synthetic"], curve["real"], strict=True):
        print(f"  gamma >= {s['gamma']:.2f}: n = {s['n']:4d}  accuracy synthetic "
              f"{s['accuracy']:.3f}  real {r['accuracy']:.3f}  macro-F1 synthetic "
              f"{s['macro_f1']:.3f}  real {r['macro_f1']:.3f}")
    for m in curve["label_mix"]:
        print(f"  gamma >= {m['gamma']:.2f}: label mix {m['counts']}")
    for name, key in (("balanced accuracy (headline)", "balanced_accuracy_"),
                      ("macro-F1", "macro_f1_"), ("accuracy", "")):
        slopes = curve[f"{key or 'accuracy_'}slope"]
        ci = curve[f"{key}slope_difference_ci"] or [float("nan")] * 2
        print(f"  {name} slopes: synthetic {slopes['synthetic']:.3f}, real "
              f"{slopes['real']:.3f}; difference {curve[f'{key}slope_difference']:.3f} "
              f"[{ci[0]:.3f}, {ci[1]:.3f}]")
    reference = agreement_curve(task, data.test, full, full)
    print("  real, all 3,869 training rows: accuracy " + ", ".join(
        f"{p['accuracy']:.3f}" for p in reference["real"]))
    if args.judge:
        sample = random.Random(0).sample(list(data.test), min(args.proxy_n, len(data.test)))
        provider = resolve_model(plugins, args.judge, CallContext.from_environ(os.environ))
        started = time.perf_counter()
        values, info = proxy_agreement(provider, task, sample)
        kept = [(float(v), a) for v, a in zip(values, instance_agreement(task, sample),
                                               strict=True) if v is not None]
        report = tracking([v for v, _ in kept], [a for _, a in kept])
        print(f"proxy {info['source']} on {len(sample)} test rows "
              f"({time.perf_counter() - started:.0f} s): Spearman rho with annotator "
              f"agreement {report['spearman_rho']}, AUC for unanimous rows "
              f"{report['auc_unanimous']}, mean proxy {report['mean_proxy']:.3f}")


if __name__ == "__main__":
    main()

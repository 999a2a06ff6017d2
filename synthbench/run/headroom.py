"""A classifier's chance level and real ceiling on a cell's task, and the share of the gap
between them that the cell's synthetic data closes (METHOD.md §6, the headline).

The ceiling is the same classifier, same seed, fitted on the whole train split (or the
classifier's stated cap, or the run's, whichever is smaller); like the learning curves it is
stored once per task, classifier and seed under ``<out>/ceilings/`` and shared by every cell.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any

from synthbench.data import fingerprint
from synthbench.metrics.headroom import chance_macro_f1, gap_closed, label_prior
from synthbench.record import CellConfig, ClassifierResult
from synthbench.run.fitting import fit_and_score, real_sample
from synthbench.run.workspace import Workspace
from synthbench.store import read_json, write_json

CEILINGS = "ceilings"


def ceiling(ws: Workspace, classifier: str, config: CellConfig) -> tuple[dict[str, Any], str]:
    """The classifier's fit on the whole (or capped) train split, scored on the test split:
    read from the store when this task, classifier, seed, size and test split have one; and
    the file's name."""
    task = ws.task(config.task)
    data = ws.task_data(task)
    spec = ws.plugins.classifiers.get(classifier)
    train = [e for e in data.train if e.label in task.label_names]
    cap = min(spec.ceiling_cap, ws.settings.ceiling_cap or spec.ceiling_cap)
    n = min(len(train), cap)
    parts = [data.fingerprint, fingerprint(data.test), classifier, config.seed, n]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]
    path = ws.settings.out / CEILINGS / f"{task.id}__{classifier}__s{config.seed}__{key}.json"
    if path.exists():
        return dict(read_json(path)), path.name
    ws.log(f"{task.id}: real ceiling of {classifier} on {n} training texts")
    sample = train if n == len(train) else real_sample(train, task.label_names, n, config.seed,
                                                       "ceiling")
    started = time.perf_counter()
    scores = fit_and_score(spec.factory(config.seed), sample, data.test, task.label_names)
    stored = {"classifier": classifier, "seed": config.seed, "n_train": n, "cap": cap,
              "whole_split": n == len(train), "macro_f1": scores.macro_f1,
              "accuracy": scores.accuracy, "seconds": round(time.perf_counter() - started, 1)}
    write_json(path, stored)
    return stored, path.name


def with_headroom(ws: Workspace, classifier: str, config: CellConfig,
                  result: ClassifierResult) -> ClassifierResult:
    """``result`` with its chance macro-F1 (the train split's label prior drawn blind on this
    test split, exact), its real ceiling and the gap its synthetic F1 closes."""
    task = ws.task(config.task)
    data = ws.task_data(task)
    chance = chance_macro_f1(label_prior([e.label for e in data.train], task.label_names),
                             [e.label for e in data.test], task.label_names)
    fitted, name = ceiling(ws, classifier, config)
    top = fitted["macro_f1"]
    return dataclasses.replace(
        result, chance_macro_f1=chance,
        ceiling={"macro_f1": top, "n_train": fitted["n_train"], "file": name},
        gap_closed=gap_closed(result.synthetic.macro_f1, chance, top))

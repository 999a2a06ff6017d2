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

from synthbench.data import TaskData, fingerprint
from synthbench.metrics.headroom import chance_macro_f1, gap_closed, label_prior
from synthbench.record import CellConfig, ClassifierResult, FitScores
from synthbench.run.fitting import fit_and_score, real_sample
from synthbench.run.workspace import Workspace
from synthbench.store import read_json, write_json
from synthbench.types import Task

CEILINGS = "ceilings"
SKIPPED = "left out by the run that extended this cell (--skip-ceiling)"


def ceiling(ws: Workspace, classifier: str, config: CellConfig) -> tuple[dict[str, Any], str]:
    """The classifier's fit on the whole (or capped) train split, scored on the test split:
    read from the store when this task, classifier, seed, size and test split have one; and
    the file's name."""
    task = ws.task(config.task)
    data = ws.eval_data(task, config)
    spec = ws.plugins.classifiers.get(classifier)
    train = [e for e in data.train if e.label in task.label_names]
    cap = min(spec.ceiling_cap, ws.settings.ceiling_cap or spec.ceiling_cap)
    n = min(len(train), cap)
    path = ws.settings.out / CEILINGS / ceiling_name(task, classifier, config.seed, data, n)
    if path.exists():
        return dict(read_json(path)), path.name
    ws.log(f"{task.id}: real ceiling of {classifier} on {n} training texts")
    started = time.perf_counter()
    scores = fit_ceiling(spec.factory(config.seed), task, data, config.seed, n)
    stored = {"classifier": classifier, "seed": config.seed, "n_train": n, "cap": cap,
              "whole_split": n == len(train), "macro_f1": scores.macro_f1,
              "accuracy": scores.accuracy, "seconds": round(time.perf_counter() - started, 1)}
    write_json(path, stored)
    return stored, path.name


def ceiling_name(task: Task, classifier: str, seed: int, data: TaskData, n: int) -> str:
    """The ceiling's file name: its key covers both splits as loaded (the test split after
    any rows were left out), the classifier, the seed and the training size."""
    parts = [data.fingerprint, fingerprint(data.test), classifier, seed, n]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]
    return f"{task.id}__{classifier}__s{seed}__{key}.json"


def fit_ceiling(model: Any, task: Task, data: TaskData, seed: int, n: int) -> FitScores:
    """``model`` fitted on the train split, or when ``n`` is fewer than its rows on the seed's
    label-balanced draw of ``n`` (the learning curve's draw at that size, so a capped ceiling
    is that curve's point), and scored on the test split."""
    train = [e for e in data.train if e.label in task.label_names]
    sample = train if n >= len(train) else real_sample(train, task.label_names, n, seed)
    return fit_and_score(model, sample, data.test, task.label_names)


def with_headroom(ws: Workspace, classifier: str, config: CellConfig,
                  result: ClassifierResult) -> ClassifierResult:
    """``result`` with its chance macro-F1 (the train split's label prior drawn blind on this
    test split, exact), its real ceiling and the gap its synthetic F1 closes; a classifier
    whose ceiling the run skips gets a ceiling marked not fitted and no gap."""
    task = ws.task(config.task)
    chance = task_chance(task, ws.eval_data(task, config))
    if classifier in ws.settings.skip_ceilings:
        return dataclasses.replace(result, chance_macro_f1=chance, gap_closed=None,
                                   ceiling={"macro_f1": None, "n_train": 0, "file": None,
                                            "not_fitted": SKIPPED})
    fitted, name = ceiling(ws, classifier, config)
    top = fitted["macro_f1"]
    return dataclasses.replace(
        result, chance_macro_f1=chance,
        ceiling={"macro_f1": top, "n_train": fitted["n_train"], "file": name},
        gap_closed=gap_closed(result.synthetic.macro_f1, chance, top))


def task_chance(task: Task, data: TaskData) -> float:
    """The exact chance macro-F1 of the task's train label prior on its test split."""
    return chance_macro_f1(label_prior([e.label for e in data.train], task.label_names),
                           [e.label for e in data.test], task.label_names)

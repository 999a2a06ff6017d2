"""Instance-level subjectivity (Li et al.): accuracy on the test instances whose annotator
agreement a_i = max_y Σ_k 1(r_i^k = y) / K_i reaches a threshold γ, γ swept, for the
classifier trained on synthetic data and the one trained on real data.

The headline is the difference between the two slopes of accuracy against γ (synthetic minus
real; least squares over the swept γ), with a bootstrap 95 % interval that resamples test
instances and, when several seeds are given, the seed of each classifier. Li et al. found the
synthetic-trained slope steeper (a positive difference); the function reports what it finds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from synthbench.errors import SynthbenchError
from synthbench.types import Example, Task

BOOTSTRAP = 1000


def li_agreement(labels: Sequence[str]) -> float:
    """a_i for one instance from its K_i annotations: the share of the most common label."""
    if not labels:
        raise SynthbenchError("agreement needs at least one annotation")
    return Counter(labels).most_common(1)[0][1] / len(labels)


def instance_agreement(task: Task, examples: Sequence[Example]) -> list[float]:
    """Each example's agreement from the field the task declares (``Task.agreement_field``,
    kept in ``Example.meta`` by the data loader); a one-line error when it is missing."""
    field = task.agreement_field
    if field is None:
        raise SynthbenchError(f"task {task.id!r} declares no per-instance agreement "
                              "(Task.agreement_field); use a judge's proxy instead")
    values = []
    for i, example in enumerate(examples):
        value = example.meta.get(field)
        if not isinstance(value, (int, float)) or not 0 <= float(value) <= 1:
            raise SynthbenchError(f"task {task.id!r}: test row {i} has no agreement in field "
                                  f"{field!r} (got {value!r}); the offline data carries it")
        values.append(float(value))
    return values


def _as_runs(predictions: Sequence[str] | Sequence[Sequence[str]]) -> list[list[str]]:
    """One seed's predictions, or several seeds' (a list per seed)."""
    if predictions and isinstance(predictions[0], str):
        return [[str(p) for p in predictions]]
    return [list(run) for run in predictions]


def _slope(gammas: Sequence[float], values: Sequence[float | None]) -> float | None:
    points = [(g, v) for g, v in zip(gammas, values, strict=True) if v is not None]
    if len(points) < 2 or len({g for g, _ in points}) < 2:
        return None
    x, y = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def _curve(truth: np.ndarray, runs: Sequence[Sequence[str]], agreement: np.ndarray,
           gammas: Sequence[float], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Accuracy and macro-F1 (mean over seeds) on the instances with a_i >= γ."""
    points = []
    for gamma in gammas:
        mask = agreement >= gamma - 1e-9
        n = int(mask.sum())
        if n == 0:
            points.append({"gamma": gamma, "n": 0, "accuracy": None, "macro_f1": None})
            continue
        accs, f1s = [], []
        for run in runs:
            predicted = np.asarray(run)[mask]
            accs.append(float((predicted == truth[mask]).mean()))
            f1s.append(float(f1_score(truth[mask], predicted, labels=list(labels),
                                      average="macro", zero_division=0)))
        points.append({"gamma": gamma, "n": n, "accuracy": float(np.mean(accs)),
                       "macro_f1": float(np.mean(f1s))})
    return points


def agreement_curve(task: Task, test_examples: Sequence[Example],
                    predictions_synthetic: Sequence[str] | Sequence[Sequence[str]],
                    predictions_real: Sequence[str] | Sequence[Sequence[str]],
                    gammas: Sequence[float] | None = None, seed: int = 0,
                    agreement: Sequence[float] | None = None,
                    agreement_source: str | None = None,
                    rounds: int = BOOTSTRAP) -> dict[str, Any]:
    """Accuracy and macro-F1 against γ for both classifiers, their slopes, and the slope
    difference (synthetic minus real) with a bootstrap 95 % interval, as JSON data.

    ``predictions_*`` are one seed's predictions on ``test_examples`` in order, or a list of
    them per seed. ``agreement`` defaults to the task's annotator agreement
    (``Task.agreement_field``); pass a proxy's values with ``agreement_source`` saying so.
    ``gammas`` default to the distinct agreement values (at most 11, evenly spread)."""
    if agreement is None:
        values = instance_agreement(task, test_examples)
        source = f"annotators (field {task.agreement_field!r})"
        proxy = False
    else:
        values = [float(a) for a in agreement]
        source = agreement_source or "given"
        proxy = "proxy" in source.lower()
    syn, real = _as_runs(predictions_synthetic), _as_runs(predictions_real)
    n = len(test_examples)
    if len(values) != n or any(len(run) != n for run in [*syn, *real]) or not syn or not real:
        raise SynthbenchError("agreement_curve: agreement and every prediction list must have "
                              f"one entry per test example ({n})")
    a = np.asarray(values, dtype=float)
    if gammas is None:
        distinct = sorted(set(round(v, 6) for v in values))
        if len(distinct) > 11:
            distinct = sorted(set(float(v) for v in np.quantile(a, np.linspace(0, 0.9, 11))))
        gammas = distinct
    gammas = [float(g) for g in gammas]
    truth = np.asarray([e.label for e in test_examples])
    curves = {name: _curve(truth, runs, a, gammas, task.label_names)
              for name, runs in (("synthetic", syn), ("real", real))}
    slopes = {name: _slope(gammas, [p["accuracy"] for p in points])
              for name, points in curves.items()}
    difference = None if None in slopes.values() else \
        float(slopes["synthetic"]) - float(slopes["real"])  # type: ignore[arg-type]
    ci, used = _bootstrap(truth, syn, real, a, gammas, seed, rounds)
    return {
        "task": task.id, "agreement_source": source, "proxy": proxy,
        "n_test": n, "seeds": {"synthetic": len(syn), "real": len(real)},
        "gammas": gammas,
        "synthetic": curves["synthetic"], "real": curves["real"],
        "accuracy_slope": {"synthetic": slopes["synthetic"], "real": slopes["real"]},
        "slope_difference": difference, "slope_difference_ci": ci,
        "bootstrap": {"rounds": used, "seed": seed,
                      "over": "test instances" + (" and seeds" if len(syn) + len(real) > 2
                                                  else "")},
        "definition": "slope = least-squares slope of accuracy on {i: a_i >= gamma} against "
                      "gamma; difference = synthetic-trained minus real-trained",
    }


def _bootstrap(truth: np.ndarray, syn: Sequence[Sequence[str]], real: Sequence[Sequence[str]],
               agreement: np.ndarray, gammas: Sequence[float], seed: int,
               rounds: int) -> tuple[list[float] | None, int]:
    rng = np.random.default_rng(seed)
    correct = {name: np.asarray([np.asarray(run) == truth for run in runs])
               for name, runs in (("synthetic", syn), ("real", real))}
    n = len(truth)
    masks_of = [agreement >= g - 1e-9 for g in gammas]
    diffs = []
    for _ in range(rounds):
        idx = rng.integers(0, n, size=n)
        slope = {}
        for name, matrix in correct.items():
            row = matrix[rng.integers(0, len(matrix))][idx]
            accs: list[float | None] = []
            for mask in masks_of:
                chosen = mask[idx]
                accs.append(float(row[chosen].mean()) if chosen.any() else None)
            slope[name] = _slope(gammas, accs)
        if slope["synthetic"] is not None and slope["real"] is not None:
            diffs.append(slope["synthetic"] - slope["real"])
    if len(diffs) < max(10, rounds // 2):
        return None, len(diffs)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return [float(low), float(high)], len(diffs)


def tracking(proxy: Sequence[float], real: Sequence[float]) -> dict[str, Any]:
    """How well a proxy agreement tracks real agreement: Spearman rho, and the ROC AUC of the
    proxy for telling unanimous instances (a_i = 1) from the rest."""
    from scipy import stats
    from sklearn.metrics import roc_auc_score

    p, r = np.asarray(proxy, dtype=float), np.asarray(real, dtype=float)
    rho = stats.spearmanr(p, r).statistic if len(set(p)) > 1 and len(set(r)) > 1 else math.nan
    unanimous = r >= 1 - 1e-9
    auc = roc_auc_score(unanimous, p) if 0 < unanimous.sum() < len(r) else math.nan
    return {"n": len(p), "spearman_rho": None if math.isnan(rho) else float(rho),
            "auc_unanimous": None if math.isnan(auc) else float(auc),
            "mean_proxy": float(p.mean()) if len(p) else None}


"""Instance-level subjectivity (Li et al.): how the classifier trained on synthetic data and
the one trained on real data score on the test instances whose annotator agreement
a_i = max_y Σ_k 1(r_i^k = y) / K_i reaches a threshold γ, γ swept.

The headline is the difference between the two slopes of a score against γ (synthetic minus
real; least squares over the swept γ), with a bootstrap 95 % interval that resamples test
instances and, when several seeds are given, the seed of each classifier. The score is
**balanced accuracy** (mean recall over the labels present): the share of each label among the
instances moves with γ (financial_phrasebank's neutral share rises from 0.50 to 0.62), and
plain accuracy, or macro-F1 through its precision, moves with that mix alone, while each
label's recall does not. Macro-F1 (the utility metric) and accuracy (Li et al.'s, and the
``slope_difference`` of older records) are kept beside it, and the label mix at each γ is
recorded. Li et al. found the synthetic-trained slope steeper; the functions report what they
find.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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


MEASURE = "balanced_accuracy"
MEASURES = ("balanced_accuracy", "macro_f1", "accuracy")


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


def _scores(truth: np.ndarray, predicted: np.ndarray, k: int) -> dict[str, float | None]:
    """Accuracy, balanced accuracy and macro-F1 over the ``k`` task labels, from label codes
    (code ``k`` is any other label: it counts as wrong and is not averaged over)."""
    if truth.size == 0:
        return dict.fromkeys(MEASURES)
    hit = truth == predicted
    support = np.bincount(truth, minlength=k + 1)[:k]
    made = np.bincount(predicted, minlength=k + 1)[:k]
    right = np.bincount(truth[hit], minlength=k + 1)[:k]
    present = support > 0
    both = support + made
    f1 = np.divide(2.0 * right, both, out=np.zeros(k), where=both > 0)
    return {"accuracy": float(hit.mean()),
            "balanced_accuracy": float((right[present] / support[present]).mean())
            if present.any() else None,
            "macro_f1": float(f1.mean())}


def _codes(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    return np.asarray([index.get(v, len(labels)) for v in values], dtype=np.int64)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _curve(truth: np.ndarray, runs: np.ndarray, agreement: np.ndarray, gammas: Sequence[float],
           k: int) -> list[dict[str, Any]]:
    """Each score (mean over seeds) on the instances with a_i >= γ."""
    points = []
    for gamma in gammas:
        mask = agreement >= gamma - 1e-9
        scores = [_scores(truth[mask], run[mask], k) for run in runs]
        points.append({"gamma": gamma, "n": int(mask.sum()),
                       **{m: _mean([s[m] for s in scores]) for m in MEASURES}})
    return points


def agreement_curve(task: Task, test_examples: Sequence[Example],
                    predictions_synthetic: Sequence[str] | Sequence[Sequence[str]],
                    predictions_real: Sequence[str] | Sequence[Sequence[str]],
                    gammas: Sequence[float] | None = None, seed: int = 0,
                    agreement: Sequence[float] | None = None,
                    agreement_source: str | None = None,
                    rounds: int = BOOTSTRAP) -> dict[str, Any]:
    """:func:`agreement_from_predictions` for a task's test examples. ``agreement`` defaults
    to the task's annotator agreement (``Task.agreement_field``); pass a proxy's values with
    ``agreement_source`` saying so."""
    if agreement is None:
        values = instance_agreement(task, test_examples)
        source = f"annotators (field {task.agreement_field!r})"
    else:
        values, source = [float(a) for a in agreement], agreement_source or "given"
    return agreement_from_predictions(
        [e.label for e in test_examples], predictions_synthetic, predictions_real, values,
        task.label_names, task_id=task.id, gammas=gammas, seed=seed,
        agreement_source=source, rounds=rounds)


def agreement_from_predictions(truth: Sequence[str],
                               predictions_synthetic: Sequence[str] | Sequence[Sequence[str]],
                               predictions_real: Sequence[str] | Sequence[Sequence[str]],
                               agreement: Sequence[float], label_names: Sequence[str], *,
                               task_id: str | None = None,
                               gammas: Sequence[float] | None = None, seed: int = 0,
                               agreement_source: str = "given",
                               rounds: int = BOOTSTRAP) -> dict[str, Any]:
    """The agreement record of a cell's classifier, as JSON data: per γ the label mix and each
    score of both classifiers, each score's slopes and slope difference (synthetic minus real)
    with a bootstrap 95 % interval, and ``measure``, the score the headline uses.

    ``truth`` and ``agreement`` hold one entry per test row; ``predictions_*`` are one seed's
    predictions in that order, or a list of them per seed. ``gammas`` default to the distinct
    agreement values (at most 11, evenly spread). A source naming a proxy marks it one."""
    syn, real = _as_runs(predictions_synthetic), _as_runs(predictions_real)
    n = len(truth)
    if len(agreement) != n or any(len(run) != n for run in [*syn, *real]) or not syn or not real:
        raise SynthbenchError("agreement curve: agreement and every prediction list must have "
                              f"one entry per test example ({n})")
    a = np.asarray([float(v) for v in agreement], dtype=float)
    if gammas is None:
        distinct = sorted(set(round(float(v), 6) for v in a))
        if len(distinct) > 11:
            distinct = sorted(set(float(v) for v in np.quantile(a, np.linspace(0, 0.9, 11))))
        gammas = distinct
    gammas = [float(g) for g in gammas]
    labels = list(label_names)
    codes = _codes(truth, labels)
    runs = {"synthetic": np.asarray([_codes(r, labels) for r in syn]),
            "real": np.asarray([_codes(r, labels) for r in real])}
    curves = {name: _curve(codes, matrix, a, gammas, len(labels))
              for name, matrix in runs.items()}
    slopes = {m: {name: _slope(gammas, [p[m] for p in points]) for name, points in curves.items()}
              for m in MEASURES}
    differences = {m: None if None in s.values() else
                   float(s["synthetic"]) - float(s["real"])  # type: ignore[arg-type]
                   for m, s in slopes.items()}
    cis, used = _bootstrap(codes, runs, a, gammas, len(labels), seed, rounds)
    mix = []
    for gamma in gammas:
        counts = Counter(str(t) for t, v in zip(truth, a, strict=True) if v >= gamma - 1e-9)
        mix.append({"gamma": gamma, "n": sum(counts.values()),
                    "counts": {**{label: counts.pop(label, 0) for label in labels},
                               **dict(sorted(counts.items()))}})
    return {
        "task": task_id, "agreement_source": agreement_source,
        "proxy": "proxy" in agreement_source.lower(),
        "n_test": n, "seeds": {"synthetic": len(syn), "real": len(real)},
        "gammas": gammas, "label_mix": mix,
        "synthetic": curves["synthetic"], "real": curves["real"],
        "measure": MEASURE,
        **{f"{m}_slope": slopes[m] for m in MEASURES if m != "accuracy"},
        **{f"{m}_slope_difference": differences[m] for m in MEASURES if m != "accuracy"},
        **{f"{m}_slope_difference_ci": cis[m] for m in MEASURES if m != "accuracy"},
        "accuracy_slope": slopes["accuracy"],
        "slope_difference": differences["accuracy"], "slope_difference_ci": cis["accuracy"],
        "bootstrap": {"rounds": used, "seed": seed,
                      "over": "test instances" + (" and seeds" if len(syn) + len(real) > 2
                                                  else "")},
        "definition": "slope = least-squares slope of a score on {i: a_i >= gamma} against "
                      "gamma; difference = synthetic-trained minus real-trained; the headline "
                      f"score is {MEASURE} (mean recall over the labels present), robust to "
                      "the label mix; slope_difference is accuracy's",
    }


def headline_slope(agreement: Mapping[str, Any]) -> tuple[str, float | None, Any]:
    """(score, slope difference, its interval) of a stored agreement record: the headline
    score's where the record has one, else accuracy's (records before ``measure``)."""
    measure = agreement.get("measure")
    if isinstance(measure, str) and f"{measure}_slope_difference" in agreement:
        return (measure, agreement[f"{measure}_slope_difference"],
                agreement.get(f"{measure}_slope_difference_ci"))
    return "accuracy", agreement.get("slope_difference"), agreement.get("slope_difference_ci")


def _bootstrap(truth: np.ndarray, runs: Mapping[str, np.ndarray], agreement: np.ndarray,
               gammas: Sequence[float], k: int, seed: int,
               rounds: int) -> tuple[dict[str, list[float] | None], int]:
    """Each score's 2.5 and 97.5 percentiles of the slope difference over rounds that resample
    the test instances and, per classifier, one of its seeds."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    masks_of = [agreement >= g - 1e-9 for g in gammas]
    diffs: dict[str, list[float]] = {m: [] for m in MEASURES}
    for _ in range(rounds):
        idx = rng.integers(0, n, size=n)
        drawn = truth[idx]
        slope: dict[str, dict[str, float | None]] = {}
        for name, matrix in runs.items():
            row = matrix[rng.integers(0, len(matrix))][idx]
            points = [_scores(drawn[mask[idx]], row[mask[idx]], k) for mask in masks_of]
            slope[name] = {m: _slope(gammas, [p[m] for p in points]) for m in MEASURES}
        for m in MEASURES:
            s, r = slope["synthetic"][m], slope["real"][m]
            if s is not None and r is not None:
                diffs[m].append(s - r)
    cis: dict[str, list[float] | None] = {}
    for m, values in diffs.items():
        ok = len(values) >= max(10, rounds // 2)
        cis[m] = [float(v) for v in np.percentile(values, [2.5, 97.5])] if ok else None
    return cis, len(diffs["accuracy"])


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


"""Stored cell records -> leaderboard tables; a pure function of the records, sorted by id.

One row per (model, generator with its parameters, N, classifier): utility per task (mean
over seeds), mean utility, diversity, label accuracy, tokens, and the headline: Spearman rho
and Kendall tau between declared task subjectivity and utility, with a bootstrap 95 %
interval that resamples tasks and, within each task, seeds.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from tabulate import tabulate

from synthbench.metrics import mean_ci
from synthbench.store import atomic_write_text, iter_results
from synthbench.types import SCHEMA_VERSION, SynthbenchError

BOOTSTRAP = 2000
SUBJECTIVITY_NOTE = (
    "Declared subjectivity is provisional: Li et al.'s task order as given in synthbench's "
    "METHOD.md (scaled to 0..1), and synthbench's own placement for tasks Li et al. did not "
    "rank; it is not the paper's measured table."
)


def generator_labels(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A label per distinct generator configuration: the generator id plus the parameters
    whose values differ between the configurations of that generator in ``records``, e.g.
    ``zero_shot[temperature=1.3]`` next to ``zero_shot[temperature=0.3]``."""
    by_generator: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for record in records:
        config = record["config"]
        by_generator[config["generator"]][_params_key(config)] = config["generator_params"]
    labels = {}
    for generator, variants in by_generator.items():
        keys = sorted({k for params in variants.values() for k in params})
        varying = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True)
                                            for p in variants.values()}) > 1]
        for key, params in variants.items():
            inner = ",".join(f"{k}={params.get(k)}" for k in varying)
            labels[key] = f"{generator}[{inner}]" if inner else generator
    return labels


def _params_key(config: Mapping[str, Any]) -> str:
    return json.dumps([config["generator"], config["generator_params"]], sort_keys=True)


def _check_unique(records: Sequence[Mapping[str, Any]]) -> None:
    """One record per (model, task, generator config, N, seed): two would count a seed twice."""
    seen: dict[str, str] = {}
    for record in records:
        config = record["config"]
        key = json.dumps([config["model"], config["task"], _params_key(config), config["n"],
                          config["seed"]], sort_keys=True)
        if key in seen:
            raise SynthbenchError(
                f"results {seen[key]} and {record.get('cell')} are the same cell on different "
                "data or task versions; keep one of them")
        seen[key] = str(record.get("cell"))


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(kept)) if kept else None


def rank_correlations(per_task: Mapping[str, Sequence[float]], subjectivity: Mapping[str, float],
                      rounds: int = BOOTSTRAP, seed: int = 0) -> dict[str, Any]:
    """Spearman and Kendall between subjectivity and mean utility, with bootstrap intervals.

    Needs 3 or more tasks with a utility; each bootstrap round resamples tasks with
    replacement and, within each drawn task, its seed values.
    """
    tasks = sorted(t for t, v in per_task.items() if v)
    result: dict[str, Any] = {"n_tasks": len(tasks), "spearman_rho": None, "spearman_ci": None,
                              "kendall_tau": None, "kendall_ci": None}
    if len(tasks) < 3:
        return result
    x = [subjectivity[t] for t in tasks]
    y = [float(np.mean(per_task[t])) for t in tasks]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return result
    result["spearman_rho"] = float(stats.spearmanr(x, y).statistic)
    result["kendall_tau"] = float(stats.kendalltau(x, y).statistic)
    rng = random.Random(seed)
    rhos: list[float] = []
    taus: list[float] = []
    for _ in range(rounds):
        drawn = [rng.choice(tasks) for _ in tasks]
        bx = [subjectivity[t] for t in drawn]
        by = [float(np.mean([rng.choice(per_task[t]) for _ in per_task[t]])) for t in drawn]
        if len(set(bx)) < 2 or len(set(by)) < 2:
            continue
        rhos.append(float(stats.spearmanr(bx, by).statistic))
        taus.append(float(stats.kendalltau(bx, by).statistic))
    if len(rhos) >= 100:
        result["spearman_ci"] = [float(np.percentile(rhos, 2.5)), float(np.percentile(rhos, 97.5))]
        result["kendall_ci"] = [float(np.percentile(taus, 2.5)), float(np.percentile(taus, 97.5))]
    result["bootstrap_rounds"] = len(rhos)
    return result


def build(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The leaderboard as JSON-ready data."""
    _check_unique(records)
    labels = generator_labels(records)
    tasks: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, str, int, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        config = record["config"]
        subj = record["subjectivity"]
        tasks[config["task"]] = {"id": config["task"], "declared_subjectivity": subj["declared"],
                                 "source": subj["source"], "provisional": subj["provisional"]}
        for classifier in record["classifiers"]:
            key = (config["model"], labels[_params_key(config)], int(config["n"]), classifier)
            groups[key].append(record)
    subjectivity = {t: v["declared_subjectivity"] for t, v in tasks.items()}
    rows = []
    for (model, generator, n, classifier), members in sorted(groups.items()):
        per_task: dict[str, list[float]] = defaultdict(list)
        for record in members:
            utility = record["classifiers"][classifier].get("utility")
            if utility is not None:
                per_task[record["config"]["task"]].append(float(utility))
        task_cells: dict[str, dict[str, Any]] = {}
        for task in sorted(per_task):
            mean, low, high = mean_ci(per_task[task])
            task_cells[task] = {"utility": mean, "ci": _interval(low, high),
                                "seeds": len(per_task[task])}
        diversity = _mean(r["metrics"]["diversity"]["synthetic"]["remote_clique"] for r in members)
        rows.append({
            "model": model, "generator": generator, "n": n, "classifier": classifier,
            "cells": len(members),
            "per_task": task_cells,
            "mean_utility": _mean(c["utility"] for c in task_cells.values()),
            "remote_clique": diversity,
            "real_remote_clique": _mean(
                r["metrics"]["diversity"]["real"]["remote_clique"] for r in members),
            "label_accuracy": _mean(r["metrics"]["label_accuracy"]["value"] for r in members),
            "output_tokens": sum(int(r["cost"].get("output_tokens") or 0) for r in members),
            **rank_correlations(per_task, subjectivity),
        })
    ordered = sorted(tasks.values(), key=lambda t: (t["declared_subjectivity"], t["id"]))
    return {"schema_version": SCHEMA_VERSION, "subjectivity_note": SUBJECTIVITY_NOTE,
            "tasks": ordered, "rows": rows}


def _interval(low: float, high: float) -> list[float] | None:
    return None if math.isnan(low) or math.isnan(high) else [low, high]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _fmt_ci(values: Sequence[float] | None) -> str:
    return "" if not values else f" [{values[0]:.2f}, {values[1]:.2f}]"


def to_markdown(board: Mapping[str, Any]) -> str:
    """Markdown: one table per downstream classifier, task columns from objective to subjective."""
    task_ids = [t["id"] for t in board["tasks"]]
    lines = ["# synthbench leaderboard", "",
             "Utility = macro-F1 of the classifier trained on synthetic data / macro-F1 of the "
             "same classifier trained on the same number of real examples, on the task's real "
             "test split (mean over seeds). Task columns run from most objective to most "
             "subjective (declared).", "", f"> {board['subjectivity_note']}", ""]
    classifiers = sorted({r["classifier"] for r in board["rows"]})
    for classifier in classifiers:
        header = ["model", "generator", "N", *task_ids, "mean utility", "Remote-Clique (real)",
                  "label acc.", "Spearman ρ [95% CI]", "Kendall τ"]
        table = []
        for row in (r for r in board["rows"] if r["classifier"] == classifier):
            table.append([
                row["model"], row["generator"], row["n"],
                *[_fmt(row["per_task"].get(t, {}).get("utility")) for t in task_ids],
                _fmt(row["mean_utility"]),
                f"{_fmt(row['remote_clique'])} ({_fmt(row['real_remote_clique'])})",
                _fmt(row["label_accuracy"]),
                _fmt(row["spearman_rho"], 2) + _fmt_ci(row["spearman_ci"]),
                _fmt(row["kendall_tau"], 2),
            ])
        lines += [f"## Classifier: {classifier}", "",
                  tabulate(table, headers=header, tablefmt="github", disable_numparse=True), ""]
    if not classifiers:
        lines += ["No results yet: run `synthbench run` first.", ""]
    lines += ["## Declared task subjectivity", "",
              tabulate([[t["id"], f"{t['declared_subjectivity']:.3f}", t["source"]]
                        for t in board["tasks"]], headers=["task", "score", "source"],
                       tablefmt="github", disable_numparse=True), ""]
    return "\n".join(lines)


def rebuild(results: Path, out: Path) -> tuple[Path, Path, int]:
    """Read every finished cell under ``results`` and write ``leaderboard.{json,md}`` in ``out``."""
    records = [record for _, record in iter_results(results)]
    board = build(records)
    json_path, md_path = out / "leaderboard.json", out / "leaderboard.md"
    atomic_write_text(json_path, json.dumps(board, indent=2, sort_keys=True) + "\n")
    atomic_write_text(md_path, to_markdown(board))
    return json_path, md_path, len(records)


def summary_table(records: Sequence[Mapping[str, Any]]) -> str:
    """A run's closing table: per task, model, generator and classifier, aggregated over seeds."""
    labels = generator_labels(records)
    groups: dict[tuple[str, str, str, int, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        config = record["config"]
        for classifier in record["classifiers"]:
            groups[(config["task"], config["model"], labels[_params_key(config)],
                    int(config["n"]), classifier)].append(record)
    rows = []
    for (task, model, generator, n, classifier), members in sorted(groups.items()):
        counts = [r["generation"]["counts"] for r in members]
        kept = sum(c["kept"] for c in counts)
        asked = sum(c["requested"] for c in counts)
        syn = [r["classifiers"][classifier]["synthetic"].get("macro_f1") for r in members]
        real = [r["classifiers"][classifier]["real"].get("macro_f1") for r in members]
        util = [r["classifiers"][classifier].get("utility") for r in members]
        mean_u, low, high = mean_ci([u for u in util if u is not None])
        rows.append([
            task, model, generator, n, classifier, len(members), f"{kept}/{asked}",
            _fmt(_mean(syn)), _fmt(_mean(real)),
            _fmt(None if math.isnan(mean_u) else mean_u)
            + _fmt_ci(_interval(low, high)),
            _fmt(_mean(r["metrics"]["label_accuracy"]["value"] for r in members)),
            _fmt(_mean(r["metrics"]["diversity"]["synthetic"]["remote_clique"] for r in members)),
        ])
    table: str = tabulate(rows, headers=["task", "model", "generator", "N", "classifier", "seeds",
                                   "kept", "F1 synthetic", "F1 real", "utility [95% CI]",
                                   "label acc.", "Remote-Clique"],
                    tablefmt="simple", disable_numparse=True)
    return table

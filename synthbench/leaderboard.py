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
    ``zero_shot[temperature=1.3]`` next to ``zero_shot[temperature=0.3]``; a curated variant
    appends its interventions in order, alike: ``zero_shot+dedup+label_replacement[k=90]``."""
    by_generator: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    steps: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    pipelines: dict[str, list[Any]] = {}
    for record in records:
        config = record["config"]
        key = _params_key(config)
        by_generator[config["generator"]][key] = config["generator_params"]
        pipelines[key] = list(config.get("interventions") or [])
        for step, params in pipelines[key]:
            steps[step].append(params)
    labels = {}
    for generator, variants in by_generator.items():
        for key, params in variants.items():
            labels[key] = _variant(generator, params, _varying(list(variants.values())))
    for key, pipeline in pipelines.items():
        labels[key] += "".join(f"+{_variant(step, params, _varying(steps[step]))}"
                               for step, params in pipeline)
    return labels


def _varying(variants: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = sorted({k for params in variants for k in params})
    return [k for k in keys if len({json.dumps(p.get(k), sort_keys=True)
                                    for p in variants}) > 1]


def _variant(name: str, params: Mapping[str, Any], varying: Sequence[str]) -> str:
    inner = ",".join(f"{k}={params.get(k)}" for k in varying)
    return f"{name}[{inner}]" if inner else name


def _params_key(config: Mapping[str, Any]) -> str:
    if config.get("interventions"):
        return json.dumps([config["generator"], config["generator_params"],
                           config["interventions"]], sort_keys=True)
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


def build(records: Sequence[Mapping[str, Any]],
          measured: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The leaderboard as JSON-ready data. With ``measured`` (``measured_subjectivity`` of
    ``synthbench.subjectivity.store``), every row also correlates utility with the measured
    scores, and the board names the judge; without it the board is as before."""
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
        if measured is not None:
            rows[-1]["measured"] = rank_correlations(
                {t: v for t, v in per_task.items() if t in measured["scores"]},
                measured["scores"])
    ordered = sorted(tasks.values(), key=lambda t: (t["declared_subjectivity"], t["id"]))
    board = {"schema_version": SCHEMA_VERSION, "subjectivity_note": SUBJECTIVITY_NOTE,
             "tasks": ordered, "rows": rows}
    even = break_even(records)
    if even:
        board["break_even"] = even
    if measured is not None:
        board["measured_subjectivity"] = dict(measured)
    return board


def break_even(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Chung's break-even, per (model, task, generator, other interventions, N, classifier):
    the smallest k of ``label_replacement`` at which the classifier trained on the curated
    synthetic texts (macro-F1, mean over seeds) beats the ``llm_few_shot`` baseline (mean
    over the same cells' seeds). The same cells without label replacement count as k = 0,
    so a break-even of 0 means the uncurated texts already beat it; ``k="all"`` (the oracle
    relabels every text) is listed but is not a k. The inspection is simulated by the oracle,
    as in Chung's oracle study."""
    labels = generator_labels([{"config": {**r["config"], "interventions": []}}
                               for r in records])
    families: dict[tuple[str, str, str, str, int, str], dict[str, Any]] = {}
    for record in records:
        config = record["config"]
        baseline = (record.get("baselines") or {}).get("llm_few_shot")
        pipeline, k = _label_replacement(record)
        if baseline is None:
            continue
        rest = {**config, "interventions": pipeline}
        others = "".join(f"+{step}" for step, _ in pipeline)
        generator = labels.get(_params_key({**config, "interventions": []}),
                               config["generator"]) + others
        for classifier, scores in record["classifiers"].items():
            key = (config["model"], config["task"], _params_key(rest), generator,
                   int(config["n"]), classifier)
            family = families.setdefault(key, {"baseline": [], "by_k": defaultdict(list),
                                               "baseline_params": baseline["params"]})
            family["baseline"].append(float(baseline["macro_f1"]))
            f1 = scores.get("synthetic", {}).get("macro_f1")
            if f1 is not None:
                family["by_k"]["0" if k is None else str(k)].append(float(f1))
    rows = []
    for (model, task, _, generator, n, classifier), family in sorted(families.items()):
        if set(family["by_k"]) <= {"0"}:
            continue  # no label replacement in this family
        base = float(np.mean(family["baseline"]))
        by_k = {k: float(np.mean(v)) for k, v in family["by_k"].items()}
        ks = sorted(int(k) for k in by_k if k.isdigit())
        beats = [k for k in ks if by_k[str(k)] > base]
        rows.append({"model": model, "task": task, "generator": generator, "n": n,
                     "classifier": classifier, "llm_few_shot_macro_f1": base,
                     "llm_few_shot_params": family["baseline_params"],
                     "macro_f1_by_k": dict(sorted(by_k.items(), key=_k_order)),
                     "break_even_k": beats[0] if beats else None,
                     "k_tried": ks, "inspection": "simulated by the oracle (real-data "
                     "classifier), as in Chung et al.'s oracle study"})
    return rows


def _k_order(item: tuple[str, Any]) -> tuple[bool, int]:
    """Numeric k first, in order, then named ones such as ``all``."""
    return (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0)


def _label_replacement(record: Mapping[str, Any]) -> tuple[list[Any], Any]:
    """The record's other interventions, and the k of its label_replacement step (or None)."""
    pipeline = list(record["config"].get("interventions") or [])
    for index, (step, params) in enumerate(pipeline):
        if step == "label_replacement":
            return pipeline[:index] + pipeline[index + 1:], params.get("k")
    return pipeline, None


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
        if "measured_subjectivity" in board:
            header += ["ρ measured [95% CI]", "τ measured [95% CI]"]
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
                *_measured_cells(row),
            ])
        lines += [f"## Classifier: {classifier}", "",
                  tabulate(table, headers=header, tablefmt="github", disable_numparse=True), ""]
    if not classifiers:
        lines += ["No results yet: run `synthbench run` first.", ""]
    if board.get("break_even"):
        lines += ["## Break-even of label replacement against llm_few_shot", "",
                  "Smallest k of inspected items (label_replacement, proxy models) at which the "
                  "classifier trained on the curated synthetic texts beats the provider "
                  "classifying the real test split in context. The inspection is simulated by "
                  "the oracle (a classifier trained on real data), as in Chung et al.", "",
                  break_even_table(board["break_even"], "github"), ""]
    if "measured_subjectivity" in board:
        lines += measured_section(board)
    lines += ["## Declared task subjectivity", "",
              tabulate([[t["id"], f"{t['declared_subjectivity']:.3f}", t["source"]]
                        for t in board["tasks"]], headers=["task", "score", "source"],
                       tablefmt="github", disable_numparse=True), ""]
    return "\n".join(lines)


def _measured_cells(row: Mapping[str, Any]) -> list[str]:
    if "measured" not in row:
        return []
    m = row["measured"]
    return [_fmt(m["spearman_rho"], 2) + _fmt_ci(m["spearman_ci"]),
            _fmt(m["kendall_tau"], 2) + _fmt_ci(m["kendall_ci"])]


def measured_section(board: Mapping[str, Any]) -> list[str]:
    """Markdown lines on measured subjectivity: who measured it, and the scores."""
    measured = board["measured_subjectivity"]
    scores = measured["scores"]
    table = [[t, f"{scores[t]:.3f}", "[{:.2f}, {:.2f}]".format(*measured["ci"][t])]
             for t in sorted(scores, key=lambda t: (scores[t], t))]
    return ["## Measured task subjectivity", "",
            f"Measured by the judge `{measured['judge']}` ({measured['method']}), Li's "
            f"pairwise protocol v{measured['protocol_version']}, Bradley–Terry scores "
            f"(0 = most objective); judge position bias {_fmt(measured['position_bias'], 2)} "
            f"(share of first-shown answers), order consistency "
            f"{_fmt(measured['order_consistency'], 2)}, Kendall τ against the declared order "
            f"{_fmt(measured['kendall_tau'], 2)}{_fmt_ci(measured['kendall_ci'])}. The "
            "'ρ measured' columns correlate utility with these scores.", "",
            tabulate(table, headers=["task", "measured", "95% CI"], tablefmt="github",
                     disable_numparse=True), ""]


def break_even_table(rows: Sequence[Mapping[str, Any]], fmt: str = "simple") -> str:
    """The break-even rows as a table: baseline F1, F1 at each k, and the break-even k."""
    table = [[r["task"], r["model"], r["generator"], r["n"], r["classifier"],
              _fmt(r["llm_few_shot_macro_f1"]),
              ", ".join(f"{k}: {_fmt(v)}" for k, v in r["macro_f1_by_k"].items()),
              "none" if r["break_even_k"] is None else str(r["break_even_k"])]
             for r in rows]
    text: str = tabulate(table, headers=["task", "model", "generator", "N", "classifier",
                                         "F1 llm_few_shot", "F1 by k", "break-even k"],
                         tablefmt=fmt, disable_numparse=True)
    return text


def rebuild(results: Path, out: Path) -> tuple[Path, Path, int]:
    """Read every finished cell under ``results`` and write ``leaderboard.{json,md}`` in ``out``."""
    from synthbench.subjectivity.store import measured_subjectivity

    records = [record for _, record in iter_results(results)]
    board = build(records, measured_subjectivity(results, [r["config"]["task"] for r in records]))
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

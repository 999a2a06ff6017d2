"""Stored cell records -> the leaderboard's tables: a pure function of the records, sorted by id.

One row per (model, generator with its parameters, N, classifier): gap closed and utility per
task (mean over seeds), their means, diversity, label accuracy, tokens, and the headline:
Spearman rho and Kendall tau between declared task subjectivity and gap closed, with a
bootstrap 95 % interval that resamples tasks and, within each task, seeds, a permutation p and
the |rho| the task count can detect (the same on the same-N ratio, as ``utility_*``).
``flat_rows`` gives the same board one line per task. Nothing here reads or writes a file.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from synthbench.errors import SynthbenchError
from synthbench.metrics import cost_per_f1_point, mean_ci
from synthbench.metrics.headroom import gap_closed
from synthbench.metrics.stats import detectable_rho, permutation_p
from synthbench.plugins import Plugins
from synthbench.record import SCHEMA_VERSION, CellRecord, ClassifierResult
from synthbench.subjectivity.agreement import headline_slope

BOOTSTRAP = 2000
PERMUTATIONS = 10_000
FLAG_BELOW = 0.5  # a same-N real baseline closing less of the gap flags the task's utility
HEADLINE = {"measure": "gap_closed", "definition": (
    "(macro-F1 of the classifier fitted on the synthetic texts - chance) / (real ceiling - "
    "chance): 0 = chance, 1 = as good as the whole real train split; chance = expected "
    "macro-F1 of labels drawn blind from the train split's label prior; ceiling = the same "
    "classifier and seed fitted on the whole train split (or its stated cap)"), "secondary": (
    "utility = macro-F1 synthetic / macro-F1 real at the same N; flagged where the real same-N "
    "baseline closes less than half of the gap")}
MEASURED_KEYS = ("spearman_rho", "spearman_ci", "kendall_tau", "kendall_ci")
SUBJECTIVITY_NOTE = (
    "Declared subjectivity is provisional: Li et al.'s task order as given in synthbench's "
    "METHOD.md (scaled to 0..1), and synthbench's own placement for tasks Li et al. did not "
    "rank; it is not the paper's measured table."
)
KEY = ("model", "generator", "n", "classifier", "task")
COLUMNS = (*KEY, "declared_subjectivity", "measured_subjectivity", "gap_closed", "gap_ci_low",
           "gap_ci_high", "real_gap_closed", "utility", "ci_low", "ci_high", "utility_flag",
           "seeds", "mean_gap_closed", "mean_utility", "spearman_rho", "spearman_ci_low",
           "spearman_ci_high", "spearman_p", "kendall_tau", "utility_spearman_rho",
           "remote_clique", "real_remote_clique", "label_accuracy", "output_tokens")


@dataclass(frozen=True)
class BreakEvenKeys:
    """What the plugins declare for Chung's break-even: interventions whose parameter counts
    inspected items (id -> parameter) and baselines that are the reference to beat."""

    inspections: Mapping[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()

    @classmethod
    def of(cls, plugins: Plugins) -> BreakEvenKeys:
        inspections = {i: plugins.interventions.get(i).inspection_param
                       for i in plugins.interventions.ids()}
        return cls({i: p for i, p in inspections.items() if p},
                   tuple(b for b in plugins.baselines.ids()
                         if plugins.baselines.get(b).break_even_reference))

    @property
    def pairs(self) -> list[tuple[str, str, str]]:
        """(reference baseline, intervention, its inspection parameter), sorted."""
        return [(ref, step, param) for ref in sorted(self.references)
                for step, param in sorted(self.inspections.items())]


def configs_of(records: Sequence[CellRecord]) -> list[dict[str, Any]]:
    return [r.config.to_record() for r in records]


def generator_labels(configs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A label per distinct generator configuration: the generator id plus the parameters
    whose values differ between the configurations of that generator in ``records``, e.g.
    ``zero_shot[temperature=1.3]`` next to ``zero_shot[temperature=0.3]``; a curated variant
    appends its interventions in order, alike: ``zero_shot+dedup+label_replacement[k=90]``."""
    by_generator: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    steps: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    pipelines: dict[str, list[Any]] = {}
    for config in configs:
        key = params_key(config)
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


def cell_generators(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each record's cell name -> the generator label its board row shows."""
    labels = generator_labels([r["config"] for r in records])
    return {str(r["cell"]): labels[params_key(r["config"])] for r in records}


def _varying(variants: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = sorted({k for params in variants for k in params})
    return [k for k in keys if len({json.dumps(p.get(k), sort_keys=True)
                                    for p in variants}) > 1]


def _variant(name: str, params: Mapping[str, Any], varying: Sequence[str]) -> str:
    inner = ",".join(f"{k}={params.get(k)}" for k in varying)
    return f"{name}[{inner}]" if inner else name


def params_key(config: Mapping[str, Any]) -> str:
    if config.get("interventions"):
        return json.dumps([config["generator"], config["generator_params"],
                           config["interventions"]], sort_keys=True)
    return json.dumps([config["generator"], config["generator_params"]], sort_keys=True)


def _check_unique(records: Sequence[CellRecord]) -> None:
    """One record per (model, task, generator config, N, seed): two would count a seed twice."""
    seen: dict[str, str] = {}
    for record in records:
        config = record.config.to_record()
        key = json.dumps([config["model"], config["task"], params_key(config), config["n"],
                          config["seed"]], sort_keys=True)
        if key in seen:
            raise SynthbenchError(
                f"results {seen[key]} and {record.cell} are the same cell on different "
                "data or task versions; keep one of them")
        seen[key] = record.cell


def n_eq_labels(records: Iterable[CellRecord], classifier: str | None = None) -> list[str]:
    """The real-data-equivalent sizes of ``records`` (one per seed, "412", ">6000", "<25"),
    for ``classifier`` or every classifier, where they were measured."""
    return [str(result.n_eq["label"]) for record in records
            for name, result in sorted(record.classifiers.items())
            if result.n_eq is not None and classifier in (None, name)]


def mixed_gains(records: Iterable[CellRecord], classifier: str) -> dict[str, float | None]:
    """K -> mean macro-F1 gain of synthetic + K real over K real alone (``--mix-real``)."""
    by_k: dict[str, list[float | None]] = defaultdict(list)
    for record in records:
        for k, mixed in (record.classifiers[classifier].mixed or {}).items():
            by_k[k].append(mixed.get("gain"))
    return {k: mean_of(v) for k, v in sorted(by_k.items(), key=lambda item: int(item[0]))}


def served_models(records: Sequence[CellRecord]) -> dict[str, str]:
    """Model id -> the model its provider says it served (``local`` is SmolLM2-135M, ...)."""
    served: dict[str, set[str]] = defaultdict(set)
    for record in records:
        name = record.generation.provider.get("served_model")
        if isinstance(name, str) and name:
            served[record.config.model].add(name)
    return {model: " / ".join(sorted(names)) for model, names in sorted(served.items())}


def per_task_values(members: Sequence[CellRecord], classifier: str,
                    value: Callable[[ClassifierResult], float | None]) -> dict[str, list[float]]:
    """Task -> the finite ``value`` of ``classifier`` in each of ``members`` (one per seed)."""
    per_task: dict[str, list[float]] = defaultdict(list)
    for record in members:
        found = value(record.classifiers[classifier])
        if found is not None and math.isfinite(found):
            per_task[record.config.task].append(float(found))
    return dict(per_task)


def real_gap_closed(result: ClassifierResult) -> float | None:
    """The gap that the same-N real baseline closes: near 0 means the task's real data at
    this N is itself near chance, so the same-N ratio (utility) there says little."""
    return gap_closed(result.real.macro_f1, result.chance_macro_f1,
                      (result.ceiling or {}).get("macro_f1"))


def mean_of(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(kept)) if kept else None


def agreement_slope(agreements: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """The mean instance-level slope difference over a task's seeds, and the score it is on:
    the records' headline score where every record has the same one, else accuracy, which
    every record carries (older records have only it). The score is named unless it is
    accuracy, the meaning of boards before it, which stay as they were. Empty for a task
    without agreement."""
    stored = [a for a in agreements if a is not None]
    measures = {headline_slope(a)[0] for a in stored}
    if len(measures) == 1:
        measure = measures.pop()
        values = [headline_slope(a)[1] for a in stored]
    else:
        measure, values = "accuracy", [a.get("slope_difference") for a in stored]
    if not any(v is not None for v in values):
        return {}
    named = {} if measure == "accuracy" else {"agreement_slope_measure": measure}
    return {"agreement_slope_difference": mean_of(values), **named}


def rank_correlations(per_task: Mapping[str, Sequence[float]], subjectivity: Mapping[str, float],
                      rounds: int = BOOTSTRAP, seed: int = 0) -> dict[str, Any]:
    """Spearman and Kendall between subjectivity and mean utility, with bootstrap intervals.

    Needs 3 or more tasks with a utility; each bootstrap round resamples tasks with
    replacement and, within each drawn task, its seed values.
    """
    tasks = sorted(t for t, v in per_task.items() if v)
    result: dict[str, Any] = {"n_tasks": len(tasks), "spearman_rho": None, "spearman_ci": None,
                              "kendall_tau": None, "kendall_ci": None, "spearman_p": None,
                              "detectable_rho": None}
    if len(tasks) < 3:
        return result
    x = [subjectivity[t] for t in tasks]
    y = [float(np.mean(per_task[t])) for t in tasks]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return result
    result["spearman_rho"] = float(stats.spearmanr(x, y).statistic)
    result["kendall_tau"] = float(stats.kendalltau(x, y).statistic)
    result["spearman_p"] = permutation_p(x, y, "spearman", PERMUTATIONS, seed)
    result["detectable_rho"] = detectable_rho(len(tasks)) if len(tasks) > 3 else None
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


def build(records: Sequence[CellRecord], keys: BreakEvenKeys = BreakEvenKeys(),
          measured: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The leaderboard as JSON-ready data. With ``measured`` (``measured_subjectivity`` of
    ``synthbench.subjectivity.store``), every row also correlates utility with the measured
    scores, and the board names the judge; without it the board is as before."""
    _check_unique(records)
    labels = generator_labels(configs_of(records))
    tasks: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, str, int, str], list[CellRecord]] = defaultdict(list)
    for record in records:
        config = record.config
        subj = record.subjectivity
        tasks[config.task] = {"id": config.task, "declared_subjectivity": subj.declared,
                              "source": subj.source, "provisional": subj.provisional}
        for classifier in record.classifiers:
            key = (config.model, labels[params_key(config.to_record())], config.n, classifier)
            groups[key].append(record)
    subjectivity = {t: v["declared_subjectivity"] for t, v in tasks.items()}
    rows = []
    for (model, generator, n, classifier), members in sorted(groups.items()):
        per_task = per_task_values(members, classifier, lambda r: r.utility)
        gaps = per_task_values(members, classifier, lambda r: r.gap_closed)
        real_gaps = per_task_values(members, classifier, real_gap_closed)
        task_cells: dict[str, dict[str, Any]] = {}
        for task in sorted(set(per_task) | set(gaps)):
            mean, low, high = mean_ci(per_task.get(task, []))
            task_cells[task] = {"utility": None if math.isnan(mean) else mean,
                                "ci": interval(low, high), "seeds": len(per_task.get(task, []))}
            if gaps.get(task):  # cells with a chance level and a real ceiling
                mean, low, high = mean_ci(gaps[task])
                real = mean_of(real_gaps.get(task, []))
                task_cells[task].update(gap_closed=mean, gap_ci=interval(low, high),
                                        real_gap_closed=real,
                                        utility_flag=real is not None and real < FLAG_BELOW)
            n_eq = n_eq_labels((r for r in members if r.config.task == task), classifier)
            if n_eq:  # cells measured with --n-eq
                task_cells[task]["n_eq"] = n_eq
            gains = mixed_gains((r for r in members if r.config.task == task), classifier)
            if gains:  # cells measured with --mix-real
                task_cells[task]["mixed_gain"] = gains
            task_cells[task].update(agreement_slope(
                [r.classifiers[classifier].agreement for r in members
                 if r.config.task == task]))
        diversity = mean_of(r.metrics.synthetic_diversity.remote_clique for r in members)
        rows.append({
            "model": model, "generator": generator, "n": n, "classifier": classifier,
            "cells": len(members),
            "per_task": task_cells,
            "mean_gap_closed": mean_of(c.get("gap_closed") for c in task_cells.values()),
            "mean_utility": mean_of(c["utility"] for c in task_cells.values()),
            "remote_clique": diversity,
            "real_remote_clique": mean_of(r.metrics.real_diversity.remote_clique for r in members),
            "label_accuracy": mean_of(r.metrics.label_accuracy.value for r in members),
            "output_tokens": sum(r.cost.output_tokens for r in members),
            **rank_correlations(gaps, subjectivity),
            **{f"utility_{k}": v for k, v in rank_correlations(per_task, subjectivity).items()
               if k in MEASURED_KEYS},
        })
        copies = [r.metrics.train_copies for r in members if r.metrics.train_copies]
        if copies:  # records before the copy metric have none
            rows[-1]["train_copy_share"] = mean_of(c["train_split"].get("share")
                                                   for c in copies if c.get("train_split"))
            rows[-1]["prompt_copy_share"] = mean_of(c["prompt_examples"].get("share")
                                                    for c in copies if c.get("prompt_examples"))
        natural = mean_of((r.metrics.naturalness or {}).get("auc") for r in members)
        if natural is not None:  # records before the two-sample test have none
            rows[-1]["naturalness_auc"] = natural
        usd = [r.cost.usd for r in members]
        if any(u for u in usd):  # priced (paid) models: dollars per cell and per F1 point
            per_cell = mean_of(usd)
            rows[-1]["usd_per_cell"] = per_cell
            rows[-1]["usd_per_f1_point"] = cost_per_f1_point(per_cell, mean_of(
                r.classifiers[classifier].synthetic.macro_f1 for r in members))
        if measured is not None:
            against = rank_correlations(
                {t: v for t, v in gaps.items() if t in measured["scores"]}, measured["scores"])
            rows[-1].update({f"measured_{k}": against[k] for k in MEASURED_KEYS})
    ordered = sorted(tasks.values(), key=lambda t: (t["declared_subjectivity"], t["id"]))
    board = {"schema_version": SCHEMA_VERSION, "headline": HEADLINE,
             "subjectivity_note": SUBJECTIVITY_NOTE, "tasks": ordered, "rows": rows,
             "models": served_models(records)}
    even = break_even(records, keys)
    if even:
        board["break_even"] = even
    if measured is not None:
        board["measured_subjectivity"] = dict(measured)
        for entry in ordered:
            if entry["id"] in measured["scores"]:
                entry["measured_subjectivity"] = measured["scores"][entry["id"]]
                entry["measured_ci"] = measured["ci"][entry["id"]]
    return board


def break_even(records: Sequence[CellRecord], keys: BreakEvenKeys) -> list[dict[str, Any]]:
    """Chung's break-even, per (model, task, generator, other interventions, N, classifier)
    and per declared (reference baseline, inspecting intervention): the smallest k of the
    intervention's inspection parameter at which the classifier trained on the curated
    synthetic texts (macro-F1, mean over seeds) beats the reference (mean over the same
    cells' seeds). The same cells without the intervention count as k = 0, so a break-even
    of 0 means the uncurated texts already beat it; a k that is not a number (``all``) is
    listed but is not a k. The inspection is simulated by the oracle, as in Chung's oracle
    study."""
    pairs = keys.pairs
    labels = generator_labels([{**c, "interventions": []} for c in configs_of(records)])
    rows = []
    for reference, step, param in pairs:
        families: dict[tuple[str, str, str, str, int, str], dict[str, Any]] = {}
        for record in records:
            baseline = record.baselines.get(reference)
            if baseline is None:
                continue
            config = record.config.to_record()
            pipeline, k = _inspection(config, step, param)
            rest = {**config, "interventions": pipeline}
            others = "".join(f"+{s}" for s, _ in pipeline)
            generator = labels.get(params_key({**config, "interventions": []}),
                                   config["generator"]) + others
            for classifier, scores in record.classifiers.items():
                key = (config["model"], config["task"], params_key(rest), generator,
                       int(config["n"]), classifier)
                family = families.setdefault(key, {"baseline": [], "by_k": defaultdict(list),
                                                   "baseline_params": dict(baseline.params)})
                family["baseline"].append(float(baseline.macro_f1))
                f1 = scores.synthetic.macro_f1
                if f1 is not None:
                    family["by_k"]["0" if k is None else str(k)].append(float(f1))
        for (model, task, _, generator, n, classifier), family in sorted(families.items()):
            if set(family["by_k"]) <= {"0"}:
                continue  # the intervention never ran in this family
            base = float(np.mean(family["baseline"]))
            by_k = {k: float(np.mean(v)) for k, v in family["by_k"].items()}
            ks = sorted(int(k) for k in by_k if k.isdigit())
            beats = [k for k in ks if by_k[str(k)] > base]
            row = {"model": model, "task": task, "generator": generator, "n": n,
                   "classifier": classifier, f"{reference}_macro_f1": base,
                   f"{reference}_params": family["baseline_params"],
                   "macro_f1_by_k": dict(sorted(by_k.items(), key=_k_order)),
                   "break_even_k": beats[0] if beats else None,
                   "k_tried": ks, "inspection": "simulated by the oracle (real-data "
                   "classifier), as in Chung et al.'s oracle study"}
            if len(pairs) > 1:
                row.update(reference=reference, intervention=step)
            rows.append(row)
    return rows


def _k_order(item: tuple[str, Any]) -> tuple[bool, int]:
    """Numeric k first, in order, then named ones such as ``all``."""
    return (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0)


def _inspection(config: Mapping[str, Any], step: str, param: str) -> tuple[list[Any], Any]:
    """The config's other interventions, and the inspection count of its ``step`` (or None)."""
    pipeline = list(config.get("interventions") or [])
    for index, (name, params) in enumerate(pipeline):
        if name == step:
            return pipeline[:index] + pipeline[index + 1:], params.get(param)
    return pipeline, None


def interval(low: float, high: float) -> list[float] | None:
    return None if math.isnan(low) or math.isnan(high) else [low, high]


def flat_rows(board: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per (board row, task it has), tasks from objective to subjective."""
    tasks = {t["id"]: t for t in board["tasks"]}
    order = {t["id"]: i for i, t in enumerate(board["tasks"])}
    out = []
    for row in board["rows"]:
        for task in sorted(row["per_task"], key=lambda t: (order.get(t, len(order)), t)):
            cell = row["per_task"][task]
            ci = cell.get("ci") or [None, None]
            gap_ci = cell.get("gap_ci") or [None, None]
            rho_ci = row.get("spearman_ci") or [None, None]
            meta = tasks.get(task, {})
            out.append({
                "model": row["model"], "generator": row["generator"], "n": row["n"],
                "classifier": row["classifier"], "task": task,
                "declared_subjectivity": meta.get("declared_subjectivity"),
                "measured_subjectivity": meta.get("measured_subjectivity"),
                "gap_closed": cell.get("gap_closed"), "gap_ci_low": gap_ci[0],
                "gap_ci_high": gap_ci[1], "real_gap_closed": cell.get("real_gap_closed"),
                "utility": cell.get("utility"), "ci_low": ci[0], "ci_high": ci[1],
                "utility_flag": cell.get("utility_flag"),
                "seeds": cell.get("seeds"), "mean_gap_closed": row.get("mean_gap_closed"),
                "mean_utility": row.get("mean_utility"),
                "spearman_rho": row.get("spearman_rho"), "spearman_ci_low": rho_ci[0],
                "spearman_ci_high": rho_ci[1], "spearman_p": row.get("spearman_p"),
                "kendall_tau": row.get("kendall_tau"),
                "utility_spearman_rho": row.get("utility_spearman_rho"),
                "remote_clique": row.get("remote_clique"),
                "real_remote_clique": row.get("real_remote_clique"),
                "label_accuracy": row.get("label_accuracy"),
                "output_tokens": row.get("output_tokens"),
            })
    return out

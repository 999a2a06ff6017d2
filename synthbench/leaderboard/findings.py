"""What the leaderboard found, as data and as sentences generated from it (tables -> findings).

Each finding carries its numbers and one plain sentence whose wording follows from them: an
interval that contains 0 says the grid cannot tell, one that excludes it says which way the
numbers go. Only rows with enough evidence speak: ``MIN_TASKS`` tasks with ``MIN_SEEDS`` seeds
each. No sentence here is written about a particular number.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

from synthbench import defaults
from synthbench.leaderboard.tables import (
    configs_of,
    generator_labels,
    params_key,
    rank_correlations,
)
from synthbench.metrics import mean_ci
from synthbench.record import CellRecord
from synthbench.subjectivity.agreement import headline_slope

MIN_TASKS = 10
MIN_SEEDS = 2
ORDER = defaults.GENERATOR_ORDER


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _ci(values: Sequence[float] | None) -> str:
    return "" if not values else f" [{values[0]:+.2f}, {values[1]:+.2f}]"


def _strong(row: Mapping[str, Any]) -> bool:
    tasks = [c for c in row["per_task"].values() if c.get("gap_closed") is not None]
    return sum(1 for c in tasks if c["seeds"] >= MIN_SEEDS) >= MIN_TASKS


def correlation_sentence(rho: float | None, ci: Sequence[float] | None, p: float | None,
                         detectable: float | None, n_tasks: int, against: str) -> str:
    """One sentence on a rank correlation between subjectivity and gap closed."""
    if rho is None:
        return f"No correlation with {against} subjectivity could be computed."
    stated = (f"Across {n_tasks} tasks, ρ between {against} subjectivity and gap closed is "
              f"{rho:+.2f}{_ci(ci)}" + ("" if p is None else f" (permutation p = {p:.2f})"))
    power = ("" if detectable is None else
             f"; {n_tasks} tasks detect |ρ| ≥ {detectable:.2f} with 80 % power at α = 0.05")
    if not ci:
        return f"{stated}: too few bootstrap rounds for an interval{power}."
    if ci[0] <= 0.0 <= ci[1]:
        return (f"{stated}: the interval contains 0, so this grid cannot tell whether "
                f"synthetic data helps less on subjective tasks{power}.")
    if ci[1] < 0:
        return (f"{stated}: the interval excludes 0 and gap closed falls as subjectivity rises, "
                "as Li et al. report (synthetic data helps less on subjective tasks).")
    return (f"{stated}: the interval excludes 0 and gap closed rises with subjectivity, "
            "against Li et al.'s finding.")


def gap_sentence(n: int, mean: float, low: float, high: float, n_eq: float | None) -> str:
    """One sentence on how much of the chance-to-ceiling gap a row's synthetic data closes."""
    spread = f"from {_pct(low)} on one task to {_pct(high)} on another"
    worth = ("" if n_eq is None else
             f"; the median cell's {n} synthetic texts are worth about {n_eq:.0f} real ones")
    if mean <= 0.05:
        verdict = "no better than labels drawn blind"
    elif mean >= 0.95:
        verdict = "as good as the whole real train split"
    else:
        verdict = f"{_pct(mean)} of the way from chance to the real ceiling"
    return f"On average, {n} synthetic texts get the classifier {verdict} ({spread}){worth}."


def order_sentence(holds: int, tasks: int, generators: Sequence[str]) -> str:
    chain = " > ".join(["real", *(g.replace("_", "-") for g in reversed(generators))])
    share = ("every" if holds == tasks else "no" if holds == 0 else
             "most" if holds * 2 > tasks else "at most half of the")
    return (f"The order {chain} (macro-F1 at equal N) holds on {holds} of {tasks} tasks: "
            f"{share} task{'' if share in ('every', 'no') else 's'}.")


def slope_sentence(task: str, measure: str, mean: float, low: float, high: float,
                   seeds: int) -> str:
    """One sentence on the instance-level slope difference (synthetic minus real) over seeds."""
    stated = (f"On {task}, the slope of {measure.replace('_', ' ')} against annotator agreement "
              f"of the synthetic-trained classifier minus that of the real-trained one is "
              f"{mean:+.3f} (mean over seeds")
    if seeds < 2 or math.isnan(low):
        return f"{stated}; one seed, so no interval)."
    stated += f", 95 % interval [{low:+.3f}, {high:+.3f}])"
    if low <= 0.0 <= high:
        return f"{stated}: the interval contains 0, so no difference is shown."
    way = "less" if high < 0 else "more"
    return (f"{stated}: synthetic data gains {way} than real data on the instances annotators "
            "agree on.")


def row_findings(row: Mapping[str, Any], members: Sequence[CellRecord],
                 measured: bool) -> list[dict[str, Any]]:
    """The findings of one strong board row: correlation(s), gap closed, instance level."""
    ident = {k: row[k] for k in ("model", "generator", "n", "classifier")}
    out = [{**ident, "kind": "subjectivity", "against": "declared", "n_tasks": row["n_tasks"],
            "spearman_rho": row["spearman_rho"], "spearman_ci": row["spearman_ci"],
            "spearman_p": row["spearman_p"], "detectable_rho": row["detectable_rho"],
            "kendall_tau": row["kendall_tau"], "kendall_ci": row["kendall_ci"],
            "utility_spearman_rho": row.get("utility_spearman_rho"),
            "sentence": correlation_sentence(row["spearman_rho"], row["spearman_ci"],
                                             row["spearman_p"], row["detectable_rho"],
                                             row["n_tasks"], "declared")}]
    if measured and row.get("measured_spearman_rho") is not None:
        out.append({**ident, "kind": "subjectivity", "against": "measured",
                    "spearman_rho": row["measured_spearman_rho"],
                    "spearman_ci": row["measured_spearman_ci"],
                    "sentence": correlation_sentence(
                        row["measured_spearman_rho"], row["measured_spearman_ci"], None, None,
                        row["n_tasks"], "measured")})
    gaps = {t: c["gap_closed"] for t, c in row["per_task"].items()
            if c.get("gap_closed") is not None}
    n_eq = [r.classifiers[row["classifier"]].n_eq for r in members]
    sizes = [float(e["n_eq"]) for e in n_eq if e and e.get("n_eq") is not None]
    mean, low, high = mean_ci(list(gaps.values()))
    out.append({**ident, "kind": "gap_closed", "mean_gap_closed": mean,
                "mean_ci": None if math.isnan(low) else [low, high],
                "min_task": min(gaps, key=gaps.__getitem__),
                "max_task": max(gaps, key=gaps.__getitem__),
                "median_n_eq": median(sizes) if sizes else None,
                "sentence": gap_sentence(row["n"], mean, min(gaps.values()), max(gaps.values()),
                                         median(sizes) if sizes else None)})
    slopes: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in members:
        agreement = record.classifiers[row["classifier"]].agreement
        if agreement:
            measure, value, _ = headline_slope(agreement)
            if value is not None and math.isfinite(value):
                slopes[(record.config.task, measure)].append(float(value))
    for (task, measure), values in sorted(slopes.items()):
        mean, low, high = mean_ci(values)
        out.append({**ident, "kind": "instance_level", "task": task, "measure": measure,
                    "slope_difference": mean, "ci": None if math.isnan(low) else [low, high],
                    "seeds": len(values),
                    "sentence": slope_sentence(task, measure, mean, low, high, len(values))})
    return out


def order_findings(records: Sequence[CellRecord]) -> list[dict[str, Any]]:
    """Per (model, N, classifier) with every generator of ``ORDER`` on ``MIN_TASKS`` tasks:
    on how many tasks real > few-shot > zero-shot holds for mean macro-F1 over seeds. Of a
    generator's variants (other parameters, interventions) the one on the most tasks counts."""
    labels = generator_labels(configs_of(records))
    f1: dict[tuple[str, int, str, str], dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for record in records:
        config = record.config
        if config.generator not in ORDER:
            continue
        label = labels[params_key(config.to_record())]
        for classifier, result in record.classifiers.items():
            if result.synthetic.macro_f1 is not None and result.real.macro_f1 is not None:
                cell = f1[(config.model, config.n, classifier, config.generator)][config.task]
                cell[label].append(result.synthetic.macro_f1)
                cell["real"].append(result.real.macro_f1)
    chosen: dict[tuple[str, int, str], dict[str, dict[str, float]]] = defaultdict(dict)
    for (model, n, classifier, generator), tasks in f1.items():
        variants = sorted({v for by in tasks.values() for v in by if v != "real"})
        best = max(variants, key=lambda v: sum(v in by for by in tasks.values()))
        for task, by in tasks.items():
            if best in by:
                entry = chosen[(model, n, classifier)].setdefault(task, {})
                entry[generator] = float(sum(by[best]) / len(by[best]))
                entry["real"] = float(sum(by["real"]) / len(by["real"]))
    out = []
    chain = ("real", *reversed(ORDER))
    for (model, n, classifier), by_task in sorted(chosen.items()):
        complete = {t: means for t, means in by_task.items() if all(g in means for g in ORDER)}
        if len(complete) < MIN_TASKS:
            continue
        holds = sorted(t for t, means in complete.items()
                       if all(means[a] > means[b] for a, b in itertools.pairwise(chain)))
        out.append({"model": model, "n": n, "classifier": classifier, "kind": "order",
                    "tasks": len(complete), "holds": len(holds),
                    "exceptions": sorted(set(complete) - set(holds)),
                    "sentence": order_sentence(len(holds), len(complete), ORDER)})
    return out


def parameters(served: str) -> float | None:
    """A model's parameter count read from its served name ("SmolLM2-135M-Instruct" -> 1.35e8),
    or None when the name carries none."""
    found = re.search(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([MB])(?![A-Za-z])", served)
    return None if found is None else float(found.group(1)) * (1e6 if found.group(2) == "M"
                                                                  else 1e9)


def size_findings(board: Mapping[str, Any], records: Sequence[CellRecord]
                  ) -> list[dict[str, Any]]:
    """Per (generator, N, classifier) with models of two sizes or more on ``MIN_TASKS`` tasks:
    the headline, mean gap closed and label fidelity against generator size, smallest first,
    each size measured on the same (task, seed) cells, those every size has. Where the sizes
    with ``MIN_SEEDS`` seeds share more seeds than all sizes do, they get a trend of their own,
    so a new size with one seed does not hide the deeper comparison of the others."""
    models = board.get("models", {})
    declared = {t["id"]: t["declared_subjectivity"] for t in board["tasks"]}
    labels = generator_labels(configs_of(records))
    groups: dict[tuple[str, int, str], dict[str, dict[tuple[str, int], CellRecord]]] = \
        defaultdict(lambda: defaultdict(dict))
    for record in records:
        config = record.config
        if parameters(models.get(config.model, "")) is None:
            continue
        label = labels[params_key(config.to_record())]
        for classifier, result in record.classifiers.items():
            if result.gap_closed is not None and math.isfinite(result.gap_closed):
                groups[(label, config.n, classifier)][config.model][
                    (config.task, config.seed)] = record
    out = []
    for (generator, n, classifier), by_model in sorted(groups.items()):
        wide = {m: cells for m, cells in by_model.items()
                if len({task for task, _ in cells}) >= MIN_TASKS}
        deep = {m: cells for m, cells in wide.items() if _seeded_tasks(cells) >= MIN_TASKS}
        shared_wide = _shared(wide)
        for chosen in (wide, deep):
            shared = _shared(chosen)
            if (chosen is deep and (deep == wide or len(shared) <= len(shared_wide))) or \
                    len({parameters(models[m]) for m in chosen}) < 2 or \
                    len({task for task, _ in shared}) < MIN_TASKS:
                continue
            steps = sorted((_size_step(model, models[model], cells, shared, classifier,
                                       declared) for model, cells in chosen.items()),
                           key=lambda step: step["parameters"])
            tasks = len({task for task, _ in shared})
            seeds = sorted({seed for _, seed in shared})
            out.append({"model": "by size", "generator": generator, "n": n,
                        "classifier": classifier, "kind": "size", "tasks": tasks,
                        "seeds": seeds, "steps": steps,
                        "cells": len(shared),
                        "sentence": size_sentence(steps, tasks, seeds, len(shared))})
    return out


def _seeded_tasks(cells: Mapping[tuple[str, int], CellRecord]) -> int:
    """How many tasks have ``MIN_SEEDS`` seeds among ``cells``."""
    seeds: dict[str, int] = defaultdict(int)
    for task, _ in cells:
        seeds[task] += 1
    return sum(1 for count in seeds.values() if count >= MIN_SEEDS)


def _shared(by_model: Mapping[str, Mapping[tuple[str, int], CellRecord]]
            ) -> set[tuple[str, int]]:
    """The (task, seed) cells every model has."""
    kept = [set(cells) for cells in by_model.values()]
    return set.intersection(*kept) if kept else set()


def _size_step(model: str, served: str, cells: Mapping[tuple[str, int], CellRecord],
               shared: set[tuple[str, int]], classifier: str,
               declared: Mapping[str, float]) -> dict[str, Any]:
    """One size's point on the shared cells: rho of gap closed with declared subjectivity (its
    two-stage interval), mean gap closed over tasks and mean label fidelity."""
    gaps: dict[str, list[float]] = defaultdict(list)
    fidelity = []
    for key in sorted(shared):
        record = cells[key]
        gaps[key[0]].append(float(record.classifiers[classifier].gap_closed or 0.0))
        if record.metrics.label_accuracy.value is not None:
            fidelity.append(record.metrics.label_accuracy.value)
    rho = rank_correlations(gaps, declared)
    return {"model": model, "parameters": parameters(served),
            "spearman_rho": rho["spearman_rho"], "spearman_ci": rho["spearman_ci"],
            "mean_gap_closed": float(sum(sum(v) / len(v) for v in gaps.values()) / len(gaps)),
            "label_accuracy": sum(fidelity) / len(fidelity) if fidelity else None}


def size_label(parameters: float) -> str:
    """135e6 -> "135M", 1.5e9 -> "1.5B"."""
    return f"{parameters / 1e9:g}B" if parameters >= 0.5e9 else f"{parameters / 1e6:g}M"


def _size_scope(cells: int, tasks: int, seeds: Sequence[int]) -> str:
    """How deep the shared cells of a size trend go, and what their intervals leave out."""
    listed = ", ".join(str(s) for s in seeds)
    head = f"{cells} cells: {tasks} tasks"
    if len(seeds) == 1:
        return f"{head}, seed {listed} only, so the intervals leave out seed-to-seed spread"
    if cells >= tasks * len(seeds):
        return f"{head}, seeds {listed}"
    if 2 * (cells - tasks) < tasks * (len(seeds) - 1):
        return (f"{head}, seeds {listed}, most tasks with fewer seeds, so the intervals leave "
                "out much of the seed-to-seed spread")
    return f"{head}, seeds {listed}, not every task with every seed"


def size_sentence(steps: Sequence[Mapping[str, Any]], tasks: int, seeds: Sequence[int],
                  cells: int) -> str:
    """One sentence on how gap closed and its correlation with subjectivity move with size,
    on the ``cells`` (``tasks`` x ``seeds``) every size has."""
    def rho(step: Mapping[str, Any]) -> str:
        value = step["spearman_rho"]
        return "n/a" if value is None else f"{value:+.2f}{_ci(step['spearman_ci'])}"

    gaps = [s["mean_gap_closed"] for s in steps]
    size = size_label
    path = " → ".join(size(s["parameters"]) for s in steps)
    fidelity = [s.get("label_accuracy") for s in steps]
    labels = ("" if any(f is None for f in fidelity) else
              f", label fidelity {' → '.join(f'{f:.2f}' for f in fidelity)}")
    trend = ("rises" if all(b > a for a, b in itertools.pairwise(gaps)) else
             "falls" if all(b < a for a, b in itertools.pairwise(gaps)) else "does not move "
             "one way")
    negative = [s["spearman_ci"] is not None and s["spearman_ci"][1] < 0 for s in steps]
    verdict = ("the interval excludes 0 on the negative side only at "
               + ", ".join(size(s["parameters"]) for s, n in zip(steps, negative, strict=True)
                           if n)) if any(negative) else \
        "no size's interval excludes 0, so no subjectivity gap is shown at any size"
    scope = _size_scope(cells, tasks, seeds)
    return (f"On the cells every size has ({scope}), from {path} "
            f"parameters, mean gap closed {trend} "
            f"({' → '.join(f'{g:.2f}' for g in gaps)}){labels}; ρ with subjectivity goes "
            f"{' → '.join(rho(s) for s in steps)}: {verdict}.")


def findings(board: Mapping[str, Any], records: Sequence[CellRecord]) -> list[dict[str, Any]]:
    """Every finding of the board, sorted by model, N, classifier and generator."""
    labels = generator_labels(configs_of(records))
    members: dict[tuple[str, str, int, str], list[CellRecord]] = defaultdict(list)
    for record in records:
        for classifier in record.classifiers:
            members[(record.config.model, labels[params_key(record.config.to_record())],
                     record.config.n, classifier)].append(record)
    out = order_findings(records) + size_findings(board, records)
    for row in board["rows"]:
        if _strong(row):
            key = (row["model"], row["generator"], row["n"], row["classifier"])
            out += row_findings(row, members[key], "measured_subjectivity" in board)
    return sorted(out, key=lambda f: (f["model"], f["n"], f["classifier"],
                                      f.get("generator", ""), f["kind"], f.get("against", ""),
                                      f.get("task", "")))


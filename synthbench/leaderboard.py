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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from tabulate import tabulate

from synthbench.errors import SynthbenchError
from synthbench.metrics import cost_per_f1_point, mean_ci
from synthbench.plugins import Plugins
from synthbench.record import SCHEMA_VERSION, CellRecord
from synthbench.store import atomic_write_text, iter_results

BOOTSTRAP = 2000
MEASURED_KEYS = ("spearman_rho", "spearman_ci", "kendall_tau", "kendall_ci")
SUBJECTIVITY_NOTE = (
    "Declared subjectivity is provisional: Li et al.'s task order as given in synthbench's "
    "METHOD.md (scaled to 0..1), and synthbench's own placement for tasks Li et al. did not "
    "rank; it is not the paper's measured table."
)


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


def cell_generators(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each record's cell name -> the generator label its board row shows."""
    labels = generator_labels([r["config"] for r in records])
    return {str(r["cell"]): labels[_params_key(r["config"])] for r in records}


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


def _check_unique(records: Sequence[CellRecord]) -> None:
    """One record per (model, task, generator config, N, seed): two would count a seed twice."""
    seen: dict[str, str] = {}
    for record in records:
        config = record.config.to_record()
        key = json.dumps([config["model"], config["task"], _params_key(config), config["n"],
                          config["seed"]], sort_keys=True)
        if key in seen:
            raise SynthbenchError(
                f"results {seen[key]} and {record.cell} are the same cell on different "
                "data or task versions; keep one of them")
        seen[key] = record.cell


def _n_eq_labels(records: Iterable[CellRecord], classifier: str | None = None) -> list[str]:
    """The real-data-equivalent sizes of ``records`` (one per seed, "412", ">6000", "<25"),
    for ``classifier`` or every classifier, where they were measured."""
    return [str(result.n_eq["label"]) for record in records
            for name, result in sorted(record.classifiers.items())
            if result.n_eq is not None and classifier in (None, name)]


def _mixed_gains(records: Iterable[CellRecord], classifier: str) -> dict[str, float | None]:
    """K -> mean macro-F1 gain of synthetic + K real over K real alone (``--mix-real``)."""
    by_k: dict[str, list[float | None]] = defaultdict(list)
    for record in records:
        for k, mixed in (record.classifiers[classifier].mixed or {}).items():
            by_k[k].append(mixed.get("gain"))
    return {k: _mean(v) for k, v in sorted(by_k.items(), key=lambda item: int(item[0]))}


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
            key = (config.model, labels[_params_key(config.to_record())], config.n, classifier)
            groups[key].append(record)
    subjectivity = {t: v["declared_subjectivity"] for t, v in tasks.items()}
    rows = []
    for (model, generator, n, classifier), members in sorted(groups.items()):
        per_task: dict[str, list[float]] = defaultdict(list)
        for record in members:
            utility = record.classifiers[classifier].utility
            if utility is not None:
                per_task[record.config.task].append(float(utility))
        task_cells: dict[str, dict[str, Any]] = {}
        for task in sorted(per_task):
            mean, low, high = mean_ci(per_task[task])
            task_cells[task] = {"utility": mean, "ci": _interval(low, high),
                                "seeds": len(per_task[task])}
            n_eq = _n_eq_labels((r for r in members if r.config.task == task), classifier)
            if n_eq:  # cells measured with --n-eq
                task_cells[task]["n_eq"] = n_eq
            gains = _mixed_gains((r for r in members if r.config.task == task), classifier)
            if gains:  # cells measured with --mix-real
                task_cells[task]["mixed_gain"] = gains
            slopes = [(r.classifiers[classifier].agreement or {}).get("slope_difference")
                      for r in members if r.config.task == task]
            if any(v is not None for v in slopes):  # tasks with annotator agreement
                task_cells[task]["agreement_slope_difference"] = _mean(slopes)
        diversity = _mean(r.metrics.synthetic_diversity.remote_clique for r in members)
        rows.append({
            "model": model, "generator": generator, "n": n, "classifier": classifier,
            "cells": len(members),
            "per_task": task_cells,
            "mean_utility": _mean(c["utility"] for c in task_cells.values()),
            "remote_clique": diversity,
            "real_remote_clique": _mean(r.metrics.real_diversity.remote_clique for r in members),
            "label_accuracy": _mean(r.metrics.label_accuracy.value for r in members),
            "output_tokens": sum(r.cost.output_tokens for r in members),
            **rank_correlations(per_task, subjectivity),
        })
        natural = _mean((r.metrics.naturalness or {}).get("auc") for r in members)
        if natural is not None:  # records before the two-sample test have none
            rows[-1]["naturalness_auc"] = natural
        usd = [r.cost.usd for r in members]
        if any(u for u in usd):  # priced (paid) models: dollars per cell and per F1 point
            per_cell = _mean(usd)
            rows[-1]["usd_per_cell"] = per_cell
            rows[-1]["usd_per_f1_point"] = cost_per_f1_point(per_cell, _mean(
                r.classifiers[classifier].synthetic.macro_f1 for r in members))
        if measured is not None:
            against = rank_correlations(
                {t: v for t, v in per_task.items() if t in measured["scores"]},
                measured["scores"])
            rows[-1].update({f"measured_{k}": against[k] for k in MEASURED_KEYS})
    ordered = sorted(tasks.values(), key=lambda t: (t["declared_subjectivity"], t["id"]))
    board = {"schema_version": SCHEMA_VERSION, "subjectivity_note": SUBJECTIVITY_NOTE,
             "tasks": ordered, "rows": rows}
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
            generator = labels.get(_params_key({**config, "interventions": []}),
                                   config["generator"]) + others
            for classifier, scores in record.classifiers.items():
                key = (config["model"], config["task"], _params_key(rest), generator,
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


def _interval(low: float, high: float) -> list[float] | None:
    return None if math.isnan(low) or math.isnan(high) else [low, high]


def format_number(value: float | None, digits: int = 3) -> str:
    """A figure with `digits` decimals, or an en dash where there is none."""
    return "–" if value is None else f"{value:.{digits}f}"


def _fmt_ci(values: Sequence[float] | None) -> str:
    return "" if not values else f" [{values[0]:.2f}, {values[1]:.2f}]"


def to_markdown(board: Mapping[str, Any], keys: BreakEvenKeys = BreakEvenKeys()) -> str:
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
                *[format_number(row["per_task"].get(t, {}).get("utility")) for t in task_ids],
                format_number(row["mean_utility"]),
                f"{format_number(row['remote_clique'])} "
                f"({format_number(row['real_remote_clique'])})",
                format_number(row["label_accuracy"]),
                format_number(row["spearman_rho"], 2) + _fmt_ci(row["spearman_ci"]),
                format_number(row["kendall_tau"], 2),
                *_measured_cells(row),
            ])
        lines += [f"## Classifier: {classifier}", "",
                  tabulate(table, headers=header, tablefmt="github", disable_numparse=True), ""]
    if not classifiers:
        lines += ["No results yet: run `synthbench run` first.", ""]
    for reference, step, param in keys.pairs:
        rows = [r for r in board.get("break_even", ())
                if r.get("reference", reference) == reference
                and r.get("intervention", step) == step]
        if rows:
            lines += [f"## Break-even of {step.replace('_', ' ')} against {reference}", "",
                      f"Smallest {param} of inspected items ({step}, proxy models) at which the "
                      "classifier trained on the curated synthetic texts beats the provider "
                      "classifying the real test split in context. The inspection is simulated "
                      "by the oracle (a classifier trained on real data), as in Chung et al.",
                      "", break_even_table(rows, reference, "github"), ""]
    if "measured_subjectivity" in board:
        lines += measured_section(board)
    lines += ["## Declared task subjectivity", "",
              tabulate([[t["id"], f"{t['declared_subjectivity']:.3f}", t["source"]]
                        for t in board["tasks"]], headers=["task", "score", "source"],
                       tablefmt="github", disable_numparse=True), ""]
    return "\n".join(lines)


def _measured_cells(row: Mapping[str, Any]) -> list[str]:
    if "measured_spearman_rho" not in row:
        return []
    return [format_number(row["measured_spearman_rho"], 2) + _fmt_ci(row["measured_spearman_ci"]),
            format_number(row["measured_kendall_tau"], 2) + _fmt_ci(row["measured_kendall_ci"])]


def measured_section(board: Mapping[str, Any]) -> list[str]:
    """Markdown lines on measured subjectivity: who measured it, and the scores."""
    measured = board["measured_subjectivity"]
    scores = measured["scores"]
    table = [[t, f"{scores[t]:.3f}", "[{:.2f}, {:.2f}]".format(*measured["ci"][t])]
             for t in sorted(scores, key=lambda t: (scores[t], t))]
    return ["## Measured task subjectivity", "",
            f"Measured by the judge `{measured['judge']}` ({measured['method']}), Li's "
            f"pairwise protocol v{measured['protocol_version']}, Bradley–Terry scores "
            f"(0 = most objective) fitted to {measured.get('fit', 'answers')}; judge position "
            f"bias {format_number(measured['position_bias'], 2)} "
            f"(share of first-shown answers), order consistency "
            f"{format_number(measured['order_consistency'], 2)}, "
            "Kendall τ against the declared order "
            f"{format_number(measured['kendall_tau'], 2)}{_fmt_ci(measured['kendall_ci'])}. The "
            "'ρ measured' columns correlate utility with these scores.", "",
            *([f"> **This judge failed its diagnostics:** {'; '.join(warnings)}. The measured "
               "columns show its order, not a validated measure of subjectivity.", ""]
              if (warnings := measured.get("warnings")) else []),
            tabulate(table, headers=["task", "measured", "95% CI"], tablefmt="github",
                     disable_numparse=True), ""]


def break_even_table(rows: Sequence[Mapping[str, Any]], reference: str, fmt: str = "simple"
                     ) -> str:
    """The break-even rows as a table: reference F1, F1 at each k, and the break-even k."""
    table = [[r["task"], r["model"], r["generator"], r["n"], r["classifier"],
              format_number(r[f"{reference}_macro_f1"]),
              ", ".join(f"{k}: {format_number(v)}" for k, v in r["macro_f1_by_k"].items()),
              "none" if r["break_even_k"] is None else str(r["break_even_k"])]
             for r in rows]
    text: str = tabulate(table, headers=["task", "model", "generator", "N", "classifier",
                                         f"F1 {reference}", "F1 by k", "break-even k"],
                         tablefmt=fmt, disable_numparse=True)
    return text


def rebuild(results: Path, out: Path, data_dir: Path | None = None,
            keys: BreakEvenKeys | None = None) -> tuple[Path, Path, int]:
    """Read every finished cell under ``results`` and write ``leaderboard.{json,md}`` in ``out``,
    with the CSV, plots and web page of ``synthbench.report`` (real example texts on the page
    only from ``data_dir``, when given). ``keys``: what the plugins declare for the break-even
    (default: the installed plugins')."""
    from synthbench.plugins import load_plugins
    from synthbench.report import write_products
    from synthbench.subjectivity.store import measured_subjectivity

    keys = keys if keys is not None else BreakEvenKeys.of(load_plugins())
    cells = [(path.parent, record) for path, record in iter_results(results)]
    measured = measured_subjectivity(results, [record.config.task for _, record in cells])
    board = build([record for _, record in cells], keys, measured)
    json_path, md_path = out / "leaderboard.json", out / "leaderboard.md"
    atomic_write_text(json_path, json.dumps(board, indent=2, sort_keys=True) + "\n")
    atomic_write_text(md_path, to_markdown(board, keys))
    write_products(board, [(folder, record.to_json()) for folder, record in cells], out,
                   data_dir)
    return json_path, md_path, len(cells)


def summary_table(records: Sequence[CellRecord]) -> str:
    """A run's closing table: per task, model, generator and classifier, aggregated over seeds."""
    labels = generator_labels(configs_of(records))
    groups: dict[tuple[str, str, str, int, str], list[CellRecord]] = defaultdict(list)
    for record in records:
        config = record.config
        for classifier in record.classifiers:
            groups[(config.task, config.model, labels[_params_key(config.to_record())],
                    config.n, classifier)].append(record)
    rows = []
    for (task, model, generator, n, classifier), members in sorted(groups.items()):
        counts = [r.generation.counts for r in members]
        kept = sum(c["kept"] for c in counts)
        asked = sum(c["requested"] for c in counts)
        syn = [r.classifiers[classifier].synthetic.macro_f1 for r in members]
        real = [r.classifiers[classifier].real.macro_f1 for r in members]
        util = [r.classifiers[classifier].utility for r in members]
        mean_u, low, high = mean_ci([u for u in util if u is not None])
        rows.append([
            task, model, generator, n, classifier, len(members), f"{kept}/{asked}",
            format_number(_mean(syn)), format_number(_mean(real)),
            format_number(None if math.isnan(mean_u) else mean_u)
            + _fmt_ci(_interval(low, high)),
            format_number(_mean(r.metrics.label_accuracy.value for r in members)),
            format_number(_mean(r.metrics.synthetic_diversity.remote_clique for r in members)),
            format_number(_mean((r.metrics.naturalness or {}).get("auc") for r in members)),
            ", ".join(_n_eq_labels(members, classifier)) or "–",
            ", ".join(f"{k}: {format_number(g)}"
                      for k, g in _mixed_gains(members, classifier).items()) or "–",
        ])
    table: str = tabulate(rows, headers=["task", "model", "generator", "N", "classifier", "seeds",
                                   "kept", "F1 synthetic", "F1 real", "utility [95% CI]",
                                   "label acc.", "Remote-Clique", "naturalness AUC", "N_eq",
                                   "gain of + K real"],
                    tablefmt="simple", disable_numparse=True)
    return table

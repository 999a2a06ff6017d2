"""The leaderboard as text: the Markdown page, the CSV, the break-even table, the diff a pull
request shows and the closing table of a run; every figure formatted by ``format_number``."""

from __future__ import annotations

import csv
import html
import io
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

from synthbench.leaderboard.tables import (
    COLUMNS,
    KEY,
    BreakEvenKeys,
    configs_of,
    flat_rows,
    generator_labels,
    interval,
    mean_of,
    mixed_gains,
    n_eq_labels,
    params_key,
)
from synthbench.metrics import mean_ci
from synthbench.record import CellRecord


def format_number(value: float | None, digits: int = 3) -> str:
    """A figure with `digits` decimals, or an en dash where there is none."""
    return "–" if value is None else f"{value:.{digits}f}"


def _fmt_ci(values: Sequence[float] | None) -> str:
    return "" if not values else f" [{values[0]:.2f}, {values[1]:.2f}]"


def findings_markdown(board: Mapping[str, Any]) -> list[str]:
    """The findings block as Markdown lines: per model, its generated sentences."""
    found = board.get("findings") or []
    if not found:
        return ["## Findings", "", "No row has the evidence a finding needs yet (at least "
                "10 tasks with 2 seeds each).", ""]
    lines = ["## Findings", "", "Generated from the numbers below; each sentence follows from "
             "its figures and interval.", ""]
    models = board.get("models", {})
    for model in sorted({f["model"] for f in found}):
        named = f" ({md_cell(models[model])})" if model in models else ""
        lines += [f"### {md_cell(model)}{named}", ""]
        for f in (f for f in found if f["model"] == model):
            where = " · ".join(md_cell(x) for x in (f.get("generator"), f"N={f['n']}",
                                                     f["classifier"]) if x)
            lines.append(f"- **{where}** — {md_cell(f['sentence'])}")
        lines.append("")
    return lines


def to_markdown(board: Mapping[str, Any], keys: BreakEvenKeys | None = None) -> str:
    """Markdown: the findings, then one table per downstream classifier of gap closed per task
    (columns from objective to subjective) and the same-N utility as a secondary figure, with
    the share of synthetic texts that copy the train split (and their own prompt's examples)."""
    keys = BreakEvenKeys() if keys is None else keys
    task_ids = [t["id"] for t in board["tasks"]]
    headline = board.get("headline", {})
    lines = ["# synthbench leaderboard", "", *findings_markdown(board),
             "## Gap closed per task", "",
             f"Gap closed = {headline.get('definition', '')}; mean over seeds, on the task's "
             "real test split. Task columns run from most objective to most subjective "
             "(declared). A † marks a task where the real same-N baseline itself closes less "
             "than half of the gap, so the same-N ratio (utility) says little there.", "",
             f"> {board['subjectivity_note']}", ""]
    classifiers = sorted({r["classifier"] for r in board["rows"]})
    for classifier in classifiers:
        header = ["model", "generator", "N", *task_ids, "mean gap closed", "mean utility",
                  "Remote-Clique (real)", "label acc.", "train copies (of prompt)",
                  "Spearman ρ [95% CI]", "p", "Kendall τ", "ρ on utility"]
        if "measured_subjectivity" in board:
            header += ["ρ measured [95% CI]", "τ measured [95% CI]"]
        table = []
        for row in (r for r in board["rows"] if r["classifier"] == classifier):
            table.append([
                md_cell(row["model"]), md_cell(row["generator"]), row["n"],
                *[_gap_cell(row["per_task"].get(t, {})) for t in task_ids],
                format_number(row.get("mean_gap_closed")),
                format_number(row["mean_utility"]),
                f"{format_number(row['remote_clique'])} "
                f"({format_number(row['real_remote_clique'])})",
                format_number(row["label_accuracy"]),
                f"{format_number(row.get('train_copy_share'))} "
                f"({format_number(row.get('prompt_copy_share'))})",
                format_number(row["spearman_rho"], 2) + _fmt_ci(row["spearman_ci"]),
                format_number(row.get("spearman_p"), 2),
                format_number(row["kendall_tau"], 2),
                format_number(row.get("utility_spearman_rho"), 2),
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
              tabulate([[md_cell(t["id"]), f"{t['declared_subjectivity']:.3f}",
                         md_cell(t["source"])]
                        for t in board["tasks"]], headers=["task", "score", "source"],
                       tablefmt="github", disable_numparse=True), ""]
    return "\n".join(lines)


def _gap_cell(cell: Mapping[str, Any]) -> str:
    """A task's gap closed, or its utility in parentheses where no gap was measured; † where
    the real same-N baseline closes less than half of the gap."""
    if cell.get("gap_closed") is None:
        return "–" if cell.get("utility") is None else f"({format_number(cell['utility'])})"
    return format_number(cell["gap_closed"]) + (" †" if cell.get("utility_flag") else "")


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


def summary_table(records: Sequence[CellRecord]) -> str:
    """A run's closing table: per task, model, generator and classifier, aggregated over seeds."""
    labels = generator_labels(configs_of(records))
    groups: dict[tuple[str, str, str, int, str], list[CellRecord]] = defaultdict(list)
    for record in records:
        config = record.config
        for classifier in record.classifiers:
            groups[(config.task, config.model, labels[params_key(config.to_record())],
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
            format_number(mean_of(syn)), format_number(mean_of(real)),
            format_number(mean_of(r.classifiers[classifier].gap_closed for r in members)),
            format_number(None if math.isnan(mean_u) else mean_u)
            + _fmt_ci(interval(low, high)),
            format_number(mean_of(r.metrics.label_accuracy.value for r in members)),
            format_number(mean_of(r.metrics.synthetic_diversity.remote_clique for r in members)),
            format_number(mean_of((r.metrics.naturalness or {}).get("auc") for r in members)),
            ", ".join(n_eq_labels(members, classifier)) or "–",
            ", ".join(f"{k}: {format_number(g)}"
                      for k, g in mixed_gains(members, classifier).items()) or "–",
        ])
    table: str = tabulate(rows, headers=["task", "model", "generator", "N", "classifier", "seeds",
                                   "kept", "F1 synthetic", "F1 real", "gap closed",
                                   "utility [95% CI]",
                                   "label acc.", "Remote-Clique", "naturalness AUC", "N_eq",
                                   "gain of + K real"],
                    tablefmt="simple", disable_numparse=True)
    return table


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A CSV field a spreadsheet will not run: text starting like a formula gets a leading
    apostrophe (OWASP's advice); numbers, negative ones included, stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def md_cell(value: Any) -> str:
    """Text for a Markdown table cell: HTML escaped, pipes and line breaks neutralised, so an
    id cannot add columns or markup to a summary."""
    text = html.escape(str(value), quote=False).replace("|", "\\|")
    return " ".join(text.split())


def to_csv(board: Mapping[str, Any]) -> str:
    """``leaderboard.csv``: the flat rows; empty where a value is missing; floats as Python
    writes them (shortest round-trip form), so the text is stable."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in flat_rows(board):
        writer.writerow({k: "" if v is None else csv_safe(v) for k, v in row.items()})
    return buffer.getvalue()


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _shown(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["utility"], row["ci_low"], row["ci_high"], row["seeds"])


def diff_markdown(base: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Markdown naming the rows (model, generator, N, classifier, task) that ``new`` adds,
    changes (utility, its interval or seed count) or drops against ``base``."""
    old = {tuple(r[k] for k in KEY): r for r in flat_rows(base)}
    now = {tuple(r[k] for k in KEY): r for r in flat_rows(new)}
    added = [now[k] for k in sorted(now, key=str) if k not in old]
    changed = [(old[k], now[k]) for k in sorted(now, key=str)
               if k in old and _shown(old[k]) != _shown(now[k])]
    dropped = [old[k] for k in sorted(old, key=str) if k not in now]
    headers = [*KEY, "utility", "95% CI", "seeds"]

    def line(r: Mapping[str, Any]) -> list[str]:
        ci = "" if r["ci_low"] is None else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        return [*(md_cell(r[k]) for k in KEY), _fmt(r["utility"]), ci, _fmt(r["seeds"])]

    parts = ["## Leaderboard diff", "",
             f"{len(added)} new, {len(changed)} changed, {len(dropped)} removed row(s) "
             "(model, generator, N, classifier, task).", ""]
    if added:
        parts += ["### New rows", "", tabulate([line(r) for r in added], headers=headers,
                                               tablefmt="github", disable_numparse=True), ""]
    if changed:
        rows = [[*line(b)[:5], f"{_fmt(a['utility'])} → {_fmt(b['utility'])}",
                 f"{_fmt(a['seeds'])} → {_fmt(b['seeds'])}"] for a, b in changed]
        parts += ["### Changed rows", "", tabulate(rows, headers=[*KEY, "utility", "seeds"],
                                                   tablefmt="github", disable_numparse=True), ""]
    if dropped:
        parts += ["### Removed rows", "", tabulate([line(r) for r in dropped], headers=headers,
                                                   tablefmt="github", disable_numparse=True), ""]
    return "\n".join(parts)

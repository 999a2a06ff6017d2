"""The board as flat rows, one per (model, generator, N, classifier, task): the CSV next to the
JSON, the page's table, and the Markdown diff between two boards that a pull request shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from tabulate import tabulate

KEY = ("model", "generator", "n", "classifier", "task")
COLUMNS = (*KEY, "declared_subjectivity", "measured_subjectivity", "utility", "ci_low",
           "ci_high", "seeds", "mean_utility", "spearman_rho", "spearman_ci_low",
           "spearman_ci_high", "kendall_tau", "remote_clique", "real_remote_clique",
           "label_accuracy", "output_tokens")


def flat_rows(board: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per (board row, task it has), tasks from objective to subjective."""
    tasks = {t["id"]: t for t in board["tasks"]}
    order = {t["id"]: i for i, t in enumerate(board["tasks"])}
    out = []
    for row in board["rows"]:
        for task in sorted(row["per_task"], key=lambda t: (order.get(t, len(order)), t)):
            cell = row["per_task"][task]
            ci = cell.get("ci") or [None, None]
            rho_ci = row.get("spearman_ci") or [None, None]
            meta = tasks.get(task, {})
            out.append({
                "model": row["model"], "generator": row["generator"], "n": row["n"],
                "classifier": row["classifier"], "task": task,
                "declared_subjectivity": meta.get("declared_subjectivity"),
                "measured_subjectivity": meta.get("measured_subjectivity"),
                "utility": cell.get("utility"), "ci_low": ci[0], "ci_high": ci[1],
                "seeds": cell.get("seeds"), "mean_utility": row.get("mean_utility"),
                "spearman_rho": row.get("spearman_rho"), "spearman_ci_low": rho_ci[0],
                "spearman_ci_high": rho_ci[1], "kendall_tau": row.get("kendall_tau"),
                "remote_clique": row.get("remote_clique"),
                "real_remote_clique": row.get("real_remote_clique"),
                "label_accuracy": row.get("label_accuracy"),
                "output_tokens": row.get("output_tokens"),
            })
    return out


def to_csv(board: Mapping[str, Any]) -> str:
    """``leaderboard.csv``: the flat rows; empty where a value is missing; floats as Python
    writes them (shortest round-trip form), so the text is stable."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in flat_rows(board):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
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
        return [*(str(r[k]) for k in KEY), _fmt(r["utility"]), ci, _fmt(r["seeds"])]

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


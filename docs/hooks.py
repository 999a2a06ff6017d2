"""MkDocs hook: the pages that must never go stale are written at build time, not by hand.

``cli.md`` becomes the reference of the real argparse parser (``synthbench.cli.build_parser``),
``findings.md`` the tables of ``leaderboard/leaderboard.json`` (its ``findings`` block
first, when the leaderboard has one) and ``subjectivity.md`` the diagnostics of the rating
judge's records (``experiments/records/judge-rating__*.json``). The committed pages hold
only a marker line; the functions here are plain (no MkDocs import), so tests call them
directly.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LEADERBOARD = REPO / "leaderboard" / "leaderboard.json"
RATING_RECORDS = REPO / "experiments" / "records"
MARKER = "<!-- generated at build time by docs/hooks.py -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker of the generated pages with their text; other pages pass."""
    if MARKER not in markdown:
        return markdown
    source = page.file.src_path
    if source == "cli.md":
        from synthbench.cli import build_parser

        return markdown.replace(MARKER, cli_reference(build_parser()))
    if source == "findings.md":
        board = json.loads(LEADERBOARD.read_text(encoding="utf-8"))
        return markdown.replace(MARKER, findings(board))
    if source == "subjectivity.md":
        records = [json.loads(p.read_text(encoding="utf-8"))
                   for p in sorted(RATING_RECORDS.glob("judge-rating__*.json"))]
        return markdown.replace(MARKER, judge_rating(records))
    raise ValueError(f"{source}: no generator for the build-time marker")


# ---- the CLI reference ------------------------------------------------------------------

def _subcommands(parser: argparse.ArgumentParser
                 ) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each subcommand, in the parser's order."""
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            rows += [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return rows


def _flag(action: argparse.Action) -> str:
    """How an argument is written: ``--n N``, ``-p NAME``, or a positional's name."""
    if not action.option_strings:
        if action.choices and not action.metavar:
            return "`{" + ",".join(str(c) for c in action.choices) + "}`"
        return f"`{action.metavar or action.dest}`"
    metavar = ""
    if action.nargs != 0:
        if action.choices and not action.metavar:
            metavar = " {" + ",".join(str(c) for c in action.choices) + "}"
        else:
            metavar = f" {action.metavar or action.dest.upper()}"
    return ", ".join(f"`{s}{metavar}`" for s in action.option_strings)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    lines = ["| argument | meaning |", "|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        text = parser._get_formatter()._expand_help(action) if action.help else ""
        lines.append(f"| {_flag(action)} | {_cell(text)} |")
    return lines


def _usage(parser: argparse.ArgumentParser) -> str:
    """The parser's usage without argparse's ``usage: `` prefix, continuation lines shifted
    left by as much, so they stay aligned under the command."""
    prefix = "usage: "
    text = parser.format_usage().strip().removeprefix(prefix)
    return text.replace("\n" + " " * len(prefix), "\n")


def cli_reference(parser: argparse.ArgumentParser) -> str:
    """Markdown for every subcommand of ``parser``: its help, usage and arguments."""
    description = (parser.description or "").replace("``", "`")
    out = [f"`{parser.prog}` — {description}", "",
           "Plugin options (`-p`, `--strict`, `--no-local-plugins`) are accepted before the "
           "command too.", ""]
    for name, summary, sub in _subcommands(parser):
        out += [f"## {parser.prog} {name}", "", _cell(summary), "", "```text",
                _usage(sub), "```", "",
                *_arguments(sub), ""]
    return "\n".join(out)


# ---- the rating judge -------------------------------------------------------------------

def judge_rating(records: Sequence[Mapping[str, Any]]) -> str:
    """Markdown of rating-judge records: each diagnostic against its pass mark, the verdict,
    and the agreement of the rated order with the declared one."""
    if not records:
        return "No rating-judge record is committed yet."
    out = _table(
        ["judge", "tasks", "scale directions agree (ρ)", "example draws agree (ρ)",
         "between / within-task spread", "passed", "τ vs declared", "ρ vs declared",
         "seconds"],
        ([_cell(str(r["judge"])), _num(r["declared"]["n_tasks"]),
          _mark(r, "direction_spearman"), _mark(r, "split_half_spearman"),
          _mark(r, "signal_to_noise"), "yes" if r["diagnostics"]["passed"] else "**no**",
          _ci(r["declared"]["kendall_tau"], r["declared"]["kendall_tau_ci"]),
          _ci(r["declared"]["spearman_rho"], r["declared"]["spearman_rho_ci"]),
          _num(r.get("seconds"), 0)] for r in records))
    for r in records:
        prior = r["content_free_prior"]
        out += [f"Content-free card, {_cell(str(r['judge']))}: P(1…5) = "
                + "; ".join(f"{d.replace('_', ' ')} "
                            + " ".join(_num(p, 2) for p in prior[d]) for d in sorted(prior))
                + "; uncalibrated, the directions agree at ρ = "
                + _num(r["raw_diagnostics"]["direction_spearman"], 2) + ".", ""]
    return "\n".join(out)


def _mark(record: Mapping[str, Any], name: str) -> str:
    """A diagnostic with its pass mark, e.g. ``0.41 (≥ 0.5: fails)``."""
    found = record["diagnostics"]
    mark = next(v for k, v in record["criteria"].items() if k.startswith(name))
    return (f"{_num(found[name], 2)} (≥ {mark:g}: "
            f"{'passes' if found['checks'][name] else 'fails'})")


# ---- the findings -----------------------------------------------------------------------

def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _cell(str(value))
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}f}"


def _ci(value: Any, ci: Any) -> str:
    if value is None:
        return "—"
    if not ci:
        return _num(value, 2)
    return f"{_num(value, 2)} [{_num(ci[0], 2)}, {_num(ci[1], 2)}]"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _findings_block(block: Any, depth: int = 3) -> list[str]:
    """The leaderboard's own ``findings`` sentences, whatever their nesting: strings become
    bullets, mappings headed sections, a mapping with a ``text`` its text."""
    if isinstance(block, str):
        return [f"- {block}"]
    if isinstance(block, Mapping):
        for key in ("text", "sentence", "finding"):
            if isinstance(block.get(key), str):
                return [f"- {block[key]}"]
        out: list[str] = []
        for key, value in block.items():
            out += ["", f"{'#' * depth} {str(key).replace('_', ' ')}", "",
                    *_findings_block(value, depth + 1)]
        return out
    if isinstance(block, Sequence):
        return [line for item in block for line in _findings_block(item, depth)]
    return [f"- {_num(block)}"]


def _findings_by_model(found: Any, models: Mapping[str, str]) -> list[str]:
    """The findings grouped by model, each a bullet naming its row; a block of another
    shape is rendered as it comes."""
    if not isinstance(found, list) or not all(isinstance(f, Mapping) and "model" in f
                                              for f in found):
        return _findings_block(found)
    out: list[str] = []
    for model in sorted({str(f["model"]) for f in found}):
        served = f" ({models[model]})" if model in models else ""
        out += [f"### `{model}`{served}", ""]
        for f in (f for f in found if f["model"] == model):
            where = " · ".join(str(x) for x in (f.get("generator"), f"N={f.get('n')}",
                                                 f.get("classifier")) if x)
            out.append(f"- **{_cell(where)}**: {_cell(str(f.get('sentence', '')))}")
        out.append("")
    return out


def _label(row: Mapping[str, Any]) -> str:
    return f"{row['model']} · {row['generator']} · N={row['n']} · {row['classifier']}"


def findings(board: Mapping[str, Any]) -> str:
    """Markdown of a leaderboard JSON: findings (if any), rows, ρ, tasks and break-even."""
    rows = sorted(board.get("rows", []), key=lambda r: (-r.get("n_tasks", 0), _label(r)))
    out: list[str] = []
    if board.get("findings"):
        out += ["## What the numbers say", "",
                "Each sentence below is generated from the numbers it states (the "
                "leaderboard's `findings` block); the headline measure is gap closed.", "",
                *_findings_by_model(board["findings"], board.get("models", {})), ""]
    note = board.get("subjectivity_note")
    out += ["## Rows", "",
            f"{len(rows)} rows (a cell appears in one row per classifier). Gap closed = "
            "how far the classifier trained on synthetic texts gets from chance to the same "
            "classifier trained on the whole real train split (0 = chance, 1 = the ceiling); "
            "utility = macro-F1 on synthetic / on as many real texts, kept as a secondary "
            "figure. ρ and τ relate task subjectivity to gap closed across the row's tasks, "
            "with bootstrap 95 % intervals.", ""]
    gap = any("mean_gap_closed" in r for r in rows)
    headers = ["model · generator · N · classifier", "tasks", "cells",
               *(["gap closed"] if gap else []), "utility", "label acc.", "Remote-Clique",
               "ρ declared", "τ declared", "ρ measured"]
    out += _table(headers, ([
        _label(r), _num(r.get("n_tasks")), _num(r.get("cells")),
        *([_num(r.get("mean_gap_closed"))] if gap else []), _num(r.get("mean_utility")),
        _num(r.get("label_accuracy")), _num(r.get("remote_clique")),
        _ci(r.get("spearman_rho"), r.get("spearman_ci")),
        _ci(r.get("kendall_tau"), r.get("kendall_ci")),
        _ci(r.get("measured_spearman_rho"), r.get("measured_spearman_ci"))] for r in rows))
    if note:
        out += [f"!!! note \"Declared subjectivity\"\n    {note}", ""]
    out += _per_task(rows, board.get("tasks", []))
    out += _measured(board.get("measured_subjectivity"))
    out += _break_even(board.get("break_even", []))
    return "\n".join(out)


def _per_task(rows: Sequence[Mapping[str, Any]], tasks: Sequence[Mapping[str, Any]]
              ) -> list[str]:
    """Gap closed per task (utility where a record has none) for the rows that cover five
    tasks or more (the grids)."""
    wide = [r for r in rows if r.get("n_tasks", 0) >= 5]
    if not wide:
        return []
    order = [t["id"] for t in sorted(tasks, key=lambda t: (t["declared_subjectivity"], t["id"]))]
    out = ["## Gap closed per task", "",
           "Tasks from most to least objective by declared subjectivity; the mean over seeds "
           "(seeds in brackets when fewer than the row's most; a figure in parentheses is the "
           "same-N utility of a cell without a measured ceiling).", ""]
    for row in wide:
        per = row.get("per_task", {})
        most = max((v.get("seeds", 1) for v in per.values()), default=1)
        cells = []
        for task in order:
            if task not in per:
                cells.append("—")
                continue
            seeds = per[task].get("seeds", 1)
            gap = per[task].get("gap_closed")
            shown = _num(gap, 2) if gap is not None else f"({_num(per[task].get('utility'), 2)})"
            cells.append(shown + (f" ({seeds})" if seeds < most else ""))
        out += [f"### {_label(row)}", "", *_table(order, [cells])]
    return out


def _measured(record: Mapping[str, Any] | None) -> list[str]:
    if not record:
        return []
    out = ["## Measured subjectivity", "",
           f"Judge `{record.get('judge')}` ({record.get('method')}, fit: {record.get('fit')}): "
           f"position bias {_num(record.get('position_bias'), 2)}, order consistency "
           f"{_num(record.get('order_consistency'), 2)}, Kendall τ against the declared order "
           f"{_ci(record.get('kendall_tau'), record.get('kendall_ci'))}.", ""]
    for warning in record.get("warnings", []):
        out.append(f"!!! warning \"The judge failed a diagnostic\"\n    {warning}\n")
    return out


def _break_even(pairs: Sequence[Mapping[str, Any]]) -> list[str]:
    if not pairs:
        return []
    out = ["## Break-even of label replacement", "",
           "The smallest number of inspected texts k whose curated data trains a classifier "
           "that beats the model classifying in context (`llm_few_shot`); k = 0 is the "
           "uncurated data.", ""]
    out += _table(["task", "model · generator · N · classifier", "LLM few-shot F1",
                   "macro-F1 by k", "break-even k"],
                  ([p["task"], _label(p), _num(p.get("llm_few_shot_macro_f1")),
                    ", ".join(f"{k}: {_num(v)}" for k, v in p.get("macro_f1_by_k", {}).items()),
                    _num(p.get("break_even_k"))] for p in pairs))
    return out

"""``leaderboard/index.html``: one self-contained static page (no network, inline CSS, JS, SVG)
that works from ``file://`` and GitHub Pages.

It opens with the findings (generated sentences) and the headline plot, then a sortable and
filterable table (one line per model, generator, classifier, N and task), per-cell details
(counts, cost, scores, data metrics, intervention reports, a few generated texts next to real
ones) and CSV/JSON downloads. Its data are the board dict, the
stored cell records and their stored texts; real example texts come only from an explicit
``--data-dir`` (``DIR/<task>/train.jsonl``), else the page says they were not included.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.leaderboard.plots import (
    BARS,
    SCATTER,
    SIZE,
    classifiers,
    measure,
    model_name,
    plot_stem,
    strong,
)
from synthbench.leaderboard.tables import cell_generators, flat_rows
from synthbench.leaderboard.template import PAGE
from synthbench.leaderboard.text import format_number, to_csv
from synthbench.sanity import Refused, plain_folder_name, read_bytes
from synthbench.store import CURATED, CURATION, SYNTHETIC, read_json

TEXTS_PER_LABEL = 2
TEXTS_PER_CELL = 8
TEXT_CHARS = 400
LIST_ITEMS = 12


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"


def _sample(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The first few texts of each label, in file order, at most ``TEXTS_PER_CELL``."""
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        text, label = row.get("text"), row.get("label")
        if isinstance(text, str) and isinstance(label, str) and \
                len(by_label[label]) < TEXTS_PER_LABEL:
            by_label[label].append({"label": label, "text": _short(text)})
    picked: list[dict[str, str]] = []
    for index in range(TEXTS_PER_LABEL):
        for label in sorted(by_label):
            if index < len(by_label[label]) and len(picked) < TEXTS_PER_CELL:
                picked.append(by_label[label][index])
    return picked


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; none when it is absent, a symlink, not a regular
    file, over the size bound or not UTF-8."""
    if not path.exists():
        return []
    try:
        text = read_bytes(path).decode("utf-8")
    except (Refused, UnicodeDecodeError):
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _trim(value: Any) -> Any:
    """Intervention reports with long lists cut to their first items (and a count)."""
    if isinstance(value, Mapping):
        return {str(k): _trim(v) for k, v in value.items()}
    if isinstance(value, list):
        kept = [_trim(v) for v in value[:LIST_ITEMS]]
        return [*kept, f"… {len(value) - LIST_ITEMS} more"] if len(value) > LIST_ITEMS else kept
    return value


def cell_detail(folder: Path, record: Mapping[str, Any], generator: str) -> dict[str, Any]:
    """What the page shows of one stored cell."""
    config = record["config"]
    curated = bool(config.get("interventions"))
    texts = _jsonl(folder / (CURATED if curated else SYNTHETIC))
    metrics = record.get("metrics", {})
    diversity = metrics.get("diversity", {})
    curation = read_json(folder / CURATION) if (folder / CURATION).exists() else \
        record.get("interventions")
    return {
        "cell": folder.name, "task": config["task"], "model": config["model"],
        "generator": generator, "n": config["n"], "seed": config["seed"],
        "config_hash": record.get("config_hash"),
        "served_models": record.get("generation", {}).get("served_models", []),
        "counts": record.get("generation", {}).get("counts", {}),
        "n_synthetic": record.get("n_synthetic"), "n_real": record.get("n_real"),
        "n_test": record.get("n_test"),
        "cost": {k: record.get("cost", {}).get(k) for k in
                 ("input_tokens", "cached_input_tokens", "output_tokens", "usd")},
        "classifiers": {name: {"synthetic_f1": s.get("synthetic", {}).get("macro_f1"),
                               "real_f1": s.get("real", {}).get("macro_f1"),
                               "utility": s.get("utility")}
                        for name, s in sorted(record.get("classifiers", {}).items())},
        "metrics": {
            "remote_clique": diversity.get("synthetic", {}).get("remote_clique"),
            "real_remote_clique": diversity.get("real", {}).get("remote_clique"),
            "distinct_2": diversity.get("synthetic", {}).get("distinct_2"),
            "label_accuracy": metrics.get("label_accuracy", {}).get("value"),
            "leakage_share": metrics.get("leakage", {}).get("share"),
        },
        "baselines": {b: {"macro_f1": v.get("macro_f1"), "params": v.get("params")}
                      for b, v in sorted((record.get("baselines") or {}).items())},
        "interventions": _trim(curation.get("steps", [])) if isinstance(curation, dict) else [],
        "texts_file": CURATED if curated else SYNTHETIC,
        "texts": _sample(texts),
    }


def real_texts(data_dir: Path | None, records: Sequence[Mapping[str, Any]]
               ) -> dict[str, list[dict[str, str]]]:
    """A few real training texts per task from ``data_dir`` (only if one is given). The folder
    is the task's declared one when that is a plain folder name, never a path a record names
    that leads outside ``data_dir``."""
    if data_dir is None:
        return {}
    out = {}
    for record in records:
        task = record["config"]["task"]
        if task in out:
            continue
        folder = (record.get("task") or {}).get("local_dir") or task
        if not plain_folder_name(folder) or not plain_folder_name(task):
            continue
        out[task] = _sample(_jsonl(data_dir / folder / "train.jsonl"))
    return dict(sorted(out.items()))


def _inline_svg(svg: str, title: str) -> str:
    """matplotlib's SVG without the XML prologue, scaled to the page width."""
    body = svg[svg.index("<svg"):]
    label = html.escape(title)
    body = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  lambda m: f'<svg{m.group(1)} width="100%" role="img" aria-label="{label}"',
                  body, count=1)
    return body.strip()


def _json_script(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) \
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def findings_html(board: Mapping[str, Any]) -> str:
    """The findings block as HTML: per model (its served model named), one generated sentence
    per finding; every text escaped."""
    found = board.get("findings") or []
    if not found:
        return ("<p>No row has the evidence a finding needs yet (10 tasks with 2 seeds "
                "each).</p>")
    models = board.get("models", {})
    parts = []
    for model in sorted({f["model"] for f in found}):
        items = []
        for f in (f for f in found if f["model"] == model):
            where = " · ".join(str(x) for x in (f.get("generator"), f"N={f['n']}",
                                                 f["classifier"]) if x)
            items.append(f"<li><b>{html.escape(where)}</b>: {html.escape(f['sentence'])}</li>")
        parts.append(f"<h3>{html.escape(model_name(model, models))}</h3>"
                     f"<ul class=\"findings\">{''.join(items)}</ul>")
    return "".join(parts)


def headline_html(board: Mapping[str, Any], classifier: str | None) -> str:
    """The findings that answer the question, for the headline classifier: gap closed against
    declared subjectivity per model and generator, and its trend with generator size."""
    found = [f for f in board.get("findings") or [] if f["classifier"] == classifier
             and (f["kind"] == "size" or (f["kind"] == "subjectivity"
                                          and f.get("against") == "declared"))]
    if not found:
        return "<p>No row has the evidence a headline finding needs yet.</p>"
    models = board.get("models", {})
    items = [f"<li><b>{html.escape(model_name(f['model'], models))} · "
             f"{html.escape(str(f['generator']))}</b>: {html.escape(f['sentence'])}</li>"
             for f in found]
    return (f"<p>Classifier {html.escape(str(classifier))}, N = {html.escape(default_n(board))}"
            f":</p><ul class=\"findings\">{''.join(items)}</ul>")


def default_n(board: Mapping[str, Any]) -> str:
    """The N the table opens on: that of the strong rows (the headline), else every N."""
    key = measure(board)[0]
    sizes = sorted({r["n"] for r in board["rows"] if strong(r, key)})
    return str(sizes[-1]) if sizes else ""


def build_page(board: Mapping[str, Any], cells: Sequence[tuple[Path, Mapping[str, Any]]],
               svgs: Mapping[str, str], real: Mapping[str, Any] | None = None) -> str:
    """The page's HTML text; ``svgs`` maps a plot's file stem to its SVG text."""
    records = [r for _, r in cells]
    generators = cell_generators(records)
    details = {folder.name: cell_detail(folder, record, generators[str(record["cell"])])
               for folder, record in cells}
    table = []
    for row in flat_rows(board):
        members = sorted(c for c, d in details.items()
                         if (d["model"], d["generator"], d["n"], d["task"])
                         == (row["model"], row["generator"], row["n"], row["task"]))
        table.append({**row, "cells": members})
    data = {"board": board, "table": table, "cells": details, "real": dict(real or {}),
            "csv": to_csv(board)}
    figures: list[str] = []
    key = measure(board)[0]
    ordered = sorted(classifiers(board), key=lambda c: (
        -sum(1 for r in board["rows"] if r["classifier"] == c and strong(r, key)), c))
    for classifier in ordered:  # the classifier with the most headline rows first, open
        parts = []
        for kind, title in ((SCATTER, "Gap closed against subjectivity"),
                            (BARS, "Gap closed per task by generator"),
                            (SIZE, "Correlation, gap closed and label fidelity against "
                                   "generator size")):
            stem = plot_stem(kind, classifier)
            if stem in svgs:
                parts.append(f'<figure class="plot" id="plot-{html.escape(stem)}">'
                             f"{_inline_svg(svgs[stem], f'{title}, {classifier}')}"
                             f'<figcaption>{html.escape(title)} ({html.escape(classifier)}): '
                             f'<a href="plots/{html.escape(stem)}.png">PNG</a> · '
                             f'<a href="plots/{html.escape(stem)}.svg">SVG</a></figcaption>'
                             "</figure>")
        opened = " open" if not figures else ""  # the first classifier open, the rest folded
        figures.append(f'<details class="plots"{opened}><summary>Classifier '
                       f"{html.escape(classifier)}</summary>{''.join(parts)}</details>")
    note = html.escape(str(board.get("subjectivity_note", "")))
    measured = board.get("measured_subjectivity")
    if measured:
        bias, consistency = (format_number(measured[key], 2)
                             for key in ("position_bias", "order_consistency"))
        note += html.escape(
            f" Measured subjectivity: judge {measured['judge']} ({measured['method']}), "
            f"position bias {bias}, order consistency {consistency}.")
        if measured.get("warnings"):
            note += (" <strong>" + html.escape("The judge failed its diagnostics: "
                                               + "; ".join(measured["warnings"])) + ".</strong>")
    slots = {"NOTE": note, "FINDINGS": findings_html(board),
             "HEADLINE": headline_html(board, ordered[0] if ordered else None),
             "DEFAULT_N": html.escape(default_n(board)), "CELLS": str(len(cells)),
             "PLOTS": "\n".join(figures) or "<p>No results yet.</p>",
             "DATA": _json_script(data)}
    # One pass: a filled slot is never scanned again, so text in one cannot fill another.
    return re.sub(r"@@([A-Z_]+)@@", lambda m: slots[m.group(1)], PAGE)

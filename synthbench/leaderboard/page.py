"""``leaderboard/index.html``: one self-contained static page (no network, inline CSS, JS, SVG)
that works from ``file://`` and GitHub Pages.

It shows the plots, a sortable and filterable table (one line per model, generator, classifier,
N and task), per-cell details (counts, cost, scores, data metrics, intervention reports, a few
generated texts next to real ones) and CSV/JSON downloads. Its data are the board dict, the
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

from synthbench.leaderboard.plots import classifiers, plot_stem
from synthbench.leaderboard.tables import cell_generators, flat_rows
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
    for classifier in classifiers(board):
        parts = []
        for kind, title in (("utility_vs_subjectivity", "Utility against subjectivity"),
                            ("utility_by_generator", "Utility per task by generator")):
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
    return (PAGE.replace("@@NOTE@@", note)
            .replace("@@CELLS@@", str(len(cells)))
            .replace("@@PLOTS@@", "\n".join(figures) or "<p>No results yet.</p>")
            .replace("@@DATA@@", _json_script(data)))


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>synthbench leaderboard</title>
<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:0 auto;max-width:1200px;
padding:0 1rem 3rem;color:#1d2329;font-size:14px;line-height:1.45}
h1{font-size:1.6rem;margin:1rem 0 .3rem}h2{font-size:1.2rem;margin:1.6rem 0 .5rem}
.note{color:#555;font-size:.9em}
.bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
button,select,input{font:inherit;padding:.2rem .4rem}
figure.plot{margin:.4rem 0 1rem}figure.plot svg{max-width:100%;height:auto;display:block}
figcaption{font-size:.85em;color:#555}
summary{cursor:pointer;font-weight:bold}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f3f5f7;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr{cursor:pointer}tbody tr:hover{background:#eef4fb}tr.selected{background:#dbe9f8}
#detail{border:1px solid #ccd;border-radius:6px;padding:.6rem 1rem;margin-top:1rem;
background:#fbfcfd}
.texts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.texts ol{padding-left:1.2rem}.texts li{margin-bottom:.35rem}
.lab{display:inline-block;background:#e6ecf2;border-radius:3px;padding:0 .3rem;
margin-right:.3rem;font-size:.85em}
pre{white-space:pre-wrap;font-size:.8em;background:#f5f5f5;padding:.4rem;max-height:18rem;
overflow:auto}
.kv td{border:none;padding:.1rem .6rem .1rem 0}
</style>
</head>
<body>
<h1>synthbench leaderboard</h1>
<p>Utility = macro-F1 of a classifier trained on synthetic texts divided by macro-F1 of the
same classifier trained on as many real texts, on the task's real test split (mean over
seeds; intervals over seeds). Built from @@CELLS@@ stored cells.</p>
<p class="note">@@NOTE@@</p>
<nav class="bar"><a href="#plots">Plots</a> · <a href="#table">Table and cells' texts</a>
</nav>
<div class="bar">Download: <button id="dl-csv" type="button">leaderboard.csv</button>
<button id="dl-json" type="button">leaderboard.json</button></div>
<h2 id="plots">Plots</h2>
@@PLOTS@@
<h2 id="table">Table</h2>
<p class="note">Click a column to sort, a row to see its cells: counts, cost, texts.</p>
<div class="bar" id="filters">
<input id="q" type="search" placeholder="filter: any text" aria-label="filter rows">
<select id="f-model" aria-label="model"></select>
<select id="f-generator" aria-label="generator"></select>
<select id="f-classifier" aria-label="classifier"></select>
<select id="f-n" aria-label="N"></select>
<select id="f-task" aria-label="task"></select>
<span id="shown"></span>
</div>
<table id="board"><thead><tr>
<th data-key="model">model</th><th data-key="generator">generator</th>
<th data-key="classifier">classifier</th><th data-key="n" data-num="1">N</th>
<th data-key="task">task</th><th data-key="declared_subjectivity" data-num="1">subjectivity</th>
<th data-key="utility" data-num="1">utility</th><th data-key="ci_low" data-num="1">95% CI</th>
<th data-key="seeds" data-num="1">seeds</th><th data-key="spearman_rho" data-num="1">row ρ</th>
</tr></thead><tbody></tbody></table>
<section id="detail" hidden></section>
<script type="application/json" id="data">@@DATA@@</script>
<script>
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const rows = data.table;
  const tbody = document.querySelector("#board tbody");
  const filters = ["model", "generator", "classifier", "n", "task"];
  let sortKey = null, sortDir = 1;
  function fmt(v, d) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  for (const key of filters) {
    const select = document.getElementById("f-" + key);
    const values = Array.from(new Set(rows.map(r => String(r[key])))).sort();
    select.appendChild(new Option("all " + (key === "n" ? "N" : key + "s"), ""));
    for (const v of values) select.appendChild(new Option(v, v));
    select.addEventListener("change", render);
  }
  document.getElementById("q").addEventListener("input", render);
  function visible(r) {
    for (const key of filters) {
      const v = document.getElementById("f-" + key).value;
      if (v && String(r[key]) !== v) return false;
    }
    const q = document.getElementById("q").value.trim().toLowerCase();
    return !q || filters.some(k => String(r[k]).toLowerCase().includes(q));
  }
  function compare(a, b) {
    const x = a[sortKey], y = b[sortKey];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
  }
  function render() {
    const shown = rows.filter(visible);
    if (sortKey) shown.sort(compare);
    tbody.replaceChildren();
    for (const r of shown) {
      const tr = document.createElement("tr");
      tr.dataset.index = String(rows.indexOf(r));
      for (const k of ["model", "generator", "classifier"]) tr.appendChild(el("td", r[k]));
      tr.appendChild(el("td", r.n, "num"));
      tr.appendChild(el("td", r.task));
      tr.appendChild(el("td", fmt(r.declared_subjectivity, 2), "num"));
      tr.appendChild(el("td", fmt(r.utility, 3), "num"));
      tr.appendChild(el("td", r.ci_low === null ? "–" :
        "[" + fmt(r.ci_low, 2) + ", " + fmt(r.ci_high, 2) + "]", "num"));
      tr.appendChild(el("td", r.seeds, "num"));
      tr.appendChild(el("td", fmt(r.spearman_rho, 2), "num"));
      tr.addEventListener("click", () => { select(tr); showDetail(r); });
      tbody.appendChild(tr);
    }
    document.getElementById("shown").textContent = shown.length + " of " + rows.length + " rows";
  }
  function select(tr) {
    for (const s of tbody.querySelectorAll("tr.selected")) s.classList.remove("selected");
    tr.classList.add("selected");
  }
  for (const th of document.querySelectorAll("#board th")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      sortDir = sortKey === key ? -sortDir : 1;
      sortKey = key;
      for (const o of document.querySelectorAll("#board th")) o.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      render();
    });
  }
  function kvTable(pairs) {
    const t = el("table", null, "kv");
    for (const [k, v] of pairs) {
      const tr = document.createElement("tr");
      tr.appendChild(el("td", k));
      tr.appendChild(el("td", v));
      t.appendChild(tr);
    }
    return t;
  }
  function textList(items) {
    const ol = document.createElement("ol");
    for (const t of items) {
      const li = document.createElement("li");
      li.appendChild(el("span", t.label, "lab"));
      li.appendChild(document.createTextNode(t.text));
      ol.appendChild(li);
    }
    return ol;
  }
  function showDetail(r) {
    const box = document.getElementById("detail");
    box.replaceChildren();
    box.hidden = false;
    box.appendChild(el("h2", r.task + " · " + r.model + " · " + r.generator + " · N=" + r.n));
    for (const name of r.cells) {
      const c = data.cells[name];
      const card = el("article", null, "cell");
      card.dataset.cell = name;
      card.appendChild(el("h3", "seed " + c.seed + ": " + name));
      const counts = Object.entries(c.counts).map(([k, v]) => k + " " + v).join(", ");
      const scores = Object.entries(c.classifiers).map(([k, s]) => k + ": utility " +
        fmt(s.utility, 3) + " (F1 " + fmt(s.synthetic_f1, 3) + " synthetic / " +
        fmt(s.real_f1, 3) + " real)").join("; ");
      const m = c.metrics;
      card.appendChild(kvTable([
        ["served model", c.served_models.join(", ") || "–"],
        ["texts", c.n_synthetic + " synthetic, " + c.n_real + " real, " + c.n_test + " test"],
        ["generation counts", counts || "–"],
        ["cost", (c.cost.input_tokens || 0) + " input, " + (c.cost.output_tokens || 0) +
          " output tokens; $" + fmt(c.cost.usd, 4)],
        ["scores", scores],
        ["data", "Remote-Clique " + fmt(m.remote_clique, 3) + " (real " +
          fmt(m.real_remote_clique, 3) + "), distinct-2 " + fmt(m.distinct_2, 3) +
          ", label accuracy " + fmt(m.label_accuracy, 3) + ", leakage " +
          fmt(m.leakage_share, 3)],
        ["config hash", c.config_hash]]));
      for (const [b, v] of Object.entries(c.baselines)) {
        card.appendChild(el("p", "baseline " + b + ": macro-F1 " + fmt(v.macro_f1, 3)));
      }
      for (const step of c.interventions) {
        const d = el("details");
        d.appendChild(el("summary", "intervention " + step.id + ": " + step.n_in + " → " +
          step.n_out + " texts"));
        d.appendChild(el("pre", JSON.stringify({params: step.params, report: step.report},
          null, 1)));
        card.appendChild(d);
      }
      const texts = el("div", null, "texts");
      const gen = el("div");
      gen.appendChild(el("h4", "generated (" + c.texts_file + ")"));
      gen.appendChild(textList(c.texts));
      const real = el("div");
      real.appendChild(el("h4", "real (training split, from --data-dir)"));
      if (data.real[c.task]) real.appendChild(textList(data.real[c.task]));
      else real.appendChild(el("p", "Real texts are not included: the page was built " +
        "without --data-dir.", "note"));
      texts.appendChild(gen);
      texts.appendChild(real);
      card.appendChild(texts);
      box.appendChild(card);
    }
    box.scrollIntoView({block: "nearest"});
  }
  function download(name, type, text) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], {type: type}));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  document.getElementById("dl-csv").addEventListener("click",
    () => download("leaderboard.csv", "text/csv", data.csv));
  document.getElementById("dl-json").addEventListener("click",
    () => download("leaderboard.json", "application/json",
      JSON.stringify(data.board, null, 2) + "\\n"));
  render();
})();
</script>
</body>
</html>
"""

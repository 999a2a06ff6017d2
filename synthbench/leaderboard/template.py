"""The HTML of ``leaderboard/index.html`` with its ``@@SLOT@@`` placeholders (inline CSS and
JS, no network); ``page.build_page`` fills the slots in one pass."""

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
h3{font-size:1rem;margin:.8rem 0 .2rem}ul.findings{margin:.2rem 0 .6rem;padding-left:1.2rem}
ul.findings li{margin-bottom:.3rem}
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
<p>Does LLM-written training data teach a classifier as much as real data, and less so on
subjective tasks? <b>Gap closed</b> = how far a classifier trained on the synthetic texts gets
from chance (labels drawn blind from the train split's label shares) to its real ceiling (the
same classifier fitted on the whole real train split), on the task's real test split: 0 = no
better than chance, 1 = as good as all the real data. Built from @@CELLS@@ stored cells.</p>
<h2 id="findings">Findings</h2>
@@HEADLINE@@
<nav class="bar"><a href="#all-findings">All findings</a> · <a href="#plots">Plots</a> ·
<a href="#table">Table and cells' texts</a></nav>
<h2 id="plots">Plots</h2>
@@PLOTS@@
<details id="all-findings"><summary>All findings, per model</summary>
@@FINDINGS@@
</details>
<p class="note">@@NOTE@@</p>
<div class="bar">Download: <button id="dl-csv" type="button">leaderboard.csv</button>
<button id="dl-json" type="button">leaderboard.json</button></div>
<h2 id="table">Table</h2>
<p class="note">Click a column to sort, a row to see its cells: counts, cost, texts. The table
opens on the headline N; choose "all N" for the rest. † = the real same-N baseline closes
less than half of the gap, so the same-N ratio (utility) says little there.</p>
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
<th data-key="gap_closed" data-num="1">gap closed</th>
<th data-key="gap_ci_low" data-num="1">95% CI</th>
<th data-key="utility" data-num="1">utility</th>
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
  const defaultN = "@@DEFAULT_N@@";
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
    if (key === "n" && values.includes(defaultN)) select.value = defaultN;
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
      tr.appendChild(el("td", fmt(r.gap_closed, 3), "num"));
      tr.appendChild(el("td", r.gap_ci_low === null ? "–" :
        "[" + fmt(r.gap_ci_low, 2) + ", " + fmt(r.gap_ci_high, 2) + "]", "num"));
      tr.appendChild(el("td", fmt(r.utility, 3) + (r.utility_flag ? " †" : ""), "num"));
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

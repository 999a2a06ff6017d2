"""Leaderboard plots from the board dict: the headline figure against subjectivity, and the
same figure per task by generator. The figure is gap closed (utility for boards from before it).

Per downstream classifier, two figures, each as PNG and SVG:

- ``gap_vs_subjectivity_<classifier>``: one panel per generator, a series per model with a
  point per task (named on the axis, objective to subjective), its seed interval and the
  row's Spearman rho with its interval in the legend; the strong rows only (10 tasks with 2
  seeds each) when there are any, so the headline is not buried under small comparisons.
- ``gap_by_generator_<classifier>``: per task (objective to subjective), a bar per
  (model, generator) that has the task.
- ``size_trend_<classifier>``, where the findings hold a generator-size trend: against
  generator size, rho (gap closed vs subjectivity) with its interval, mean gap closed and
  label fidelity, a series per generator.

matplotlib runs without pyplot on the Agg/SVG canvases, inside an ``rc_context`` that fixes
the font (DejaVu Sans, shipped with matplotlib), the SVG id salt and drops dates and software
metadata, so the same board gives the same bytes.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from synthbench.leaderboard.findings import size_label
from synthbench.store import atomic_write_text

RC: Any = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "svg.hashsalt": "synthbench-leaderboard",
    "svg.fonttype": "none",  # text stays text: small SVG, selectable in the page
    "savefig.dpi": 100,
    "figure.dpi": 100,
    "path.simplify": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
PNG_METADATA: dict[str, str | None] = {"Software": None}
SVG_METADATA: dict[str, str | None] = {"Date": None, "Creator": None, "Format": None,
                                       "Type": None}
MARKERS = "os^Dv<>PXph*"
MIN_TASKS = 3
"""Tasks a row needs for a place in the scatter when no row is strong."""
STRONG_TASKS, STRONG_SEEDS = 10, 2
SCATTER, BARS, SIZE = "gap_vs_subjectivity", "gap_by_generator", "size_trend"


def plot_stem(kind: str, classifier: str) -> str:
    """File stem of one figure, e.g. ``utility_vs_subjectivity_minilm_lr``."""
    return f"{kind}_{re.sub(r'[^A-Za-z0-9._-]+', '-', classifier)}"


def _series(board: Mapping[str, Any], classifier: str) -> list[Mapping[str, Any]]:
    return [r for r in board["rows"] if r["classifier"] == classifier]


def series_label(row: Mapping[str, Any], several_n: bool) -> str:
    """A series' name: model and generator, and N where the board has several."""
    label = f"{row['model']} · {row['generator']}"
    return f"{label} · N={row['n']}" if several_n else label


def _colour(index: int) -> Any:
    return matplotlib.colormaps["tab20"](index % 20)


HATCHES = ("", "////", "....", "xxxx")


def _hatch(index: int) -> str:
    """A bar's hatch: plain for the first 20 series, then a pattern per round of the 20
    colours, so a bar's series stays unambiguous past the palette."""
    return HATCHES[(index // 20) % len(HATCHES)]


def measure(board: Mapping[str, Any]) -> tuple[str, str, str]:
    """(per-task figure, its interval, axis label): gap closed where the board has it, else
    the same-N utility of records from before the headline measure."""
    if any(c.get("gap_closed") is not None for r in board["rows"] for c in r["per_task"].values()):
        return "gap_closed", "gap_ci", "gap closed (0 = chance, 1 = real ceiling)"
    return "utility", "ci", "utility (synthetic F1 / real F1)"


def _tasks(row: Mapping[str, Any], values: Mapping[str, float], key: str) -> list[str]:
    """The row's tasks that have the figure and a subjectivity value, in subjectivity order."""
    return sorted((t for t in row["per_task"] if t in values
                   and row["per_task"][t].get(key) is not None),
                  key=lambda t: (values[t], t))


def strong(row: Mapping[str, Any], key: str) -> bool:
    """A row on ``STRONG_TASKS`` tasks with ``STRONG_SEEDS`` seeds each: the headline rows."""
    return sum(1 for c in row["per_task"].values()
               if c.get(key) is not None and c.get("seeds", 0) >= STRONG_SEEDS) >= STRONG_TASKS


def _rho_tag(row: Mapping[str, Any], key: str) -> str:
    """The legend's rho with its interval, where the row has one."""
    rho = row.get("spearman_rho") if key == "gap_closed" else row.get("utility_spearman_rho")
    ci = row.get("spearman_ci") if key == "gap_closed" else row.get("utility_spearman_ci")
    if rho is None:
        return "ρ n/a"
    return f"ρ = {rho:+.2f}" + ("" if not ci else f" [{ci[0]:+.2f}, {ci[1]:+.2f}]")


def model_name(model: str, models: Mapping[str, str]) -> str:
    """``local`` -> ``local = SmolLM2-135M-Instruct`` (the served model, without its org and
    packaging notes)."""
    served = models.get(model, "")
    short = served.split(" (")[0].split("/")[-1]
    return f"{model} = {short}" if short and short != model else model


def _scatter_panel(ax: Axes, rows: Sequence[Mapping[str, Any]], values: Mapping[str, float],
                   labels: Sequence[str], title: str, key: str, ci_key: str) -> None:
    ax.set_title(title, loc="left", fontsize=9.5)
    ax.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    ax.axhline(0.0, color="0.6", linewidth=0.8, linestyle="-")
    spread = 0.012
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        tasks = _tasks(row, values, key)
        if not tasks:
            continue
        dodge = (index - (len(rows) - 1) / 2) * spread / max(1, len(rows) / 8)
        x = np.array([values[t] for t in tasks]) + dodge
        y = np.array([row["per_task"][t][key] for t in tasks], dtype=float)
        low = np.array([y[i] - (row["per_task"][t].get(ci_key) or [y[i], y[i]])[0]
                        for i, t in enumerate(tasks)])
        high = np.array([(row["per_task"][t].get(ci_key) or [y[i], y[i]])[1] - y[i]
                         for i, t in enumerate(tasks)])
        colour = _colour(2 * index)  # tab20's darker shades: one hue per model
        ax.plot(x, y, color=colour, linestyle="none", alpha=0.85,
                marker=MARKERS[index % len(MARKERS)], markersize=4.5, label=label)
        if np.any(low > 0) or np.any(high > 0):
            ax.errorbar(x, y, yerr=[low, high], fmt="none", ecolor=colour, elinewidth=0.9,
                        capsize=2)
    shown = sorted({t for row in rows for t in _tasks(row, values, key)},
                   key=lambda t: (values[t], t))
    at: dict[float, list[str]] = {}
    for task in shown:
        at.setdefault(values[task], []).append(task)
    ax.set_xticks(list(at), ["\n".join(names) for names in at.values()], rotation=90,
                  fontsize=7)
    if ax.get_legend_handles_labels()[0]:  # below the task names (at most ~1.3 in long)
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.66), frameon=False, fontsize=7.5,
                  handlelength=1.6)


def scatter_figure(board: Mapping[str, Any], classifier: str) -> Figure:
    """The headline: gap closed against declared subjectivity, one panel per generator, a
    series per model, tasks named on the axis. Only the strong rows (``STRONG_TASKS`` tasks
    with ``STRONG_SEEDS`` seeds) are drawn when there are any, else rows on ``MIN_TASKS``
    tasks, else every row; the rest are in the bar figure."""
    key, ci_key, ylabel = measure(board)
    declared = {t["id"]: float(t["declared_subjectivity"]) for t in board["tasks"]}
    every = _series(board, classifier)
    rows = ([r for r in every if strong(r, key)]
            or [r for r in every if len(_tasks(r, declared, key)) >= MIN_TASKS] or every)
    several_n = len({r["n"] for r in rows}) > 1
    models = board.get("models", {})
    generators = sorted({r["generator"] for r in rows}) or [""]
    per_panel = max((sum(1 for r in rows if r["generator"] == g) for g in generators),
                    default=1)
    height = 4.9 + 0.17 * per_panel
    fig = Figure(figsize=(max(5.6 * len(generators), 7.0), height))
    fig.subplots_adjust(left=0.07, right=0.99, top=1 - 0.55 / height,
                        bottom=(2.1 + 0.17 * per_panel) / height, wspace=0.12)
    fig.suptitle(f"{ylabel.capitalize()} against declared task subjectivity (objective → "
                 f"subjective) — classifier {classifier}", x=0.07, ha="left", fontsize=11)
    if left_out := len(every) - len(rows):
        fig.text(0.07, 0.01, f"{left_out} other row(s) (fewer tasks or seeds) are in the "
                 "figure per task by generator.", fontsize=7.5, color="0.35")
    axes = fig.subplots(1, len(generators), sharey=True, squeeze=False)[0]
    for ax, generator in zip(axes, generators, strict=True):
        panel = [r for r in rows if r["generator"] == generator]
        labels = [model_name(r["model"], models) + (f" · N={r['n']}" if several_n else "")
                  + f" ({_rho_tag(r, key)})" for r in panel]
        _scatter_panel(ax, panel, declared, labels, generator, key, ci_key)
    axes[0].set_ylabel(ylabel)
    return fig


def bar_figure(board: Mapping[str, Any], classifier: str) -> Figure:
    """Per task, objective to subjective, a bar of gap closed per (model, generator)."""
    key, ci_key, ylabel = measure(board)
    rows = _series(board, classifier)
    several_n = len({r["n"] for r in board["rows"]}) > 1
    tasks = [t["id"] for t in board["tasks"]]
    slots = sum(sum(1 for r in rows if task in r["per_task"]) for task in tasks)
    legend_rows = (len(rows) + 1) // 2
    height_axes, height_legend = 3.8, 0.5 + 0.16 * legend_rows
    fig = Figure(figsize=(max(11.0, 0.12 * slots + 2), height_axes + height_legend))
    frac = height_axes / (height_axes + height_legend)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.93 - 0.02 * (1 - frac),
                        bottom=1 - frac + 0.24 * frac)
    fig.suptitle(f"{ylabel.capitalize()} per task by generator — classifier {classifier}",
                 x=0.06, ha="left", fontsize=11)
    ax = fig.subplots()
    ax.set_ylabel(ylabel)
    ax.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    position, centres, seen = 0.0, [], set()
    for task in tasks:
        present = [(i, r) for i, r in enumerate(rows) if task in r["per_task"]
                   and r["per_task"][task].get(key) is not None]
        start = position
        for index, row in present:
            cell = row["per_task"][task]
            ci = cell.get(ci_key)
            err = None if not ci else [[cell[key] - ci[0]], [ci[1] - cell[key]]]
            name = series_label(row, several_n)
            ax.bar(position, cell[key], width=0.9, color=_colour(index), yerr=err,
                   hatch=_hatch(index), edgecolor="white", linewidth=0,
                   capsize=1.5, error_kw={"elinewidth": 0.8},
                   label=None if name in seen else name)
            seen.add(name)
            position += 1
        centres.append((start + position - 1) / 2 if present else position)
        position += 1.2 if present else 0.6
    ax.set_xticks(centres, tasks, rotation=35, ha="right")
    ax.set_xlim(-1, max(position - 0.6, 1))
    handles, labels = ax.get_legend_handles_labels()
    _legend(fig, handles, labels, 1 - frac - 0.01)
    return fig


def size_trends(board: Mapping[str, Any], classifier: str) -> list[Mapping[str, Any]]:
    """The board's generator-size findings for ``classifier`` (none: no size figure)."""
    return [f for f in board.get("findings") or []
            if f["kind"] == "size" and f["classifier"] == classifier]


def size_figure(board: Mapping[str, Any], classifier: str) -> Figure:
    """Against generator size (log axis): rho of gap closed with declared subjectivity and its
    interval, mean gap closed, and label fidelity; a series per generator."""
    trends = size_trends(board, classifier)
    fig = Figure(figsize=(11.0, 3.6))
    fig.subplots_adjust(left=0.06, right=0.99, top=0.85, bottom=0.22, wspace=0.22)
    fig.suptitle(f"Against generator size — classifier {classifier}, N = "
                 f"{', '.join(sorted({str(t['n']) for t in trends}))}", x=0.06, ha="left",
                 fontsize=11)
    panels = fig.subplots(1, 3, squeeze=False)[0]
    titles = ("ρ, gap closed vs declared subjectivity",
              "mean gap closed (0 = chance, 1 = ceiling)", "label fidelity (oracle)")
    sizes = sorted({s["parameters"] for t in trends for s in t["steps"]})
    for ax, title in zip(panels, titles, strict=True):
        ax.set_title(title, loc="left", fontsize=9)
        ax.set_xscale("log")
        ax.set_xticks(sizes, [size_label(p) for p in sizes])
        ax.minorticks_off()
        ax.set_xlim(min(sizes) / 1.4, max(sizes) * 1.4)
    panels[0].axhline(0.0, color="0.6", linewidth=0.8)
    panels[0].set_ylim(-1.0, 1.0)  # whole scales: a trend is not magnified
    panels[1].set_ylim(min(0.0, *(s["mean_gap_closed"] for t in trends for s in t["steps"]
                                  if s["mean_gap_closed"] is not None)), 1.0)
    panels[2].set_ylim(0.0, 1.0)
    for index, trend in enumerate(trends):
        steps = trend["steps"]
        x = np.array([s["parameters"] for s in steps], dtype=float)
        x = x * (1 + 0.04 * (index - (len(trends) - 1) / 2))  # dodge the series apart
        colour, marker = _colour(2 * index), MARKERS[index % len(MARKERS)]
        style = {"color": colour, "marker": marker, "markersize": 5, "linewidth": 1.2}
        rho = np.array([np.nan if s["spearman_rho"] is None else s["spearman_rho"]
                        for s in steps], dtype=float)
        ci = [s["spearman_ci"] or [r, r] for s, r in zip(steps, rho, strict=True)]
        panels[0].errorbar(x, rho, yerr=[rho - np.array([c[0] for c in ci], dtype=float),
                                         np.array([c[1] for c in ci], dtype=float) - rho],
                           capsize=2.5, elinewidth=0.9, label=_trend_label(trend),
                           **style)
        for ax, key in ((panels[1], "mean_gap_closed"), (panels[2], "label_accuracy")):
            ax.plot(x, [np.nan if s.get(key) is None else s[key] for s in steps], **style)
    handles, labels = panels[0].get_legend_handles_labels()
    _legend(fig, handles, labels, 0.1)
    return fig


def _trend_label(trend: Mapping[str, Any]) -> str:
    """A size trend's series name: its generator and the cells every size shares."""
    return f"{trend['generator']} ({trend.get('cells')} cells, {trend.get('tasks')} tasks)"


def _legend(fig: Figure, handles: Sequence[Any], labels: Sequence[str], top: float) -> None:
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.06, top), ncol=2,
               frameon=False, fontsize=7.5, handlelength=1.6, columnspacing=1.5)


def _save(fig: Figure, out: Path, stem: str) -> list[Path]:
    """The figure as ``stem.png`` and ``stem.svg``, without dates or software names."""
    written = []
    png = io.BytesIO()
    fig.savefig(png, format="png", metadata=PNG_METADATA)
    svg = io.StringIO()
    fig.savefig(svg, format="svg", metadata=SVG_METADATA)
    png_path, svg_path = out / f"{stem}.png", out / f"{stem}.svg"
    _write_bytes(png_path, png.getvalue())
    atomic_write_text(svg_path, svg.getvalue())
    written += [png_path, svg_path]
    return written


def _write_bytes(path: Path, data: bytes) -> None:
    """Atomic like ``atomic_write_text``, for binary files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def classifiers(board: Mapping[str, Any]) -> list[str]:
    return sorted({r["classifier"] for r in board["rows"]})


def write_plots(board: Mapping[str, Any], out: Path) -> list[Path]:
    """The figures of each classifier into ``out`` as PNG and SVG; the paths written."""
    written: list[Path] = []
    with matplotlib.rc_context(RC):
        for classifier in classifiers(board):
            for kind, make in ((SCATTER, scatter_figure), (BARS, bar_figure)):
                written += _save(make(board, classifier), out, plot_stem(kind, classifier))
            if size_trends(board, classifier):
                written += _save(size_figure(board, classifier), out,
                                 plot_stem(SIZE, classifier))
    return written

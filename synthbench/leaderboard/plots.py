"""Leaderboard plots from the board dict: utility against subjectivity, and utility by generator.

Per downstream classifier, two figures, each as PNG and SVG:

- ``utility_vs_subjectivity_<classifier>``: one panel for declared and one for measured task
  subjectivity; a series per (model, generator) with a point per task, its seed interval
  (the row's per-task ``ci``) and Spearman's rho in the legend. Only rows on enough tasks
  for a rho (``MIN_TASKS``) are drawn when the board has any, so a correlation plot is not
  buried under two-task comparisons (those are in the bar figure). Until a task carries a
  ``measured_subjectivity`` value, the measured panel says so.
- ``utility_by_generator_<classifier>``: per task (objective to subjective), a bar per
  (model, generator) that has the task.

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
from scipy import stats

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
NOT_MEASURED = "not measured yet:\nno task carries a measured_subjectivity value"
MIN_TASKS = 3
"""Tasks a row needs for Spearman's rho, and for a place in the scatter when others have it."""


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


def _rho(row: Mapping[str, Any], values: Mapping[str, float], stored: str) -> float | None:
    """The row's stored rho if the board has it, else Spearman over its tasks' mean utility
    (3 tasks or more with distinct values)."""
    if row.get(stored) is not None:
        return float(row[stored])
    tasks = [t for t in sorted(row["per_task"]) if t in values
             and row["per_task"][t].get("utility") is not None]
    x = [values[t] for t in tasks]
    y = [float(row["per_task"][t]["utility"]) for t in tasks]
    if len(tasks) < MIN_TASKS or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(stats.spearmanr(x, y).statistic)


def _tasks(row: Mapping[str, Any], values: Mapping[str, float]) -> list[str]:
    """The row's tasks that have a utility and a subjectivity value, in subjectivity order."""
    return sorted((t for t in row["per_task"] if t in values
                   and row["per_task"][t].get("utility") is not None),
                  key=lambda t: (values[t], t))


def _rho_tag(row: Mapping[str, Any], declared: Mapping[str, float],
             measured: Mapping[str, float]) -> str:
    """The legend's rho: declared, and measured when tasks carry measured values."""
    rhos = [_rho(row, declared, "spearman_rho")]
    if measured:
        rhos.append(_rho(row, measured, "measured_spearman_rho"))
    if all(r is None for r in rhos):
        count = len(_tasks(row, declared))
        return f"ρ n/a: {count} task{'' if count == 1 else 's'}"
    shown = ["n/a" if r is None else f"{r:.2f}" for r in rhos]
    return f"ρ = {shown[0]}" if not measured else \
        f"ρ = {shown[0]} declared, {shown[1]} measured"


def _scatter_panel(ax: Axes, rows: Sequence[Mapping[str, Any]], values: Mapping[str, float],
                   labels: Sequence[str | None], title: str) -> None:
    ax.set_title(title, loc="left", fontsize=9.5)
    ax.set_xlabel("task subjectivity (0 = most objective)")
    ax.set_ylabel("utility (synthetic F1 / real F1)")
    ax.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    spread = 0.012
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        tasks = _tasks(row, values)
        if not tasks:
            continue
        dodge = (index - (len(rows) - 1) / 2) * spread / max(1, len(rows) / 8)
        x = np.array([values[t] for t in tasks]) + dodge
        y = np.array([row["per_task"][t]["utility"] for t in tasks], dtype=float)
        low = np.array([y[i] - (row["per_task"][t]["ci"] or [y[i], y[i]])[0]
                        for i, t in enumerate(tasks)])
        high = np.array([(row["per_task"][t]["ci"] or [y[i], y[i]])[1] - y[i]
                         for i, t in enumerate(tasks)])
        colour = _colour(index)
        ax.plot(x, y, color=colour, linestyle="none", alpha=0.85,
                marker=MARKERS[index % len(MARKERS)], markersize=4.5, label=label)
        if np.any(low > 0) or np.any(high > 0):
            ax.errorbar(x, y, yerr=[low, high], fmt="none", ecolor=colour, elinewidth=0.9,
                        capsize=2)


def _not_measured(ax: Axes) -> None:
    ax.set_title("measured subjectivity", loc="left", fontsize=9.5)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.text(0.5, 0.5, NOT_MEASURED, ha="center", va="center", transform=ax.transAxes,
            fontsize=10, color="0.35")


def _legend(fig: Figure, handles: Sequence[Any], labels: Sequence[str], top: float) -> None:
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.06, top), ncol=2,
               frameon=False, fontsize=7.5, handlelength=1.6, columnspacing=1.5)


def scatter_figure(board: Mapping[str, Any], classifier: str) -> Figure:
    """Utility against declared and measured subjectivity, one series per (model, generator)
    on ``MIN_TASKS`` tasks or more (every series when none is)."""
    declared = {t["id"]: float(t["declared_subjectivity"]) for t in board["tasks"]}
    every = _series(board, classifier)
    rows = [r for r in every if len(_tasks(r, declared)) >= MIN_TASKS] or every
    several_n = len({r["n"] for r in board["rows"]}) > 1
    measured = {t["id"]: float(t["measured_subjectivity"]) for t in board["tasks"]
                if t.get("measured_subjectivity") is not None}
    legend_rows = (len(rows) + 1) // 2
    height_axes, height_legend = 3.6, 0.5 + 0.16 * legend_rows
    height = height_axes + height_legend
    fig = Figure(figsize=(11.0, height))
    frac = height_axes / height
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.5 / height,  # title: 0.5 in
                        bottom=1 - frac + 0.1 * frac, wspace=0.18)
    fig.suptitle(f"Utility against task subjectivity — downstream classifier {classifier}",
                 x=0.06, ha="left", fontsize=11)
    if left_out := len(every) - len(rows):
        fig.text(0.06, 0.01, f"{left_out} row(s) on fewer than {MIN_TASKS} tasks are not "
                 "drawn here: see the figure of utility per task by generator.",
                 fontsize=7.5, color="0.35")
    left, right = fig.subplots(1, 2)
    labels = [f"{series_label(row, several_n)} ({_rho_tag(row, declared, measured)})"
              for row in rows]
    _scatter_panel(left, rows, declared, labels, "declared subjectivity")
    if measured:
        _scatter_panel(right, rows, measured, [None] * len(rows), "measured subjectivity")
    else:
        _not_measured(right)
    handles, labels = left.get_legend_handles_labels()
    _legend(fig, handles, labels, 1 - frac - 0.01)
    return fig


def bar_figure(board: Mapping[str, Any], classifier: str) -> Figure:
    """Per task, objective to subjective, a bar of utility per (model, generator)."""
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
    fig.suptitle(f"Utility per task by generator — downstream classifier {classifier}",
                 x=0.06, ha="left", fontsize=11)
    ax = fig.subplots()
    ax.set_ylabel("utility (synthetic F1 / real F1)")
    ax.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    position, centres, seen = 0.0, [], set()
    for task in tasks:
        present = [(i, r) for i, r in enumerate(rows) if task in r["per_task"]
                   and r["per_task"][task].get("utility") is not None]
        start = position
        for index, row in present:
            cell = row["per_task"][task]
            ci = cell["ci"]
            err = None if not ci else [[cell["utility"] - ci[0]], [ci[1] - cell["utility"]]]
            name = series_label(row, several_n)
            ax.bar(position, cell["utility"], width=0.9, color=_colour(index), yerr=err,
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
    """Both figures per classifier into ``out`` as PNG and SVG; the paths written."""
    written: list[Path] = []
    with matplotlib.rc_context(RC):
        for classifier in classifiers(board):
            for kind, make in (("utility_vs_subjectivity", scatter_figure),
                               ("utility_by_generator", bar_figure)):
                written += _save(make(board, classifier), out, plot_stem(kind, classifier))
    return written

"""What ``synthbench leaderboard`` writes: ``leaderboard.{json,md,csv}``, ``plots/`` and
``index.html``, all from the board that ``tables.build`` returns (plus, for the page, the stored
cell records and an optional explicit real-data folder). Fixed fonts and no dates, so a rebuild
is byte-identical."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.leaderboard.page import build_page, real_texts
from synthbench.leaderboard.plots import write_plots
from synthbench.leaderboard.tables import BreakEvenKeys, build
from synthbench.leaderboard.text import to_csv, to_markdown
from synthbench.plugins import load_plugins
from synthbench.store import atomic_write_text, iter_results
from synthbench.subjectivity.store import measured_subjectivity

PLOTS = "plots"
PAGE = "index.html"
CSV = "leaderboard.csv"


def write_products(board: Mapping[str, Any], cells: Sequence[tuple[Path, Mapping[str, Any]]],
                   out: Path, data_dir: Path | None = None) -> list[Path]:
    """``leaderboard.csv``, ``plots/*.{png,svg}`` and ``index.html`` in ``out``; plot files
    of an earlier build that this one no longer makes are removed. ``cells`` are (cell
    folder, record) pairs; ``data_dir``, if given, supplies real example texts to the page."""
    plots = write_plots(board, out / PLOTS)
    for stale in sorted((out / PLOTS).glob("utility_*")):
        if stale not in plots and stale.suffix in (".png", ".svg"):
            stale.unlink()
    atomic_write_text(out / CSV, to_csv(board))
    svgs = {p.stem: p.read_text(encoding="utf-8") for p in plots if p.suffix == ".svg"}
    records = [record for _, record in cells]
    page = build_page(board, cells, svgs, real_texts(data_dir, records))
    atomic_write_text(out / PAGE, page)
    return [out / CSV, *plots, out / PAGE]


def rebuild(results: Path, out: Path, data_dir: Path | None = None,
            keys: BreakEvenKeys | None = None) -> tuple[Path, Path, int]:
    """Read every finished cell under ``results`` and write the leaderboard's products in
    ``out`` (real example texts on the page only from ``data_dir``, when given). ``keys``: what
    the plugins declare for the break-even (default: the installed plugins')."""
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

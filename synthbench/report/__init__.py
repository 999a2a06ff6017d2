"""What ``synthbench leaderboard`` writes besides the JSON and Markdown: CSV, plots, web page.

Everything here is a function of the board dict that ``leaderboard.build`` returns (plus, for
the page, the stored cell records and an optional explicit real-data folder), written with
fixed fonts and no dates, so a rebuild is byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.report.page import build_page, real_texts
from synthbench.report.plots import write_plots
from synthbench.report.tables import to_csv
from synthbench.store import atomic_write_text

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

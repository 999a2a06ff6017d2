"""The leaderboard's products as one unit: hostile ids cannot inject into the CSV, Markdown or
page, NaN never reaches the JSON, a killed rebuild leaves the old or the new set, and a
leaderboard built from other results is never replaced without --force."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthbench.cli import main
from synthbench.leaderboard import rebuild
from synthbench.leaderboard.products import SOURCE, recover

REPO = Path(__file__).resolve().parent.parent
CELLS = REPO / "leaderboard" / "results" / "cells"
NAMES = sorted(p.name for p in CELLS.glob("sst2__local__zero_shot__s*"))[:3]


def results_with(tmp_path: Path, names: list[str], name: str = "results") -> Path:
    out = tmp_path / name
    for cell in names:
        shutil.copytree(CELLS / cell, out / "cells" / cell)
    return out


def edit(folder: Path, change: dict[str, object]) -> None:
    path = folder / "result.json"
    record = json.loads(path.read_text())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        target = record
        for key in parents:
            target = target[key]
        target[last] = value
    path.write_text(json.dumps(record))  # Python writes NaN as NaN: what a forger would


def products(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != SOURCE and "results" not in p.parts}


def test_hostile_ids_stay_text_in_csv_markdown_and_page(tmp_path: Path) -> None:
    results = results_with(tmp_path, NAMES[:2])
    cell = next((results / "cells").iterdir())
    record = json.loads((cell / "result.json").read_text())
    scores = record["classifiers"].pop("tfidf_lr")
    record["classifiers"]["tfidf\\q_lr"] = scores
    record["config"]["classifiers"] = sorted(record["classifiers"])
    record["config"]["model"] = "=cmd|' /C calc'!A0"
    record["config"]["generator"] = "<script>alert(1)</script>|x"
    (cell / "result.json").write_text(json.dumps(record))
    out = tmp_path / "board"
    rebuild(results, out)  # a regex escape in an id used to crash the page build
    rows = (out / "leaderboard.csv").read_text().splitlines()
    assert not any(field.startswith("=") for line in rows for field in line.split(","))
    assert any("'=cmd" in line for line in rows)
    markdown = (out / "leaderboard.md").read_text()
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    for line in markdown.splitlines():
        if "=cmd" in line:  # the id's pipe is escaped: no extra column
            assert line.count("|") - line.count("\\|") == markdown.splitlines()[
                markdown.splitlines().index(line) - 2].count("|")
    assert "<script>alert(1)" not in (out / "index.html").read_text()


def test_nan_never_reaches_the_json(tmp_path: Path) -> None:
    results = results_with(tmp_path, NAMES[:2])
    edit(next((results / "cells").iterdir()), {"classifiers.tfidf_lr.utility": float("nan")})
    rebuild(results, tmp_path / "board")

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in leaderboard.json")

    json.loads((tmp_path / "board" / "leaderboard.json").read_text(), parse_constant=refuse)


def test_a_killed_rebuild_leaves_the_old_or_the_new_set(tmp_path: Path) -> None:
    results = results_with(tmp_path, NAMES[:2])
    out = tmp_path / "board"
    rebuild(results, out)
    old = products(out)
    shutil.copytree(CELLS / NAMES[2], results / "cells" / NAMES[2])
    rebuild(results, tmp_path / "reference")
    new = products(tmp_path / "reference")
    assert old != new
    command = [sys.executable, "-m", "synthbench.cli", "leaderboard", "--results",
               str(results), "--out", str(out), "--no-local-plugins"]
    seen = set()
    for delay in (0.5, 1.5, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0):
        shutil.rmtree(out)
        rebuild(results_with(tmp_path / f"old{delay}", NAMES[:2]), out)
        (out / SOURCE).write_text(os.path.relpath(results, out) + "\n")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        recover(out)
        now = products(out)
        assert now in (old, new), f"a mixed set after a kill at {delay} s"
        seen.add("new" if now == new else "old")
    assert "old" in seen  # the kills fell inside the build, not only after it


def test_a_leaderboard_of_other_results_is_not_replaced_without_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = results_with(tmp_path, NAMES[:1], "first")
    second = results_with(tmp_path, NAMES[1:2], "second")
    assert main(["leaderboard", "--results", str(first), "--no-local-plugins"]) == 0
    board = first / "leaderboard"
    assert (board / "leaderboard.json").is_file()  # written next to its results
    before = products(board)
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(second), "--out", str(board)]) == 1
    err = capsys.readouterr().err
    assert "--force" in err and err.strip().count("\n") == 0
    assert products(board) == before
    assert main(["leaderboard", "--results", str(second), "--out", str(board), "--force"]) == 0
    assert products(board) != before

"""``synthbench validate`` on the committed results and on bad submissions made from them,
and ``synthbench recheck`` on a tiny mock grid run twice."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from synthbench.cli import main

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "leaderboard" / "results"
PLAIN = "ag_news__local__zero_shot__s0__05ad3d3a2695"
CURATED = "ag_news__local__zero_shot__s0__05ad3d3a2695__label_replacement-132c3df9"
OTHER = "humor__local__zero_shot__s0__ad71212771c1"


def _copy(cells: list[str], to: Path) -> Path:
    for name in cells:
        shutil.copytree(RESULTS / "cells" / name, to / "cells" / name)
    return to


def _share(name: str, to: Path) -> None:
    """The ceiling fits and learning curves the cell's record names, beside it."""
    record = json.loads((RESULTS / "cells" / name / "result.json").read_text())
    for scores in record["classifiers"].values():
        for folder, file in (("ceilings", (scores.get("ceiling") or {}).get("file")),
                             ("curves", (scores.get("n_eq") or {}).get("curve"))):
            if file:
                (to / folder).mkdir(exist_ok=True)
                shutil.copy(RESULTS / folder / file, to / folder / file)


def _edit(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _validate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, [line for line in (out + err).splitlines() if line]


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    """A base results folder of two committed cells."""
    return _copy([PLAIN, OTHER], tmp_path / "base")


@pytest.fixture()
def submission(tmp_path: Path) -> Path:
    """The base plus one new (curated) cell."""
    return _copy([PLAIN, OTHER, CURATED], tmp_path / "submission")


def test_committed_results_pass(capsys: pytest.CaptureFixture[str]) -> None:
    """Against itself nothing is new, so nothing is refitted; every file is still read and
    range-checked."""
    code, lines = _validate([str(RESULTS), "--base", str(RESULTS)], capsys)
    assert code == 0, lines
    cells = len(list((RESULTS / "cells").glob("*/result.json")))
    assert cells > 41 and lines[0].startswith(f"{cells} cell(s) valid, 0 new against")
    assert lines[0].endswith("0 recomputed from their texts and the real data")


def test_new_cell_on_base_passes_with_every_metric_recomputed(
        base: Path, submission: Path, shared_data: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _share(CURATED, submission)
    code, lines = _validate([str(submission), "--base", str(base), "--data-dir",
                             str(shared_data)], capsys)
    assert code == 0, lines
    assert lines[0].startswith("3 cell(s) valid, 1 new against")
    assert lines[0].endswith(f"1 recomputed from their texts and the real data: {CURATED}")


def _problems(lines: list[str]) -> list[str]:
    assert lines[-1].startswith("synthbench: ") and "problem(s) in" in lines[-1]
    assert all(line.startswith("synthbench: invalid: ") for line in lines[:-1])
    return [line.removeprefix("synthbench: invalid: ") for line in lines[:-1]]


def test_missing_texts_file(submission: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (submission / "cells" / CURATED / "curated.jsonl").unlink()
    code, lines = _validate([str(submission), "--sample", "0"], capsys)
    assert code == 1
    assert _problems(lines) == [f"cell {CURATED}: texts missing: curated.jsonl not stored"]


def test_missing_result(submission: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (submission / "cells" / OTHER / "result.json").unlink()
    code, lines = _validate([str(submission), "--sample", "0"], capsys)
    assert code == 1
    assert _problems(lines) == [f"cell {OTHER}: result.json missing (an unfinished cell)"]


def test_changed_and_deleted_existing_cells(base: Path, submission: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    def better(record: dict[str, object]) -> None:
        record["classifiers"]["tfidf_lr"]["utility"] = 0.99  # type: ignore[index]

    _edit(submission / "cells" / PLAIN / "result.json", better)
    shutil.rmtree(submission / "cells" / OTHER)
    code, lines = _validate([str(submission), "--base", str(base), "--sample", "0"], capsys)
    assert code == 1
    assert _problems(lines) == [
        f"cell {PLAIN}: result.json changed (an existing cell may not change)",
        f"cell {OTHER}: deleted (it is in the base results)"]


def test_metrics_that_do_not_match_the_texts(submission: Path, shared_data: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for name in (PLAIN, OTHER, CURATED):
        _share(name, submission)
    path = submission / "cells" / PLAIN / "synthetic.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[0]["text"] = rows[1]["text"]  # one text replaced by another: fewer distinct n-grams
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def inflate(record: dict[str, object]) -> None:
        record["metrics"]["diversity"]["synthetic"]["remote_clique"] += 0.05  # type: ignore

    _edit(submission / "cells" / OTHER / "result.json", inflate)
    code, lines = _validate([str(submission), "--data-dir", str(shared_data)], capsys)
    assert code == 1
    problems = _problems(lines)
    assert any(p.startswith(f"cell {PLAIN}: metrics.diversity.synthetic.distinct_1 ") and
               "recomputed from synthetic.jsonl" in p for p in problems)
    assert [p for p in problems if OTHER in p] == [
        p for p in problems
        if p.startswith(f"cell {OTHER}: metrics.diversity.synthetic.remote_clique ")]


def test_record_from_a_newer_schema(submission: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(submission / "cells" / CURATED / "result.json",
          lambda r: r.__setitem__("schema_version", 2))
    code, lines = _validate([str(submission), "--sample", "0"], capsys)
    assert code == 1
    assert _problems(lines) == [
        f"cell {CURATED}: record has schema 2, newer than the 1 this synthbench reads: update "
        "synthbench, or recompute the cell with this version"]


def test_provenance_and_config_hash(submission: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def tamper(record: dict[str, object]) -> None:
        del record["provenance"]["packages"]  # type: ignore[attr-defined]
        record["generation"]["served_models"] = []  # type: ignore[index]
        record["config"]["n"] = 61  # type: ignore[index]

    _edit(submission / "cells" / OTHER / "result.json", tamper)
    code, lines = _validate([str(submission), "--sample", "0"], capsys)
    assert code == 1
    problems = _problems(lines)
    assert problems[:3] == [
        f"cell {OTHER}: provenance lacks package versions (synthbench's among them)",
        f"cell {OTHER}: provenance lacks the served model (generation.served_models)",
        f"cell {OTHER}: config_hash 2c162da8a870… does not match its stored config "
        f"({problems[2].split('(')[-1]}"]
    assert len(problems) == 3


def test_duplicate_cell(submission: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = submission / "cells" / (PLAIN + "-copy")
    shutil.copytree(submission / "cells" / PLAIN, copy)
    code, lines = _validate([str(submission), "--sample", "0"], capsys)
    assert code == 1
    assert _problems(lines) == [
        f"cell {copy.name}: record names cell {PLAIN!r}, not its folder",
        f"cell {copy.name}: folder name does not follow from its config and generation key "
        f"(expected {PLAIN})",
        f"cell {copy.name}: duplicate of cell {PLAIN} (same config hash)"]


def test_not_a_results_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _validate([str(tmp_path)], capsys)
    assert code == 1 and len(lines) == 1 and "has no cells/ folder" in lines[0]


def test_recheck_on_a_tiny_mock_grid(tmp_path: Path, shared_data: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The scheduled job's check: a fresh run of the same grid stays within what was recorded,
    and a recorded utility moved away makes it fail with a line naming the cell."""
    grid = ["run", "--model", "mock/a", "--task", "trec", "--n", "16", "--classifier",
            "tfidf_lr", "--data-dir", str(shared_data), "--oracle-size", "200", "--no-progress"]
    assert main([*grid, "--out", str(tmp_path / "recorded")]) == 0
    assert main([*grid, "--out", str(tmp_path / "fresh")]) == 0
    capsys.readouterr()
    assert main(["recheck", str(tmp_path / "fresh"), "--against",
                 str(tmp_path / "recorded"), "--tolerance", "0"]) == 0
    assert capsys.readouterr().out.strip() == "1 of 1 fresh utilities within their recorded " \
                                              "interval"
    (result,) = (tmp_path / "recorded" / "cells").glob("*/result.json")
    _edit(result, lambda r: r["classifiers"]["tfidf_lr"].__setitem__(  # type: ignore[index]
        "utility", r["classifiers"]["tfidf_lr"]["utility"] + 0.2))  # type: ignore[index]
    assert main(["recheck", str(tmp_path / "fresh"), "--against",
                 str(tmp_path / "recorded"), "--tolerance", "0.1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "synthbench: out of interval: trec · mock/a · zero_shot · N=16 · tfidf_lr: utility ")
    assert main(["recheck", str(tmp_path / "fresh"), "--against", str(RESULTS)]) == 1
    assert "no cell in" in capsys.readouterr().err

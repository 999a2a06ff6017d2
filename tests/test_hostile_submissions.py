"""Submissions an outsider could send: a committed cell copied, edited and re-signed with the
project's own hashing (config hash, folder name), then judged by ``synthbench validate``. Each
hostile edit is refused in one line naming the cell and the field; the honest copy passes with
its scores recomputed from its texts."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthbench.cli import main
from synthbench.leaderboard.page import real_texts
from synthbench.record import CellConfig
from synthbench.store import cell_dir, config_hash

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "leaderboard" / "results"
CELL = "tweet_irony__local__zero_shot__s0__679f6cdb2bd7"  # tfidf_lr, minilm_lr and minilm_ft
CURVES = ("tweet_irony__minilm_lr__s0__45a24391ffdf5d1b37d5d116.json",
          "tweet_irony__tfidf_lr__s0__0dfaec0702d1be9ab27dba54.json")
SUBJECTIVITY = "local-qwen2.5-1.5b__p1-978dba1e__15tasks-b4c0e01db2d7.json"


def _results(to: Path) -> Path:
    """A results folder holding the committed cell, the curves it names and one
    subjectivity record."""
    shutil.copytree(RESULTS / "cells" / CELL, to / "cells" / CELL)
    (to / "curves").mkdir()
    for name in CURVES:
        shutil.copy(RESULTS / "curves" / name, to / "curves" / name)
    (to / "subjectivity").mkdir()
    shutil.copy(RESULTS / "subjectivity" / SUBJECTIVITY, to / "subjectivity" / SUBJECTIVITY)
    (to / "ceilings").mkdir()
    record = json.loads((RESULTS / "cells" / CELL / "result.json").read_text(encoding="utf-8"))
    for scores in record["classifiers"].values():
        name = scores["ceiling"]["file"]  # None where the ceiling was left unfitted
        if name:
            shutil.copy(RESULTS / "ceilings" / name, to / "ceilings" / name)
    return to


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    return _results(tmp_path / "submission")


def resign(results: Path, change: Callable[[dict[str, Any]], None], name: str = CELL) -> str:
    """Edit the cell's record, then give it the config hash, cell name and folder that its
    config yields, as a submitter with the project's own functions would; the folder's name."""
    folder = results / "cells" / name
    record = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    change(record)
    try:
        config = CellConfig.from_record(record["config"])
        record["config_hash"] = config_hash(config)
        new = cell_dir(results, config, str(record["generation_key"]))
    except (TypeError, ValueError, KeyError):
        new = folder  # a config the project cannot hash stays where it was
    record["cell"] = new.name
    (folder / "result.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    if new != folder:
        folder.rename(new)
    return new.name


def _validate(args: list[str], capsys: pytest.CaptureFixture[str], data: Path
              ) -> tuple[int, list[str]]:
    code = main(["validate", *args, "--data-dir", str(data)])
    out, err = capsys.readouterr()
    return code, [line for line in (out + err).splitlines() if line]


def _refused(lines: list[str]) -> list[str]:
    """The problem lines of a failed validation, prefix removed."""
    assert lines[-1].startswith("synthbench: ") and "problem(s) in" in lines[-1], lines
    assert all(line.startswith("synthbench: invalid: ") for line in lines[:-1]), lines
    return [line.removeprefix("synthbench: invalid: ") for line in lines[:-1]]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(record: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = record
        for key in parents:
            target = target[key]
        target[leaf] = value
    return change


TFIDF = "classifiers.tfidf_lr"
CASES: list[tuple[str, str, Any, str]] = [
    # (id, dotted field, value, what the one line says)
    ("utility-nan", f"{TFIDF}.utility", float("nan"), "not valid JSON (non-finite number NaN)"),
    ("utility-inf", f"{TFIDF}.utility", float("inf"),
     "not valid JSON (non-finite number Infinity)"),
    ("utility-negative", f"{TFIDF}.utility", -5, f"{TFIDF}.utility -5 is negative"),
    ("utility-42", f"{TFIDF}.utility", 42,
     f"{TFIDF}.utility 42.000000 is not its stored synthetic / real macro-F1"),
    ("utility-0.99", f"{TFIDF}.utility", 0.99,
     f"{TFIDF}.utility 0.990000 is not its stored synthetic / real macro-F1 (0.907255)"),
    ("f1-1.7", f"{TFIDF}.synthetic.macro_f1", 1.7,
     f"{TFIDF}.synthetic.macro_f1 1.7 is outside [0, 1]"),
    ("f1-string", f"{TFIDF}.synthetic.macro_f1", "0.9",
     f'{TFIDF}.synthetic.macro_f1 "0.9" is not a number'),
    ("label-accuracy", "metrics.label_accuracy.value", -3,
     "metrics.label_accuracy.value -3 is outside [0, 1]"),
    ("n-real", "n_real", -1, "n_real -1 is negative"),
    ("schema-bool", "schema_version", True, "schema_version true is not an integer"),
    ("cost-negative", "cost.usd", -1.5, "cost.usd -1.5 is negative"),
    ("config-nan", "config.generator_params.temperature", float("nan"),
     "not valid JSON (non-finite number NaN)"),
    ("task-script", "config.task", "<script>alert(1)</script>",
     'config.task "<script>alert(1)</script>" is not a plain id'),
    ("generator-formula", "config.generator", "@SUM(1+1)",
     'config.generator "@SUM(1+1)" is not a plain id'),
    ("local-dir-up", "task.local_dir", "../../../../secretdir",
     'task.local_dir "../../../../secretdir" is not one plain folder name'),
    ("local-dir-absolute", "task.local_dir", "/etc",
     'task.local_dir "/etc" is not one plain folder name'),
    ("gap-closed", f"{TFIDF}.gap_closed", 0.99,
     f"{TFIDF}.gap_closed 0.990000 does not match"),
    ("chance", f"{TFIDF}.chance_macro_f1", 0.1,
     f"{TFIDF}.chance_macro_f1 0.100000 does not match"),
    ("ceiling-f1", f"{TFIDF}.ceiling.macro_f1", 0.99,
     f"{TFIDF}.ceiling.macro_f1 0.99 is not the one in ceilings/"),
    ("ceiling-path", f"{TFIDF}.ceiling.file", "../../../etc/passwd",
     f"{TFIDF}.ceiling.file '../../../etc/passwd' is not a file under ceilings/"),
]


@pytest.mark.parametrize(("field", "value", "says"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_forged_or_impossible_record_is_refused_in_one_line(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], field: str,
        value: Any, says: str) -> None:
    name = resign(results, _set(field, value))
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    [problem] = _refused(lines)
    assert problem.startswith(f"cell {name}: ") and says in problem, problem


def test_the_honest_cell_passes_with_its_scores_recomputed(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 0, lines
    assert lines[0] == f"1 cell(s) valid; 1 recomputed from their texts and the real data: {CELL}"
    ceilings = len(list((results / "ceilings").glob("*.json")))
    assert ceilings == 3  # tfidf_lr, minilm_lr and minilm_ft (on 400 texts) all fitted
    assert (f"other results checked: baselines 0, curves 2, ceilings {ceilings}, subjectivity 1"
            in lines)
    not_recomputed = "\n".join(lines)
    assert "not recomputed: minilm_ft (its plugin declares it not recomputable" in not_recomputed
    assert "not recomputed: subjectivity (an LLM's judgments" in not_recomputed


@pytest.mark.parametrize("side", ["synthetic", "real"])
def test_a_stored_f1_moved_by_a_hundredth_is_caught_by_the_refit(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], side: str) -> None:
    def nudge(record: dict[str, Any]) -> None:
        scores = record["classifiers"]["tfidf_lr"]
        scores[side]["macro_f1"] += 0.01
        scores["utility"] = scores["synthetic"]["macro_f1"] / scores["real"]["macro_f1"]
        if side == "synthetic":  # keep N_eq true to the moved F1, as a careful forger would
            from synthbench.metrics.equivalence import LearningCurve, real_equivalent_n

            curve = LearningCurve.from_json(json.loads(
                (results / "curves" / CURVES[1]).read_text(encoding="utf-8")))
            scores["n_eq"] = {**real_equivalent_n(curve, scores[side]["macro_f1"]).to_json(),
                              "curve": CURVES[1]}
            from synthbench.metrics.headroom import gap_closed  # and its gap closed

            scores["gap_closed"] = gap_closed(scores[side]["macro_f1"],
                                              scores["chance_macro_f1"],
                                              scores["ceiling"]["macro_f1"])

    name = resign(results, nudge)
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    [problem] = _refused(lines)
    assert problem.startswith(f"cell {name}: {TFIDF}.{side}.macro_f1 ") and \
        "does not match" in problem, problem


def test_a_raised_ceiling_is_caught_by_refitting_it(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A forger who lowers a cell's gap by raising its ceiling, in the ceiling file and in the
    record alike (gap closed recomputed to match), is caught by the ceiling's refit."""
    from synthbench.metrics.headroom import gap_closed

    raised: dict[str, Any] = {}

    def raise_ceiling(record: dict[str, Any]) -> None:
        scores = record["classifiers"]["tfidf_lr"]
        path = results / "ceilings" / scores["ceiling"]["file"]
        fitted = json.loads(path.read_text(encoding="utf-8"))
        fitted["macro_f1"] = scores["ceiling"]["macro_f1"] = fitted["macro_f1"] + 0.05
        path.write_text(json.dumps(fitted), encoding="utf-8")
        scores["gap_closed"] = gap_closed(scores["synthetic"]["macro_f1"],
                                          scores["chance_macro_f1"], fitted["macro_f1"])
        raised["file"] = path.name

    resign(results, raise_ceiling)
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    [problem] = _refused(lines)
    assert problem.startswith(f"ceilings/{raised['file']}: macro_f1 ") and \
        "does not match" in problem, problem


def test_an_unknown_but_plain_plugin_id_shows_as_unverified(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    resign(results, _set("config.model", "someprovider/some-model"))
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 0, lines
    assert any(line.startswith("unverified plugin: someprovider/some-model") for line in lines)


def _big(path: Path) -> None:
    """A sparse file just over the size bound."""
    with path.open("wb") as handle:
        handle.truncate(9 * 1024 * 1024)


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    path.unlink()
    make(path)


FILES: list[tuple[str, Callable[[Path], None], str]] = [
    ("symlink-dev-zero", lambda p: p.symlink_to("/dev/zero"),
     "cells/{cell}/synthetic.jsonl: is a symlink (a submission holds regular files only)"),
    ("fifo", lambda p: os.mkfifo(p), "cells/{cell}/synthetic.jsonl: is not a regular file"),
    ("oversized", _big,
     "cell {cell}: synthetic.jsonl is 9437184 bytes, over the 8388608-byte bound"),
    ("not-utf8", lambda p: p.write_bytes(b'{"text": "caf\xe9", "label": "irony"}\n'),
     "cell {cell}: synthetic.jsonl line 1 is not UTF-8"),
]


@pytest.mark.parametrize(("make", "says"), [f[1:] for f in FILES], ids=[f[0] for f in FILES])
def test_a_texts_file_that_is_not_a_small_regular_file_is_refused(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str],
        make: Callable[[Path], None], says: str) -> None:
    _replace(results / "cells" / CELL / "synthetic.jsonl", make)
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    assert _refused(lines) == [says.format(cell=CELL)]


def test_deeply_nested_json_is_one_line(results: Path, shared_data: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (results / "cells" / CELL / "result.json").write_text("[" * 100_000 + "]" * 100_000)
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    assert _refused(lines) == [f"cell {CELL}: result.json nests 100000 levels deep (at most 64)"]


def test_a_cell_folder_symlinked_outside_is_refused(
        tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = _results(tmp_path / "outside")
    results = tmp_path / "submission"
    (results / "cells").mkdir(parents=True)
    (results / "cells" / CELL).symlink_to(outside / "cells" / CELL)
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    assert _refused(lines) == [f"cells/{CELL}: is a symlink (a submission holds regular files "
                               "only)"]


def test_a_file_outside_the_results_layout_is_refused(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (results / "notes.json").write_text("{}")
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    assert _refused(lines) == ["notes.json: unexpected file in a results folder"]


def test_the_stores_lock_files_pass_and_nothing_else_hides_beside_them(
        results: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every run leaves ``.locks/*.lock`` (its claims) behind: they pass; anything else in
    that folder is refused like anywhere else."""
    (results / ".locks").mkdir()
    (results / ".locks" / f"{CELL}.lock").write_bytes(b"")
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 0, lines
    (results / ".locks" / "extra.json").write_text("{}")
    (results / ".locks" / "nested").mkdir()
    code, lines = _validate([str(results)], capsys, shared_data)
    assert code == 1
    assert sorted(_refused(lines)) == [".locks/extra.json: unexpected file in a results folder",
                                       ".locks/nested: unexpected folder in a results folder"]


@pytest.mark.parametrize("folder", ["subjectivity", "curves"])
def test_rewriting_an_existing_result_outside_cells_is_refused_against_the_base(
        tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str],
        folder: str) -> None:
    base, results = _results(tmp_path / "base"), _results(tmp_path / "submission")
    name = SUBJECTIVITY if folder == "subjectivity" else CURVES[1]
    path = results / folder / name
    record = json.loads(path.read_text(encoding="utf-8"))
    if folder == "subjectivity":
        record["couple_debiased"]["scores"]["humor"]["score"] = 0.01
    else:
        record["points"][0]["macro_f1"] = round(record["points"][0]["macro_f1"] - 0.05, 6)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    code, lines = _validate([str(results), "--base", str(base)], capsys, shared_data)
    assert code == 1
    assert _refused(lines) == [f"{folder}/{name}: changed (an existing result may not change "
                               "unless --allow-regenerate)"]
    code, lines = _validate([str(results), "--base", str(base), "--allow-regenerate"], capsys,
                            shared_data)
    if folder == "subjectivity":
        assert code == 0, lines
    else:  # a regenerated curve is refitted: its first point no longer matches the real data
        assert code == 1
        [problem] = _refused(lines)
        assert problem.startswith(f"curves/{name}: points[n=25].macro_f1 ") and \
            "does not match" in problem


def test_the_page_never_reads_a_data_folder_a_record_names(tmp_path: Path) -> None:
    secret = tmp_path / "secretdir"
    secret.mkdir()
    (secret / "train.jsonl").write_text('{"text": "the secret text", "label": "x"}\n')
    data = tmp_path / "data" / "deep"
    data.mkdir(parents=True)
    records = [{"config": {"task": "t"}, "task": {"local_dir": "../../secretdir"}},
               {"config": {"task": "u"}, "task": {"local_dir": str(secret)}}]
    assert real_texts(data, records) == {}


@pytest.mark.parametrize(("seed", "says"), [
    ("", "--seed '' is not an integer"),
    ("-1", "--seed -1 is negative"),
    (str(2 ** 70), f"--seed {2 ** 70} is over"),
])
def test_a_bad_seed_is_refused_before_any_generation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: str, says: str) -> None:
    code = main(["run", "--model", "mock", "--task", "sst2", "--n", "4", "--seed", seed,
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("synthbench: error: ") and says in err and "\n" not in err, err
    assert not (tmp_path / "out" / "cells").exists() or \
        not any((tmp_path / "out" / "cells").iterdir())


WORKFLOWS = REPO / ".github" / "workflows"


def _steps(workflow: str) -> list[dict[str, Any]]:
    import yaml

    jobs = yaml.safe_load((WORKFLOWS / workflow).read_text(encoding="utf-8"))["jobs"]
    return [step for job in jobs.values() for step in job.get("steps", [])]


def test_the_submission_workflow_judges_with_the_base_commits_code() -> None:
    """No step installs the pull request's checkout; synthbench comes from the base worktree,
    runs outside the checkout, loads no local plugins, and code changes are refused."""
    import yaml

    steps = _steps("leaderboard-pr.yml")
    runs = [str(step.get("run", "")) for step in steps]
    installs = [r for r in runs if "pip install" in r]
    assert len(installs) == 1 and all(
        "$RUNNER_TEMP/base" in line for line in installs[0].splitlines() if "pip install" in line
    ), installs  # the base commit's lock and code, never the pull request's
    assert not any(re.search(r"pip install (-e )?\.(\s|$|\[)", r) for r in runs)
    base_at = next(i for i, r in enumerate(runs) if "git worktree add" in r and "BASE_SHA" in r)
    assert base_at < runs.index(installs[0])
    for step in steps:
        if "synthbench " in str(step.get("run", "")):
            assert step.get("working-directory") == "${{ runner.temp }}", step
    assert all("--no-local-plugins" in line for r in runs
               for line in re.findall(r"synthbench leaderboard[^\n]*", r))
    assert any(":(exclude)leaderboard/**" in r and "exit 1" in r for r in runs)
    trigger = yaml.safe_load((WORKFLOWS / "leaderboard-pr.yml").read_text())[True]
    assert trigger["pull_request"]["paths"] == ["leaderboard/**"]


def test_actions_are_pinned_by_commit_and_only_deploy_writes_pages() -> None:
    import yaml

    for path in sorted(WORKFLOWS.glob("*.yml")):
        for step in _steps(path.name):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        text = path.read_text(encoding="utf-8")
        assert all(re.search(r"@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line)
                   for line in text.splitlines() if "uses:" in line), path.name
        flow = yaml.safe_load(text)
        assert flow["permissions"] == {"contents": "read"}, path.name
        for name, job in flow["jobs"].items():
            writes = {k for k, v in (job.get("permissions") or {}).items() if v == "write"}
            assert writes <= ({"pages", "id-token"} if name == "deploy" else set()), name

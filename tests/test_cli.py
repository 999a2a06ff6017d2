"""The command line end to end on the mock provider: run, reuse, leaderboard, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthbench.cli import main
from synthbench.embeddings import default_embedder
from synthbench.metrics import remote_clique

SCRIPT = str(Path(sys.executable).parent / "synthbench")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def mock_results(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """One mock grid: 3 tasks x 2 seeds, stored once for the tests of this module."""
    out = tmp_path_factory.mktemp("results")
    code = main(["run", "--model", "mock/a", "--task", "trec,relation_classification",
                 "--task", "tweet_irony", "--n", "24", "--seed", "0,1", "--out", str(out),
                 "--data-dir", str(shared_data), "--oracle-size", "1000", "--no-progress"])
    assert code == 0
    return out


def test_run_stores_one_record_per_cell(mock_results: Path) -> None:
    cells = sorted((mock_results / "cells").iterdir())
    assert len(cells) == 6
    record = json.loads((cells[0] / "result.json").read_text())
    assert record["config"]["n"] == 24 and record["n_synthetic"] == 24
    assert record["n_real"] == 24
    assert set(record["classifiers"]) == {"tfidf_lr", "minilm_lr"}
    for scores in record["classifiers"].values():
        assert 0 <= scores["synthetic"]["macro_f1"] <= 1
        assert scores["utility"] == pytest.approx(
            scores["synthetic"]["macro_f1"] / scores["real"]["macro_f1"])
    metrics = record["metrics"]
    texts = [json.loads(line)["text"] for line in
             (cells[0] / "synthetic.jsonl").read_text().splitlines()]
    expected = remote_clique(default_embedder().encode(texts))
    assert metrics["diversity"]["synthetic"]["remote_clique"] == pytest.approx(expected, 1e-6)
    assert metrics["embedder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert record["subjectivity"]["provisional"] is True
    assert record["provenance"]["packages"]["synthbench"] == "0.1.0"
    assert record["generation"]["counts"]["requested"] == 24
    lines = (cells[0] / "synthetic.jsonl").read_text().splitlines()
    assert len(lines) == 24 and all(json.loads(line)["text"] for line in lines)


def test_second_run_reuses_everything(mock_results: Path, shared_data: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.stat().st_mtime_ns for p in mock_results.rglob("*.json*")}
    code, out, err = run_cli(["run", "--model", "mock/a", "--task",
                              "trec,relation_classification,tweet_irony", "--n", "24", "--seed",
                              "0", "--seed", "1", "--out", str(mock_results), "--data-dir",
                              str(shared_data), "--oracle-size", "1000"], capsys)
    assert code == 0
    assert err.count("stored, reused") == 6
    assert before == {p: p.stat().st_mtime_ns for p in mock_results.rglob("*.json*")}
    assert "utility" in out and "tweet_irony" in out


def test_setting_a_default_explicitly_is_the_same_cell(mock_results: Path, shared_data: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "--model", "mock/a", "--task", "trec", "--n", "24",
                            "--temperature", "1.0", "--out", str(mock_results),
                            "--oracle-size", "1000", "--data-dir", str(shared_data)], capsys)
    assert code == 0 and "stored, reused" in err


def test_the_oracle_classifier_is_part_of_the_cell(tmp_path: Path, shared_data: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Label accuracy depends on the oracle, so another oracle is another cell (its own hash,
    the same generated texts); naming the default explicitly is the stored cell."""
    base = ["run", "--model", "mock/a", "--task", "trec", "--n", "12", "--out",
            str(tmp_path), "--oracle-size", "300", "--data-dir", str(shared_data),
            "--classifier", "tfidf_lr"]
    assert run_cli(base, capsys)[0] == 0
    code, _, err = run_cli([*base, "--oracle", "minilm_lr"], capsys)
    assert code == 0 and "stored, reused" in err
    code, _, err = run_cli([*base, "--oracle", "tfidf_lr"], capsys)
    assert code == 0 and "stored, reused" not in err
    records = [json.loads(p.read_text()) for p in tmp_path.glob("cells/*/result.json")]
    by_oracle = {r["config"].get("oracle"): r for r in records}
    assert set(by_oracle) == {None, "tfidf_lr"}
    plain, other = by_oracle[None], by_oracle["tfidf_lr"]
    assert plain["config_hash"] != other["config_hash"]
    assert plain["generation_key"] == other["generation_key"]
    assert other["metrics"]["label_accuracy"]["oracle"].startswith("tfidf_lr trained on")
    assert plain["metrics"]["label_accuracy"]["oracle"].startswith("minilm_lr trained on")


def test_leaderboard_is_a_pure_function_of_the_store(mock_results: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        code, stdout, _ = run_cli(["leaderboard", "--results", str(mock_results),
                                   "--out", str(out)], capsys)
        assert code == 0 and "from 6 cell(s)" in stdout
    for name in ("leaderboard.json", "leaderboard.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    board = json.loads((first / "leaderboard.json").read_text())
    assert [t["id"] for t in board["tasks"]] == ["trec", "relation_classification",
                                                 "tweet_irony"]
    rows = {r["classifier"]: r for r in board["rows"]}
    assert set(rows) == {"minilm_lr", "tfidf_lr"}
    row = rows["tfidf_lr"]
    assert row["model"] == "mock/a" and row["generator"] == "zero_shot" and row["n_tasks"] == 3
    assert -1 <= row["spearman_rho"] <= 1 and row["per_task"]["tweet_irony"]["seeds"] == 2
    markdown = (first / "leaderboard.md").read_text()
    assert "Spearman ρ" in markdown and "provisional" in markdown


def test_generation_survives_a_crash_before_the_result(mock_results: Path, shared_data: Path,
                                                       tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A cell whose texts are stored but whose result.json was never written reuses the texts."""
    out = tmp_path / "results"
    args = ["run", "--model", "mock/a", "--task", "trec", "--n", "24", "--out", str(out),
            "--data-dir", str(shared_data), "--classifier", "tfidf_lr", "--oracle-size", "1000"]
    assert run_cli(args, capsys)[0] == 0
    (cell,) = (out / "cells").iterdir()
    first = json.loads((cell / "result.json").read_text())
    (cell / "result.json").unlink()
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "reusing stored synthetic texts" in err
    again = json.loads((cell / "result.json").read_text())
    assert again["classifiers"] == first["classifiers"]
    assert again["metrics"] == first["metrics"]


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--model", "nope/x", "--task", "sst2"], "unknown model 'nope/x'"),
    (["run", "--model", "mock/a", "--task", "sst3"], "unknown task 'sst3'"),
    (["run", "--model", "mock/a", "--task", "sst2", "--generator", "magic"],
     "unknown generator 'magic'"),
    (["run", "--model", "mock/a", "--task", "sst2", "--classifier", "svm9"],
     "unknown classifier 'svm9'"),
    (["run", "--model", "mock/a", "--task", "sst2", "-G", "colour=red"],
     "rejects its parameters"),
    (["run", "--model", "mock/a", "--task", "sst2", "-G", "novalue"], "not KEY=VALUE"),
    (["run", "--model", "mock/a", "--task", "sst2", "--n", "0"], "--n must be at least 1"),
    (["run", "--model", "mock/a", "--task", "sst2", "--seed", "x"], "--seed takes integers"),
    (["run", "--model", "mock/a", "--task", "sst2", "--data-dir", "/no/such/dir"],
     "data directory '/no/such/dir' does not exist"),
    (["run", "--model", "mock/a", "--task", "clickbait", "--data-dir", "{empty}"],
     "no train split at"),
    (["leaderboard", "--results", "/no/such/results"], "does not exist"),
    (["run", "--model", "mock/a", "--task", "sst2", "-P", "engine=transformers"],
     "-P engine: no provider of this run takes that option"),
    (["run", "--model", "local", "--task", "sst2", "-P", "engine=vllm"],
     "-P engine='vllm': write one of ctranslate2, transformers"),
    (["run", "--model", "mock/a", "--task", "sst2", "-P", "engine"], "write a provider option"),
    (["run", "--model", "mock/a", "--task", "sst2", "--oracle", "svm9"],
     "the oracle classifier 'svm9' is not loaded"),
])
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.replace("{empty}", str(tmp_path)) for a in args]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "out")] if args[0] == "run"
                             else args, capsys)
    assert code == 1
    assert err.strip().count("\n") == 0, err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "cells").exists()


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--task", "sst2", "--colour", "red"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --colour red" in err and err.count("\n") == 1


def test_unreadable_result_is_reported_and_kept(mock_results: Path, tmp_path: Path,
                                                shared_data: Path) -> None:
    """Through the real console script: one line, exit 1, and the file is left as it was."""
    results = tmp_path / "results"
    (results / "cells").mkdir(parents=True)
    broken = results / "cells" / "x" / "result.json"
    broken.parent.mkdir()
    broken.write_text('{"config": ')
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run([SCRIPT, "leaderboard", "--results", str(results), "--out",
                           str(tmp_path / "lb")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and str(broken) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert broken.read_text() == '{"config": '
    assert not (tmp_path / "lb").exists()


def test_list_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for what, expected in [("tasks", "relation_classification"), ("models", "local"),
                           ("generators", "few_shot"), ("classifiers", "minilm_lr"),
                           ("plugins", "tasks_li2023")]:
        code, out, _ = run_cli(["list", what], capsys)
        assert code == 0 and expected in out
    code, out, _ = run_cli(["list", "tasks"], capsys)
    assert len([line for line in out.splitlines()[2:] if line.strip()]) == 15


def test_missing_data_fails_before_any_cell_runs(tmp_path: Path, shared_data: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """trec's data is there, clickbait's is not: nothing may be computed before the error."""
    data = tmp_path / "data"
    (data / "trec").mkdir(parents=True)
    for split in ("train", "test"):
        (data / "trec" / f"{split}.jsonl").write_bytes(
            (shared_data / "trec" / f"{split}.jsonl").read_bytes())
    code, _, err = run_cli(["run", "--model", "mock/a", "--task", "trec,clickbait", "--n", "12",
                            "--data-dir", str(data), "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and "clickbait" in err and "no train split" in err
    assert not (tmp_path / "out").exists()


def test_adding_a_classifier_keeps_texts_and_scores(shared_data: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A second classifier is scored on the stored texts; the first keeps its scores, and the
    leaderboard still counts the seed once."""
    out = tmp_path / "results"
    base = ["run", "--model", "mock/a", "--task", "trec", "--n", "18", "--out", str(out),
            "--data-dir", str(shared_data), "--oracle-size", "500"]
    assert run_cli([*base, "--classifier", "tfidf_lr"], capsys)[0] == 0
    (cell,) = (out / "cells").iterdir()
    first = json.loads((cell / "result.json").read_text())
    texts = (cell / "synthetic.jsonl").read_bytes()
    code, _, err = run_cli([*base, "--classifier", "minilm_lr"], capsys)
    assert code == 0 and "reusing stored synthetic texts" in err
    assert [p.name for p in (out / "cells").iterdir()] == [cell.name]
    merged = json.loads((cell / "result.json").read_text())
    assert (cell / "synthetic.jsonl").read_bytes() == texts
    assert set(merged["classifiers"]) == {"tfidf_lr", "minilm_lr"}
    assert merged["classifiers"]["tfidf_lr"] == first["classifiers"]["tfidf_lr"]
    assert merged["metrics"] == first["metrics"]
    code, _, err = run_cli([*base, "--classifier", "minilm_lr,tfidf_lr"], capsys)
    assert code == 0 and "stored, reused" in err
    code, _, _ = run_cli(["leaderboard", "--results", str(out), "--out", str(tmp_path / "lb")],
                         capsys)
    board = json.loads((tmp_path / "lb" / "leaderboard.json").read_text())
    assert code == 0 and {r["per_task"]["trec"]["seeds"] for r in board["rows"]} == {1}


def test_different_data_is_a_different_cell(shared_data: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The same command on other real data must not reuse a cell made on the first."""
    data = tmp_path / "data" / "trec"
    data.mkdir(parents=True)
    for split in ("train", "test"):
        rows = (shared_data / "trec" / f"{split}.jsonl").read_text().splitlines()
        (data / f"{split}.jsonl").write_text("\n".join(rows[: len(rows) // 2]) + "\n")
    out = tmp_path / "results"
    for data_dir in (shared_data, tmp_path / "data"):
        code, _, err = run_cli(["run", "--model", "mock/a", "--task", "trec", "--n", "18",
                                "--classifier", "tfidf_lr", "--oracle-size", "500", "--out",
                                str(out), "--data-dir", str(data_dir)], capsys)
        assert code == 0 and "reused" not in err
    assert len(list((out / "cells").iterdir())) == 2
    code, _, err = run_cli(["leaderboard", "--results", str(out), "--out", str(tmp_path / "lb")],
                           capsys)
    assert code == 1 and "same cell on different data" in err


def test_unwritable_out_fails_before_generation(shared_data: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(["run", "--model", "mock/a", "--task", "trec", "--n", "12",
                            "--out", str(blocker / "results"), "--data-dir", str(shared_data)],
                           capsys)
    assert code == 1 and "cannot write results under" in err and err.count("\n") == 1

"""``synthbench run`` with pytest's manners: a grid file found from the current folder upwards,
``-k`` selecting cells by their ids, and a ``--junitxml`` report for CI, on the mock provider."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from synthbench.cli import main
from synthbench.cli.gridfile import parse_table
from synthbench.cli.junit import CaseReport, to_xml, write_junitxml
from synthbench.cli.keywords import cell_ids, compile_keywords, select
from synthbench.errors import SynthbenchError
from synthbench.record import CellConfig
from synthbench.run import stages
from synthbench.run.grid import curation_grid, generator_grid


def _toml(values: dict[str, Any]) -> str:
    """A tiny TOML writer for the flat tables these tests need."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, list):
            return "[" + ", ".join(map(value, v)) + "]"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(v)
    return "".join(f"{k} = {value(v)}\n" for k, v in values.items())


def _grid(shared_data: Path, **extra: Any) -> dict[str, Any]:
    return {"model": "mock/a", "tasks": ["trec"], "n": 12, "seeds": [0, 1],
            "classifiers": ["tfidf_lr"], "oracle-size": 300, "out": "results",
            "data-dir": str(shared_data), "no-progress": True, **extra}


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _planned(out: str) -> list[str]:
    """The cell names of a dry run's table."""
    return sorted(line.split()[0] for line in out.splitlines() if "__mock-" in line)


# --- the grid file -------------------------------------------------------------------------

def test_pyproject_grid_runs_with_no_arguments(tmp_path: Path, shared_data: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Run from a subfolder: the file is found upwards, and its relative ``out`` is the file's
    folder's, not the current one's."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.synthbench]\n"
                                             + _toml(_grid(shared_data)))
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    code, out, err = _cli(["run"], capsys)
    assert code == 0, err
    assert f"grid file: {tmp_path / 'pyproject.toml'} [tool.synthbench]" in err
    cells = sorted(p.name for p in (tmp_path / "results" / "cells").iterdir())
    assert [c.split("__")[:4] for c in cells] == [["trec", "mock--a", "zero_shot", "s0"],
                                                  ["trec", "mock--a", "zero_shot", "s1"]]
    assert not (tmp_path / "deep" / "er" / "results").exists()
    assert "tfidf_lr" in out and "trec" in out


def test_flags_override_the_file(tmp_path: Path, shared_data: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A repeatable flag replaces the file's list rather than adding to it."""
    (tmp_path / "synthbench.toml").write_text(_toml(_grid(shared_data)))
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(["run", "--dry-run"], capsys)
    assert code == 0, err
    assert [n.split("__")[3] for n in _planned(out)] == ["s0", "s1"]
    code, out, err = _cli(["run", "--dry-run", "--seed", "5", "--task", "tweet_irony",
                           "--model", "mock/b"], capsys)
    assert code == 0, err
    assert [n.split("__")[:4] for n in _planned(out)] == [
        ["tweet_irony", "mock--b", "zero_shot", "s5"]]


def test_synthbench_toml_wins_and_the_nearest_folder_ends_the_search(
        tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "synthbench.toml").write_text(_toml(_grid(shared_data, model="mock/outer")))
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[tool.synthbench]\n"
                                          + _toml(_grid(shared_data, model="mock/pyproject")))
    (inner / "synthbench.toml").write_text(_toml(_grid(shared_data, model="mock/own")))
    monkeypatch.chdir(inner)
    code, out, err = _cli(["run", "--dry-run"], capsys)
    assert code == 0 and {n.split("__")[1] for n in _planned(out)} == {"mock--own"}, err
    (inner / "synthbench.toml").unlink()
    code, out, _ = _cli(["run", "--dry-run"], capsys)
    assert code == 0 and {n.split("__")[1] for n in _planned(out)} == {"mock--pyproject"}
    (inner / "pyproject.toml").write_text("[project]\nname = 'no grid here'\n")
    code, out, _ = _cli(["run", "--dry-run"], capsys)
    assert code == 0 and {n.split("__")[1] for n in _planned(out)} == {"mock--outer"}


@pytest.mark.parametrize(("body", "message"), [
    ('classifer = "tfidf_lr"\n', "unknown key 'classifer'; did you mean 'classifier'?"),
    ('colour = "red"\n', "unknown key 'colour'; the keys are run's long options"),
    ('n = "100"\n', "key 'n' must be an integer, got str '100'"),
    ("n = true\n", "key 'n' must be an integer"),
    ("seeds = [0, true]\n", "key 'seeds' must be an integer or a list of integers"),
    ("classifiers = []\n", "key 'classifiers' must be a string or a list of strings"),
    ('mode = "fast"\n', "key 'mode' must be one of online, batch"),
    ('temperature = "hot"\n', "key 'temperature' must be a number"),
    ('model = "mock/a"\nmodels = ["mock/b"]\n', "key 'model' is given twice"),
    ("generator-params = 3\n", "key 'generator-params' must be a table"),
    ("[generator-params]\nstyle = {a = 1}\n", "key 'generator-params.style' must be"),
    ("n = \n", "not valid TOML"),
])
def test_bad_grid_file_is_one_line(body: str, message: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "synthbench.toml"
    path.write_text('task = "trec"\n' + body if not body.startswith("[") else body)
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["run", "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path) in err and message in err, err
    assert not (tmp_path / "out").exists()


def test_tables_become_the_flags_strings(tmp_path: Path) -> None:
    """Each table reads into what its flag would give: -G sweeps, -I per step, -B, -P, and
    folders relative to the file."""
    path = tmp_path / "synthbench.toml"
    values = parse_table({
        "models": ["mock/a", "local"], "seed": 3, "mix-real": [10, 50], "n-eq": True,
        "temperature": 1, "out": "res", "data-dir": "/abs/data",
        "generator-params": {"temperature": [0.3, 0.7], "style": "dry, short", "k": 5},
        "intervention-params": {"label_replacement": {"k": [90, "all"]}},
        "baseline-params": {"k": 8}, "provider-options": {"engine": "transformers",
                                                          "trust": False}}, path)
    assert values == {
        "model": ["mock/a", "local"], "seed": ["3"], "mix_real": ["10", "50"], "n_eq": True,
        "temperature": 1.0, "out": str(tmp_path / "res"), "data_dir": "/abs/data",
        "generator_params": ["temperature=0.3,0.7", 'style="dry, short"', "k=5"],
        "intervention_params": ['label_replacement.k=90,"all"'],
        "baseline_params": ["k=8"], "provider_options": ["engine=transformers", "trust=false"]}
    assert generator_grid(values["generator_params"]) == [
        {"temperature": t, "style": "dry, short", "k": 5} for t in (0.3, 0.7)]
    assert curation_grid(["label_replacement"], values["intervention_params"]) == [
        [("label_replacement", {"k": 90})], [("label_replacement", {"k": "all"})]]


def test_tool_synthbench_that_is_not_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool]\nsynthbench = "trec"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["run"], capsys)
    assert code == 2 and err.count("\n") == 1 and "tool.synthbench must be a table" in err


def test_no_arguments_and_no_grid_file_says_what_to_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["run"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "--task" in err and "[tool.synthbench]" in err and "synthbench.toml" in err


def test_list_ignores_a_broken_grid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Only ``run`` reads the grid file."""
    (tmp_path / "synthbench.toml").write_text("this is not toml")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _cli(["list", "classifiers"], capsys)
    assert code == 0 and "tfidf_lr" in out


# --- -k ------------------------------------------------------------------------------------

def _config(task: str, model: str, generator: str, seed: int) -> CellConfig:
    return CellConfig(model=model, task=task, generator=generator,
                      generator_params={"temperature": 1.0}, n=12, seed=seed,
                      classifiers=("tfidf_lr",))


GRID = [_config(t, m, g, s) for t in ("trec", "tweet_irony") for m in ("mock/a", "local")
        for g in ("zero_shot", "few_shot") for s in (0, 1)]


def _names(expr: str) -> set[str]:
    return {f"{c.task}/{c.model}/{c.generator}/s{c.seed}" for c in select(GRID, expr)}


@pytest.mark.parametrize(("expr", "count"), [
    ("trec", 8), ("TREC", 8), ("irony", 8), ("s1", 8), ("few", 8), ("mock", 8),
    ("trec and s0", 4), ("trec and not s0", 4), ("not trec", 8), ("not not trec", 8),
    ("trec or irony", 16), ("trec and mock and few_shot and s1", 1),
    ("(trec or irony) and local and s0", 4), ("trec and (zero or s1)", 6),
    ("not (trec or zero_shot)", 4), ("temperature=1.0", 16), ("nothing_like_this", 0),
])
def test_keywords_select_the_expected_cells(expr: str, count: int) -> None:
    assert len(select(GRID, expr)) == count


def test_keyword_precedence_is_not_then_and_then_or() -> None:
    assert _names("irony or trec and s0 and local") == _names(
        "irony or (trec and s0 and local)")
    assert _names("not trec and s0") == _names("(not trec) and s0")
    assert _names("trec and s0 or irony and s1") == _names("(trec and s0) or (irony and s1)")
    assert _names("trec and mock and few_shot and s1") == {"trec/mock/a/few_shot/s1"}


def test_a_word_is_data_never_code() -> None:
    assert select(GRID, "__import__ or os.system;false or 1/0") == []
    with pytest.raises(SynthbenchError, match="unexpected '\\('"):
        select(GRID, "__import__('os')")
    assert compile_keywords("mock/a")(cell_ids(GRID[0]))


@pytest.mark.parametrize(("expr", "problem"), [
    ("", "expected a word or '(' at column 1"),
    ("   ", "expected a word or '('"),
    ("trec and", "expected a word or '(' at column 9"),
    ("(trec", "expected ')'"),
    ("trec)", "unexpected ')' at column 5"),
    ("not", "expected a word"),
    ("and trec", "got 'and' at column 1"),
    ("trec or or s0", "got 'or' at column 9"),
    ("trec s0", "unexpected 's0' at column 6"),
    ("()", "got ')'"),
])
def test_malformed_keywords_are_refused(expr: str, problem: str) -> None:
    with pytest.raises(SynthbenchError, match=r"^-k ") as info:
        compile_keywords(expr)
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_dry_run_shows_the_selection(tmp_path: Path, shared_data: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", "--model", "mock/a,mock/b", "--task", "trec,tweet_irony", "--seed", "0,1",
            "--n", "12", "--data-dir", str(shared_data), "--out", str(tmp_path / "out"),
            "--dry-run"]
    code, out, err = _cli([*base, "-k", "(trec or irony) and mock/b and not s1"], capsys)
    assert code == 0, err
    assert "2 of 8 cell(s) selected" in out.splitlines()[0]
    assert [n.split("__")[:4] for n in _planned(out)] == [
        ["trec", "mock--b", "zero_shot", "s0"], ["tweet_irony", "mock--b", "zero_shot", "s0"]]
    code, _, err = _cli([*base, "-k", "sst2"], capsys)
    assert code == 5 and err.count("\n") == 1 and "selects none of the 8 planned" in err
    code, _, err = _cli([*base, "-k", "trec and (s0"], capsys)
    assert code == 2 and err.count("\n") == 1 and "expected ')'" in err
    assert not (tmp_path / "out").exists()


# --- --junitxml ----------------------------------------------------------------------------

def _cases(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return root.findall("./testsuite/testcase")


def test_junitxml_reports_cells_and_a_failed_one(tmp_path: Path, shared_data: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Two cells pass; then, with seed 2 made to fail with hostile markup in its message, the
    report holds the passes (reused), the failure, and the unreached cell as skipped."""
    report = tmp_path / "ci" / "junit.xml"
    base = ["run", "--model", "mock/a", "--task", "trec", "--n", "12", "--classifier",
            "tfidf_lr", "--oracle-size", "300", "--data-dir", str(shared_data), "--out",
            str(tmp_path / "results"), "--no-progress", "--junitxml", str(report)]
    code, _, err = _cli([*base, "--seed", "0,1"], capsys)
    assert code == 0, err
    cases = _cases(report)
    assert len(cases) == 2 and {c.get("classname") for c in cases} == {"trec"}
    assert sorted(c.get("name", "") for c in cases) == sorted(
        p.name for p in (tmp_path / "results" / "cells").iterdir())
    props = {p.get("name"): p.get("value") for p in cases[0].iter("property")}
    assert props["reused"] == "false"
    assert 0 <= float(props["tfidf_lr.macro_f1.synthetic"] or "") <= 1
    assert 0 < float(props["tfidf_lr.macro_f1.real"] or "") <= 1
    assert float(props["tfidf_lr.utility"] or "") >= 0
    assert float(cases[0].get("time", "")) > 0

    hostile = "<boom attr=\"x\"> & ]]></failure><injected/>\x00\x1b ünï"
    generate = stages.generate

    def failing(ws: Any, config: CellConfig, folder: Path, key: str) -> Any:
        if config.seed == 2:
            raise RuntimeError(hostile)
        return generate(ws, config, folder, key)

    monkeypatch.setattr(stages, "generate", failing)
    code, _, err = _cli([*base, "--seed", "0,1,2,3"], capsys)
    assert code == 1 and "RuntimeError" in err
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    by_seed = {c.get("name", "").split("__")[3]: c for c in suite.iter("testcase")}
    assert by_seed["s0"].find("failure") is None
    assert {p.get("name"): p.get("value") for p in by_seed["s1"].iter("property")}[
        "reused"] == "true"
    failure = by_seed["s2"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        "RuntimeError: <boom attr=\"x\"> & ]]></failure><injected/>")
    assert " ünï" in failure.get("message", "") and "Traceback" in (failure.text or "")
    assert by_seed["s2"].find("injected") is None
    assert by_seed["s3"].find("skipped") is not None
    assert [p.name for p in report.parent.iterdir()] == ["junit.xml"]


def test_junitxml_survives_hostile_ids_and_texts(tmp_path: Path) -> None:
    evil = "<a href='x'>&amp; \"q\" ]]> \x01\x0b\ufffe\udc80 \U0001F600"
    cases = [CaseReport(evil, evil + "name", 1.5, ((evil, evil),), failure=evil, detail=evil),
             CaseReport("t", "e", error=evil), CaseReport("t", "s", skipped=evil)]
    path = tmp_path / "r.xml"
    write_junitxml(path, cases)
    root = ET.parse(path).getroot()
    (suite,) = root
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("3", "1", "1", "1")
    first = suite[0]
    kept = "<a href='x'>&amp; \"q\" ]]> \ufffd\ufffd\ufffd\ufffd \U0001F600"
    assert first.get("classname") == kept and first.get("name") == kept + "name"
    prop = first.find("properties/property")
    assert prop is not None and prop.get("name") == kept and prop.get("value") == kept
    failure = first.find("failure")
    assert failure is not None and failure.text == kept and failure.get("message") == kept
    assert len(list(root.iter())) == 2 + 4 + 2 + 2  # nothing injected
    assert to_xml(cases).startswith('<?xml version="1.0" encoding="utf-8"?>')


def test_junitxml_for_a_run_that_stops_before_any_cell(
        tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """No cell to blame (the results folder cannot be written): every cell is an error."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    report = tmp_path / "junit.xml"
    code, _, err = _cli(["run", "--model", "mock/a", "--task", "trec", "--n", "12", "--seed",
                         "0,1", "--data-dir", str(shared_data), "--out",
                         str(blocker / "results"), "--junitxml", str(report)], capsys)
    assert code == 1 and "cannot write results" in err
    suite = ET.parse(report).getroot()[0]
    assert suite.get("errors") == "2" and suite.get("failures") == "0"
    messages = [error.get("message", "") for error in suite.iter("error")]
    assert len(messages) == 2 and all("cannot write results" in m for m in messages)


# --- the module split ----------------------------------------------------------------------

def test_the_command_line_stays_light_to_import() -> None:
    """``synthbench --help`` and ``list`` import nothing heavy beyond the package itself: the
    run command, its grid file, -k and the JUnit writer load when ``run`` runs."""
    code = ("import sys, synthbench; before = set(sys.modules); import synthbench.cli; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    added = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=120).stdout.split()
    heavy = ("torch", "transformers", "synthbench.run", "synthbench.cli.run", "tomllib",
             "xml.etree", "synthbench.cli.junit", "synthbench.cli.gridfile", "tabulate")
    assert "synthbench.cli.parser" in added
    assert not [m for m in added if m.startswith(heavy)], added


def test_help_and_plugin_loading_import_no_heavy_library() -> None:
    """``synthbench --help`` and ``synthbench list`` (which loads every plugin) stay clear of
    scikit-learn, torch, transformers and datasets: each plugin imports them when it works."""
    code = ("import sys; from synthbench.cli.parser import build_parser; build_parser(); "
            "from synthbench.plugins import load_plugins; load_plugins(); "
            "print(' '.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120).stdout.split()
    heavy = ("sklearn", "torch", "transformers", "datasets", "scipy", "ctranslate2")
    assert not [m for m in loaded if m.split(".")[0] in heavy]


def test_no_cli_module_is_over_450_lines() -> None:
    folder = Path(__file__).resolve().parents[1] / "synthbench" / "cli"
    sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("*.py")}
    assert sizes and max(sizes.values()) <= 450, sizes

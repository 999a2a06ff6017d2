"""Local plugins the pytest way, through a console script like the installed one: ``-p
MODULE`` finds ./MODULE.py, and ./synthbench_plugins.py (and ./synthbench_plugins/*.py) load
by themselves, are listed with their path, and can be turned off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MYTASK = '''
from synthbench import Label, Subjectivity, Task, hookimpl


@hookimpl
def synthbench_register_tasks(register):
    register(Task(
        id="my_questions", name="My questions", local_dir="trec",
        labels=(Label("abbreviation", "asking about an abbreviation"),
                Label("entity", "asking about an entity"),
                Label("description", "asking for a description"),
                Label("human", "asking about a person"),
                Label("location", "asking about a location"),
                Label("numeric", "asking for a number")),
        text_type="question", context="Imagine you are curious.", word_limit=15,
        subjectivity=Subjectivity(0.1, "my guess"),
    ))
'''

LOCAL_GENERATOR = '''
from synthbench import (GenerationCounts, GenerationOutcome, GenerationRequest, GeneratorSpec,
                        Example, Message, Usage, hookimpl)


class Shout:
    """One request per text; keeps the answer in capitals."""

    def get_params(self):
        return {"volume": 11}

    def generate(self, ctx):
        counts, usage, kept = GenerationCounts(), Usage(), []
        for label, quota in sorted(ctx.per_label.items()):
            requests = [GenerationRequest((Message("user", f"Write a {ctx.task.text_type} "
                                                   f"labelled {label}."),), 32, seed=ctx.seed,
                                          sample_index=i) for i in range(quota)]
            for i, done in enumerate(ctx.provider.complete(requests)):
                usage = usage + done.usage
                kept.append(Example(done.text.upper(), label, {"request": i}))
            counts.requested += quota
            counts.requests_sent += quota
        counts.kept = len(kept)
        return GenerationOutcome(tuple(kept), counts, usage)


@hookimpl
def synthbench_register_generators(register):
    register(GeneratorSpec("shout", lambda **params: Shout(), "capital letters"))
'''


def _console_script(tmp_path: Path) -> Path:
    """A script shaped like the one pip writes for ``synthbench = synthbench.cli:main``: run
    by path, Python puts the script's folder, not the working directory, on the path."""
    script = tmp_path / "bin" / "synthbench"
    script.parent.mkdir()
    script.write_text("import sys\nfrom synthbench.cli import main\nsys.exit(main())\n")
    return script


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def synthbench(tmp_path: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join([str(REPO), str(REPO / "plugins"), str(REPO / "tasks")])
    script = tmp_path / "bin" / "synthbench"
    if not script.exists():
        _console_script(tmp_path)
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": pythonpath})


def test_dash_p_finds_a_module_in_the_working_directory(
        tmp_path: Path, work: Path, shared_data: Path) -> None:
    (work / "mytask.py").write_text(MYTASK)
    listed = synthbench(tmp_path, work, "-p", "mytask", "list", "tasks")
    assert listed.returncode == 0, listed.stderr
    assert "my_questions" in listed.stdout and "No module named" not in listed.stderr
    ran = synthbench(tmp_path, work, "-p", "mytask", "run", "--model", "mock/a", "--task",
                     "my_questions", "--n", "12", "--classifier", "tfidf_lr", "--oracle-size",
                     "60", "--data-dir", str(shared_data), "--no-progress")
    assert ran.returncode == 0, ran.stderr
    (cell,) = (work / "results" / "cells").iterdir()
    record = json.loads((cell / "result.json").read_text())
    assert record["task"]["id"] == "my_questions" and record["n_synthetic"] == 12
    assert {"name": "mytask", "distribution": "local module (-p)", "version": "",
            "error": None} in record["provenance"]["plugins"]
    missing = synthbench(tmp_path, work, "-p", "nosuchmodule", "list", "tasks")
    (warning,) = [x for x in missing.stderr.splitlines() if "nosuchmodule" in x]
    assert "failed to import" in warning and "No module named 'nosuchmodule'" in warning


def test_synthbench_plugins_file_loads_by_itself_and_can_be_turned_off(
        tmp_path: Path, work: Path, shared_data: Path) -> None:
    (work / "synthbench_plugins.py").write_text(MYTASK + LOCAL_GENERATOR)
    plugins = synthbench(tmp_path, work, "list", "plugins")
    assert plugins.returncode == 0, plugins.stderr
    (line,) = [x for x in plugins.stdout.splitlines() if x.startswith("synthbench_plugins ")]
    assert str(work.resolve() / "synthbench_plugins.py") in line and line.endswith("ok")
    generators = synthbench(tmp_path, work, "list", "generators")
    assert "shout" in generators.stdout and "volume=11" in generators.stdout
    ran = synthbench(tmp_path, work, "run", "--model", "mock/a", "--task", "my_questions",
                     "--generator", "shout", "--n", "12", "--classifier", "tfidf_lr",
                     "--oracle-size", "60", "--data-dir", str(shared_data), "--no-progress")
    assert ran.returncode == 0, ran.stderr
    (cell,) = (work / "results" / "cells").iterdir()
    texts = [json.loads(x)["text"] for x in (cell / "synthetic.jsonl").read_text().splitlines()]
    assert len(texts) == 12 and all(t == t.upper() for t in texts)
    provenance = json.loads((cell / "result.json").read_text())["provenance"]["plugins"]
    assert {"name": "synthbench_plugins", "distribution": "local file (working directory)",
            "version": "", "error": None} in provenance
    for off in (["--no-local-plugins"], ["-p", "no:synthbench_plugins"]):
        listed = synthbench(tmp_path, work, *off, "list", "plugins")
        assert listed.returncode == 0 and "synthbench_plugins" not in listed.stdout
        refused = synthbench(tmp_path, work, *off, "run", "--model", "mock/a", "--task",
                             "my_questions", "--n", "12", "--data-dir", str(shared_data))
        assert refused.returncode == 1 and "unknown task 'my_questions'" in refused.stderr


def test_synthbench_plugins_folder_one_plugin_per_file(tmp_path: Path, work: Path) -> None:
    folder = work / "synthbench_plugins"
    folder.mkdir()
    (folder / "questions.py").write_text(MYTASK)
    (folder / "shout.py").write_text(LOCAL_GENERATOR)
    (folder / "_helpers.py").write_text("raise RuntimeError('private files are not plugins')\n")
    (folder / "broken.py").write_text("import no_such_dependency\n")
    listed = synthbench(tmp_path, work, "list", "plugins")
    assert listed.returncode == 0, listed.stderr
    rows = {x.split()[0]: x for x in listed.stdout.splitlines()[2:]}
    assert rows["synthbench_plugins.questions"].endswith("ok")
    assert str(folder.resolve() / "shout.py") in rows["synthbench_plugins.shout"]
    assert "No module named 'no_such_dependency'" in rows["synthbench_plugins.broken"]
    assert "_helpers" not in listed.stdout
    (warning,) = [x for x in listed.stderr.splitlines() if "synthbench_plugins" in x]
    assert "synthbench_plugins.broken" in warning and "no_such_dependency" in warning
    one_off = synthbench(tmp_path, work, "-p", "no:synthbench_plugins.broken", "list",
                         "generators")
    assert one_off.returncode == 0 and "shout" in one_off.stdout
    assert "synthbench_plugins" not in one_off.stderr

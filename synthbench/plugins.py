"""Build a fresh plugin manager and collect what every plugin registers.

Each entry point of group ``synthbench`` is imported on its own inside try/except: a plugin
that fails to import, misspells a hook, raises while registering or registers a malformed
value costs one line naming it and its distribution, and the others keep working (``strict``
turns those lines into an error). ``-p MODULE`` adds a plugin module (found in the working
directory too, as ``python -m`` does), ``-p no:NAME`` blocks one, as in pytest; and, like
pytest's ``conftest.py``, ``synthbench_plugins.py`` and ``synthbench_plugins/*.py`` in the
working directory are loaded as plugins unless ``local_plugins`` is off.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

import pluggy

from synthbench import hookspecs
from synthbench.errors import SynthbenchError
from synthbench.types import (
    BaselineSpec,
    ClassifierSpec,
    GeneratorSpec,
    HubSource,
    InterventionSpec,
    Label,
    ProviderSpec,
    Subjectivity,
    Task,
)

ENTRY_POINT_GROUP = "synthbench"
LOCAL_PLUGINS = "synthbench_plugins"  # <cwd>/synthbench_plugins.py and <cwd>/synthbench_plugins/
T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as loaded: its name, where it came from, and whether it works."""

    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None


class Registry(Generic[T]):
    """Registered values of one kind by id, each remembering the plugin that registered it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origin: dict[str, PluginInfo] = {}

    def add(self, item_id: str, item: T, origin: PluginInfo) -> None:
        if item_id in self._items:
            first = self._origin[item_id]
            raise SynthbenchError(
                f"{self.kind} id {item_id!r} is registered twice: by plugin {first.name!r} "
                f"({first.distribution}) and by plugin {origin.name!r} ({origin.distribution})"
            )
        self._items[item_id] = item
        self._origin[item_id] = origin

    def get(self, item_id: str) -> T:
        try:
            return self._items[item_id]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise SynthbenchError(
                f"unknown {self.kind} {item_id!r} (known: {known})"
            ) from None

    def origin(self, item_id: str) -> PluginInfo:
        return self._origin[item_id]

    def ids(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Plugins:
    """Everything the plugins registered in this run, plus what went wrong while loading."""

    tasks: Registry[Task] = field(default_factory=lambda: Registry("task"))
    providers: Registry[ProviderSpec] = field(default_factory=lambda: Registry("provider"))
    generators: Registry[GeneratorSpec] = field(default_factory=lambda: Registry("generator"))
    classifiers: Registry[ClassifierSpec] = field(default_factory=lambda: Registry("classifier"))
    interventions: Registry[InterventionSpec] = field(
        default_factory=lambda: Registry("intervention"))
    baselines: Registry[BaselineSpec] = field(default_factory=lambda: Registry("baseline"))
    loaded: list[PluginInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def provenance(self) -> list[dict[str, Any]]:
        return [
            {"name": p.name, "distribution": p.distribution, "version": p.version,
             "error": p.error}
            for p in sorted(self.loaded, key=lambda p: p.name)
        ]


def validate_task(task: Any) -> None:
    """Raise ``SynthbenchError`` if ``task`` cannot be run; the message names the problem."""
    if not isinstance(task, Task):
        raise SynthbenchError(f"registered a {type(task).__name__}, not a synthbench Task")
    if not isinstance(task.id, str):
        raise SynthbenchError(f"task id {task.id!r} is not a string")
    if not isinstance(task.labels, tuple) or not all(isinstance(x, Label) for x in task.labels):
        raise SynthbenchError(f"task {task.id!r}: labels must be a tuple of synthbench Label")
    if not isinstance(task.word_limit, int) or isinstance(task.word_limit, bool):
        raise SynthbenchError(f"task {task.id!r}: word_limit must be an integer")
    if not isinstance(task.subjectivity, Subjectivity):
        raise SynthbenchError(f"task {task.id!r}: subjectivity must be a synthbench Subjectivity")
    if task.hub is not None and not isinstance(task.hub, HubSource):
        raise SynthbenchError(f"task {task.id!r}: hub must be a synthbench HubSource or None")
    if not task.id or "/" in task.id or "," in task.id or task.id != task.id.strip():
        raise SynthbenchError(f"task id {task.id!r} is empty or contains '/', ',' or spaces")
    names = task.label_names
    if len(names) < 2:
        raise SynthbenchError(f"task {task.id!r} declares {len(names)} labels; it needs 2 or more")
    if len(set(names)) != len(names):
        raise SynthbenchError(f"task {task.id!r} declares a label twice: {list(names)}")
    if any(not n.strip() for n in names):
        raise SynthbenchError(f"task {task.id!r} declares an empty label name")
    if task.word_limit < 1:
        raise SynthbenchError(f"task {task.id!r} has word_limit {task.word_limit}; it must be >= 1")
    if not 0.0 <= task.subjectivity.score <= 1.0:
        raise SynthbenchError(f"task {task.id!r} has subjectivity {task.subjectivity.score}, "
                              "outside [0, 1]")
    if not task.text_type or not task.context:
        raise SynthbenchError(f"task {task.id!r} needs a text_type and a context prompt")


def _check_spec(kind: str, spec: Any, cls: type) -> None:
    if not isinstance(spec, cls):
        raise SynthbenchError(
            f"registered a {type(spec).__name__} as a {kind}, not a {cls.__name__}")
    spec_id = getattr(spec, "id", "")
    if not spec_id or "/" in spec_id or "," in spec_id:
        raise SynthbenchError(f"{kind} id {spec_id!r} is empty or contains '/' or ','")


class _Collector:
    """The ``register`` callback of one hook call: files each value under the plugin whose
    implementation is running, and keeps a raising implementation from stopping the rest."""

    def __init__(self, hook_name: str, problem: Callable[[str, str], None]) -> None:
        self.hook_name = hook_name
        self.problem = problem
        self.current: str | None = None
        self.by_plugin: dict[str, list[Any]] = {}

    def register(self, item: Any) -> None:
        if self.current is None:
            raise SynthbenchError("register() was called outside a synthbench hook")
        self.by_plugin[self.current].append(item)

    def attribute(self, function: Callable[..., Any], plugin: str) -> Callable[..., Any]:
        """``function`` as pluggy calls it, attributed to ``plugin``; an exception becomes one
        problem line and drops what that plugin registered in this hook."""

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            self.by_plugin.setdefault(plugin, [])
            self.current = plugin
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                del self.by_plugin[plugin]
                self.problem(plugin, f"{self.hook_name} raised {type(exc).__name__}: {exc}")
                return None
            finally:
                self.current = None

        return call


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    seen: dict[tuple[str, str], importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        seen.setdefault((ep.name, ep.value), ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def _load_file(name: str, path: Path) -> ModuleType:
    """Import the file ``path`` as module ``name`` (kept in ``sys.modules`` so its dataclasses
    and pickles resolve); the same file already imported under that name is reused."""
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__file__", None) == str(path):
        return cached
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def local_plugin_candidates(
    extra_modules: Sequence[str], blocked: set[str], local_plugins: bool, cwd: Path | None = None,
) -> list[tuple[PluginInfo, Callable[[], ModuleType]]]:
    """Plugins from the working directory: the ``-p`` modules (the directory joins the import
    path, as with ``python -m`` but after the installed packages, so ``-p mytask`` finds
    ``./mytask.py`` and local plugins can import modules beside them) and,
    unless ``local_plugins`` is off or ``-p no:synthbench_plugins`` blocks them, the
    conftest-style ``synthbench_plugins.py`` and every ``synthbench_plugins/*.py`` (not
    ``_*.py``), each named ``synthbench_plugins[.<stem>]`` and blockable by that name."""
    here = (cwd or Path.cwd()).resolve()
    out: list[tuple[PluginInfo, Callable[[], ModuleType]]] = [
        (PluginInfo(m, m, "local module (-p)", ""), functools.partial(importlib.import_module, m))
        for m in extra_modules]
    if local_plugins and LOCAL_PLUGINS not in blocked:
        files = [(LOCAL_PLUGINS, here / f"{LOCAL_PLUGINS}.py")]
        folder = here / LOCAL_PLUGINS
        if folder.is_dir():
            files += [(f"{LOCAL_PLUGINS}.{path.stem}", path)
                      for path in sorted(folder.glob("*.py")) if not path.name.startswith("_")]
        out += [(PluginInfo(name, str(path), "local file (working directory)", ""),
                 functools.partial(_load_file, name, path))
                for name, path in files if path.is_file()]
    if out and str(here) not in [str(Path(p or ".").resolve()) for p in sys.path]:
        sys.path.append(str(here))  # after the installed packages: a local file never shadows
    return out


def load_plugins(
    extra_modules: Sequence[str] = (),
    blocked: Iterable[str] = (),
    strict: bool = False,
    warn: Callable[[str], None] | None = None,
    local_plugins: bool = True,
    cwd: Path | None = None,
) -> Plugins:
    """Load every installed plugin, ``extra_modules`` and the working directory's local
    plugins (see ``local_plugin_candidates``); return their registrations.

    ``blocked`` names plugins (entry-point or module names) to skip. Problems are collected
    in ``Plugins.problems`` and passed to ``warn``; with ``strict`` the first one raises.
    """
    blocked_set = set(blocked)
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    result = Plugins()

    def problem(info: PluginInfo, message: str) -> None:
        line = f"plugin {info.name!r} ({info.distribution}): {message}"
        result.loaded.append(PluginInfo(info.name, info.module, info.distribution,
                                        info.version, message))
        result.problems.append(line)
        if strict:
            raise SynthbenchError(line)
        if warn is not None:
            warn(line)

    candidates: list[tuple[PluginInfo, Callable[[], ModuleType]]] = []
    for ep in _entry_points():
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        version = ep.dist.version if ep.dist is not None else "?"
        info = PluginInfo(ep.name, ep.value, dist, version)
        candidates.append((info, ep.load))
    candidates += local_plugin_candidates(extra_modules, blocked_set, local_plugins, cwd)

    infos: dict[str, PluginInfo] = {}
    for info, load in candidates:
        if info.name in blocked_set or info.module in blocked_set:
            continue
        try:
            module = load()
        except Exception as exc:  # a broken plugin must not break the others
            problem(info, f"failed to import: {type(exc).__name__}: {exc}")
            continue
        if pm.is_registered(module):
            continue
        if info.name in infos:
            problem(info, f"plugin name {info.name!r} is taken by "
                          f"{infos[info.name].distribution}; rename one entry point")
            continue
        try:
            pm.register(module, name=info.name)
            pm.check_pending()
        except Exception as exc:
            if pm.is_registered(module):
                pm.unregister(module)
            problem(info, f"invalid hook: {exc}")
            continue
        infos[info.name] = info

    kinds: list[tuple[str, Registry[Any], Callable[[Any], None]]] = [
        ("synthbench_register_tasks", result.tasks, validate_task),
        ("synthbench_register_providers", result.providers,
         lambda s: _check_spec("provider", s, ProviderSpec)),
        ("synthbench_register_generators", result.generators,
         lambda s: _check_spec("generator", s, GeneratorSpec)),
        ("synthbench_register_classifiers", result.classifiers,
         lambda s: _check_spec("classifier", s, ClassifierSpec)),
        ("synthbench_register_interventions", result.interventions,
         lambda s: _check_spec("intervention", s, InterventionSpec)),
        ("synthbench_register_baselines", result.baselines,
         lambda s: _check_spec("baseline", s, BaselineSpec)),
    ]
    failed: set[str] = set()

    def hook_problem(plugin: str, message: str) -> None:
        failed.add(plugin)
        problem(infos[plugin], message)

    for hook_name, registry, check in kinds:
        collector = _Collector(hook_name, hook_problem)
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            if not (impl.hookwrapper or impl.wrapper):
                impl.function = collector.attribute(impl.function, impl.plugin_name)
        caller(register=collector.register)
        for name, items in sorted(collector.by_plugin.items()):
            for item in items:
                try:
                    check(item)
                except Exception as exc:  # malformed values must not reach the registry
                    problem(infos[name], str(exc) if isinstance(exc, SynthbenchError)
                            else f"registered a malformed value: {type(exc).__name__}: {exc}")
                    continue
                registry.add(item.id, item, infos[name])

    for name, info in sorted(infos.items()):
        if name not in failed and not any(p.name == name for p in result.loaded):
            result.loaded.append(info)
    if not infos:
        raise SynthbenchError(
            "no synthbench plugins found: is synthbench installed? run `pip install -e .`"
        )
    if result.providers.ids() == [] or result.tasks.ids() == []:
        missing = "provider" if not result.providers.ids() else "task"
        raise SynthbenchError(
            f"no {missing} plugin loaded: is synthbench installed? run `pip install -e .`"
        )
    return result


@dataclass(frozen=True)
class PluginSelection:
    """Which plugins to load besides the installed ones: ``-p`` modules, ``-p no:NAME``
    blocks, strictness and local plugins (read from ``cwd``, default the working directory).
    A value, so a run's choice can travel to other processes (Ray workers) and be loaded
    there the same way."""

    modules: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    strict: bool = False
    local_plugins: bool = True
    cwd: str = ""

    @classmethod
    def of(cls, given: Sequence[str], strict: bool = False, local_plugins: bool = True
           ) -> PluginSelection:
        """From ``-p`` values as typed: ``NAME`` loads a module, ``no:NAME`` blocks one."""
        return cls(modules=tuple(p for p in given if not p.startswith("no:")),
                   blocked=tuple(p[3:] for p in given if p.startswith("no:")), strict=strict,
                   local_plugins=local_plugins, cwd=str(Path.cwd()))

    def load(self, warn: Callable[[str], None] | None = None) -> Plugins:
        return load_plugins(self.modules, self.blocked, strict=self.strict, warn=warn,
                            local_plugins=self.local_plugins,
                            cwd=Path(self.cwd) if self.cwd else None)

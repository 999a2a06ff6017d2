"""The grid file: ``synthbench.toml`` (keys at the top level) or ``[tool.synthbench]`` in
``pyproject.toml``, found from the current folder upwards and read once, here, into the very
values ``run``'s flags give; nothing below the command line knows the file exists.

In each folder ``synthbench.toml`` wins over ``pyproject.toml``; the first folder holding
either (a pyproject.toml only when it has ``[tool.synthbench]``) ends the search, like
pytest's rootdir. Relative ``out`` and ``data-dir`` are taken from the file's folder.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthbench import defaults
from synthbench.cli.common import UsageError

GRID_FILE = "synthbench.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class GridFile:
    """Where the grid was declared and its values, keyed by the ``run`` flags' dests."""

    path: Path
    values: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path} [tool.synthbench]" if self.path.name == PYPROJECT else str(self.path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise UsageError(f"{path}: reading a grid file needs Python 3.11 or newer (tomllib); "
                         "pass the grid as flags instead") from None
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None


def find_grid_file(start: Path) -> GridFile | None:
    """The grid file that governs ``start``, or ``None`` when no folder up to the root has one."""
    for folder in (start, *start.parents):
        own = folder / GRID_FILE
        if own.is_file():
            return GridFile(own, parse_table(_read_toml(own), own))
        project = folder / PYPROJECT
        if project.is_file():
            tool = _read_toml(project).get("tool", {})
            table = tool.get("synthbench") if isinstance(tool, dict) else None
            if table is not None:
                if not isinstance(table, dict):
                    raise UsageError(f"{project}: tool.synthbench must be a table")
                return GridFile(project, parse_table(table, project))
    return None


def _type_error(key: str, path: Path, wanted: str, value: Any) -> UsageError:
    return UsageError(f"{path}: key {key!r} must be {wanted}, got {type(value).__name__} "
                      f"{value!r}"[:300])


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _words(key: str, value: Any, path: Path, numbers: bool = False) -> list[str]:
    """A list option (``--model``, ``--seed`` ...): one value or a list of them."""
    items = value if isinstance(value, list) else [value]
    kinds: tuple[type, ...] = (str, int) if numbers else (str,)
    if not items or any(isinstance(v, bool) or not isinstance(v, kinds) for v in items):
        wanted = "an integer or a list of integers" if numbers else "a string or a list of strings"
        raise _type_error(key, path, wanted, value)
    return [str(v) for v in items]


def _param(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _params(key: str, value: Any, path: Path, sweep: bool, plain: bool = False) -> list[str]:
    """A table of KEY = VALUE, as ``-G``/``-B``/``-P`` strings; with ``sweep`` a list value
    sweeps (``-G temperature=0.3,0.7``); ``plain`` values are strings (``-P``)."""
    if not isinstance(value, dict):
        raise _type_error(key, path, "a table of KEY = VALUE", value)
    out = []
    for name, item in value.items():
        if sweep and isinstance(item, list) and item and all(map(_scalar, item)):
            out.append(f"{name}=" + ",".join(_param(v) for v in item))
        elif _scalar(item):
            text = (str(item).lower() if isinstance(item, bool) else str(item)) if plain \
                else _param(item)
            out.append(f"{name}={text}")
        else:
            raise _type_error(f"{key}.{name}", path, "a string, number or boolean"
                              + (" (or a list of them)" if sweep else ""), item)
    return out


def _intervention_params(key: str, value: Any, path: Path) -> list[str]:
    """``[intervention-params.STEP]`` tables, as ``-I STEP.KEY=VALUE`` strings."""
    if not isinstance(value, dict):
        raise _type_error(key, path, "a table of STEP tables", value)
    return [f"{step}.{setting}" for step, table in value.items()
            for setting in _params(f"{key}.{step}", table, path, sweep=True)]


def _typed(wanted: str, *kinds: type) -> Callable[[str, Any, Path], Any]:
    def check(key: str, value: Any, path: Path) -> Any:
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            raise _type_error(key, path, wanted, value)
        return float(value) if float in kinds and isinstance(value, (int, float)) else value
    return check


def _choice(*choices: str) -> Callable[[str, Any, Path], Any]:
    def check(key: str, value: Any, path: Path) -> Any:
        if value not in choices:
            raise UsageError(f"{path}: key {key!r} must be one of {', '.join(choices)}, "
                             f"got {value!r}"[:300])
        return value
    return check


def _folder(key: str, value: Any, path: Path) -> str:
    """A folder, relative to the grid file's folder unless absolute."""
    if not isinstance(value, str) or not value.strip():
        raise _type_error(key, path, "a folder path", value)
    return str(path.parent / Path(value).expanduser())


_STR = _typed("a string", str)
_INT = _typed("an integer", int)
_FLOAT = _typed("a number", int, float)
_BOOL = _typed("true or false", bool)

# TOML key (the long flag without --) -> (argparse dest, reader). Plural spellings of the
# repeatable flags are accepted too.
KEYS: dict[str, tuple[str, Callable[[str, Any, Path], Any]]] = {
    **{name: (name, lambda k, v, p: _words(k, v, p))
       for name in ("model", "task", "generator", "classifier", "intervention", "baseline")},
    "seed": ("seed", lambda k, v, p: _words(k, v, p, numbers=True)),
    "mix-real": ("mix_real", lambda k, v, p: _words(k, v, p, numbers=True)),
    "generator-params": ("generator_params", lambda k, v, p: _params(k, v, p, sweep=True)),
    "intervention-params": ("intervention_params", _intervention_params),
    "baseline-params": ("baseline_params", lambda k, v, p: _params(k, v, p, sweep=False)),
    "provider-options": ("provider_options",
                         lambda k, v, p: _params(k, v, p, sweep=False, plain=True)),
    "temperature": ("temperature", _FLOAT), "n": ("n", _INT), "n-eq": ("n_eq", _BOOL),
    "n-eq-max": ("n_eq_max", _INT), "oracle-size": ("oracle_size", _INT),
    "keep-test-overlap": ("keep_test_overlap", _BOOL),
    "oracle": ("oracle", _STR), "out": ("out", _folder), "data-dir": ("data_dir", _folder),
    "no-progress": ("no_progress", _BOOL), "mode": ("mode", _choice("online", "batch")),
    "max-cost": ("max_cost", _FLOAT), "executor": ("executor", _choice(*defaults.EXECUTORS)),
    "ray-address": ("ray_address", _STR),
}
PLURALS = {f"{name}s": name for name in ("model", "task", "generator", "classifier",
                                         "intervention", "baseline", "seed")}


def parse_table(table: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The file's keys as ``run``'s dests and flag values; an unknown key, a key given twice
    (``model`` and ``models``) or a wrong type is one line naming the key and the file."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = PLURALS.get(key, key)
        if name not in KEYS:
            near = difflib.get_close_matches(key, [*KEYS, *PLURALS], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else "; the keys are run's long " \
                "options without -- (synthbench run --help)"
            raise UsageError(f"{path}: unknown key {key!r}"[:200] + hint)
        dest, read = KEYS[name]
        if dest in values:
            raise UsageError(f"{path}: key {name!r} is given twice (as {name!r} and "
                             f"{name + 's'!r}); keep one")
        values[dest] = read(key, value, path)
    return values

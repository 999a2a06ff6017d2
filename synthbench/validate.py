"""Checks on a submitted results folder (``synthbench validate``) and on a fresh run against
recorded results (``synthbench recheck``), as a leaderboard pull request and the scheduled job
need them.

``validate`` names each problem in one line, ``<cell or file>: <problem>``. It refuses what
cannot be true (symlinks, files that are not regular or over the size bound, non-finite or
out-of-range numbers, ids that are not plain, a schema of the wrong type, paths in a record
that leave the data folder), records that are not cell records or lack provenance, folder
names and config hashes that their config does not give, and duplicate cells. It recomputes
every new cell (``recompute.py``): each recomputable classifier refitted on the stored texts
and on the real sample its seed draws, the text metrics, and the embedding metrics; and the
first point of every new real learning curve. Against a base results folder, no existing cell
may change, and no baseline, curve or subjectivity record unless ``allow_regenerate``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.leaderboard import build
from synthbench.metrics import mean_ci
from synthbench.metrics.equivalence import LearningCurve
from synthbench.plugins import Plugins, load_plugins
from synthbench.recompute import Recomputer, check_curve
from synthbench.record import SCHEMA_VERSION, CellConfig, CellRecord
from synthbench.sanity import (
    Refused,
    parse_json,
    plain_folder_name,
    plain_id,
    range_problems,
    read_bytes,
    read_json_file,
)
from synthbench.store import (
    CURATED,
    CURATION,
    GENERATION,
    RESULT,
    RESULT_KEYS,
    SYNTHETIC,
    cell_dir,
    config_hash,
)
from synthbench.types import Example

CELL_FILES = frozenset({RESULT, GENERATION, SYNTHETIC, CURATED, CURATION})
FOLDERS = ("cells", "baselines", "curves", "subjectivity")


@dataclass
class Report:
    """What ``validate`` found: problem lines, and what it checked and recomputed."""

    problems: list[str]
    cells: int
    new_cells: int
    recomputed: list[str]
    not_recomputed: dict[str, list[str]] = field(default_factory=dict)
    unverified: list[str] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)


def _tree(results: Path) -> list[str]:
    """Every entry under ``results``: no symlink, nothing but regular files and folders, each
    where a results folder has it."""
    problems = []
    for top, dirs, files in os.walk(results):
        here = Path(top)
        rel = here.relative_to(results)
        depth = len(rel.parts)
        for name in sorted([*dirs, *files]):
            path = here / name
            label = str(rel / name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                problems.append(f"{label}: is a symlink (a submission holds regular files only)")
            elif stat.S_ISDIR(info.st_mode):
                if (depth == 0 and name not in FOLDERS) or (depth == 1 and rel.parts[0] != "cells"
                                                            ) or depth >= 2:
                    problems.append(f"{label}: unexpected folder in a results folder")
            elif not stat.S_ISREG(info.st_mode):
                problems.append(f"{label}: is not a regular file")
            elif depth == 0 or (depth == 1 and rel.parts[0] == "cells") or (
                    depth == 1 and not name.endswith(".json")) or (
                    depth == 2 and name not in CELL_FILES):
                problems.append(f"{label}: unexpected file in a results folder")
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return problems


def _examples(path: Path) -> list[Example]:
    """The labelled texts of a stored JSON-lines file, or ``Refused``."""
    text = read_bytes(path)
    examples = []
    for number, line in enumerate(text.split(b"\n"), 1):
        if not line.strip():
            continue
        row = parse_json(line, f"{path.name} line {number}")
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) \
                or not isinstance(row.get("label"), str):
            raise Refused(f"{path.name} line {number} has no text and label strings")
        examples.append(Example(row["text"], row["label"]))
    return examples


def _ids(record: Mapping[str, Any], plugins: Plugins) -> tuple[list[str], list[str]]:
    """Problems of the plugin ids a record names, and the ids no installed plugin registers
    that are plain (a third-party plugin this synthbench does not have: unverified)."""
    config = record["config"]
    model = config.get("model")
    named: list[tuple[str, Any, Any]] = [
        ("config.task", config.get("task"), plugins.tasks),
        ("config.generator", config.get("generator"), plugins.generators),
        ("config.model", model, None)]
    named += [(f"config.classifiers[{i}]", c, plugins.classifiers)
              for i, c in enumerate(config.get("classifiers") or [])]
    named += [(f"classifiers.{c}", c, plugins.classifiers)
              for c in record.get("classifiers") or {}]
    for kind, registry in (("interventions", plugins.interventions),
                           ("baselines", plugins.baselines)):
        named += [(f"config.{kind}[{i}]", step[0] if isinstance(step, list) and step else step,
                   registry) for i, step in enumerate(config.get(kind) or [])]
    problems, unverified = [], []
    for field_name, value, registry in named:
        if not plain_id(value):
            problems.append(f"{field_name} {_show(value)} is not a plain id "
                            "([A-Za-z0-9_.:/-], at most 200)")
            continue
        if registry is None:
            provider = str(value).split("/", 1)[0]
            known = provider in plugins.providers.ids()
        else:
            known = value in registry.ids()
        if not known:
            unverified.append(str(value))
    if set(config.get("classifiers") or []) != set(record.get("classifiers") or {}):
        problems.append("classifiers are not those config.classifiers names")
    return problems, unverified


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_record(name: str, folder: Path, record: Any) -> tuple[list[str], CellConfig | None]:
    """Schema, provenance, hashes and folder name of one record."""
    if not isinstance(record, dict):
        return ["result.json is not a synthbench cell record"], None
    version = record.get("schema_version")
    if type(version) is not int:
        return [f"schema_version {_show(version)} is not an integer"], None
    if version > SCHEMA_VERSION:
        return [f"record has schema {version}, newer than the {SCHEMA_VERSION} this synthbench "
                "reads: update synthbench, or recompute the cell with this version"], None
    if version < SCHEMA_VERSION:
        return [f"record has old schema {version}; this synthbench reads {SCHEMA_VERSION}: "
                "recompute the cell"], None
    missing = [k for k in (*RESULT_KEYS, "config_hash", "cell", "provenance") if k not in record]
    if missing:
        return [f"record lacks {', '.join(missing)}"], None
    problems = range_problems(record)
    accuracy = ((record.get("metrics") or {}).get("label_accuracy") or {}).get("value") \
        if isinstance(record.get("metrics"), dict) else None
    if accuracy is not None and not (isinstance(accuracy, (int, float)) and 0 <= accuracy <= 1):
        problems.append(f"metrics.label_accuracy.value {_show(accuracy)} is outside [0, 1]")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("classifiers"),
                                                                      dict):
        return [*problems, "config and classifiers are not JSON objects"], None
    task = record.get("task")
    if isinstance(task, dict) and task.get("local_dir") not in (None, "") \
            and not plain_folder_name(task.get("local_dir")):
        problems.append(f"task.local_dir {_show(task.get('local_dir'))} is not one plain folder "
                        "name (a path outside the data folder)")
    if problems:
        return problems, None
    try:
        config = CellConfig.from_record(record["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"config is not a synthbench cell config ({type(exc).__name__}: {exc})"], None
    if not isinstance(config.seed, int) or isinstance(config.seed, bool):
        problems.append(f"seed {config.seed!r} is not an integer")
    packages = record["provenance"].get("packages") if isinstance(record["provenance"], dict) \
        else None
    if not isinstance(packages, dict) or "synthbench" not in packages:
        problems.append("provenance lacks package versions (synthbench's among them)")
    served = record["generation"].get("served_models") if isinstance(record["generation"], dict) \
        else None
    if not served or not all(isinstance(m, str) and m for m in served):
        problems.append("provenance lacks the served model (generation.served_models)")
    try:
        expected_hash = config_hash(config)
    except (TypeError, ValueError) as exc:
        return [*problems, f"config cannot be hashed ({exc})"], None
    if record["config_hash"] != expected_hash:
        problems.append(f"config_hash {str(record['config_hash'])[:12]}… does not match its "
                        f"stored config ({expected_hash[:12]}…)")
    if record["cell"] != name:
        problems.append(f"record names cell {str(record['cell'])[:200]!r}, not its folder")
    expected = cell_dir(folder.parent.parent, config, str(record["generation_key"])).name
    if expected != name:
        problems.append(f"folder name does not follow from its config and generation key "
                        f"(expected {expected})")
    if not problems:
        try:
            CellRecord.from_json(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"result.json is not a valid cell record ({type(exc).__name__}: "
                            f"{exc})")
    return problems, config


def _check_texts(folder: Path, record: Mapping[str, Any], config: CellConfig
                 ) -> tuple[list[str], list[Example] | None, str]:
    """The texts the cell was scored on are stored, readable and as many as it scored."""
    needed = (CURATED, CURATION) if config.interventions else (SYNTHETIC, GENERATION)
    absent = [f for f in needed if not os.path.lexists(folder / f)]
    if absent:
        return [f"texts missing: {', '.join(absent)} not stored"], None, needed[0]
    try:
        examples = _examples(folder / needed[0])
        read_json_file(folder / needed[1])
    except Refused as exc:
        return [str(exc)], None, needed[0]
    if len(examples) != record.get("n_synthetic"):
        return [f"{needed[0]} holds {len(examples)} texts, the record scored "
                f"{record.get('n_synthetic')}"], None, needed[0]
    return [], examples, needed[0]


def _compare_tree(base: Path, new: Path, label: str) -> list[str]:
    """Every file of ``base`` is in ``new`` with the same bytes."""
    if not new.is_dir() or new.is_symlink():
        return [f"{label}: deleted (it is in the base results)"]
    problems = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        rel = path.relative_to(base)
        other = new / rel
        if not other.is_file() or other.is_symlink():
            problems.append(f"{label}: {rel} deleted (an existing cell may not change)")
        elif other.read_bytes() != path.read_bytes():
            problems.append(f"{label}: {rel} changed (an existing cell may not change)")
    for path in sorted(p for p in new.rglob("*") if p.is_file()):
        if not (base / path.relative_to(new)).exists():
            problems.append(f"{label}: {path.relative_to(new)} added to an existing cell")
    return problems


def _changed_files(results: Path, base: Path, folder: str) -> tuple[list[str], list[str]]:
    """Files of ``base/folder`` deleted, and changed, in ``results/folder``."""
    deleted, changed = [], []
    for path in sorted((base / folder).glob("*.json")):
        other = results / folder / path.name
        if not other.is_file() or other.is_symlink():
            deleted.append(path.name)
        elif other.read_bytes() != path.read_bytes():
            changed.append(path.name)
    return deleted, changed


def _sample(names: Iterable[str], size: int | None) -> list[str]:
    """A fixed sample: the names whose sha256 sorts first (all of them when ``size`` is None)."""
    names = sorted(names)
    if size is None:
        return names
    return sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[:max(size, 0)]


@dataclass
class _Run:
    """One validation in progress: the report it fills and the tools it shares."""

    results: Path
    base: Path | None
    recomputer: Recomputer
    allow_regenerate: bool
    report: Report

    def note(self, what: str, name: str) -> None:
        self.report.not_recomputed.setdefault(what, []).append(name)

    def cells(self, sample: int | None) -> None:
        report, results, base = self.report, self.results, self.base
        good: dict[str, tuple[Mapping[str, Any], CellConfig, list[Example], str]] = {}
        hashes: dict[str, list[str]] = defaultdict(list)
        folders = sorted(p for p in (results / "cells").iterdir()
                         if p.is_dir() and not p.is_symlink())
        flagged = {line.split("/")[1].split(":")[0] for line in report.problems
                   if line.startswith("cells/")}
        unverified: set[str] = set()
        for folder in folders:
            name = folder.name
            if name in flagged:
                continue  # refused already, by the line naming its odd file
            if not os.path.lexists(folder / RESULT):
                report.problems.append(f"cell {name}: result.json missing (an unfinished cell)")
                continue
            try:
                record = read_json_file(folder / RESULT)
            except Refused as exc:
                report.problems.append(f"cell {name}: {exc}")
                continue
            found, config = _check_record(name, folder, record)
            if config is not None:
                more, odd = _ids(record, self.recomputer.plugins)
                found += more
                unverified.update(odd)
                hashes[str(record["config_hash"])].append(name)
            if config is not None and not found:
                more, examples, texts_file = _check_texts(folder, record, config)
                found += more
                if examples is not None and not more:
                    good[name] = (record, config, examples, texts_file)
            report.problems += [f"cell {name}: {p}" for p in found]
        for names in hashes.values():
            report.problems += [f"cell {n}: duplicate of cell {names[0]} (same config hash)"
                                for n in names[1:]]
        report.unverified = sorted(unverified)
        try:
            build([CellRecord.from_json(record) for record, *_ in good.values()])
        except SynthbenchError as exc:
            report.problems.append(str(exc))
        report.cells = len(folders)
        fresh = [n for n in good if base is None or not (base / "cells" / n).is_dir()]
        report.new_cells = (len(folders) if base is None else
                            sum(1 for f in folders if not (base / "cells" / f.name).exists()))
        report.recomputed = _sample(fresh, sample)
        for name in report.recomputed:
            record, config, examples, texts_file = good[name]
            outcome = self.recomputer.cell(record, config, examples, texts_file)
            report.problems += [f"cell {name}: {p}" for p in outcome.problems]
            for what in outcome.not_recomputed:
                self.note(what, name)
        for name in sorted(set(good) - set(report.recomputed)):
            self.note("anything (not in the --sample, or already in the base)", name)

    def files(self, folder: str) -> None:
        """Baselines, curves and subjectivity records: readable, in range, unchanged against
        the base unless regenerating, and curves refitted where they are new or changed."""
        report = self.report
        changed: list[str] = []
        if self.base is not None and (self.base / folder).is_dir():
            deleted, changed = _changed_files(self.results, self.base, folder)
            report.problems += [f"{folder}/{n}: deleted (it is in the base results)"
                                for n in deleted]
            if not self.allow_regenerate:
                report.problems += [f"{folder}/{n}: changed (an existing result may not change "
                                    "unless --allow-regenerate)" for n in changed]
        paths = sorted(p for p in (self.results / folder).glob("*.json") if not p.is_symlink()) \
            if (self.results / folder).is_dir() else []
        report.files[folder] = len(paths)
        for path in paths:
            label = f"{folder}/{path.name}"
            try:
                value = read_json_file(path)
            except Refused as exc:
                report.problems.append(f"{label}: {exc}")
                continue
            if not isinstance(value, dict):
                report.problems.append(f"{label}: not a JSON object")
                continue
            found = range_problems(value)
            report.problems += [f"{label}: {p}" for p in found]
            new = self.base is None or not (self.base / folder / path.name).is_file() \
                or (path.name in changed and self.allow_regenerate)
            if folder == "curves" and not found:
                self.curve(label, path.name, value, new)
            elif folder != "curves":
                self.note(f"{folder} (an LLM's judgments: not recomputed)", path.name)

    def curve(self, label: str, name: str, value: Mapping[str, Any], new: bool) -> None:
        try:
            curve = LearningCurve.from_json(value)
        except (KeyError, TypeError, ValueError) as exc:
            self.report.problems.append(f"{label}: not a learning curve ({type(exc).__name__})")
            return
        task_id = name.split("__", 1)[0]
        plugins = self.recomputer.plugins
        if not new:
            return
        if task_id not in plugins.tasks.ids():
            self.note("curves (task not registered by an installed plugin)", name)
            return
        task = plugins.tasks.get(task_id)
        data = self.recomputer.task_data(task)
        if isinstance(data, str):
            self.report.problems.append(f"{label}: cannot recompute: {data}")
            return
        self.report.problems += [f"{label}: {p}"
                                 for p in check_curve(name, curve, plugins, data, task)]


def validate(results: Path, base: Path | None = None, sample: int | None = None,
             data_dir: Path | None = None, allow_regenerate: bool = False,
             plugins: Plugins | None = None) -> Report:
    """Check the results folder ``results`` (see the module docstring). Every cell new against
    ``base`` (every cell without one) is recomputed, or the first ``sample`` of them in a
    fixed order; ``data_dir`` holds the real task data (else the hub)."""
    if results.is_symlink() or not (results / "cells").is_dir() \
            or (results / "cells").is_symlink():
        raise SynthbenchError(f"{results} has no cells/ folder: not a synthbench results folder")
    if base is not None and not base.is_dir():
        raise SynthbenchError(f"base results folder {str(base)!r} does not exist")
    if sample is not None and sample < 0:
        raise SynthbenchError(f"--sample must be >= 0, got {sample}")
    if plugins is None:
        plugins = load_plugins(local_plugins=False)
    run = _Run(results, base, Recomputer(plugins, data_dir, results), allow_regenerate,
               Report(_tree(results), 0, 0, []))
    run.cells(sample)
    for folder in ("baselines", "curves", "subjectivity"):
        run.files(folder)
    if base is not None:
        for old in sorted(p for p in (base / "cells").glob("*") if p.is_dir()):
            run.report.problems += _compare_tree(old, results / "cells" / old.name,
                                                 f"cell {old.name}")
    return run.report


def _utilities(results: Path) -> dict[tuple[str, ...], list[float]]:
    """Utility per (model, task, generator with params and interventions, N, classifier)."""
    from synthbench.store import iter_results

    out: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for _, cell in iter_results(results):
        record = cell.to_json()
        config = record["config"]
        what = json.dumps([config["generator"], config["generator_params"],
                           config.get("interventions") or []], sort_keys=True)
        for classifier, scores in record["classifiers"].items():
            if scores.get("utility") is not None:
                key = (config["model"], config["task"], what, str(config["n"]), classifier)
                out[key].append(float(scores["utility"]))
    return out


def recheck(fresh: Path, recorded: Path, tolerance: float) -> tuple[list[str], int]:
    """Lines for each fresh (model, task, generator, N, classifier) whose mean utility leaves
    the recorded one's interval (mean over seeds with its 95 % interval, widened by
    ``tolerance``; a single recorded seed gives value ± tolerance), and how many were
    compared. Fails when nothing in ``fresh`` was recorded."""
    if tolerance < 0:
        raise SynthbenchError(f"--tolerance must not be negative, got {tolerance}")
    now, then = _utilities(fresh), _utilities(recorded)
    shared = sorted(k for k in now if k in then)
    if not shared:
        raise SynthbenchError(f"no cell in {fresh} matches one recorded in {recorded} "
                              "(same model, task, generator and parameters, N, classifier)")
    lines = []
    for key in shared:
        mean, low, high = mean_ci(then[key])
        if math.isnan(low):
            low, high = mean, mean
        value = float(sum(now[key]) / len(now[key]))
        if not low - tolerance <= value <= high + tolerance:
            model, task, what, n, classifier = key
            generator = json.loads(what)[0]
            lines.append(f"{task} · {model} · {generator} · N={n} · {classifier}: utility "
                         f"{value:.3f} leaves the recorded [{low:.3f}, {high:.3f}] "
                         f"± {tolerance}")
    return lines, len(shared)


def summary(report: Report, base: Path | None) -> str:
    """The closing lines of a passing validation: what was recomputed, what was not and why,
    and the plugin ids no installed plugin could verify."""
    against = f", {report.new_cells} new against {base}" if base is not None else ""
    names = f": {', '.join(report.recomputed)}" if 0 < len(report.recomputed) <= 10 else ""
    lines = [f"{report.cells} cell(s) valid{against}; {len(report.recomputed)} recomputed from "
             f"their texts and the real data{names}",
             "other results checked: " + ", ".join(f"{k} {v}" for k, v in report.files.items())]
    lines += [f"not recomputed: {what}: {len(names_)} ({_few(names_)})"
              for what, names_ in sorted(report.not_recomputed.items())]
    if report.unverified:
        lines.append(f"unverified plugin: {', '.join(report.unverified)} (no installed plugin "
                     "registers it; its numbers are not recomputed)")
    return "\n".join(lines)


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f", … {len(names) - 3} more" if len(names) > 3 else "")


def format_problems(problems: Sequence[str]) -> str:
    """One ``synthbench: invalid:`` line per problem."""
    return "\n".join(f"synthbench: invalid: {p}" for p in problems)

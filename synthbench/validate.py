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
from synthbench.recompute import Recomputer, check_ceiling, check_curve
from synthbench.record import CellConfig, CellRecord
from synthbench.run.headroom import CEILINGS
from synthbench.sanity import Refused, range_problems, read_json_file
from synthbench.store import RESULT
from synthbench.submission import id_problems, record_problems, stored_texts, tree_problems
from synthbench.types import Example


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
            found, config = record_problems(name, folder, record)
            if config is not None:
                more, odd = id_problems(record, self.recomputer.plugins)
                found += more
                unverified.update(odd)
                hashes[str(record["config_hash"])].append(name)
            if config is not None and not found:
                more, examples, texts_file = stored_texts(folder, record, config)
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
            if folder in ("curves", CEILINGS) and not found:
                self.curve(label, path.name, value, new)
            elif folder not in ("curves", CEILINGS):
                self.note(f"{folder} (an LLM's judgments: not recomputed)", path.name)

    def curve(self, label: str, name: str, value: Mapping[str, Any], new: bool) -> None:
        """A new learning curve or ceiling fit: its name's key checked and a fit redone."""
        curve = None
        if label.startswith("curves/"):
            try:
                curve = LearningCurve.from_json(value)
            except (KeyError, TypeError, ValueError) as exc:
                self.report.problems.append(f"{label}: not a learning curve "
                                            f"({type(exc).__name__})")
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
        found = (check_curve(name, curve, plugins, data, task) if curve is not None
                 else check_ceiling(name, value, plugins, data, task))
        self.report.problems += [f"{label}: {p}" for p in found]


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
               Report(tree_problems(results), 0, 0, []))
    run.cells(sample)
    for folder in ("baselines", "curves", CEILINGS, "subjectivity"):
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
